/* Races between init/shutdown and everything else (issue 11, bugs 1, 2
 * and 6), from C:
 *   - plain threads call gort_go, gort_callback and channel operations in a
 *     loop while the main thread starts and stops the runtime over and over:
 *     every call returns GORT_OK (it ran before the shutdown) or
 *     GORT_ENOTINIT (it did not), never anything else, a crash or a hang;
 *   - threads bound to the runtime by a callback exit while it shuts down:
 *     the next runtime is intact;
 *   - thousands of foreign threads call back, in waves and all at once:
 *     their Ms do not count toward the thread limit, and the pool of spare
 *     extra Ms does not grow with the burst.
 * Usage: lifecycle_race_test [scale]  (scale multiplies the iteration
 * counts; the stress label runs it with a larger one). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static int scale = 1;

static int init_runtime(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    return gort_init(&c);
}

static void noop(void* arg) {
    (void)arg;
}

static atomic_long ran;
static void count(void* arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

/* ---- bug 1: every entry point racing init/shutdown ------------------------- */

static atomic_int stop_callers, pause_callers;
static atomic_long calls_ok, calls_notinit, calls_other;

static void tally(int rc) {
    if (rc == GORT_OK) {
        atomic_fetch_add(&calls_ok, 1);
    } else if (rc == GORT_ENOTINIT) {
        atomic_fetch_add(&calls_notinit, 1);
    } else {
        fprintf(stderr, "racing call returned %d (%s)\n", rc, gort_strerror(rc));
        atomic_fetch_add(&calls_other, 1);
    }
}

static void* caller(void* arg) {
    long kind = (long)arg;
    int v = 1;
    unsigned seed = (unsigned)kind;
    while (!atomic_load(&stop_callers)) {
        while (atomic_load(&pause_callers) && !atomic_load(&stop_callers)) usleep(100);
        /* Now and then a pause, so that the runtime can run out of work and
         * a shutdown can succeed in the middle of it all. */
        if (rand_r(&seed) % 64 == 0) usleep(50);
        switch (kind % 4) {
            case 0:
                tally(gort_go(count, NULL));
                break;
            case 1:
                tally(gort_callback(count, NULL));
                break;
            case 2: {
                gort_chan* ch = gort_chan_make(sizeof(int), 1);
                if (ch == NULL) {
                    tally(errno == EPERM ? GORT_ENOTINIT : GORT_EINVAL);
                    break;
                }
                int rc = gort_chan_send(ch, &v);
                /* The runtime may stop in between: then the handle is gone. */
                if (rc == GORT_OK) rc = gort_chan_try_recv(ch, &v, NULL);
                if (rc == GORT_OK) rc = gort_chan_release(ch);
                tally(rc == GORT_EINVAL ? GORT_ENOTINIT : rc);
                break;
            }
            case 3: {
                gort_stats s;
                tally(gort_get_stats(&s, sizeof s));
                tally(gort_num_goroutine() >= 0 ? GORT_OK : GORT_ENOTINIT);
                break;
            }
        }
    }
    return NULL;
}

static void test_calls_race_shutdown(void) {
    enum { kCallers = 4 };
    pthread_t th[kCallers];
    atomic_store(&stop_callers, 0);
    for (long i = 0; i < kCallers; i++) pthread_create(&th[i], NULL, caller, (void*)i);
    int cycles = SCALED(500 * scale), stopped = 0, busy = 0;
    /* On a loaded machine the callers may never leave the runtime empty for
     * 2 ms: every eighth shutdown waits up to 50 ms, and the cycles go on
     * (up to four times as many) until one has stopped a runtime. */
    for (int i = 0; i < cycles || (stopped == 0 && i < 4 * cycles); i++) {
        int rc = init_runtime(1 + i % 2);
        CHECK(rc == GORT_OK || rc == GORT_EALREADY); /* still running after EBUSY */
        if (i % 3 == 0) usleep(100);
        /* The callers keep making goroutines: shutdown may find some. */
        rc = gort_shutdown(i % 8 == 7 ? 50000000 : 2000000);
        CHECK(rc == GORT_OK || rc == GORT_EBUSY);
        if (rc == GORT_OK) stopped++;
        if (rc == GORT_EBUSY) busy++;
    }
    if (stopped == 0) {
        /* Under a sanitizer on a loaded machine the callers may keep the
         * runtime busy throughout: then one shutdown with the callers
         * paused between calls (alive, bound to extra Ms) must succeed. */
        atomic_store(&pause_callers, 1);
        CHECK_OK(gort_shutdown(-1));
        stopped++;
        atomic_store(&pause_callers, 0);
    }
    atomic_store(&stop_callers, 1);
    for (int i = 0; i < kCallers; i++) pthread_join(th[i], NULL);
    gort_shutdown(-1); /* if the last one was busy */
    fprintf(stderr,
            "  %d cycles (%d stopped, %d busy): %ld calls ran, %ld turned away, %ld other\n",
            stopped + busy, stopped, busy, atomic_load(&calls_ok), atomic_load(&calls_notinit),
            atomic_load(&calls_other));
    CHECK(stopped > 0); /* shutdowns do succeed in the middle of it all */
    CHECK_EQ(atomic_load(&calls_other), 0);
    CHECK(atomic_load(&calls_ok) > 0);
    CHECK(atomic_load(&calls_notinit) > 0);
    /* And the last runtime's state is clean: a fresh one works. */
    CHECK_OK(init_runtime(2));
    atomic_store(&ran, 0);
    for (int i = 0; i < 100; i++) CHECK_OK(gort_go(count, NULL));
    CHECK_OK(gort_shutdown(-1));
    CHECK_EQ(atomic_load(&ran), 100);
}

/* ---- bug 2: bound threads exit while the runtime shuts down ----------------- */

static atomic_int bound_started;

static void* bind_and_exit(void* arg) {
    (void)arg;
    gort_callback(noop, NULL); /* binds an extra M to this thread */
    atomic_fetch_add(&bound_started, 1);
    return NULL; /* exits: the key's destructor runs, maybe during shutdown */
}

static void test_bound_threads_exit_during_shutdown(void) {
    enum { kThreads = 32 };
    int cycles = SCALED(100 * scale);
    for (int c = 0; c < cycles; c++) {
        CHECK_OK(init_runtime(2));
        pthread_t th[kThreads];
        atomic_store(&bound_started, 0);
        for (int i = 0; i < kThreads; i++) pthread_create(&th[i], NULL, bind_and_exit, NULL);
        while (atomic_load(&bound_started) < kThreads / 2) usleep(10);
        CHECK_OK(gort_shutdown(-1)); /* races the threads' exits */
        for (int i = 0; i < kThreads; i++) pthread_join(th[i], NULL);
    }
    /* The next runtime: callbacks from new threads and from this one work. */
    CHECK_OK(init_runtime(2));
    pthread_t th[kThreads];
    for (int i = 0; i < kThreads; i++) pthread_create(&th[i], NULL, bind_and_exit, NULL);
    for (int i = 0; i < kThreads; i++) pthread_join(th[i], NULL);
    atomic_store(&ran, 0);
    CHECK_OK(gort_callback(count, NULL));
    CHECK_EQ(atomic_load(&ran), 1);
    CHECK_OK(gort_shutdown(-1));
}

/* ---- a bound thread across a restart --------------------------------------
 * A thread bound in one runtime keeps its M across a shutdown; in the next
 * runtime its blocking callbacks must not schedule on memory that runtime
 * gave to someone else (found by the stress run: the M's scheduler stack
 * was the old runtime's, and the new one handed the same pages to
 * goroutines). Goroutines park with a canary on their stacks while the
 * thread's callbacks block and wake many times; every canary survives. */

enum { kCanaries = 64, kCanaryWords = 512 };
static gort_chan* canary_release;
static atomic_int canary_broken, canary_checked;

static void canary_goroutine(void* arg) {
    volatile uint64_t words[kCanaryWords];
    uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < kCanaryWords; i++) words[i] = seed + (uint64_t)i;
    int v, ok;
    gort_chan_recv(canary_release, &v, &ok); /* parked, stack untouched */
    for (int i = 0; i < kCanaryWords; i++) {
        if (words[i] != seed + (uint64_t)i) {
            atomic_fetch_add(&canary_broken, 1);
            break;
        }
    }
    atomic_fetch_add(&canary_checked, 1);
}

static atomic_int phase;
static void* long_lived_caller(void* arg) {
    (void)arg;
    CHECK_OK(gort_callback(noop, NULL)); /* bound in the first runtime */
    atomic_fetch_add(&phase, 1);
    while (atomic_load(&phase) < 100) usleep(100);
    /* The second runtime: callbacks that block (a timed receive parks). */
    gort_chan* never = gort_chan_make(sizeof(int), 0);
    for (int i = 0; i < 200; i++) {
        int v;
        CHECK_EQ(gort_chan_recv_timeout(never, &v, NULL, 20000), GORT_ETIMEDOUT);
    }
    gort_chan_release(never);
    atomic_fetch_add(&phase, 1);
    return NULL;
}

static void test_bound_thread_across_restart(void) {
    enum { kThreads = 4 };
    gort_go_opts o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.stack_size = 64 * 1024; /* the size class of the Ms' scheduler stacks */
    for (int round = 0; round < SCALED(20 * scale); round++) {
        atomic_store(&phase, 0);
        CHECK_OK(init_runtime(2));
        pthread_t th[kThreads];
        for (int i = 0; i < kThreads; i++) pthread_create(&th[i], NULL, long_lived_caller, NULL);
        while (atomic_load(&phase) < kThreads) usleep(100);
        CHECK_OK(gort_shutdown(-1));
        CHECK_OK(init_runtime(2));
        canary_release = gort_chan_make(sizeof(int), 0);
        atomic_store(&canary_checked, 0);
        for (long i = 0; i < kCanaries; i++) {
            CHECK_OK(gort_go_ex(&o, canary_goroutine, (void*)(i + 1), NULL));
        }
        while (gort_num_goroutine() < kCanaries) usleep(100);
        atomic_store(&phase, 100);
        while (atomic_load(&phase) != 100 + kThreads) usleep(100);
        CHECK_OK(gort_chan_close(canary_release));
        while (atomic_load(&canary_checked) < kCanaries) usleep(100);
        for (int i = 0; i < kThreads; i++) pthread_join(th[i], NULL);
        CHECK_OK(gort_chan_release(canary_release));
        CHECK_OK(gort_shutdown(-1));
    }
    CHECK_EQ(atomic_load(&canary_broken), 0);
}

/* ---- bug 6: many foreign threads -------------------------------------------- */

static pthread_barrier_t burst;

static void* one_callback(void* arg) {
    int* use_barrier = arg;
    if (*use_barrier) pthread_barrier_wait(&burst);
    gort_callback(count, NULL);
    return NULL;
}

static void test_many_foreign_threads(void) {
    CHECK_OK(init_runtime(2));
    /* More threads than the thread limit (10,000), in waves: extra Ms do not
     * count toward it. */
    int total = SCALED(10050);
    int wave = 50, no = 0, yes = 1;
    atomic_store(&ran, 0);
    for (int done = 0; done < total; done += wave) {
        pthread_t th[50];
        int n = total - done < wave ? total - done : wave;
        for (int i = 0; i < n; i++) CHECK_OK(pthread_create(&th[i], NULL, one_callback, &no));
        for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    }
    CHECK_EQ(atomic_load(&ran), total);
    /* Many first callbacks at the same moment: each makes at most its own M,
     * and afterwards the pool keeps only a few spares. */
    int burst_n = SCALED(2000 * scale);
    if (burst_n > 6000) burst_n = 6000;
    pthread_t* th = calloc((size_t)burst_n, sizeof(pthread_t));
    pthread_barrier_init(&burst, NULL, (unsigned)burst_n);
    atomic_store(&ran, 0);
    int created = 0;
    for (int i = 0; i < burst_n; i++) {
        if (pthread_create(&th[i], NULL, one_callback, &yes) != 0) break;
        created++;
    }
    CHECK_EQ(created, burst_n);
    for (int i = 0; i < created; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&burst);
    free(th);
    CHECK_EQ(atomic_load(&ran), burst_n);
    gort_stats s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    fprintf(stderr, "  after %d + %d foreign threads: %llu extra Ms pooled, %llu in use\n", total,
            burst_n, (unsigned long long)s.extra_ms_pooled, (unsigned long long)s.extra_ms_in_use);
    CHECK(s.extra_ms_pooled <= 16);
    CHECK(s.extra_ms_in_use <= 1); /* this thread's own, if any */
    CHECK_OK(gort_shutdown(-1));
}

int main(int argc, char** argv) {
    if (argc > 1) scale = atoi(argv[1]) > 0 ? atoi(argv[1]) : 1;
    RUN(test_calls_race_shutdown);
    RUN(test_bound_threads_exit_during_shutdown);
    RUN(test_bound_thread_across_restart);
    RUN(test_many_foreign_threads);
    return check_failures != 0;
}
