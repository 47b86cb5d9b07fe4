/* The stress suite's harness (tests/stress, ctest label `stress`).
 *
 * Every stress program is a C program against gort.h and uses:
 *   - a seeded PRNG: the seed is printed at the start; GORT_STRESS_SEED=N
 *     repeats a run's choices (the interleavings stay the machine's);
 *   - a size: STRESS_N(n) is n times GORT_STRESS_SCALE (default 1; 10 for a
 *     long local run) times the sanitizer factor (ThreadSanitizer 1/10,
 *     AddressSanitizer 1/4: those builds run that much slower, and the
 *     interleavings, not the volume, are the point there);
 *   - a watchdog: a thread that, when the program overruns its budget,
 *     prints where it was (stress_phase), the runtime's counters and
 *     gort_dump_goroutines(2), then aborts, so that a hang fails fast
 *     with evidence instead of holding CI until the ctest TIMEOUT;
 *   - CHECK macros safe from any thread (a failure is printed and counted,
 *     the program goes on and exits non-zero);
 *   - figures: lines `figure <test> <name> <value>` on stderr, the
 *     reliability figures the suite holds (collected for the report).
 *
 * The thread-creation mode comes from GORT_TEST_CGO (0: native), as in
 * tests/c_api; ctest runs the programs where the mode matters once in each.
 */
#ifndef GORT_STRESS_H
#define GORT_STRESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"

/* ---- sanitizers ------------------------------------------------------------ */

#if defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#elif defined(__SANITIZE_ADDRESS__)
#define STRESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#elif __has_feature(address_sanitizer)
#define STRESS_ASAN 1
#endif
#endif

#if defined(STRESS_TSAN)
#define STRESS_BUILD "tsan"
#define STRESS_SAN_FACTOR 0.1
#elif defined(STRESS_ASAN)
#define STRESS_BUILD "asan"
#define STRESS_SAN_FACTOR 0.25
#else
#define STRESS_BUILD "plain"
#define STRESS_SAN_FACTOR 1.0
#endif

/* ---- checks ---------------------------------------------------------------- */

static atomic_int stress_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            atomic_fetch_add(&stress_failures, 1);                                   \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                    \
    do {                                                                                  \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                   \
        if (check_a_ != check_b_) {                                                       \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__, \
                    __LINE__, #a, check_a_, #b, check_b_);                                \
            atomic_fetch_add(&stress_failures, 1);                                        \
        }                                                                                 \
    } while (0)

#define CHECK_OK(expr) CHECK_EQ((expr), GORT_OK)

/* ---- time ------------------------------------------------------------------ */

static inline int64_t stress_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void stress_sleep_ns(int64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline pid_t stress_tid(void) {
    return (pid_t)syscall(SYS_gettid);
}

/* stress_errno: errno after a call that may have resumed the goroutine on
 * another thread. glibc declares __errno_location const, so the compiler
 * may reuse the address it got before the call (the first thread's errno);
 * a call through a volatile pointer asks the thread we are on now. */
static int stress_errno_now(void) {
    return errno;
}
static int (*volatile stress_errno)(void) = stress_errno_now;

/* ---- the PRNG (splitmix64: one state word per actor) ------------------------ */

typedef struct {
    uint64_t s;
} stress_rng;

static inline uint64_t stress_next(stress_rng* r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* stress_below: uniform in [0, n) (n > 0). */
static inline uint64_t stress_below(stress_rng* r, uint64_t n) {
    return (uint64_t)(((unsigned __int128)stress_next(r) * n) >> 64);
}

static uint64_t stress_seed;
static double stress_scale = 1.0;
static const char* stress_name = "stress";

/* stress_rng_for: the generator of actor `id` (a thread, a goroutine). */
static inline stress_rng stress_rng_for(uint64_t id) {
    stress_rng r = {stress_seed ^ (id * 0xD6E8FEB86659FD93ULL)};
    stress_next(&r);
    return r;
}

/* STRESS_N: an iteration count, scaled (at least 1). */
static inline long stress_n(double n) {
    double v = n * stress_scale * STRESS_SAN_FACTOR;
    return v < 1 ? 1 : (long)v;
}
#define STRESS_N(n) stress_n((double)(n))

/* stress_cgo_mode: the thread-creation mode, from GORT_TEST_CGO. */
static inline int stress_cgo_mode(void) {
    const char* s = getenv("GORT_TEST_CGO");
    return s != NULL && strcmp(s, "0") == 0 ? 0 : 1;
}

static inline int stress_init(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = stress_cgo_mode();
    return gort_init(&c);
}

/* ---- figures and phases ------------------------------------------------------ */

static inline void stress_figure(const char* what, long long value) {
    fprintf(stderr, "figure %s%s %s %lld\n", stress_name, stress_cgo_mode() ? "" : ".native", what,
            value);
}

static _Atomic(const char*) stress_current_phase = "start";
/* stress_progress: an optional printer of the test's own counters, run by
 * the watchdog before it aborts. */
static void (*stress_progress)(void);

static inline void stress_phase(const char* phase) {
    atomic_store(&stress_current_phase, phase);
    fprintf(stderr, "  phase %s\n", phase);
}

/* ---- the watchdog ------------------------------------------------------------ */

static pthread_mutex_t stress_wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stress_wd_cv;
static int stress_wd_stop;
static int64_t stress_wd_deadline;
static pthread_t stress_wd_thread;

static inline void stress_print_stats(void) {
    gort_stats s;
    memset(&s, 0, sizeof s);
    int rc = gort_get_stats(&s, sizeof s);
    if (rc != GORT_OK) {
        fprintf(stderr, "  gort_get_stats: %s\n", gort_strerror(rc));
        return;
    }
    const char* const* names = gort_stats_names();
    const unsigned char* base = (const unsigned char*)&s + offsetof(gort_stats, goroutines_live);
    fprintf(stderr, "  maxprocs=%d\n", s.maxprocs);
    for (size_t i = 0; names[i] != NULL; i++) {
        if (offsetof(gort_stats, goroutines_live) + 8 * (i + 1) > s.struct_size) break;
        uint64_t v;
        memcpy(&v, base + 8 * i, sizeof v);
        fprintf(stderr, "  %s=%llu\n", names[i], (unsigned long long)v);
    }
}

/* stress_watchdog_fire: the budget is spent. The dump may itself hang on a
 * wedged runtime: SIGALRM (default action: the end) bounds it. */
static inline void stress_watchdog_fire(void) {
    alarm(20);
    fprintf(stderr,
            "\nstress watchdog: %s%s overran its budget in phase '%s' (seed %llu, scale %g, %s "
            "build): counters, goroutines, abort\n",
            stress_name, stress_cgo_mode() ? "" : ".native", atomic_load(&stress_current_phase),
            (unsigned long long)stress_seed, stress_scale, STRESS_BUILD);
    if (stress_progress != NULL) stress_progress();
    stress_print_stats();
    int rc = gort_dump_goroutines(2);
    fprintf(stderr, "  gort_dump_goroutines: %s\n", gort_strerror(rc));
    abort();
}

static void* stress_watchdog_main(void* arg) {
    (void)arg;
    pthread_mutex_lock(&stress_wd_mu);
    for (;;) {
        if (stress_wd_stop) break;
        int64_t d = stress_wd_deadline;
        struct timespec ts = {(time_t)(d / 1000000000), (long)(d % 1000000000)};
        int rc = pthread_cond_timedwait(&stress_wd_cv, &stress_wd_mu, &ts);
        if (rc == ETIMEDOUT && !stress_wd_stop && stress_now_ns() >= stress_wd_deadline) {
            pthread_mutex_unlock(&stress_wd_mu);
            stress_watchdog_fire();
        }
    }
    pthread_mutex_unlock(&stress_wd_mu);
    return NULL;
}

/* stress_watchdog_start: budget_s seconds from now (scaled with the run:
 * a bigger GORT_STRESS_SCALE, or a sanitizer build, gets more). The
 * watchdog's thread blocks every signal (storms are not for it). */
static inline void stress_watchdog_start(double budget_s) {
    double f = stress_scale > 1 ? stress_scale : 1;
#if defined(STRESS_TSAN) || defined(STRESS_ASAN)
    f *= 3;
#endif
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&stress_wd_cv, &ca);
    pthread_condattr_destroy(&ca);
    stress_wd_stop = 0;
    stress_wd_deadline = stress_now_ns() + (int64_t)(budget_s * f * 1e9);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_create(&stress_wd_thread, NULL, stress_watchdog_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static inline void stress_watchdog_stop(void) {
    pthread_mutex_lock(&stress_wd_mu);
    stress_wd_stop = 1;
    pthread_cond_signal(&stress_wd_cv);
    pthread_mutex_unlock(&stress_wd_mu);
    pthread_join(stress_wd_thread, NULL);
}

/* stress_setup: name, seed and scale from the environment, the banner, the
 * watchdog. Call first in main. */
static inline void stress_setup(const char* name, double budget_s) {
    stress_name = name;
    const char* s = getenv("GORT_STRESS_SEED");
    if (s != NULL && *s != 0) {
        stress_seed = strtoull(s, NULL, 0);
    } else {
        stress_seed = (uint64_t)stress_now_ns() ^ ((uint64_t)getpid() << 32);
    }
    const char* sc = getenv("GORT_STRESS_SCALE");
    if (sc != NULL && *sc != 0) {
        double v = strtod(sc, NULL);
        if (v > 0) stress_scale = v;
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    fprintf(stderr, "%s%s: seed %llu (GORT_STRESS_SEED=%llu repeats it), scale %g, %s build\n",
            name, stress_cgo_mode() ? "" : ".native", (unsigned long long)stress_seed,
            (unsigned long long)stress_seed, stress_scale, STRESS_BUILD);
    stress_watchdog_start(budget_s);
}

/* stress_finish: stop the watchdog; the exit status. */
static inline int stress_finish(void) {
    stress_watchdog_stop();
    int f = atomic_load(&stress_failures);
    fprintf(stderr, "%s%s: %s (%d failed checks; seed %llu)\n", stress_name,
            stress_cgo_mode() ? "" : ".native", f == 0 ? "ok" : "FAIL", f,
            (unsigned long long)stress_seed);
    return f == 0 ? 0 : 1;
}

/* ---- child processes ---------------------------------------------------------- */

#include <sys/wait.h>

/* stress_run_child runs this program again as `self --child name` (a fresh
 * process: limits, credentials and deaths stay there), with its stderr
 * collected into out (at most n-1 bytes, NUL-terminated) and copied to
 * ours; returns the wait status. */
static inline int stress_run_child(const char* name, char* out, size_t n) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)stress_seed);
        setenv("GORT_STRESS_SEED", seed, 1);
        execl("/proc/self/exe", "/proc/self/exe", "--child", name, (char*)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    char buf[4096];
    while ((r = read(fds[0], buf, sizeof buf)) > 0) {
        (void)!write(2, buf, (size_t)r);
        size_t k = (size_t)r < n - 1 - got ? (size_t)r : n - 1 - got;
        memcpy(out + got, buf, k);
        got += k;
    }
    out[got] = 0;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

#define STRESS_RUN(test)                                                           \
    do {                                                                           \
        int before_ = atomic_load(&stress_failures);                               \
        int64_t t0_ = stress_now_ns();                                             \
        test();                                                                    \
        fprintf(stderr, "%s %s (%.2f s)\n",                                        \
                atomic_load(&stress_failures) == before_ ? "ok  " : "FAIL", #test, \
                (double)(stress_now_ns() - t0_) / 1e9);                            \
    } while (0)

#endif
