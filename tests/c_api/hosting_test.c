/* Hosting (runtime/lockosthread.cpp, guide "Locked threads"): a thread
 * waiting inside gort (the gort_run_main goroutine, the plain C main thread
 * in a gort call) runs other goroutines meanwhile, and its own goroutine
 * resumes on it. Observable outcomes, over many iterations, at 1 and 2 Ps:
 *   - the main goroutine, and the plain main thread, always resume on the
 *     main thread (thread ids);
 *   - in a ping-pong with the main thread, the echo goroutine really runs on
 *     the main thread, and at 1 P the main thread is not woken by a P hand-
 *     over for most round trips (gort_stats lockedm_wakeups, hosted_runs);
 *   - a goroutine that calls gort_lock_os_thread while hosted moves off the
 *     main thread first, and no other goroutine ever runs on a locked
 *     goroutine's thread;
 *   - a goroutine that exits locked after being hosted takes a thread of
 *     its own, never the main thread;
 *   - a hosted goroutine's gort_cgocall (and a callback inside it) runs on
 *     another thread; gort_sleep, GOMAXPROCS changes while hosting, and
 *     shutdown work; a deadlock after hosting is still reported (child).
 * Runs in both thread-creation modes (GORT_TEST_CGO). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static const char* self;
static pid_t main_tid;

static pid_t tid(void) {
    return (pid_t)syscall(SYS_gettid);
}

static void init_runtime(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = check_cgo_mode();
    CHECK_OK(gort_init(&c));
}

static void shutdown_runtime(void) {
    CHECK_OK(gort_shutdown(10 * 1000000000LL));
}

static gort_stats stats(void) {
    gort_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    return s;
}

/* ---- ping-pong with the main thread ---------------------------------- */

struct pingpong {
    gort_chan *ping, *pong;
    long n;
    atomic_long echo_on_main; /* round trips the echo goroutine ran on the main thread */
    long main_off_main;       /* round trips after which the driver was elsewhere */
    gort_stats before, after;
};

static void echo(void* arg) {
    struct pingpong* p = arg;
    long v;
    int ok;
    for (;;) {
        CHECK_OK(gort_chan_recv(p->ping, &v, &ok));
        if (!ok) break;
        if (tid() == main_tid) atomic_fetch_add(&p->echo_on_main, 1);
        CHECK_OK(gort_chan_send(p->pong, &v));
    }
    CHECK_OK(gort_chan_close(p->pong));
}

static void drive(void* arg) {
    struct pingpong* p = arg;
    p->before = stats();
    for (long i = 0; i < p->n; i++) {
        long v = -1;
        int ok = 0;
        CHECK_OK(gort_chan_send(p->ping, &i));
        CHECK_OK(gort_chan_recv(p->pong, &v, &ok));
        if (!ok || v != i) CHECK_EQ(v, i);
        if (tid() != main_tid) p->main_off_main++;
    }
    p->after = stats();
    long v;
    int ok = 1;
    CHECK_OK(gort_chan_close(p->ping));
    CHECK_OK(gort_chan_recv(p->pong, &v, &ok));
    CHECK_EQ(ok, 0);
}

static void pingpong(int procs, int runmain) {
    init_runtime(procs);
    struct pingpong p;
    memset(&p, 0, sizeof p);
    p.ping = gort_chan_make(sizeof(long), 0);
    p.pong = gort_chan_make(sizeof(long), 0);
    p.n = SCALED(20000);
    CHECK_OK(gort_go(echo, &p));
    if (runmain) {
        CHECK_OK(gort_run_main(drive, &p));
    } else {
        drive(&p);
    }
    CHECK_EQ(p.main_off_main, 0);
    long on_main = atomic_load(&p.echo_on_main);
    uint64_t wakeups = p.after.lockedm_wakeups - p.before.lockedm_wakeups;
    uint64_t hosted = p.after.hosted_runs - p.before.hosted_runs;
    CHECK(on_main > 0);
    CHECK(hosted > 0);
    if (procs == 1) {
        /* One P, which the main thread keeps: echo runs there, nearly
         * every round trip, and the main thread is not woken with a P
         * handed over (it was, twice a round trip, before hosting). */
        CHECK(on_main >= p.n / 2);
        CHECK(wakeups <= (uint64_t)p.n / 10);
    }
    if (on_main == 0 || hosted == 0 || (procs == 1 && wakeups > (uint64_t)p.n / 10)) {
        fprintf(stderr, "procs %d runmain %d: echo on main %ld of %ld, hosted %llu, wakeups %llu\n",
                procs, runmain, on_main, p.n, (unsigned long long)hosted,
                (unsigned long long)wakeups);
    }
    CHECK_OK(gort_chan_release(p.ping));
    CHECK_OK(gort_chan_release(p.pong));
    shutdown_runtime();
}

static void test_pingpong_run_main(void) {
    pingpong(1, 1);
    pingpong(2, 1);
}

static void test_pingpong_plain_main_thread(void) {
    pingpong(1, 0);
    pingpong(2, 0);
}

/* ---- locked goroutines keep their thread to themselves ---------------- */

#define NLOCKED 4

static _Atomic pid_t locked_tids[NLOCKED];
static atomic_long shared_violations, lock_moved_off_main, lock_on_main;

static void check_not_on_locked_thread(void) {
    pid_t me = tid();
    for (int i = 0; i < NLOCKED; i++) {
        if (atomic_load(&locked_tids[i]) == me) atomic_fetch_add(&shared_violations, 1);
    }
}

struct lockers {
    gort_chan* tick; /* main -> lockers and workers */
    gort_chan* tock; /* back to main */
    gort_waitgroup* wg;
    int rounds;
    int slot;
};

struct locker_arg {
    struct lockers* l;
    int slot;
};

static void locker(void* arg) {
    struct locker_arg* a = arg;
    struct lockers* l = a->l;
    pid_t before = tid();
    CHECK_OK(gort_lock_os_thread());
    pid_t t = tid();
    if (t == main_tid) atomic_fetch_add(&lock_on_main, 1);
    if (before == main_tid && t != main_tid) atomic_fetch_add(&lock_moved_off_main, 1);
    atomic_store(&locked_tids[a->slot], t);
    for (int i = 0; i < l->rounds; i++) {
        int v;
        int ok;
        CHECK_OK(gort_chan_recv(l->tick, &v, &ok));
        CHECK(tid() == t);
        CHECK_OK(gort_chan_send(l->tock, &v));
    }
    atomic_store(&locked_tids[a->slot], 0);
    CHECK_OK(gort_unlock_os_thread());
    CHECK_OK(gort_waitgroup_done(l->wg));
}

static void worker(void* arg) {
    struct lockers* l = arg;
    for (int i = 0; i < l->rounds; i++) {
        int v;
        int ok;
        CHECK_OK(gort_chan_recv(l->tick, &v, &ok));
        check_not_on_locked_thread();
        CHECK_OK(gort_chan_send(l->tock, &v));
        check_not_on_locked_thread();
    }
    CHECK_OK(gort_waitgroup_done(l->wg));
}

static void lockers_main(void* arg) {
    int rounds = *(int*)arg;
    for (int it = 0; it < SCALED(40); it++) {
        struct lockers l = {gort_chan_make(sizeof(int), 0), gort_chan_make(sizeof(int), 0),
                            gort_waitgroup_make(), rounds, 0};
        struct locker_arg args[NLOCKED];
        CHECK_OK(gort_waitgroup_add(l.wg, 2 * NLOCKED));
        for (int i = 0; i < NLOCKED; i++) {
            args[i].l = &l;
            args[i].slot = i;
            CHECK_OK(gort_go(locker, &args[i]));
            CHECK_OK(gort_go(worker, &l));
        }
        for (int i = 0; i < 2 * NLOCKED * rounds; i++) {
            int v = i, ok;
            CHECK_OK(gort_chan_send(l.tick, &v));
            CHECK_OK(gort_chan_recv(l.tock, &v, &ok));
            CHECK(tid() == main_tid);
            check_not_on_locked_thread();
        }
        CHECK_OK(gort_waitgroup_wait(l.wg));
        CHECK(tid() == main_tid);
        CHECK_OK(gort_chan_release(l.tick));
        CHECK_OK(gort_chan_release(l.tock));
        CHECK_OK(gort_waitgroup_release(l.wg));
    }
}

static void test_locked_never_shares(void) {
    for (int procs = 1; procs <= 2; procs++) {
        init_runtime(procs);
        atomic_store(&shared_violations, 0);
        atomic_store(&lock_on_main, 0);
        atomic_store(&lock_moved_off_main, 0);
        int rounds = 20;
        CHECK_OK(gort_run_main(lockers_main, &rounds));
        CHECK_EQ(atomic_load(&shared_violations), 0);
        CHECK_EQ(atomic_load(&lock_on_main), 0);
        /* At 1 P the lockers start hosted on the main thread (it waits for
         * them): their lock moved them off. */
        if (procs == 1) CHECK(atomic_load(&lock_moved_off_main) > 0);
        shutdown_runtime();
    }
}

/* ---- exiting locked after being hosted -------------------------------- */

static atomic_long exit_locked_started_on_main;

static void exits_locked(void* arg) {
    if (tid() == main_tid) atomic_fetch_add(&exit_locked_started_on_main, 1);
    CHECK_OK(gort_lock_os_thread());
    CHECK(tid() != main_tid);
    CHECK_OK(gort_chan_close((gort_chan*)arg));
    /* returns locked: the thread goes with it */
}

static void exit_locked_main(void* arg) {
    int n = *(int*)arg;
    for (int i = 0; i < n; i++) {
        gort_chan* done = gort_chan_make(0, 0);
        CHECK_OK(gort_go(exits_locked, done));
        int ok = 1;
        CHECK_OK(gort_chan_recv(done, NULL, &ok));
        CHECK_EQ(ok, 0);
        CHECK(tid() == main_tid);
        CHECK_OK(gort_chan_release(done));
        CHECK_OK(gort_gosched()); /* and run what is queued here */
        CHECK(tid() == main_tid);
    }
}

static void test_exit_locked_while_hosted(void) {
    for (int procs = 1; procs <= 2; procs++) {
        init_runtime(procs);
        atomic_store(&exit_locked_started_on_main, 0);
        int n = SCALED(100);
        gort_stats before = stats();
        CHECK_OK(gort_run_main(exit_locked_main, &n));
        CHECK(tid() == main_tid);
        /* The main thread is still here and still usable. */
        CHECK_OK(gort_run_main(exit_locked_main, &n));
        gort_stats after = stats();
        if (procs == 1) CHECK(atomic_load(&exit_locked_started_on_main) > 0);
        CHECK(after.ms_exited_locked - before.ms_exited_locked >= (uint64_t)n);
        shutdown_runtime();
    }
}

/* ---- C from a hosted goroutine ---------------------------------------- */

static atomic_long c_on_main, cb_on_main, hosted_callers;

static void in_callback(void* arg) {
    (void)arg;
    if (tid() == main_tid) atomic_fetch_add(&cb_on_main, 1);
    CHECK_OK(gort_gosched());
}

static void in_c(void* arg) {
    (void)arg;
    if (tid() == main_tid) atomic_fetch_add(&c_on_main, 1);
    CHECK_OK(gort_callback(in_callback, NULL));
}

static void calls_c(void* arg) {
    if (tid() == main_tid) atomic_fetch_add(&hosted_callers, 1);
    CHECK_OK(gort_cgocall(in_c, NULL));
    CHECK_OK(gort_blocking_begin());
    if (tid() == main_tid) atomic_fetch_add(&c_on_main, 1);
    CHECK_OK(gort_blocking_end());
    CHECK_OK(gort_waitgroup_done((gort_waitgroup*)arg));
}

static void cgo_main(void* arg) {
    (void)arg;
    for (int it = 0; it < SCALED(200); it++) {
        gort_waitgroup* wg = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(wg, 4));
        for (int i = 0; i < 4; i++) CHECK_OK(gort_go(calls_c, wg));
        CHECK_OK(gort_waitgroup_wait(wg));
        CHECK(tid() == main_tid);
        CHECK_OK(gort_waitgroup_release(wg));
    }
}

static void test_cgocall_from_hosted(void) {
    for (int procs = 1; procs <= 2; procs++) {
        init_runtime(procs);
        atomic_store(&c_on_main, 0);
        atomic_store(&cb_on_main, 0);
        atomic_store(&hosted_callers, 0);
        CHECK_OK(gort_run_main(cgo_main, NULL));
        CHECK_EQ(atomic_load(&c_on_main), 0);
        CHECK_EQ(atomic_load(&cb_on_main), 0);
        if (procs == 1) CHECK(atomic_load(&hosted_callers) > 0);
        shutdown_runtime();
    }
}

/* ---- timers, GOMAXPROCS changes --------------------------------------- */

static void sleeper(void* arg) {
    for (int i = 0; i < 20; i++) CHECK_OK(gort_sleep(100000));
    CHECK_OK(gort_waitgroup_done((gort_waitgroup*)arg));
}

static void resizer(void* arg) {
    for (int i = 0; i < 200; i++) {
        CHECK(gort_gomaxprocs(1 + i % 2) > 0);
        CHECK_OK(gort_gosched());
    }
    CHECK_OK(gort_waitgroup_done((gort_waitgroup*)arg));
}

static void mixed_main(void* arg) {
    (void)arg;
    for (int it = 0; it < SCALED(10); it++) {
        gort_waitgroup* wg = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(wg, 4));
        CHECK_OK(gort_go(sleeper, wg));
        CHECK_OK(gort_go(sleeper, wg));
        CHECK_OK(gort_go(resizer, wg));
        CHECK_OK(gort_go(resizer, wg));
        for (int i = 0; i < 10; i++) {
            CHECK_OK(gort_sleep(50000));
            CHECK(tid() == main_tid);
        }
        CHECK_OK(gort_waitgroup_wait(wg));
        CHECK(tid() == main_tid);
        CHECK_OK(gort_waitgroup_release(wg));
    }
}

static void test_timers_and_resizes(void) {
    init_runtime(2);
    CHECK_OK(gort_run_main(mixed_main, NULL));
    mixed_main(NULL); /* the plain main thread */
    shutdown_runtime();
}

/* ---- deadlock after hosting (child) ----------------------------------- */

static void blocks_forever(void* arg) {
    int v, ok;
    CHECK_OK(gort_chan_recv((gort_chan*)arg, &v, &ok));
}

static void deadlock_main(void* arg) {
    (void)arg;
    struct pingpong p;
    memset(&p, 0, sizeof p);
    p.ping = gort_chan_make(sizeof(long), 0);
    p.pong = gort_chan_make(sizeof(long), 0);
    p.n = 1000;
    CHECK_OK(gort_go(echo, &p));
    drive(&p); /* hosted round trips first */
    gort_chan* never = gort_chan_make(sizeof(int), 0);
    CHECK_OK(gort_go(blocks_forever, never));
    int v, ok;
    gort_chan_recv(never, &v, &ok); /* nobody sends: deadlock */
}

static int child(const char* name) {
    if (strcmp(name, "deadlock") == 0) {
        init_runtime(1);
        gort_run_main(deadlock_main, NULL);
        return 3; /* not reached */
    }
    return 2;
}

static void test_deadlock_after_hosting(void) {
    char out[8192];
    int status = run_child(self, "deadlock", out, sizeof out);
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(strstr(out, "all goroutines are asleep - deadlock!") != NULL);
}

int main(int argc, char** argv) {
    self = argv[0];
    main_tid = tid();
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
    RUN(test_pingpong_run_main);
    RUN(test_pingpong_plain_main_thread);
    RUN(test_locked_never_shares);
    RUN(test_exit_locked_while_hosted);
    RUN(test_cgocall_from_hosted);
    RUN(test_timers_and_resizes);
    RUN(test_deadlock_after_hosting);
    return check_failures != 0;
}
