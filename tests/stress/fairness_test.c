/* Fairness under a ping-pong pair (issue 11, bug 3), from gort.h, counted
 * in the pair's round trips rather than in time (a loaded machine slows
 * both sides alike):
 * with GOMAXPROCS 1, two goroutines ping-pong on unbuffered channels (or
 * through gort_select) as fast as they can; each wakes the other straight
 * into the P's next slot. Every other goroutine that is runnable meanwhile
 * must run within kMaxTrips round trips of becoming runnable:
 *   - probes the pair spawns (the P's local queue), two at a time;
 *   - probes a plain thread spawns (the global queue);
 *   - goroutines parked on a channel that a plain thread wakes with
 *     gort_chan_try_send (the global queue too);
 *   - goroutines that only yield (gort_gosched), whose every turn must
 *     come round within the bound too.
 * The pair runs until every probe has run, or gives up after kGiveUp round
 * trips (then the probes left are counted as starved).
 * A wait counts from the moment the goroutine is runnable: for what the
 * plain thread spawns or wakes, from when gort_go or gort_chan_try_send
 * has returned (the thread itself may be descheduled for a long while on a
 * loaded machine between reading the count and queueing the goroutine;
 * that is no unfairness of the scheduler's). */
#include "stress.h"

enum { kMaxTrips = 1000, kYielders = 4, kWoken = 4 };
static const long long kGiveUp = 20000000;

static atomic_llong trips;
static atomic_int stop_pair, stop_yielders;
static gort_chan *ping, *pong;
static gort_waitgroup* wg;

typedef struct {
    atomic_llong ran, worst, total_wait;
} Tally;
static Tally t_local, t_global, t_woken, t_yield;

static void note(Tally* t, long long waited) {
    atomic_fetch_add(&t->ran, 1);
    atomic_fetch_add(&t->total_wait, waited);
    long long w = atomic_load(&t->worst);
    while (waited > w && !atomic_compare_exchange_weak(&t->worst, &w, waited)) {
    }
}

/* What the plain thread spawned or woke last: the round trip it ran at and
 * how many have run; the thread notes the wait (one at a time). */
static atomic_llong thread_ran_at, thread_ran;

/* ran_for_thread: what the plain thread queued runs now (the store of the
 * round trip comes before the count the thread waits for). */
static void ran_for_thread(void) {
    atomic_store(&thread_ran_at, atomic_load(&trips));
    atomic_fetch_add(&thread_ran, 1);
}

static void probe(void* arg) {
    if ((intptr_t)arg & 1) {
        ran_for_thread();
    } else {
        note(&t_local, atomic_load(&trips) - ((long long)(intptr_t)arg >> 1));
    }
    CHECK_OK(gort_waitgroup_done(wg));
}

static void spawn_probe(int global) {
    CHECK_OK(gort_waitgroup_add(wg, 1));
    intptr_t arg = (intptr_t)(atomic_load(&trips) << 1) | global;
    CHECK_OK(gort_go(probe, (void*)arg));
}

static long local_probes;
static int use_select;

static void ping_side(void* arg) {
    (void)arg;
    long long spawned = 0;
    for (long long i = 1; !atomic_load(&stop_pair); i++) {
        if (i % 997 == 0 && spawned < local_probes) {
            spawn_probe(0); /* two at a time: the second pushes the first */
            spawn_probe(0); /* out of the next slot into the ring */
            spawned += 2;
        }
        if (use_select) {
            gort_select_case c = {ping, GORT_SELECT_SEND, &i, 0};
            size_t chosen;
            CHECK_OK(gort_select(&c, 1, 1, &chosen));
            long long v;
            gort_select_case r = {pong, GORT_SELECT_RECV, &v, 0};
            CHECK_OK(gort_select(&r, 1, 1, &chosen));
        } else {
            CHECK_OK(gort_chan_send(ping, &i));
            long long v;
            CHECK_OK(gort_chan_recv(pong, &v, NULL));
        }
        atomic_store_explicit(&trips, i, memory_order_relaxed);
    }
    long long end = -1;
    CHECK_OK(gort_chan_send(ping, &end));
    CHECK_OK(gort_waitgroup_done(wg));
}

static void pong_side(void* arg) {
    (void)arg;
    for (;;) {
        long long v;
        CHECK_OK(gort_chan_recv(ping, &v, NULL));
        if (v < 0) break;
        CHECK_OK(gort_chan_send(pong, &v));
    }
    CHECK_OK(gort_waitgroup_done(wg));
}

static void yielder(void* arg) {
    (void)arg;
    long long last = atomic_load(&trips);
    while (!atomic_load(&stop_yielders)) {
        CHECK_OK(gort_gosched());
        long long now = atomic_load(&trips);
        note(&t_yield, now - last);
        last = now;
    }
    CHECK_OK(gort_waitgroup_done(wg));
}

static gort_chan* wake[kWoken];

static void woken(void* arg) {
    gort_chan* ch = wake[(intptr_t)arg];
    for (;;) {
        long long token;
        int ok;
        CHECK_OK(gort_chan_recv(ch, &token, &ok));
        if (!ok) break;
        ran_for_thread();
    }
    CHECK_OK(gort_waitgroup_done(wg));
}

/* wait_for: until *c reaches want or the pair has made kGiveUp trips. */
static int wait_for(atomic_llong* c, long long want) {
    while (atomic_load(c) < want) {
        if (atomic_load(&trips) > kGiveUp) return 0;
        stress_sleep_ns(20000);
    }
    return 1;
}

/* thread_waited: once what the plain thread queued when the pair was at
 * round trip queued has run, note how long it waited in t. */
static int thread_waited(Tally* t, long long queued) {
    if (!wait_for(&thread_ran, atomic_load(&t_global.ran) + atomic_load(&t_woken.ran) + 1))
        return 0;
    long long waited = atomic_load(&thread_ran_at) - queued;
    note(t, waited > 0 ? waited : 0);
    return 1;
}

static void reset(Tally* t) {
    atomic_store(&t->ran, 0);
    atomic_store(&t->worst, 0);
    atomic_store(&t->total_wait, 0);
}

static void report(const char* what, Tally* t, long long want) {
    long long ran = atomic_load(&t->ran);
    fprintf(stderr, "  %-22s ran %lld/%lld, waited at most %lld round trips (mean %.1f)\n", what,
            ran, want, atomic_load(&t->worst), ran ? (double)atomic_load(&t->total_wait) / ran : 0);
    if (want >= 0) CHECK_EQ(ran, want);
    CHECK(atomic_load(&t->worst) <= kMaxTrips);
}

static void run_pair(int with_select) {
    use_select = with_select;
    CHECK_OK(stress_init(1));
    ping = gort_chan_make(sizeof(long long), 0);
    pong = gort_chan_make(sizeof(long long), 0);
    wg = gort_waitgroup_make();
    atomic_store(&trips, 0);
    atomic_store(&thread_ran, 0);
    atomic_store(&stop_pair, 0);
    atomic_store(&stop_yielders, 0);
    reset(&t_local), reset(&t_global), reset(&t_woken), reset(&t_yield);
    long probes = STRESS_N(4000);
    local_probes = 2 * probes;
    CHECK_OK(gort_waitgroup_add(wg, 2 + kYielders + kWoken));
    for (intptr_t i = 0; i < kWoken; i++) {
        wake[i] = gort_chan_make(sizeof(long long), 1);
        CHECK_OK(gort_go(woken, (void*)i));
    }
    CHECK_OK(gort_go(ping_side, NULL));
    CHECK_OK(gort_go(pong_side, NULL));
    for (int i = 0; i < kYielders; i++) CHECK_OK(gort_go(yielder, NULL));
    while (atomic_load(&trips) < 1000) stress_sleep_ns(10000); /* the pair is going */

    /* From this plain thread: spawns (the global queue) and wake-ups, one
     * at a time, each waited for. */
    int starved = 0;
    for (long i = 0; i < probes && !starved; i++) {
        spawn_probe(1);
        starved |= !thread_waited(&t_global, atomic_load(&trips));
        /* try_send: the wake-up itself, not a blocking send, which from a
         * plain thread runs as a callback on the P and readies the
         * goroutine there. */
        long long token = i;
        CHECK_OK(gort_chan_try_send(wake[i % kWoken], &token));
        starved |= !thread_waited(&t_woken, atomic_load(&trips));
    }
    starved |= !wait_for(&t_local.ran, local_probes);
    CHECK(!starved);
    long long total = atomic_load(&trips);
    atomic_store(&stop_yielders, 1);
    atomic_store(&stop_pair, 1);
    for (int i = 0; i < kWoken; i++) CHECK_OK(gort_chan_close(wake[i]));
    CHECK_OK(gort_waitgroup_wait(wg));

    fprintf(stderr, "  pair (%s): %lld round trips\n", with_select ? "select" : "send/recv", total);
    report("spawned by the pair", &t_local, local_probes);
    report("spawned by a thread", &t_global, probes);
    report("woken by a thread", &t_woken, probes);
    report("yielding", &t_yield, -1);
    CHECK(atomic_load(&t_yield.ran) > 0);
    stress_figure(with_select ? "select_pair_round_trips" : "pair_round_trips", total);
    stress_figure(with_select ? "select_pair_worst_wait_trips" : "pair_worst_wait_trips",
                  atomic_load(&t_local.worst) > atomic_load(&t_global.worst)
                      ? atomic_load(&t_local.worst)
                      : atomic_load(&t_global.worst));
    stress_figure("probes", local_probes + 2 * probes);
    for (int i = 0; i < kWoken; i++) CHECK_OK(gort_chan_release(wake[i]));
    CHECK_OK(gort_chan_release(ping));
    CHECK_OK(gort_chan_release(pong));
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK_OK(gort_shutdown(10LL * 1000000000));
}

static void test_pair_send_recv(void) {
    run_pair(0);
}

static void test_pair_select(void) {
    run_pair(1);
}

static void progress(void) {
    fprintf(stderr, "  trips %lld; ran: local %lld, global %lld, woken %lld, yields %lld\n",
            atomic_load(&trips), atomic_load(&t_local.ran), atomic_load(&t_global.ran),
            atomic_load(&t_woken.ran), atomic_load(&t_yield.ran));
}

int main(void) {
    stress_setup("stress.fairness", 60);
    stress_progress = progress;
    STRESS_RUN(test_pair_send_recv);
    STRESS_RUN(test_pair_select);
    return stress_finish();
}
