/* The random mix (issue 11, "Keeping it fixed"): every operation of gort.h
 * at once, from goroutines, from C code inside cgocalls, from callbacks and
 * from plain threads, while GOMAXPROCS flips every ~0.3 ms and foreign
 * threads churn (created, calling in, exiting). Each actor draws its
 * operations from its own seeded PRNG:
 *   channels (unbuffered and buffered 1..16: send, receive, try forms,
 *   timeouts), select with timeouts and nil cases, gort_after (received or
 *   cancelled), wait groups (children retain and release it), mutexes
 *   (plain and timed) guarding plain counters, spawn, gosched, sleep,
 *   lock/unlock thread (nested), cgocall (errno carried, C calling back and
 *   spawning), blocking regions, callbacks, retain/release, bad handles.
 * No operation can block for good (every wait has a timeout or a partner
 * that is certain to come), so a hang is a bug: the watchdog dumps.
 * Exact outcomes at the end: messages sent == received (count and sum of
 * values), each mutex's plain counter == its successful locks, children
 * spawned == finished, timers fired not early, a locked goroutine never
 * moved, errno carried by every cgocall, callbacks made == ran, threads
 * created == exited, every status code one the call may return, use of a
 * released handle GORT_EINVAL, and a clean shutdown.
 * Usage: mix_test (GORT_TEST_CGO=0 for native thread creation). */
#include "stress.h"

enum { kChans = 8, kMutexes = 4, kWorkers = 12, kMaxLiveForeign = 6, kMaxDepth = 2, kRelays = 6 };
static const size_t chan_caps[kChans] = {0, 1, 4, 0, 2, 8, 0, 16};

static gort_chan* chans[kChans];
static gort_mutex* mutexes[kMutexes];
static long guarded[kMutexes]; /* plain: touched only under mutexes[i] */
static atomic_llong locked_n[kMutexes];
static gort_waitgroup* all_wg; /* every goroutine this test spawns */
static gort_waitgroup* workers_wg;

typedef struct {
    atomic_llong sent, sent_sum, recvd, recvd_sum, send_timeouts, recv_timeouts;
    atomic_llong selects, select_timeouts, spawned, finished, after_made, after_fired;
    atomic_llong after_cancelled, after_early, wg_rounds, wg_children, wg_timeouts;
    atomic_llong mutex_timeouts, cgocalls, errno_lost, callbacks_made, callbacks_ran;
    atomic_llong blocking, locked_sections, locked_moved, retains, gosched, sleeps;
    atomic_llong threads_made, threads_done, flips, bad_handles, unexpected, ops;
    atomic_llong from_c_spawns;
} Totals;
static Totals T;

static void add(atomic_llong* c, long long v) {
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}
static long long get(atomic_llong* c) {
    return atomic_load(c);
}

/* expect: rc must be GORT_OK or one of the codes in `also` (0-terminated). */
static int expect(int rc, const char* what, const int* also) {
    if (rc == GORT_OK) return rc;
    for (; also != NULL && *also != 0; also++) {
        if (rc == *also) return rc;
    }
    fprintf(stderr, "mix: %s returned %d (%s)\n", what, rc, gort_strerror(rc));
    add(&T.unexpected, 1);
    return rc;
}
static const int kTimedOut[] = {GORT_ETIMEDOUT, 0};
static const int kAgain[] = {GORT_EAGAIN, 0};

/* Where an operation runs: goroutine code (a goroutine, or a callback's
 * function), or a plain thread (no goroutine: gort calls go through the
 * callback path). */
typedef enum { IN_GOROUTINE, ON_PLAIN_THREAD } Where;

typedef struct {
    stress_rng rng;
    Where where;
    int depth;
} Actor;

static void do_op(Actor* a);

static int64_t short_timeout(Actor* a) {
    static const int64_t choices[] = {0, 1000, 20000, 100000, 300000};
    return choices[stress_below(&a->rng, 5)];
}

static uint64_t fresh_value(Actor* a) {
    return stress_next(&a->rng) | 1;
}

static void account_sent(uint64_t v) {
    add(&T.sent, 1);
    add(&T.sent_sum, (long long)v);
}
static void account_recvd(uint64_t v) {
    add(&T.recvd, 1);
    add(&T.recvd_sum, (long long)v);
}

/* ---- channels ------------------------------------------------------------- */

static void op_send(Actor* a) {
    uint64_t v = fresh_value(a);
    gort_chan* ch = chans[stress_below(&a->rng, kChans)];
    int rc = expect(gort_chan_send_timeout(ch, &v, short_timeout(a)), "send_timeout", kTimedOut);
    if (rc == GORT_OK) account_sent(v);
    if (rc == GORT_ETIMEDOUT) add(&T.send_timeouts, 1);
}

static void op_recv(Actor* a) {
    uint64_t v = 0;
    int ok = -1;
    gort_chan* ch = chans[stress_below(&a->rng, kChans)];
    int rc =
        expect(gort_chan_recv_timeout(ch, &v, &ok, short_timeout(a)), "recv_timeout", kTimedOut);
    if (rc == GORT_OK) {
        CHECK_EQ(ok, 1); /* nothing is closed during the run */
        account_recvd(v);
    }
    if (rc == GORT_ETIMEDOUT) add(&T.recv_timeouts, 1);
}

static void op_try(Actor* a) {
    gort_chan* ch = chans[stress_below(&a->rng, kChans)];
    if (stress_below(&a->rng, 2)) {
        uint64_t v = fresh_value(a);
        if (expect(gort_chan_try_send(ch, &v), "try_send", kAgain) == GORT_OK) account_sent(v);
    } else {
        uint64_t v = 0;
        int ok = -1;
        if (expect(gort_chan_try_recv(ch, &v, &ok), "try_recv", kAgain) == GORT_OK) {
            CHECK_EQ(ok, 1);
            account_recvd(v);
        }
    }
}

/* A select over 1..4 cases (some nil), maybe with a gort_after case. */
static void op_select(Actor* a) {
    gort_select_case cs[5];
    uint64_t vals[5];
    int n = 1 + (int)stress_below(&a->rng, 4), after_at = -1;
    int64_t after_ns = 0, t0 = 0;
    for (int i = 0; i < n; i++) {
        cs[i].ch = stress_below(&a->rng, 8) == 0 ? NULL : chans[stress_below(&a->rng, kChans)];
        cs[i].dir = stress_below(&a->rng, 2) ? GORT_SELECT_SEND : GORT_SELECT_RECV;
        vals[i] = cs[i].dir == GORT_SELECT_SEND ? fresh_value(a) : 0;
        cs[i].elem = &vals[i];
        cs[i].ok = -1;
    }
    if (stress_below(&a->rng, 4) == 0) {
        after_at = n;
        after_ns = (int64_t)stress_below(&a->rng, 200000);
        t0 = stress_now_ns();
        cs[n].ch = gort_after(after_ns);
        CHECK(cs[n].ch != NULL);
        cs[n].dir = GORT_SELECT_RECV;
        cs[n].elem = &vals[n];
        cs[n].ok = -1;
        n++;
        add(&T.after_made, 1);
    }
    size_t chosen = 99;
    int rc;
    int mode = (int)stress_below(&a->rng, 3);
    if (mode == 0) {
        rc = expect(gort_select(cs, (size_t)n, 0, &chosen), "select(non-blocking)", kAgain);
    } else if (mode == 1 && after_at >= 0) {
        rc = expect(gort_select(cs, (size_t)n, 1, &chosen), "select(blocking)", NULL);
    } else {
        rc = expect(gort_select_timeout(cs, (size_t)n, short_timeout(a), &chosen), "select_timeout",
                    kTimedOut);
    }
    add(&T.selects, 1);
    if (rc == GORT_EAGAIN || rc == GORT_ETIMEDOUT) {
        /* nothing ran */
        CHECK(rc == GORT_EAGAIN || chosen == 99 || chosen < (size_t)n);
        add(&T.select_timeouts, 1);
    } else if (rc == GORT_OK) {
        CHECK(chosen < (size_t)n);
        if (chosen < (size_t)n) {
            gort_select_case* c = &cs[chosen];
            CHECK(c->ch != NULL);
            if ((int)chosen == after_at) {
                CHECK_EQ(c->ok, 1);
                CHECK((int64_t)vals[chosen] >= t0 + after_ns);
                add(&T.after_fired, 1);
            } else if (c->dir == GORT_SELECT_SEND) {
                account_sent(vals[chosen]);
            } else {
                CHECK_EQ(c->ok, 1);
                account_recvd(vals[chosen]);
            }
        }
    }
    if (after_at >= 0) {
        if (rc != GORT_OK || (int)chosen != after_at) add(&T.after_cancelled, 1);
        CHECK_OK(gort_chan_release(cs[after_at].ch));
    }
}

/* gort_after: received (never early, exactly once) or released unfired. */
static void op_after(Actor* a) {
    int64_t ns = (int64_t)stress_below(&a->rng, 300000);
    int64_t t0 = stress_now_ns();
    gort_chan* t = gort_after(ns);
    CHECK(t != NULL);
    if (t == NULL) return;
    add(&T.after_made, 1);
    int64_t fired = 0;
    int ok = -1;
    switch (stress_below(&a->rng, 3)) {
        case 0:
            CHECK_OK(gort_chan_recv(t, &fired, &ok));
            CHECK_EQ(ok, 1);
            if (fired < t0 + ns) add(&T.after_early, 1);
            add(&T.after_fired, 1);
            CHECK_EQ(gort_chan_try_recv(t, &fired, &ok), GORT_EAGAIN); /* once only */
            break;
        case 1: {
            int rc = expect(gort_chan_recv_timeout(t, &fired, &ok, short_timeout(a)),
                            "after recv_timeout", kTimedOut);
            if (rc == GORT_OK) {
                if (fired < t0 + ns) add(&T.after_early, 1);
                add(&T.after_fired, 1);
            } else {
                add(&T.after_cancelled, 1);
            }
            break;
        }
        default:
            add(&T.after_cancelled, 1); /* released before it fires (or just after) */
            break;
    }
    CHECK_OK(gort_chan_release(t));
    /* Use after release: refused. */
    CHECK_EQ(gort_chan_try_recv(t, &fired, &ok), GORT_EINVAL);
    add(&T.bad_handles, 1);
}

/* ---- goroutines and wait groups --------------------------------------------- */

typedef struct {
    uint64_t seed;
    gort_waitgroup* wg; /* NULL, or a wait group to retain-release and done */
} ChildArg;

static void child_main(void* p) {
    ChildArg* c = p;
    Actor a = {stress_rng_for(c->seed), IN_GOROUTINE, kMaxDepth};
    int n = 1 + (int)stress_below(&a.rng, 3);
    for (int i = 0; i < n; i++) do_op(&a);
    if (c->wg != NULL) {
        CHECK_OK(gort_waitgroup_done(c->wg));
        CHECK_OK(gort_waitgroup_release(c->wg));
        add(&T.wg_children, 1);
    }
    free(c);
    add(&T.finished, 1);
    CHECK_OK(gort_waitgroup_done(all_wg));
}

static void spawn_child(Actor* a, gort_waitgroup* wg) {
    ChildArg* c = malloc(sizeof *c);
    c->seed = stress_next(&a->rng);
    c->wg = wg;
    if (wg != NULL) CHECK_OK(gort_waitgroup_retain(wg));
    CHECK_OK(gort_waitgroup_add(all_wg, 1));
    int rc = gort_go(child_main, c);
    expect(rc, "gort_go", NULL);
    if (rc != GORT_OK) {
        CHECK_OK(gort_waitgroup_add(all_wg, -1));
        if (wg != NULL) gort_waitgroup_release(wg);
        free(c);
        return;
    }
    add(&T.spawned, 1);
}

static void op_spawn(Actor* a) {
    spawn_child(a, NULL);
}

static void op_waitgroup(Actor* a) {
    gort_waitgroup* wg = gort_waitgroup_make();
    CHECK(wg != NULL);
    if (wg == NULL) return;
    int k = 1 + (int)stress_below(&a->rng, 4);
    CHECK_OK(gort_waitgroup_add(wg, k));
    for (int i = 0; i < k; i++) spawn_child(a, wg);
    /* A refused negative add changes nothing. */
    CHECK_EQ(gort_waitgroup_add(wg, -1000), GORT_EINVAL);
    int rc;
    while ((rc = gort_waitgroup_wait_timeout(wg, short_timeout(a))) == GORT_ETIMEDOUT) {
        add(&T.wg_timeouts, 1);
    }
    CHECK_OK(rc);
    CHECK_OK(gort_waitgroup_wait(wg));
    add(&T.wg_rounds, 1);
    CHECK_OK(gort_waitgroup_release(wg)); /* the children may hold the last references */
}

/* ---- mutexes ------------------------------------------------------------------ */

static void op_mutex(Actor* a) {
    int i = (int)stress_below(&a->rng, kMutexes);
    int rc;
    if (stress_below(&a->rng, 3) == 0) {
        rc = expect(gort_mutex_lock(mutexes[i]), "mutex_lock", NULL);
    } else {
        rc = expect(gort_mutex_lock_timeout(mutexes[i], short_timeout(a)), "mutex_lock_timeout",
                    kTimedOut);
    }
    if (rc == GORT_ETIMEDOUT) add(&T.mutex_timeouts, 1);
    if (rc != GORT_OK) return;
    long v = guarded[i];
    /* Sometimes the holder parks (a goroutine) or sleeps (a plain thread)
     * inside the critical section: the others wait or time out. */
    if (stress_below(&a->rng, 8) == 0) {
        if (a->where == IN_GOROUTINE) {
            gort_gosched();
        } else {
            stress_sleep_ns(1000);
        }
    }
    guarded[i] = v + 1;
    add(&locked_n[i], 1);
    CHECK_OK(gort_mutex_unlock(mutexes[i]));
}

/* ---- the C bridge --------------------------------------------------------------- */

typedef struct {
    Actor* a;
    int want_errno;
} CCall;

static void callback_body(void* p) {
    Actor* a = p;
    add(&T.callbacks_ran, 1);
    Where saved = a->where;
    a->where = IN_GOROUTINE;
    a->depth++;
    do_op(a);
    a->depth--;
    a->where = saved;
}

static void spawn_from_c_body(void* p) {
    (void)p;
    add(&T.finished, 1);
    CHECK_OK(gort_waitgroup_done(all_wg));
}

/* C code called by a goroutine: blocks a little, or calls back, or spawns
 * (a goroutine made from C code, bug 5's path); leaves errno set. */
static void c_code(void* p) {
    CCall* c = p;
    switch (stress_below(&c->a->rng, 4)) {
        case 0:
            stress_sleep_ns((int64_t)stress_below(&c->a->rng, 100000));
            break;
        case 1:
            if (c->a->depth < kMaxDepth) {
                add(&T.callbacks_made, 1);
                Where saved = c->a->where;
                c->a->where = ON_PLAIN_THREAD;
                CHECK_OK(gort_callback(callback_body, c->a));
                c->a->where = saved;
            }
            break;
        case 2:
            CHECK_OK(gort_waitgroup_add(all_wg, 1));
            if (expect(gort_go(spawn_from_c_body, NULL), "gort_go from C", NULL) == GORT_OK) {
                add(&T.spawned, 1);
                add(&T.from_c_spawns, 1);
            } else {
                CHECK_OK(gort_waitgroup_add(all_wg, -1));
            }
            break;
        default:
            break;
    }
    errno = c->want_errno;
}

static void op_cgocall(Actor* a) {
    CCall c = {a, 1000 + (int)stress_below(&a->rng, 1000)};
    errno = 0;
    CHECK_OK(gort_cgocall(c_code, &c));
    if (stress_errno() != c.want_errno) add(&T.errno_lost, 1);
    add(&T.cgocalls, 1);
}

static void op_blocking(Actor* a) {
    CHECK_OK(gort_blocking_begin());
    CHECK_EQ(gort_blocking_begin(), GORT_EINVAL); /* no nesting */
    add(&T.bad_handles, 1);
    stress_sleep_ns((int64_t)stress_below(&a->rng, 50000));
    if (stress_below(&a->rng, 2)) {
        /* gort calls inside the region go through the callback path. */
        uint64_t v = fresh_value(a);
        if (expect(gort_chan_try_send(chans[1], &v), "try_send in region", kAgain) == GORT_OK) {
            account_sent(v);
        }
    }
    CHECK_OK(gort_blocking_end());
    add(&T.blocking, 1);
}

/* A plain thread calls back: goroutine code on an extra M. */
static void op_callback(Actor* a) {
    if (a->depth >= kMaxDepth) return;
    add(&T.callbacks_made, 1);
    CHECK_OK(gort_callback(callback_body, a));
}

/* lock_os_thread (maybe nested): the goroutine must stay on this thread. */
static void op_locked(Actor* a) {
    int nest = 1 + (int)stress_below(&a->rng, 2);
    for (int i = 0; i < nest; i++) CHECK_OK(gort_lock_os_thread());
    pid_t me = stress_tid();
    a->depth++;
    int n = 1 + (int)stress_below(&a->rng, 3);
    for (int i = 0; i < n; i++) {
        if (a->depth <= kMaxDepth) {
            do_op(a);
        } else {
            gort_gosched();
        }
        if (stress_tid() != me) add(&T.locked_moved, 1);
    }
    a->depth--;
    for (int i = 0; i < nest; i++) CHECK_OK(gort_unlock_os_thread());
    add(&T.locked_sections, 1);
}

static void op_retain(Actor* a) {
    gort_chan* ch = chans[stress_below(&a->rng, kChans)];
    gort_mutex* mu = mutexes[stress_below(&a->rng, kMutexes)];
    CHECK_OK(gort_chan_retain(ch));
    CHECK_OK(gort_mutex_retain(mu));
    CHECK_OK(gort_waitgroup_retain(all_wg));
    CHECK(gort_chan_cap(ch) <= 16);
    CHECK(gort_chan_len(ch) <= gort_chan_cap(ch));
    CHECK_OK(gort_waitgroup_release(all_wg));
    CHECK_OK(gort_mutex_release(mu));
    CHECK_OK(gort_chan_release(ch));
    add(&T.retains, 1);
    /* A handle that never was one. */
    CHECK_EQ(
        gort_chan_try_send((gort_chan*)(uintptr_t)(0xdead0000u | stress_below(&a->rng, 64)), NULL),
        GORT_EINVAL);
    add(&T.bad_handles, 1);
}

static void op_misc(Actor* a) {
    switch (stress_below(&a->rng, 3)) {
        case 0:
            CHECK(gort_gomaxprocs(0) >= 1);
            break;
        case 1:
            CHECK(gort_num_goroutine() >= 0);
            break;
        default: {
            gort_stats s;
            CHECK_OK(gort_get_stats(&s, sizeof s));
            break;
        }
    }
}

/* do_op: one operation drawn from the actor's PRNG, among those its place
 * allows. */
static void do_op(Actor* a) {
    add(&T.ops, 1);
    int g = a->where == IN_GOROUTINE;
    for (;;) {
        switch (stress_below(&a->rng, 18)) {
            case 0:
            case 1:
                op_send(a);
                return;
            case 2:
            case 3:
                op_recv(a);
                return;
            case 4:
                op_try(a);
                return;
            case 5:
            case 6:
                op_select(a);
                return;
            case 7:
                op_after(a);
                return;
            case 8:
                if (a->depth >= kMaxDepth) continue;
                op_waitgroup(a);
                return;
            case 9:
                op_mutex(a);
                return;
            case 10:
                op_spawn(a);
                return;
            case 11:
                if (!g) continue;
                CHECK_OK(gort_gosched());
                add(&T.gosched, 1);
                return;
            case 12:
                if (!g) continue;
                CHECK_OK(gort_sleep((int64_t)stress_below(&a->rng, 200000)));
                add(&T.sleeps, 1);
                return;
            case 13:
                if (!g || a->depth >= kMaxDepth) continue;
                op_locked(a);
                return;
            case 14:
                if (!g) continue;
                op_cgocall(a);
                return;
            case 15:
                if (!g) {
                    op_callback(a);
                } else {
                    op_blocking(a);
                }
                return;
            case 16:
                op_retain(a);
                return;
            default:
                op_misc(a);
                return;
        }
    }
}

/* ---- actors ------------------------------------------------------------------- */

static long worker_ops;

static void worker(void* p) {
    Actor a = {stress_rng_for((uint64_t)(uintptr_t)p), IN_GOROUTINE, 0};
    for (long i = 0; i < worker_ops; i++) do_op(&a);
    CHECK_OK(gort_waitgroup_done(workers_wg));
}

/* relay: moves messages between channels until told to stop (a received
 * value is sent on, or counted out when nobody takes it in time). */
static atomic_int stop_relays;

static void relay(void* p) {
    stress_rng r = stress_rng_for(5000 + (uint64_t)(uintptr_t)p);
    while (!atomic_load(&stop_relays)) {
        uint64_t v = 0;
        int ok = -1;
        gort_chan* in = chans[stress_below(&r, kChans)];
        int rc = expect(gort_chan_recv_timeout(in, &v, &ok, 200000), "relay recv", kTimedOut);
        if (rc != GORT_OK) continue;
        CHECK_EQ(ok, 1);
        account_recvd(v);
        gort_chan* out = chans[stress_below(&r, kChans)];
        if (expect(gort_chan_send_timeout(out, &v, 200000), "relay send", kTimedOut) == GORT_OK) {
            account_sent(v);
        }
    }
    CHECK_OK(gort_waitgroup_done(all_wg));
}

static atomic_int stop_flipping;

static void* flipper(void* p) {
    (void)p;
    stress_rng r = stress_rng_for(7777);
    while (!atomic_load(&stop_flipping)) {
        int prev = gort_gomaxprocs(1 + (int)stress_below(&r, 4));
        CHECK(prev >= 1 && prev <= 4);
        add(&T.flips, 1);
        stress_sleep_ns(300000);
    }
    return NULL;
}

static void* foreign_thread(void* p) {
    Actor a = {stress_rng_for((uint64_t)(uintptr_t)p), ON_PLAIN_THREAD, 0};
    int n = 1 + (int)stress_below(&a.rng, 12);
    for (int i = 0; i < n; i++) do_op(&a);
    add(&T.threads_done, 1);
    return NULL;
}

static long threads_total;

/* churner: keeps a few foreign threads alive at a time until threads_total
 * have come and gone. */
static void* churner(void* p) {
    (void)p;
    pthread_t live[kMaxLiveForeign];
    int nlive = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (long made = 0; made < threads_total;) {
        if (nlive == kMaxLiveForeign) {
            pthread_join(live[0], NULL);
            memmove(live, live + 1, sizeof live[0] * (size_t)(nlive - 1));
            nlive--;
        }
        int rc =
            pthread_create(&live[nlive], &attr, foreign_thread, (void*)(uintptr_t)(1000000 + made));
        CHECK_EQ(rc, 0);
        if (rc != 0) break;
        nlive++;
        made++;
        add(&T.threads_made, 1);
    }
    for (int i = 0; i < nlive; i++) pthread_join(live[i], NULL);
    pthread_attr_destroy(&attr);
    return NULL;
}

static void progress(void) {
    fprintf(stderr,
            "  mix: ops %lld, sent %lld, received %lld, spawned %lld, finished %lld, threads "
            "%lld/%lld, flips %lld\n",
            get(&T.ops), get(&T.sent), get(&T.recvd), get(&T.spawned), get(&T.finished),
            get(&T.threads_done), get(&T.threads_made), get(&T.flips));
}

static void test_mix(void) {
    CHECK_OK(stress_init(4));
    for (int i = 0; i < kChans; i++) {
        chans[i] = gort_chan_make(sizeof(uint64_t), chan_caps[i]);
        CHECK(chans[i] != NULL);
    }
    for (int i = 0; i < kMutexes; i++) {
        mutexes[i] = gort_mutex_make();
        CHECK(mutexes[i] != NULL);
    }
    all_wg = gort_waitgroup_make();
    workers_wg = gort_waitgroup_make();
    CHECK(all_wg != NULL && workers_wg != NULL);
    worker_ops = STRESS_N(60000);
    threads_total = STRESS_N(6000);

    stress_phase("running");
    pthread_t flip, churn;
    pthread_create(&flip, NULL, flipper, NULL);
    pthread_create(&churn, NULL, churner, NULL);
    CHECK_OK(gort_waitgroup_add(all_wg, kRelays));
    for (uintptr_t i = 0; i < kRelays; i++) CHECK_OK(gort_go(relay, (void*)i));
    CHECK_OK(gort_waitgroup_add(workers_wg, kWorkers));
    for (uintptr_t i = 0; i < kWorkers; i++) CHECK_OK(gort_go(worker, (void*)(i + 1)));
    CHECK_OK(gort_waitgroup_wait(workers_wg));
    pthread_join(churn, NULL);
    atomic_store(&stop_flipping, 1);
    pthread_join(flip, NULL);
    atomic_store(&stop_relays, 1);
    stress_phase("draining");
    CHECK_OK(gort_waitgroup_wait(all_wg)); /* every child spawned by anyone */
    for (int i = 0; i < kChans; i++) {
        uint64_t v;
        int ok;
        while (gort_chan_try_recv(chans[i], &v, &ok) == GORT_OK) {
            CHECK_EQ(ok, 1);
            account_recvd(v);
        }
        CHECK_EQ(gort_chan_len(chans[i]), 0);
        CHECK_OK(gort_chan_close(chans[i]));
        CHECK_EQ(gort_chan_close(chans[i]), GORT_ECLOSED);
        CHECK_EQ(gort_chan_try_recv(chans[i], &v, &ok), GORT_OK); /* closed and drained */
        CHECK_EQ(ok, 0);
    }

    stress_phase("checking");
    CHECK_EQ(get(&T.sent), get(&T.recvd));
    CHECK_EQ(get(&T.sent_sum), get(&T.recvd_sum));
    for (int i = 0; i < kMutexes; i++) CHECK_EQ(guarded[i], get(&locked_n[i]));
    CHECK_EQ(get(&T.spawned), get(&T.finished));
    CHECK_EQ(get(&T.after_early), 0);
    CHECK_EQ(get(&T.after_made), get(&T.after_fired) + get(&T.after_cancelled));
    CHECK_EQ(get(&T.locked_moved), 0);
    CHECK_EQ(get(&T.errno_lost), 0);
    CHECK_EQ(get(&T.callbacks_made), get(&T.callbacks_ran));
    CHECK_EQ(get(&T.threads_made), threads_total);
    CHECK_EQ(get(&T.threads_done), threads_total);
    CHECK_EQ(get(&T.unexpected), 0);
    CHECK(get(&T.flips) > 0);

    /* Release everything: once OK, twice EINVAL. */
    for (int i = 0; i < kChans; i++) {
        CHECK_OK(gort_chan_release(chans[i]));
        CHECK_EQ(gort_chan_release(chans[i]), GORT_EINVAL);
    }
    for (int i = 0; i < kMutexes; i++) {
        CHECK_OK(gort_mutex_release(mutexes[i]));
        CHECK_EQ(gort_mutex_lock(mutexes[i]), GORT_EINVAL);
    }
    CHECK_OK(gort_waitgroup_release(all_wg));
    CHECK_OK(gort_waitgroup_release(workers_wg));
    CHECK_EQ(gort_waitgroup_wait(all_wg), GORT_EINVAL);
    add(&T.bad_handles, kChans + kMutexes + 1);
    gort_stats s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    stress_phase("shutdown");
    CHECK_OK(gort_shutdown(10LL * 1000000000));
    CHECK_EQ(gort_shutdown(0), GORT_ENOTINIT);

    progress();
    stress_figure("operations", get(&T.ops));
    stress_figure("messages", get(&T.sent));
    stress_figure("goroutines", (long long)s.goroutines_created);
    stress_figure("foreign_threads", get(&T.threads_made));
    stress_figure("ms_total", (long long)s.ms_total);
    stress_figure("gomaxprocs_flips", get(&T.flips));
    stress_figure("selects", get(&T.selects));
    stress_figure("timeouts", get(&T.send_timeouts) + get(&T.recv_timeouts) +
                                  get(&T.select_timeouts) + get(&T.mutex_timeouts) +
                                  get(&T.wg_timeouts));
    stress_figure("timers", get(&T.after_made));
    stress_figure("cgocalls", get(&T.cgocalls));
    stress_figure("callbacks", get(&T.callbacks_ran));
    stress_figure("locked_sections", get(&T.locked_sections));
    stress_figure("mutex_locks",
                  get(&locked_n[0]) + get(&locked_n[1]) + get(&locked_n[2]) + get(&locked_n[3]));
    stress_figure("bad_inputs", get(&T.bad_handles));
}

int main(void) {
    /* The watchdog catches a hang, not a slow run: the mix takes about 50 s
     * alone on the CI machine and up to 59 s beside its native twin (ctest
     * -j2), so its budget is three times that (below the ctest TIMEOUT). */
    stress_setup("stress.mix", 180);
    stress_progress = progress;
    STRESS_RUN(test_mix);
    return stress_finish();
}
