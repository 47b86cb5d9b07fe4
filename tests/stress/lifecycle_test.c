/* Init/shutdown cycles with threads calling in concurrently and exiting
 * (issue 11, bugs 1 and 2; beyond tests/c_api/lifecycle_race_test.c, which
 * covers long-lived callers racing the main thread's cycles, bound threads
 * exiting during shutdown and foreign-thread bursts, in cgo mode):
 *   - init and shutdown called from several threads at once, while
 *     short-lived threads (created, calling in, exiting) use the runtime:
 *     exactly one init wins per runtime (the others GORT_EALREADY), exactly
 *     one shutdown ends it (the others GORT_ENOTINIT or GORT_EBUSY), and
 *     every other call gets GORT_OK or GORT_ENOTINIT;
 *   - cycles that stop a runtime full of work: goroutines parked on a
 *     channel, a mutex, a wait group, a timer and a sleep, one in a
 *     cgocall, locked goroutines exiting locked, foreign threads blocked in
 *     callbacks, gort_run_main on a foreign thread, an unfired gort_after:
 *     a short shutdown says GORT_EBUSY and the runtime carries on; released,
 *     the work all finishes (exact counts) and shutdown succeeds while the
 *     foreign threads exit; the cycle's handles are GORT_EINVAL in the
 *     next runtime;
 * in both thread-creation modes, GOMAXPROCS 1..4 at random. */
#include "stress.h"

static atomic_llong n_ok, n_notinit, n_other, init_ok, init_already, init_other;
static atomic_llong down_ok, down_notinit, down_busy, down_other, threads_made;

static void tally(int rc, const char* what) {
    if (rc == GORT_OK) {
        atomic_fetch_add(&n_ok, 1);
    } else if (rc == GORT_ENOTINIT) {
        atomic_fetch_add(&n_notinit, 1);
    } else {
        fprintf(stderr, "lifecycle: racing %s returned %d (%s)\n", what, rc, gort_strerror(rc));
        atomic_fetch_add(&n_other, 1);
    }
}

static atomic_long ran;
static void count(void* arg) {
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

/* ---- init and shutdown from many threads --------------------------------- */

static atomic_int stop_racing;

static void try_init(stress_rng* r) {
    int rc = stress_init(1 + (int)stress_below(r, 4));
    atomic_fetch_add(rc == GORT_OK         ? &init_ok
                     : rc == GORT_EALREADY ? &init_already
                                           : &init_other,
                     1);
    if (rc != GORT_OK && rc != GORT_EALREADY) {
        fprintf(stderr, "lifecycle: racing gort_init returned %d\n", rc);
    }
}

static void try_shutdown(stress_rng* r) {
    int rc = gort_shutdown((int64_t)stress_below(r, 2000000));
    atomic_fetch_add(rc == GORT_OK         ? &down_ok
                     : rc == GORT_ENOTINIT ? &down_notinit
                     : rc == GORT_EBUSY    ? &down_busy
                                           : &down_other,
                     1);
    if (rc != GORT_OK && rc != GORT_ENOTINIT && rc != GORT_EBUSY) {
        fprintf(stderr, "lifecycle: racing gort_shutdown returned %d\n", rc);
    }
}

/* Which lifecyclers may shut down: all of them, or only the first (the
 * others then only init, racing its shutdowns). */
static int shutters;

static void* lifecycler(void* arg) {
    int id = (int)(uintptr_t)arg;
    stress_rng r = stress_rng_for((uint64_t)id);
    while (!atomic_load(&stop_racing)) {
        if (id >= shutters || stress_below(&r, 2)) {
            try_init(&r);
        } else {
            try_shutdown(&r);
        }
        if (stress_below(&r, 4) == 0) stress_sleep_ns((int64_t)stress_below(&r, 200000));
    }
    return NULL;
}

/* A short-lived thread: a few calls of any kind, then it exits (bound to
 * the runtime or not, whichever runtime that is by then). */
static void* passer_by(void* arg) {
    stress_rng r = stress_rng_for((uint64_t)(uintptr_t)arg);
    int n = 1 + (int)stress_below(&r, 6);
    for (int i = 0; i < n; i++) {
        switch (stress_below(&r, 5)) {
            case 0:
                tally(gort_go(count, NULL), "gort_go");
                break;
            case 1:
                tally(gort_callback(count, NULL), "gort_callback");
                break;
            case 2: {
                gort_chan* ch = gort_chan_make(sizeof(int), 1);
                if (ch == NULL) {
                    tally(errno == EPERM ? GORT_ENOTINIT : GORT_EINVAL, "gort_chan_make");
                    break;
                }
                int v = 1, rc = gort_chan_send_timeout(ch, &v, 1000000);
                /* The runtime may stop in between: the handle then dies. */
                if (rc == GORT_OK) rc = gort_chan_recv_timeout(ch, &v, NULL, 1000000);
                if (rc == GORT_OK) rc = gort_chan_release(ch);
                tally(rc == GORT_EINVAL ? GORT_ENOTINIT : rc, "channel");
                break;
            }
            case 3: {
                int rc = gort_gomaxprocs(1 + (int)stress_below(&r, 4));
                tally(rc > 0 ? GORT_OK : rc, "gort_gomaxprocs");
                break;
            }
            default: {
                gort_stats s;
                tally(gort_get_stats(&s, sizeof s), "gort_get_stats");
                break;
            }
        }
    }
    return NULL;
}

static void* passer_spawner(void* arg) {
    (void)arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    uintptr_t id = 100;
    while (!atomic_load(&stop_racing)) {
        pthread_t th[8];
        int n = 0;
        for (; n < 8; n++) {
            if (pthread_create(&th[n], &attr, passer_by, (void*)id++) != 0) break;
            atomic_fetch_add(&threads_made, 1);
        }
        for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

static void init_shutdown_from_many_threads(int nshutters) {
    enum { kLifecyclers = 3 };
    shutters = nshutters;
    pthread_t lc[kLifecyclers], sp[2];
    atomic_store(&stop_racing, 0);
    for (uintptr_t i = 0; i < kLifecyclers; i++) pthread_create(&lc[i], NULL, lifecycler, (void*)i);
    for (int i = 0; i < 2; i++) pthread_create(&sp[i], NULL, passer_spawner, NULL);
    /* Run until enough runtimes came and went. */
    long want = STRESS_N(2000);
    while (atomic_load(&down_ok) < want) stress_sleep_ns(1000000);
    atomic_store(&stop_racing, 1);
    for (int i = 0; i < kLifecyclers; i++) pthread_join(lc[i], NULL);
    for (int i = 0; i < 2; i++) pthread_join(sp[i], NULL);
    int last = gort_shutdown(-1);
    CHECK(last == GORT_OK || last == GORT_ENOTINIT);
    if (last == GORT_OK) atomic_fetch_add(&down_ok, 1);
    fprintf(stderr,
            "  inits %lld ok / %lld already; shutdowns %lld ok / %lld not running / %lld busy; "
            "calls %lld ran, %lld turned away; %lld threads\n",
            atomic_load(&init_ok), atomic_load(&init_already), atomic_load(&down_ok),
            atomic_load(&down_notinit), atomic_load(&down_busy), atomic_load(&n_ok),
            atomic_load(&n_notinit), atomic_load(&threads_made));
    /* One winner per runtime, each way. */
    CHECK_EQ(atomic_load(&init_ok), atomic_load(&down_ok));
    CHECK_EQ(atomic_load(&init_other), 0);
    CHECK_EQ(atomic_load(&down_other), 0);
    CHECK_EQ(atomic_load(&n_other), 0);
    CHECK(atomic_load(&init_already) > 0);
    CHECK(atomic_load(&down_notinit) > 0);
    CHECK(atomic_load(&n_notinit) > 0);
    CHECK(atomic_load(&n_ok) > 0);
    /* The last runtime's state is clean: a fresh one works. */
    CHECK_OK(stress_init(2));
    atomic_store(&ran, 0);
    for (int i = 0; i < 100; i++) CHECK_OK(gort_go(count, NULL));
    CHECK_OK(gort_shutdown(-1));
    CHECK_EQ(atomic_load(&ran), 100);
    stress_figure("racing_runtimes", atomic_load(&init_ok));
    stress_figure("racing_calls", atomic_load(&n_ok) + atomic_load(&n_notinit));
    stress_figure("racing_threads", atomic_load(&threads_made));
}

/* Inits from three threads race one thread's shutdowns. */
static void test_inits_race_shutdowns(void) {
    init_shutdown_from_many_threads(1);
}

/* Shutdowns race each other too (see notes/requests.md, F4: crashes in
 * handlesAtShutdown today; registered DISABLED). */
static void test_shutdowns_race_shutdowns(void) {
    init_shutdown_from_many_threads(3);
}

/* ---- cycles full of work ----------------------------------------------------- */

typedef struct {
    gort_chan* gate;      /* closed to release everyone */
    gort_mutex* mu;       /* held by the main thread until release */
    gort_waitgroup* wg;   /* counter 1 until release */
    gort_chan* far_timer; /* an unfired gort_after, never released */
    gort_chan* results;   /* buffered: every finished piece of work sends 1 */
} Cycle;

static Cycle cyc;
static atomic_long spawned, finished, callbacks_blocked;

static void done_one(void) {
    atomic_fetch_add(&finished, 1);
}

static void on_gate(void* arg) {
    (void)arg;
    int ok;
    CHECK_OK(gort_chan_recv(cyc.gate, NULL, &ok));
    CHECK_EQ(ok, 0);
    done_one();
}

static void on_mutex(void* arg) {
    (void)arg;
    CHECK_OK(gort_mutex_lock(cyc.mu));
    CHECK_OK(gort_mutex_unlock(cyc.mu));
    done_one();
}

static void on_waitgroup(void* arg) {
    (void)arg;
    CHECK_OK(gort_waitgroup_wait(cyc.wg));
    done_one();
}

static void on_timer(void* arg) {
    (void)arg;
    gort_chan* t = gort_after(2000000);
    int64_t when;
    int ok;
    CHECK_OK(gort_chan_recv(t, &when, &ok));
    CHECK_EQ(ok, 1);
    CHECK_OK(gort_chan_release(t));
    CHECK_OK(gort_sleep(1000000));
    done_one();
}

static void c_waits_for_gate(void* arg) {
    (void)arg;
    /* In C (a system call for the runtime): poll the gate through the
     * callback path until it closes. */
    for (;;) {
        int ok = 1;
        int rc = gort_chan_recv_timeout(cyc.gate, NULL, &ok, 1000000);
        if (rc == GORT_OK && ok == 0) break;
        CHECK(rc == GORT_ETIMEDOUT);
        if (rc != GORT_ETIMEDOUT) break;
    }
}

static void in_cgocall(void* arg) {
    (void)arg;
    CHECK_OK(gort_cgocall(c_waits_for_gate, NULL));
    done_one();
}

static void exits_locked(void* arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    on_gate(NULL); /* and exits locked: the thread goes with it */
}

static gort_fn const work_kinds[] = {on_gate,  on_mutex,   on_waitgroup,
                                     on_timer, in_cgocall, exits_locked};

static void blocked_callback(void* arg) {
    (void)arg;
    atomic_fetch_add(&callbacks_blocked, 1);
    on_gate(NULL);
}

static void* foreign_caller(void* arg) {
    (void)arg;
    CHECK_OK(gort_callback(blocked_callback, NULL)); /* binds, blocks, returns */
    return NULL;                                     /* exits: maybe while the runtime shuts down */
}

static void main_body(void* arg) {
    (void)arg;
    /* gort_run_main's goroutine, on a foreign thread. */
    for (int i = 0; i < 4; i++) {
        atomic_fetch_add(&spawned, 1);
        CHECK_OK(gort_go(on_gate, NULL));
    }
    on_gate(NULL);
}

static void* run_main_thread(void* arg) {
    (void)arg;
    CHECK_OK(gort_run_main(main_body, NULL));
    return NULL;
}

static void one_cycle(stress_rng* r, gort_chan** stale, int nstale) {
    CHECK_OK(stress_init(1 + (int)stress_below(r, 4)));
    /* Handles of the previous runtime are dead. */
    for (int i = 0; i < nstale; i++) {
        CHECK_EQ(gort_chan_try_send(stale[i], NULL), GORT_EINVAL);
        CHECK_EQ(gort_chan_release(stale[i]), GORT_EINVAL);
    }
    cyc.gate = gort_chan_make(0, 0);
    cyc.mu = gort_mutex_make();
    cyc.wg = gort_waitgroup_make();
    cyc.far_timer = gort_after(10LL * 1000000000);
    CHECK(cyc.gate && cyc.mu && cyc.wg && cyc.far_timer);
    CHECK_OK(gort_mutex_lock(cyc.mu));
    CHECK_OK(gort_waitgroup_add(cyc.wg, 1));
    atomic_store(&spawned, 0);
    atomic_store(&finished, 0);
    atomic_store(&callbacks_blocked, 0);
    int n = 4 + (int)stress_below(r, 12), gated = 0;
    for (int i = 0; i < n; i++) {
        int k = (int)stress_below(r, 6);
        gated += work_kinds[k] != on_timer; /* the others wait for the release */
        atomic_fetch_add(&spawned, 1);
        CHECK_OK(gort_go(work_kinds[k], NULL));
    }
    enum { kForeign = 3 };
    pthread_t fth[kForeign], mth;
    int nf = (int)stress_below(r, kForeign + 1);
    for (int i = 0; i < nf; i++) pthread_create(&fth[i], NULL, foreign_caller, NULL);
    int with_main = stress_below(r, 3) == 0;
    if (with_main) {
        atomic_fetch_add(&spawned, 1); /* its own goroutine */
        pthread_create(&mth, NULL, run_main_thread, NULL);
    }
    /* Everything is parked somewhere: a short shutdown must refuse. */
    while (gort_num_goroutine() < gated || atomic_load(&callbacks_blocked) < nf) {
        stress_sleep_ns(20000);
    }
    CHECK_EQ(gort_shutdown(1000000), GORT_EBUSY);
    CHECK(gort_num_goroutine() >= gated); /* and it carries on */
    /* Release the work; shut down while the foreign threads leave. */
    CHECK_OK(gort_chan_close(cyc.gate));
    CHECK_OK(gort_mutex_unlock(cyc.mu));
    CHECK_OK(gort_waitgroup_done(cyc.wg));
    if (with_main) pthread_join(mth, NULL);
    int rc;
    while ((rc = gort_shutdown(2000000)) == GORT_EBUSY) {
    }
    CHECK_OK(rc);
    for (int i = 0; i < nf; i++) pthread_join(fth[i], NULL);
    CHECK_EQ(atomic_load(&finished) - atomic_load(&callbacks_blocked), atomic_load(&spawned));
    CHECK_EQ(atomic_load(&callbacks_blocked), nf);
    stale[0] = cyc.gate;
    stale[1] = cyc.far_timer;
}

static void test_cycles_full_of_work(void) {
    stress_rng r = stress_rng_for(3);
    gort_chan* stale[2] = {NULL, NULL};
    long cycles = STRESS_N(500), work = 0;
    for (long c = 0; c < cycles; c++) {
        one_cycle(&r, stale, c == 0 ? 0 : 2);
        work += atomic_load(&finished);
    }
    fprintf(stderr, "  %ld cycles, %ld pieces of work stopped and finished\n", cycles, work);
    stress_figure("cycles_with_work", cycles);
    stress_figure("work_across_cycles", work);
}

static void progress(void) {
    fprintf(stderr, "  inits %lld, shutdowns %lld; spawned %ld, finished %ld\n",
            atomic_load(&init_ok), atomic_load(&down_ok), atomic_load(&spawned),
            atomic_load(&finished));
}

/* Usage: lifecycle_test [inits|shutdowns|cycles]... (default: all three). */
int main(int argc, char** argv) {
    stress_setup("stress.lifecycle", 90);
    stress_progress = progress;
    const char* defaults[] = {"inits", "shutdowns", "cycles"};
    int n = argc > 1 ? argc - 1 : 3;
    for (int i = 0; i < n; i++) {
        const char* what = argc > 1 ? argv[i + 1] : defaults[i];
        if (strcmp(what, "inits") == 0) STRESS_RUN(test_inits_race_shutdowns);
        if (strcmp(what, "shutdowns") == 0) STRESS_RUN(test_shutdowns_race_shutdowns);
        if (strcmp(what, "cycles") == 0) STRESS_RUN(test_cycles_full_of_work);
    }
    return stress_finish();
}
