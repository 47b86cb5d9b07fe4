/* Scripted scenarios for the execution tracer (issue 15), through gort.h
 * only. Each writes a trace to the path given and prints facts the checker
 * (check_trace.py) needs on stdout as `key value` lines:
 *
 *   trace_scenarios SCENARIO OUT.json
 *     locked_newm     goroutines exit locked (GOMAXPROCS=1): the M that
 *                     replaces each thread is created by the template thread
 *     cgocall_retake  a goroutine blocks in a cgocall while another waits on
 *                     the same P (GOMAXPROCS=1): sysmon retakes the P and the
 *                     other runs on another M during the call
 *     callback        a C thread calls back: the callback runs on that
 *                     thread's track (prints `callback_tid N`)
 *     pingpong        channel ping-pong over 2 Ps: parks, unparks, flows
 *     drops           like pingpong with a one-chunk buffer
 *                     (GORT_TRACE_BUFFER=64K set by the test): events dropped
 *     config          the trace started by gort_config.trace_path at init and
 *                     finished by gort_shutdown
 *     sessions        30 sessions in a row (OUT.json.0 ... OUT.json.28, then
 *                     OUT.json), each waking many Ms at once: they take the
 *                     buffers of earlier sessions together (prints
 *                     `sessions N`)
 *     badinput        the C ABI's errors (no trace written)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static void init_runtime(int procs, const char* trace_path) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = check_cgo_mode();
    c.trace_path = trace_path;
    CHECK_OK(gort_init(&c));
}

/* us_between: CLOCK_MONOTONIC readings a and b apart, in microseconds (the
 * durations the checks compare with the trace's). */
static double us_between(struct timespec a, struct timespec b) {
    return (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- locked_newm ----------------------------------------------------------- */

static gort_waitgroup* wg;

static unsigned long long stat_of(size_t offset) {
    gort_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(gort_get_stats(&st, sizeof st));
    return *(unsigned long long*)((char*)&st + offset);
}

static void exits_locked(void* arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    CHECK_OK(gort_waitgroup_done(wg));
    /* Exits locked: its thread ends with it, and the replacement M (no other
     * is idle at GOMAXPROCS=1) is asked for from this locked thread, so the
     * template thread creates it. */
}

static void locked_newm(void) {
    unsigned long long before = stat_of(offsetof(gort_stats, template_handoffs));
    unsigned long long exited = stat_of(offsetof(gort_stats, ms_exited_locked));
    for (int i = 0; i < 3; i++) {
        wg = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(wg, 1));
        CHECK_OK(gort_go(exits_locked, NULL));
        CHECK_OK(gort_waitgroup_wait(wg));
        CHECK_OK(gort_waitgroup_release(wg));
        /* Until its thread is gone and the replacement made: two counters
         * that move on two threads, in either order. */
        for (int j = 0;
             j < 5000 && (stat_of(offsetof(gort_stats, template_handoffs)) <= before + i ||
                          stat_of(offsetof(gort_stats, ms_exited_locked)) <= exited + i);
             j++) {
            sleep_ms(1);
        }
    }
    CHECK(stat_of(offsetof(gort_stats, ms_exited_locked)) >= exited + 3);
    CHECK(stat_of(offsetof(gort_stats, template_handoffs)) >= before + 3);
}

/* ---- cgocall_retake ----------------------------------------------------------- */

static atomic_int other_ran;

static void block_in_c(void* arg) {
    (void)arg;
    sleep_ms(100);
}

static void other(void* arg) {
    (void)arg;
    atomic_store(&other_ran, 1);
    CHECK_OK(gort_waitgroup_done(wg));
}

static double call_us; /* the cgocall as the caller timed it */

static void caller(void* arg) {
    (void)arg;
    CHECK_OK(gort_go(other, NULL)); /* queued on this P */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(gort_cgocall(block_in_c, NULL));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    call_us = us_between(t0, t1);
    CHECK_OK(gort_waitgroup_done(wg));
}

static void cgocall_retake(void) {
    wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(wg, 2));
    CHECK_OK(gort_go(caller, NULL));
    CHECK_OK(gort_waitgroup_wait(wg));
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK(atomic_load(&other_ran));
    printf("call_us %.3f\n", call_us);
}

/* ---- gap ------------------------------------------------------------------------- */

/* A goroutine sleeps 4.5 s between two events of its M: longer than 2^32
 * ticks of a TSC up to 0.95 GHz, and than 2^32 ns, so the recorder's
 * 32-bit time deltas overflow and it writes the full time first. */
static double slept_us;
static atomic_long sleeper_goid;

static void sleeper(void* arg) {
    (void)arg;
    atomic_store(&sleeper_goid, gort_goid());
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(gort_sleep(4500LL * 1000000));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    slept_us = us_between(t0, t1);
    CHECK_OK(gort_waitgroup_done(wg));
}

static void gap(void) {
    wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(wg, 1));
    CHECK_OK(gort_go(sleeper, NULL));
    CHECK_OK(gort_waitgroup_wait(wg));
    CHECK_OK(gort_waitgroup_release(wg));
    printf("sleeper_goid %ld\nslept_us %.3f\n", atomic_load(&sleeper_goid), slept_us);
}

/* ---- callback ------------------------------------------------------------------ */

static atomic_long cb_goid;

static void in_callback(void* arg) {
    (void)arg;
    atomic_store(&cb_goid, gort_goid());
    gort_sleep(1000000); /* parks inside the callback: its slices resume */
}

static void* c_thread(void* arg) {
    (void)arg;
    printf("callback_tid %ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    pthread_setname_np(pthread_self(), "c-worker");
    CHECK_OK(gort_callback(in_callback, NULL));
    return NULL;
}

static void callback(void) {
    pthread_t th;
    pthread_create(&th, NULL, c_thread, NULL);
    pthread_join(th, NULL);
    CHECK(atomic_load(&cb_goid) > 0);
    printf("callback_goid %ld\n", atomic_load(&cb_goid));
}

/* ---- pingpong ------------------------------------------------------------------- */

struct pair {
    gort_chan* ping;
    gort_chan* pong;
    long n;
};

static void echo(void* arg) {
    struct pair* p = arg;
    long v;
    int ok;
    for (;;) {
        CHECK_OK(gort_chan_recv(p->ping, &v, &ok));
        if (!ok) break;
        CHECK_OK(gort_chan_send(p->pong, &v));
    }
    CHECK_OK(gort_waitgroup_done(wg));
}

static void driver(void* arg) {
    struct pair* p = arg;
    for (long i = 0; i < p->n; i++) {
        long v = -1;
        int ok = 0;
        CHECK_OK(gort_chan_send(p->ping, &i));
        CHECK_OK(gort_chan_recv(p->pong, &v, &ok));
        CHECK(ok && v == i);
    }
    CHECK_OK(gort_chan_close(p->ping));
    CHECK_OK(gort_waitgroup_done(wg));
}

static void pingpong(long n, int pairs) {
    struct pair ps[4];
    wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(wg, 2 * pairs));
    for (int i = 0; i < pairs; i++) {
        ps[i].ping = gort_chan_make(sizeof(long), 0);
        ps[i].pong = gort_chan_make(sizeof(long), 0);
        ps[i].n = n;
        gort_go_opts o = {sizeof o, 0, i == 0 ? "echo \"0\"" : "echo", 0, NULL, NULL, NULL};
        CHECK_OK(gort_go_ex(&o, echo, &ps[i], NULL));
        CHECK_OK(gort_go(driver, &ps[i]));
    }
    CHECK_OK(gort_waitgroup_wait(wg));
    for (int i = 0; i < pairs; i++) {
        CHECK_OK(gort_chan_release(ps[i].ping));
        CHECK_OK(gort_chan_release(ps[i].pong));
    }
    CHECK_OK(gort_waitgroup_release(wg));
}

/* ---- bad input ------------------------------------------------------------------- */

/* ---- sessions ---------------------------------------------------------------- */

static void blocks_briefly(void* arg) {
    (void)arg;
    usleep(300);
}

static void calls_c(void* arg) {
    (void)arg;
    for (int i = 0; i < 3; i++) CHECK_OK(gort_cgocall(blocks_briefly, NULL));
    CHECK_OK(gort_waitgroup_done(wg));
}

static void sessions(const char* path) {
    enum { kSessions = 30, kCallers = 16 };
    char name[4096];
    wg = gort_waitgroup_make();
    for (int s = 0; s < kSessions; s++) {
        if (s < kSessions - 1) {
            snprintf(name, sizeof name, "%s.%d", path, s);
        } else {
            snprintf(name, sizeof name, "%s", path);
        }
        CHECK_OK(gort_trace_start(name));
        CHECK_OK(gort_waitgroup_add(wg, kCallers));
        for (int i = 0; i < kCallers; i++) CHECK_OK(gort_go(calls_c, NULL));
        CHECK_OK(gort_waitgroup_wait(wg));
        CHECK_OK(gort_trace_stop());
    }
    CHECK_OK(gort_waitgroup_release(wg));
    printf("sessions %d\n", kSessions);
}

static void badinput(const char* path) {
    CHECK_EQ(gort_trace_start(path), GORT_ENOTINIT);
    CHECK_EQ(gort_trace_stop(), GORT_ENOTINIT);
    CHECK_EQ(gort_dump_goroutines(2), GORT_ENOTINIT);
    init_runtime(1, NULL);
    CHECK_EQ(gort_trace_start(NULL), GORT_EINVAL);
    CHECK_EQ(gort_trace_start(""), GORT_EINVAL);
    errno = 0;
    CHECK_EQ(gort_trace_start("/nonexistent-dir/x/trace.json"), GORT_EINVAL);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(gort_trace_stop(), GORT_EINVAL);
    CHECK_OK(gort_trace_start(path));
    CHECK_EQ(gort_trace_start(path), GORT_EALREADY);
    CHECK_OK(gort_trace_stop());
    CHECK_EQ(gort_trace_stop(), GORT_EINVAL);
    CHECK_EQ(gort_dump_goroutines(-1), GORT_EINVAL);
    CHECK_EQ(gort_dump_goroutines(1000), GORT_EINVAL);
    /* Start and stop many times: each file is complete. */
    for (int i = 0; i < 20; i++) {
        CHECK_OK(gort_trace_start(path));
        pingpong(100, 1);
        CHECK_OK(gort_trace_stop());
    }
    CHECK_OK(gort_shutdown(-1));
    /* A bad trace_path makes gort_init fail and leaves nothing running. */
    gort_config c;
    gort_config_init(&c);
    c.trace_path = "/nonexistent-dir/x/trace.json";
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    CHECK_EQ(gort_num_goroutine(), GORT_ENOTINIT);
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SCENARIO OUT.json\n", argv[0]);
        return 2;
    }
    const char* sc = argv[1];
    const char* path = argv[2];
    if (strcmp(sc, "badinput") == 0) {
        badinput(path);
        return check_failures != 0;
    }
    if (strcmp(sc, "config") == 0) {
        init_runtime(2, path);
        pingpong(1000, 1);
        CHECK_OK(gort_shutdown(-1));
        return check_failures != 0;
    }
    if (strcmp(sc, "sessions") == 0) {
        init_runtime(2, NULL);
        sessions(path);
        CHECK_OK(gort_shutdown(-1));
        return check_failures != 0;
    }
    int procs = strcmp(sc, "cgocall_retake") == 0 || strcmp(sc, "locked_newm") == 0 ||
                        strcmp(sc, "gap") == 0
                    ? 1
                    : 2;
    init_runtime(procs, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(gort_trace_start(path));
    if (strcmp(sc, "locked_newm") == 0) {
        locked_newm();
    } else if (strcmp(sc, "cgocall_retake") == 0) {
        cgocall_retake();
    } else if (strcmp(sc, "gap") == 0) {
        gap();
    } else if (strcmp(sc, "callback") == 0) {
        callback();
    } else if (strcmp(sc, "pingpong") == 0) {
        pingpong(SCALED(20000), 2);
    } else if (strcmp(sc, "drops") == 0) {
        pingpong(SCALED(200000), 2);
    } else {
        fprintf(stderr, "unknown scenario %s\n", sc);
        return 2;
    }
    CHECK_OK(gort_trace_stop());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Every event lies between the start and the stop: the clock check. */
    printf("traced_us %.3f\n", us_between(t0, t1));
    CHECK_OK(gort_shutdown(-1));
    return check_failures != 0;
}
