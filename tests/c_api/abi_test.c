/* The C ABI added for the layers above, used from C: gort_after and the
 * timed forms, retain/release, zero-size elements, blocking regions, the
 * per-goroutine switch hooks on every switch path, resume affinity,
 * GORT_EDEADLK, handles across shutdown (freed, then invalid), 2,000
 * init/shutdown cycles that never release their handles, a thread-start
 * hook failing at init, a raw fork() child, and a stack overflow on
 * gort_run_main's thread. Compiled as C. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pid_t tid(void) {
    return (pid_t)syscall(SYS_gettid);
}

static int init_runtime(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    return gort_init(&c);
}

/* ---- gort_after and timeouts ---------------------------------------------- */

static void test_after(void) {
    CHECK_OK(init_runtime(2));
    for (int i = 0; i < 20; i++) {
        int64_t ns = 1000000 * (i % 4 + 1); /* 1..4 ms */
        int64_t t0 = now_ns();
        gort_chan* t = gort_after(ns);
        CHECK(t != NULL);
        CHECK_EQ(gort_chan_cap(t), 1);
        int64_t fired = 0;
        int ok = 0;
        CHECK_OK(gort_chan_recv(t, &fired, &ok));
        CHECK_EQ(ok, 1);
        CHECK(fired >= t0 + ns); /* not early */
        CHECK(now_ns() >= t0 + ns);
        /* It fires once: nothing more comes. */
        CHECK_EQ(gort_chan_recv_timeout(t, &fired, &ok, 2000000), GORT_ETIMEDOUT);
        CHECK_OK(gort_chan_release(t));
    }
    /* In a select, beside a channel that never becomes ready. */
    gort_chan* never = gort_chan_make(sizeof(int), 0);
    gort_chan* t = gort_after(3000000);
    int v;
    int64_t fired;
    gort_select_case cases[2] = {{never, GORT_SELECT_RECV, &v, 0},
                                 {t, GORT_SELECT_RECV, &fired, 0}};
    size_t chosen = 9;
    CHECK_OK(gort_select(cases, 2, 1, &chosen));
    CHECK_EQ(chosen, 1);
    CHECK_EQ(cases[1].ok, 1);
    CHECK_OK(gort_chan_release(t));
    /* Released before it fires: 100,000 of them cost nothing afterwards
     * (the ASan build checks that nothing leaks). */
    for (int i = 0; i < SCALED(100000); i++)
        CHECK_OK(gort_chan_release(gort_after(3600000000000LL)));
    CHECK_OK(gort_chan_release(never));
    CHECK_OK(gort_shutdown(-1));
}

struct sender {
    gort_chan* ch;
    int64_t delay_ns;
    int value;
};

static void delayed_send(void* arg) {
    struct sender* s = arg;
    gort_sleep(s->delay_ns);
    gort_chan_send(s->ch, &s->value);
}

static void test_timeouts(void) {
    CHECK_OK(init_runtime(2));
    gort_chan* ch = gort_chan_make(sizeof(int), 0);
    int v = 0, ok = 0;
    /* Nothing comes: it waits at least the timeout, then gives up. */
    int64_t t0 = now_ns();
    CHECK_EQ(gort_chan_recv_timeout(ch, &v, &ok, 5000000), GORT_ETIMEDOUT);
    CHECK(now_ns() - t0 >= 5000000);
    CHECK_EQ(gort_chan_send_timeout(ch, &v, 2000000), GORT_ETIMEDOUT);
    CHECK_EQ(gort_chan_send_timeout(ch, &v, 0), GORT_ETIMEDOUT);
    /* A value that comes in time is received; the timer goes away. */
    struct sender s = {ch, 1000000, 42};
    CHECK_OK(gort_go(delayed_send, &s));
    CHECK_OK(gort_chan_recv_timeout(ch, &v, &ok, 5000000000LL));
    CHECK_EQ(v, 42);
    CHECK_EQ(ok, 1);
    /* A timed-out receive left nothing behind: a plain send now pairs with
     * a fresh receiver only. */
    gort_chan* b = gort_chan_make(sizeof(int), 1);
    CHECK_OK(gort_chan_send_timeout(b, &s.value, 1000000)); /* buffer space */
    CHECK_EQ(gort_chan_send_timeout(b, &s.value, 1000000), GORT_ETIMEDOUT);
    CHECK_OK(gort_chan_recv_timeout(b, &v, &ok, -1));
    CHECK_OK(gort_chan_release(b));
    /* select with a timeout. */
    gort_select_case c = {ch, GORT_SELECT_RECV, &v, 0};
    size_t chosen = 7;
    t0 = now_ns();
    CHECK_EQ(gort_select_timeout(&c, 1, 3000000, &chosen), GORT_ETIMEDOUT);
    CHECK(now_ns() - t0 >= 3000000);
    CHECK_EQ(chosen, 7);
    s.value = 7;
    CHECK_OK(gort_go(delayed_send, &s));
    CHECK_OK(gort_select_timeout(&c, 1, -1, &chosen));
    CHECK_EQ(chosen, 0);
    CHECK_EQ(v, 7);
    /* Closing wakes a timed receiver with ok = 0. */
    CHECK_OK(gort_chan_close(ch));
    CHECK_OK(gort_chan_recv_timeout(ch, &v, &ok, 1000000));
    CHECK_EQ(ok, 0);
    CHECK_OK(gort_chan_release(ch));
    CHECK_OK(gort_shutdown(-1));
}

/* Many goroutines lock with short timeouts while others hold the mutex:
 * every success is a real lock (the counter it guards is exact), every
 * timeout leaves the mutex's state right (the run ends; nothing hangs). */
enum { kTimedLockers = 16, kTimedRounds = 300 };

struct timed_lock {
    gort_mutex* mu;
    gort_waitgroup* wg;
    long counter; /* under mu */
    atomic_long successes;
    atomic_long timeouts;
    atomic_int inside;
};

static void timed_locker(void* arg) {
    struct timed_lock* t = arg;
    for (int i = 0; i < kTimedRounds; i++) {
        int64_t timeout = (i % 3 == 0) ? 0 : (int64_t)(i % 7) * 20000;
        int rc = gort_mutex_lock_timeout(t->mu, timeout);
        if (rc == GORT_OK) {
            if (atomic_fetch_add(&t->inside, 1) != 0) CHECK(!"two holders at once");
            t->counter++;
            if (i % 5 == 0) gort_gosched(); /* hold it across a switch */
            atomic_fetch_sub(&t->inside, 1);
            CHECK_OK(gort_mutex_unlock(t->mu));
            atomic_fetch_add(&t->successes, 1);
        } else {
            CHECK_EQ(rc, GORT_ETIMEDOUT);
            atomic_fetch_add(&t->timeouts, 1);
        }
    }
    gort_waitgroup_done(t->wg);
}

static void test_mutex_timeouts(void) {
    for (int procs = 1; procs <= 2; procs++) {
        CHECK_OK(init_runtime(procs));
        struct timed_lock t;
        memset(&t, 0, sizeof t);
        t.mu = gort_mutex_make();
        t.wg = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(t.wg, kTimedLockers));
        for (int i = 0; i < kTimedLockers; i++) CHECK_OK(gort_go(timed_locker, &t));
        CHECK_OK(gort_waitgroup_wait(t.wg));
        CHECK_EQ(t.counter, atomic_load(&t.successes));
        CHECK_EQ(atomic_load(&t.successes) + atomic_load(&t.timeouts),
                 (long)kTimedLockers * kTimedRounds);
        CHECK(atomic_load(&t.successes) > 0);
        /* Still a working mutex: lock, then a timed lock fails, unlock. */
        CHECK_OK(gort_mutex_lock(t.mu));
        CHECK_EQ(gort_mutex_lock_timeout(t.mu, 1000000), GORT_ETIMEDOUT);
        CHECK_OK(gort_mutex_unlock(t.mu));
        CHECK_OK(gort_mutex_lock_timeout(t.mu, 0));
        CHECK_OK(gort_mutex_unlock(t.mu));
        CHECK_OK(gort_mutex_release(t.mu));
        CHECK_OK(gort_waitgroup_release(t.wg));
        CHECK_OK(gort_shutdown(-1));
    }
}

/* Wait groups: timed waiters that give up must not eat the wakeup of the
 * ones that stay, nor make a later wait return early. */
struct timed_wg {
    gort_waitgroup* wg;   /* the one waited on */
    gort_waitgroup* done; /* the waiters report here */
    atomic_int released;  /* set once the counter reaches zero */
    atomic_int early;     /* waits that returned OK too soon */
    atomic_long oks, timeouts;
};

static void timed_waiter(void* arg) {
    struct timed_wg* t = arg;
    for (;;) {
        int rc = gort_waitgroup_wait_timeout(t->wg, 100000);
        if (rc == GORT_OK) {
            if (!atomic_load(&t->released)) atomic_fetch_add(&t->early, 1);
            atomic_fetch_add(&t->oks, 1);
            break;
        }
        CHECK_EQ(rc, GORT_ETIMEDOUT);
        atomic_fetch_add(&t->timeouts, 1);
    }
    gort_waitgroup_done(t->done);
}

static void test_waitgroup_timeouts(void) {
    CHECK_OK(init_runtime(2));
    for (int round = 0; round < 20; round++) {
        struct timed_wg t;
        memset(&t, 0, sizeof t);
        t.wg = gort_waitgroup_make();
        t.done = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(t.wg, 1));
        CHECK_OK(gort_waitgroup_add(t.done, 8));
        for (int i = 0; i < 8; i++) CHECK_OK(gort_go(timed_waiter, &t));
        gort_sleep(2000000);
        atomic_store(&t.released, 1);
        CHECK_OK(gort_waitgroup_done(t.wg));
        CHECK_OK(gort_waitgroup_wait(t.done));
        CHECK_EQ(atomic_load(&t.oks), 8);
        CHECK_EQ(atomic_load(&t.early), 0);
        /* Reused: a new cycle waits again. */
        CHECK_OK(gort_waitgroup_add(t.wg, 1));
        CHECK_EQ(gort_waitgroup_wait_timeout(t.wg, 1000000), GORT_ETIMEDOUT);
        CHECK_OK(gort_waitgroup_done(t.wg));
        CHECK_OK(gort_waitgroup_wait_timeout(t.wg, 1000000));
        CHECK_OK(gort_waitgroup_release(t.wg));
        CHECK_OK(gort_waitgroup_release(t.done));
    }
    CHECK_OK(gort_shutdown(-1));
}

/* ---- references and zero-size elements ----------------------------------- */

static void test_retain(void) {
    CHECK_OK(init_runtime(1));
    gort_chan* ch = gort_chan_make(sizeof(int), 1);
    CHECK_OK(gort_chan_retain(ch));
    CHECK_OK(gort_chan_release(ch)); /* the creator's */
    int v = 5, got = 0, ok = 0;
    CHECK_OK(gort_chan_send(ch, &v)); /* still alive: the retained reference */
    CHECK_OK(gort_chan_recv(ch, &got, &ok));
    CHECK_EQ(got, 5);
    CHECK_OK(gort_chan_release(ch)); /* the last one */
    CHECK_EQ(gort_chan_send(ch, &v), GORT_EINVAL);
    CHECK_EQ(gort_chan_retain(ch), GORT_EINVAL);
    CHECK_EQ(gort_chan_release(ch), GORT_EINVAL);

    gort_waitgroup* wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_retain(wg));
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK_OK(gort_waitgroup_add(wg, 1));
    CHECK_OK(gort_waitgroup_done(wg));
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK_EQ(gort_waitgroup_add(wg, 1), GORT_EINVAL);

    gort_mutex* mu = gort_mutex_make();
    for (int i = 0; i < 10; i++) CHECK_OK(gort_mutex_retain(mu));
    for (int i = 0; i < 10; i++) CHECK_OK(gort_mutex_release(mu));
    CHECK_OK(gort_mutex_lock(mu));
    CHECK_OK(gort_mutex_unlock(mu));
    CHECK_OK(gort_mutex_release(mu));
    CHECK_EQ(gort_mutex_lock(mu), GORT_EINVAL);
    CHECK_OK(gort_shutdown(-1));
}

struct empty_pc {
    gort_chan* ch;
    int n;
};

static void empty_producer(void* arg) {
    struct empty_pc* p = arg;
    for (int i = 0; i < p->n; i++) CHECK_OK(gort_chan_send(p->ch, NULL));
    CHECK_OK(gort_chan_close(p->ch));
}

static void test_zero_size(void) {
    CHECK_OK(init_runtime(2));
    for (size_t cap = 0; cap <= 4; cap += 4) {
        struct empty_pc p = {gort_chan_make(0, cap), 10000};
        CHECK(p.ch != NULL);
        CHECK_OK(gort_go(empty_producer, &p));
        int count = 0, ok = 1;
        while (gort_chan_recv(p.ch, NULL, &ok) == GORT_OK && ok) count++;
        CHECK_EQ(count, p.n);
        CHECK_OK(gort_chan_release(p.ch));
    }
    CHECK_OK(gort_shutdown(-1));
}

/* ---- blocking regions ------------------------------------------------------ */

static pthread_mutex_t c_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int other_ran;
static atomic_int in_region;
static atomic_int c_locked;

static void other_goroutine(void* arg) {
    (void)arg;
    while (!atomic_load(&in_region)) gort_gosched();
    atomic_store(&other_ran, 1);
}

static void* hold_until_other_ran(void* arg) {
    (void)arg;
    /* A C library's lock, held until the other goroutine has run: on 1 P
     * that can only happen while the region has given its P away. */
    pthread_mutex_lock(&c_lock);
    atomic_store(&c_locked, 1);
    while (!atomic_load(&other_ran)) usleep(100);
    pthread_mutex_unlock(&c_lock);
    return NULL;
}

static void region_goroutine(void* arg) {
    int* rc = arg;
    pthread_t th;
    atomic_store(&c_locked, 0);
    pthread_create(&th, NULL, hold_until_other_ran, NULL);
    while (!atomic_load(&c_locked)) usleep(100);
    CHECK_OK(gort_blocking_begin());
    atomic_store(&in_region, 1);
    pthread_mutex_lock(&c_lock); /* blocks until the other goroutine ran */
    pthread_mutex_unlock(&c_lock);
    *rc = gort_blocking_end();
    pthread_join(th, NULL);
}

static void test_blocking_region(void) {
    /* Nothing the bound mutex does needs a second P: the region itself
     * lets the other goroutine run (the P is handed off). */
    CHECK_OK(init_runtime(1));
    for (int round = 0; round < 10; round++) {
        atomic_store(&other_ran, 0);
        atomic_store(&in_region, 0);
        int rc = -99;
        gort_waitgroup* wg = gort_waitgroup_make();
        CHECK_OK(gort_go(other_goroutine, NULL));
        CHECK_OK(gort_callback(region_goroutine, &rc)); /* a goroutine bound to this thread */
        CHECK_OK(rc);
        CHECK_EQ(atomic_load(&other_ran), 1);
        CHECK_OK(gort_waitgroup_release(wg));
    }
    CHECK_OK(gort_shutdown(-1));
}

/* ---- switch hooks on every switch path ------------------------------------ */

struct hooks {
    atomic_int parks, resumes;
    atomic_int nested; /* a hook ran inside a hook */
    atomic_int depth;
    atomic_int bad_goid;
    int64_t goid;
    atomic_int region; /* resume hooks that used a blocking region */
};

static void on_park(void* arg) {
    struct hooks* h = arg;
    if (atomic_fetch_add(&h->depth, 1) != 0) atomic_fetch_add(&h->nested, 1);
    if (gort_goid() != h->goid) atomic_fetch_add(&h->bad_goid, 1);
    atomic_fetch_add(&h->parks, 1);
    atomic_fetch_sub(&h->depth, 1);
}

static void on_resume(void* arg) {
    struct hooks* h = arg;
    if (atomic_fetch_add(&h->depth, 1) != 0) atomic_fetch_add(&h->nested, 1);
    atomic_fetch_add(&h->resumes, 1);
    /* What the Python layer does for the GIL: wait in a blocking region. */
    if (gort_blocking_begin() == GORT_OK && gort_blocking_end() == GORT_OK) {
        atomic_fetch_add(&h->region, 1);
    }
    atomic_fetch_sub(&h->depth, 1);
}

struct hooked {
    struct hooks* h;
    gort_chan* ping;
    atomic_int in_c;            /* the hooked goroutine's C call has begun */
    atomic_int spinner_running; /* the spinner holds the only P */
    atomic_int c_returned;
    atomic_int stop_spinner;
    int path;
};

enum { kPathPark, kPathGosched, kPathSyscallWait, kPathCallbackWait, kPaths };

/* In C: wait until the spinner has the P that sysmon took from this call,
 * so that the call's return finds no P. */
static void wait_for_spinner(struct hooked* k) {
    atomic_store(&k->in_c, 1);
    while (!atomic_load(&k->spinner_running)) usleep(1000);
}

static void c_sleep_then_flag(void* arg) {
    struct hooked* k = arg;
    wait_for_spinner(k);
    atomic_store(&k->c_returned, 1);
}

static void cb_noop(void* arg) {
    (void)arg;
}

static void c_sleep_then_callback(void* arg) {
    struct hooked* k = arg;
    wait_for_spinner(k);
    atomic_store(&k->c_returned, 1);
    gort_callback(cb_noop, NULL); /* the P is taken: the callback waits for one */
}

static void hooked_body(void* arg) {
    struct hooked* k = arg;
    k->h->goid = gort_goid();
    int v;
    switch (k->path) {
        case kPathPark:
            gort_chan_recv(k->ping, &v, NULL);
            break;
        case kPathGosched:
            gort_gosched();
            break;
        case kPathSyscallWait:
            gort_cgocall(c_sleep_then_flag, k);
            break;
        case kPathCallbackWait:
            gort_cgocall(c_sleep_then_callback, k);
            break;
    }
    atomic_store(&k->stop_spinner, 1);
}

/* Holds the only P while the hooked goroutine's C call returns, so that it
 * finds no P and must wait for one. Started once that call is in C (started
 * before, it could take the P first and spin for a call never made). */
static void spinner(void* arg) {
    struct hooked* k = arg;
    atomic_store(&k->spinner_running, 1);
    while (!atomic_load(&k->c_returned)) {
    }
    int64_t t0 = now_ns();
    while (now_ns() - t0 < 2000000) {
    }
    while (!atomic_load(&k->stop_spinner)) gort_gosched();
}

static void test_hooks(void) {
    CHECK_OK(init_runtime(1));
    for (int path = 0; path < kPaths; path++) {
        struct hooks h;
        memset(&h, 0, sizeof h);
        struct hooked k;
        memset(&k, 0, sizeof k);
        k.h = &h;
        k.path = path;
        k.ping = gort_chan_make(sizeof(int), 0);
        gort_go_opts o;
        memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        o.on_park = on_park;
        o.on_resume = on_resume;
        o.hook_arg = &h;
        int64_t id = 0;
        CHECK_OK(gort_go_ex(&o, hooked_body, &k, &id));
        if (path == kPathSyscallWait || path == kPathCallbackWait) {
            while (!atomic_load(&k.in_c)) gort_sleep(100000);
            CHECK_OK(gort_go(spinner, &k));
        }
        if (path == kPathPark) {
            int v = 1;
            gort_sleep(1000000);
            CHECK_OK(gort_chan_send(k.ping, &v));
        }
        while (!atomic_load(&k.stop_spinner)) gort_sleep(100000);
        while (gort_num_goroutine() > 0) gort_sleep(100000);
        fprintf(stderr, "  hooks path %d: %d parks, %d resumes\n", path, atomic_load(&h.parks),
                atomic_load(&h.resumes));
        CHECK(atomic_load(&h.parks) >= 1);
        CHECK_EQ(atomic_load(&h.parks), atomic_load(&h.resumes));
        CHECK_EQ(atomic_load(&h.nested), 0);
        CHECK_EQ(atomic_load(&h.bad_goid), 0);
        CHECK_EQ(atomic_load(&h.region), atomic_load(&h.resumes));
        CHECK_OK(gort_chan_release(k.ping));
    }
    CHECK_OK(gort_shutdown(-1));
}

/* ---- resume affinity -------------------------------------------------------- */

struct affine {
    gort_chan* ch;
    gort_waitgroup* wg;
    pid_t last;
    int same, total;
};

static void affine_receiver(void* arg) {
    struct affine* a = arg;
    int v, ok;
    a->last = tid();
    while (gort_chan_recv(a->ch, &v, &ok) == GORT_OK && ok) {
        if (tid() == a->last) a->same++;
        a->total++;
        a->last = tid();
    }
    gort_waitgroup_done(a->wg);
}

static void test_affinity(void) {
    /* With the flag, a goroutine woken while the thread that last ran it is
     * idle resumes there. The sender is this plain thread, which waits a
     * little between sends so that the receiver's thread has gone idle. */
    CHECK_OK(init_runtime(2));
    struct affine a;
    memset(&a, 0, sizeof a);
    a.ch = gort_chan_make(sizeof(int), 0);
    a.wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(a.wg, 1));
    gort_go_opts o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.flags = GORT_GO_RESUME_AFFINITY;
    CHECK_OK(gort_go_ex(&o, affine_receiver, &a, NULL));
    for (int i = 0; i < 200; i++) {
        usleep(300);
        CHECK_OK(gort_chan_send(a.ch, &i));
    }
    CHECK_OK(gort_chan_close(a.ch));
    CHECK_OK(gort_waitgroup_wait(a.wg));
    fprintf(stderr, "  affinity: %d of %d resumes on the same thread\n", a.same, a.total);
    CHECK_EQ(a.total, 200);
    CHECK(a.same >= a.total * 9 / 10);
    CHECK_OK(gort_chan_release(a.ch));
    CHECK_OK(gort_waitgroup_release(a.wg));
    CHECK_OK(gort_shutdown(-1));
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void test_handles_across_shutdown(void) {
    CHECK_OK(init_runtime(1));
    gort_chan* ch = gort_chan_make(sizeof(int), 4);
    gort_waitgroup* wg = gort_waitgroup_make();
    gort_mutex* mu = gort_mutex_make();
    gort_chan* t = gort_after(3600000000000LL);
    int v = 1;
    CHECK_OK(gort_chan_send(ch, &v));
    CHECK_OK(gort_mutex_lock(mu));
    CHECK_OK(gort_shutdown(-1)); /* frees all four */
    CHECK_EQ(gort_chan_send(ch, &v), GORT_ENOTINIT);
    CHECK_OK(init_runtime(1));
    CHECK_EQ(gort_chan_send(ch, &v), GORT_EINVAL);
    CHECK_EQ(gort_chan_recv(t, &v, NULL), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_add(wg, 1), GORT_EINVAL);
    CHECK_EQ(gort_mutex_unlock(mu), GORT_EINVAL);
    CHECK_EQ(gort_chan_release(ch), GORT_EINVAL);
    CHECK_OK(gort_shutdown(-1));
}

static void test_cycles_without_release(void) {
    /* 2,000 runtimes whose handles are never released: shutdown frees them
     * (LeakSanitizer checks, in the ASan build). */
    for (int i = 0; i < SCALED(2000); i++) {
        CHECK_OK(init_runtime(1));
        gort_chan* ch = gort_chan_make(sizeof(long), 8);
        long x = i;
        gort_chan_send(ch, &x);
        gort_waitgroup_make();
        gort_mutex_make();
        gort_after(1000000000);
        CHECK_OK(gort_shutdown(-1));
    }
}

static atomic_int failing_calls;
static int failing_hook(const gort_thread_start* ts) {
    (void)ts;
    atomic_fetch_add(&failing_calls, 1);
    return EAGAIN;
}

static void test_failing_hook_at_init(void) {
    CHECK_OK(gort_set_thread_start(failing_hook));
    CHECK_EQ(init_runtime(2), GORT_ETHREAD);
    CHECK(atomic_load(&failing_calls) > 0);
    CHECK_EQ(gort_num_goroutine(), GORT_ENOTINIT); /* nothing left behind */
    CHECK_EQ(gort_shutdown(0), GORT_ENOTINIT);
    CHECK_OK(gort_set_thread_start(NULL));
    CHECK_OK(init_runtime(2));
    CHECK_OK(gort_go(cb_noop, NULL));
    CHECK_OK(gort_shutdown(-1));
}

static void test_fork_child(void) {
    CHECK_OK(init_runtime(2));
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        bad += gort_go(cb_noop, NULL) != GORT_ENOTSUP;
        bad += gort_init(NULL) != GORT_ENOTSUP;
        bad += gort_shutdown(0) != GORT_ENOTSUP;
        bad += gort_chan_make(4, 1) != NULL || errno != ENOTSUP;
        bad += gort_sleep(1000) != GORT_ENOTSUP;
        bad += gort_num_goroutine() != GORT_ENOTSUP;
        _exit(bad);
    }
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK_OK(gort_shutdown(-1)); /* the parent's runtime is unharmed */
}

static int recurse(int n) {
    volatile char pad[4096];
    pad[0] = (char)n;
    return n == 0 ? 0 : recurse(n + 1) + pad[0];
}

static void overflow_main(void* arg) {
    (void)arg;
    recurse(1);
}

static void test_run_main_overflow(void) {
    int fds[2];
    CHECK_OK(pipe(fds));
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        struct rlimit;
        init_runtime(1);
        gort_run_main(overflow_main, NULL);
        _exit(0);
    }
    close(fds[1]);
    char buf[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(fds[0]);
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(buf, "gort: fatal error: stack overflow") != NULL);
    CHECK(strstr(buf, "thread stack") != NULL);
}

int main(void) {
    RUN(test_after);
    RUN(test_timeouts);
    RUN(test_mutex_timeouts);
    RUN(test_waitgroup_timeouts);
    RUN(test_retain);
    RUN(test_zero_size);
    RUN(test_blocking_region);
    RUN(test_hooks);
    RUN(test_affinity);
    RUN(test_handles_across_shutdown);
    RUN(test_cycles_without_release);
    RUN(test_failing_hook_at_init);
    RUN(test_fork_child);
    RUN(test_run_main_overflow);
    return check_failures != 0;
}
