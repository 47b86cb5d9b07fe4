/* Timers across GOMAXPROCS changes (requests.md F5, found by the fuzzer):
 * gort_sleep from the plain C main thread (the callback path: the thread's
 * extra M runs a goroutine locked to it) right after GOMAXPROCS went 4 -> 2
 * must return. It sometimes never did: the sleep's timer sat expired on an
 * idle P with no M sleeping until it and sysmon asleep without a timeout.
 *
 * Each scenario runs many iterations; a watchdog thread fails the test (and
 * exits: a hung runtime cannot be shut down) if one iteration takes more
 * than 5 s. A short sleep takes microseconds, so 5 s means a lost wakeup.
 * The iterations are the point, not their duration: no sleep here
 * synchronises anything. Both thread-creation modes (check_cgo_mode). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "gort.h"

static _Atomic long progress;   /* iterations done, all scenarios */
static _Atomic int finished;    /* the watchdog's signal to stop */
static const char* _Atomic now; /* the scenario running */

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* watchdog: if `progress` stands still for 5 s, an iteration is hung. */
static void* watchdog(void* arg) {
    (void)arg;
    long last = -1;
    int64_t since = mono_ns();
    while (!atomic_load(&finished)) {
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
        long p = atomic_load(&progress);
        int64_t t = mono_ns();
        if (p != last) {
            last = p;
            since = t;
        } else if (t - since > 5 * (int64_t)1000000000) {
            fprintf(stderr, "FAIL %s: an iteration hung for 5 s (%ld done): a lost timer\n",
                    atomic_load(&now), p);
            fflush(stderr);
            _Exit(1);
        }
    }
    return NULL;
}

static int init_runtime(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = check_cgo_mode();
    return gort_init(&c);
}

/* The fuzzer's reproducer: flip to 4, back to 2, sleep 29 us, from the
 * plain main thread. */
static void test_sleep_after_shrink_from_thread(void) {
    atomic_store(&now, "sleep_after_shrink_from_thread");
    CHECK_OK(init_runtime(2));
    for (int i = 0; i < SCALED(4000); i++) {
        CHECK_EQ(gort_gomaxprocs(4), 2);
        CHECK_EQ(gort_gomaxprocs(2), 4);
        CHECK_OK(gort_sleep(29000));
        atomic_fetch_add(&progress, 1);
    }
    CHECK_OK(gort_shutdown(-1));
}

/* The same with other shapes of the resize: down to 1 (every timer on P 0),
 * and several sizes in a row, sleeps of a few lengths. */
static void test_sleep_after_resizes_from_thread(void) {
    atomic_store(&now, "sleep_after_resizes_from_thread");
    CHECK_OK(init_runtime(2));
    static const int sizes[][3] = {{4, 1, 0}, {8, 3, 2}, {1, 4, 2}, {3, 1, 2}};
    for (int i = 0; i < SCALED(4000); i++) {
        const int* s = sizes[i % 4];
        for (int k = 0; k < 3 && s[k] != 0; k++) gort_gomaxprocs(s[k]);
        CHECK_OK(gort_sleep(1000 + (i % 7) * 7000));
        atomic_fetch_add(&progress, 1);
    }
    CHECK_OK(gort_shutdown(-1));
}

/* A goroutine sleeping while the plain thread resizes under it. */
struct sleeper {
    _Atomic int left;
    gort_waitgroup* wg;
};

static void sleep_loop(void* arg) {
    struct sleeper* s = arg;
    while (atomic_fetch_sub(&s->left, 1) > 0) gort_sleep(20000);
    gort_waitgroup_done(s->wg);
}

static void test_goroutine_sleeps_during_resizes(void) {
    atomic_store(&now, "goroutine_sleeps_during_resizes");
    CHECK_OK(init_runtime(2));
    for (int i = 0; i < SCALED(400); i++) {
        struct sleeper s = {20, gort_waitgroup_make()};
        CHECK(s.wg != NULL);
        CHECK_OK(gort_waitgroup_add(s.wg, 2));
        CHECK_OK(gort_go(sleep_loop, &s));
        CHECK_OK(gort_go(sleep_loop, &s));
        gort_gomaxprocs(4);
        gort_gomaxprocs(1);
        gort_gomaxprocs(2);
        CHECK_OK(gort_waitgroup_wait(s.wg));
        gort_waitgroup_release(s.wg);
        atomic_fetch_add(&progress, 1);
    }
    CHECK_OK(gort_shutdown(-1));
}

int main(void) {
    pthread_t wd;
    pthread_create(&wd, NULL, watchdog, NULL);
    RUN(test_sleep_after_shrink_from_thread);
    RUN(test_sleep_after_resizes_from_thread);
    RUN(test_goroutine_sleeps_during_resizes);
    atomic_store(&finished, 1);
    pthread_join(wd, NULL);
    return check_failures != 0;
}
