/* Helpers for gort's C-ABI benchmark programs: they use gort.h only and
 * link libgort.so, exactly as a user's C program does; every status code is
 * checked (a benchmark that gets an error says so on stderr and exits 1).
 *
 * Each program prints `workload impl value unit` lines, the format of
 * ../shared/anchors/run.sh, with impl gort[-variant]-P<N> (N = GOMAXPROCS,
 * from $GOMAXPROCS, default 1).
 *
 * Where the measured code runs ($FROM, for the workloads that have the
 * choice):
 *   goroutine   an ordinary goroutine (not locked, like Go's main
 *               goroutine), started with gort_go; the C main thread waits
 *               for it on a gort_waitgroup. The default.
 *   runmain     the gort_run_main goroutine (locked to the main thread).
 *   mainthread  the plain C main thread, calling gort.h directly.
 *
 * STATS=1 prints the runtime's counters (gort_get_stats) to stderr at the
 * end of every program.
 */
#ifndef GORT_BENCH_H
#define GORT_BENCH_H

#include <errno.h>
#include <gort.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* BENCH_OK fails loudly unless expr returns GORT_OK. */
#define BENCH_OK(expr)                                                                 \
    do {                                                                               \
        int bench_rc_ = (expr);                                                        \
        if (bench_rc_ != GORT_OK) bench_fail_rc(#expr, bench_rc_, __FILE__, __LINE__); \
    } while (0)

/* BENCH_PTR fails loudly if a constructor returned NULL. */
#define BENCH_PTR(expr) bench_check_ptr((expr), #expr, __FILE__, __LINE__)

static inline void bench_fail_rc(const char* what, int rc, const char* file, int line) {
    fprintf(stderr, "%s:%d: %s: %s (%d)\n", file, line, what, gort_strerror(rc), rc);
    exit(1);
}

static inline void* bench_check_ptr(void* p, const char* what, const char* file, int line) {
    if (p == NULL) {
        fprintf(stderr, "%s:%d: %s: NULL (%s)\n", file, line, what, strerror(errno));
        exit(1);
    }
    return p;
}

/* bench_die prints a message and exits 1 (a wrong result). */
static inline void bench_die(const char* msg) {
    fprintf(stderr, "%s\n", msg);
    exit(1);
}

static inline double bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline long bench_arg(int argc, char** argv, int i, long dflt) {
    return argc > i ? atol(argv[i]) : dflt;
}

static inline const char* bench_env(const char* name, const char* dflt) {
    const char* s = getenv(name);
    return s != NULL && s[0] != '\0' ? s : dflt;
}

/* bench_procs is $GOMAXPROCS (default 1). */
static inline int bench_procs(void) {
    int n = atoi(bench_env("GOMAXPROCS", "1"));
    return n > 0 ? n : 1;
}

/* bench_init starts the runtime with procs Ps, threads through the default
 * thread-start hook (cgo = 1, gort.h's default) or natively (cgo = 0). */
static inline void bench_init(int procs, int cgo) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = cgo;
    BENCH_OK(gort_init(&c));
}

/* bench_print_stats prints the runtime's counters that are not zero to
 * stderr, by name (STATS=1). */
static inline void bench_print_stats(void) {
    gort_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    BENCH_OK(gort_get_stats(&s, sizeof s));
    const char* const* names = gort_stats_names();
    const uint64_t* v = &s.goroutines_live;
    fprintf(stderr, "# stats:");
    for (size_t i = 0; names[i] != NULL; i++) {
        if (v[i] != 0) fprintf(stderr, " %s=%llu", names[i], (unsigned long long)v[i]);
    }
    fprintf(stderr, "\n");
}

/* bench_shutdown stops the runtime (after printing its counters if $STATS
 * is set). */
static inline void bench_shutdown(void) {
    if (atoi(bench_env("STATS", "0")) != 0) bench_print_stats();
    BENCH_OK(gort_shutdown(30 * 1000000000LL));
}

/* ---- running the measured code ------------------------------------------ */

enum bench_from { BENCH_GOROUTINE, BENCH_RUNMAIN, BENCH_MAINTHREAD };

/* bench_from_env reads $FROM; an unknown value fails loudly. */
static inline enum bench_from bench_from_env(void) {
    const char* s = bench_env("FROM", "goroutine");
    if (strcmp(s, "goroutine") == 0) return BENCH_GOROUTINE;
    if (strcmp(s, "runmain") == 0) return BENCH_RUNMAIN;
    if (strcmp(s, "mainthread") == 0) return BENCH_MAINTHREAD;
    fprintf(stderr, "FROM=%s: want goroutine, runmain or mainthread\n", s);
    exit(2);
}

/* bench_variant is the impl's variant for a $FROM ("" for goroutine). */
static inline const char* bench_variant(enum bench_from from) {
    return from == BENCH_RUNMAIN ? "-runmain" : from == BENCH_MAINTHREAD ? "-mainthread" : "";
}

struct bench_goroutine_ctx {
    gort_fn fn;
    void* arg;
    gort_waitgroup* wg;
};

static inline void bench_goroutine_body(void* p) {
    struct bench_goroutine_ctx* c = (struct bench_goroutine_ctx*)p;
    c->fn(c->arg);
    BENCH_OK(gort_waitgroup_done(c->wg));
}

/* bench_run runs fn(arg) where from says and returns when it has finished. */
static inline void bench_run(enum bench_from from, gort_fn fn, void* arg) {
    if (from == BENCH_MAINTHREAD) {
        fn(arg);
        return;
    }
    if (from == BENCH_RUNMAIN) {
        BENCH_OK(gort_run_main(fn, arg));
        return;
    }
    struct bench_goroutine_ctx c = {fn, arg, BENCH_PTR(gort_waitgroup_make())};
    BENCH_OK(gort_waitgroup_add(c.wg, 1));
    BENCH_OK(gort_go(bench_goroutine_body, &c));
    BENCH_OK(gort_waitgroup_wait(c.wg));
    BENCH_OK(gort_waitgroup_release(c.wg));
}

/* bench_proc_status_bytes reads a "Name:   N kB" field of /proc/self/status. */
static inline long bench_proc_status_bytes(const char* field) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') kb = atol(line + n + 1);
    }
    if (f != NULL) fclose(f);
    return kb * 1024;
}

#endif /* GORT_BENCH_H */
