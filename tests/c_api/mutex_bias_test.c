/* Biased mutexes (runtime/sync.cpp: "Biased mode"): a gort_mutex that one
 * P keeps taking uncontended locks and unlocks there with plain stores,
 * until anyone else touches it.
 *   - a mutex locked kBiasAfter (256) times in a row on one P is biased (a
 *     count in gort_stats), and the first lock from a plain thread revokes
 *     the bias (counted) and then excludes the goroutines as before: a
 *     timed lock from a goroutine times out while the thread holds it, a
 *     blocking one waits and gets it after the thread's unlock;
 *   - a mutex locked on its biased P may be unlocked by a plain thread, and
 *     a second unlock is still GORT_EINVAL;
 *   - a goroutine that parks while holding a biased mutex and another on
 *     the same P that wants it: the second waits (revoking the bias) and
 *     gets the mutex only after the first unlocks;
 *   - a mutex that keeps being taken elsewhere is biased at most four
 *     times in its life (each bias that ends costs a membarrier);
 *   - at 2 Ps, many fresh mutexes each biased by a goroutine that goes on
 *     locking while goroutines on the other P and a plain thread start
 *     taking it: no increment under the lock is lost, in any round.
 * Where no op region can open (TSan, no membarrier) nothing is biased and
 * only the exclusion is checked. */
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

enum { kBiasAfter = 256, kMaxBiasings = 4 };

static int biasing_expected;

static int regions_possible(void) {
#ifdef CHECK_TSAN
    return 0;
#else
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    return cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0;
#endif
}

struct counts {
    uint64_t biased, revoked;
};

static struct counts counts_now(void) {
    gort_stats s;
    s.struct_size = sizeof s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    struct counts c = {s.mutexes_biased, s.mutex_bias_revocations};
    return c;
}

static void init_procs(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = check_cgo_mode();
    CHECK_OK(gort_init(&c));
}

/* ---- helpers run as goroutines ----------------------------------------- */

struct job {
    gort_mutex* mu;
    long n;   /* lock/unlock pairs */
    int hold; /* 1: lock once more and return holding it */
    long* counter;
    gort_waitgroup* done;
    int rc; /* a timed or blocking lock's status */
    atomic_int state;
};

static void lock_n(void* arg) {
    struct job* j = arg;
    for (long i = 0; i < j->n; i++) {
        CHECK_OK(gort_mutex_lock(j->mu));
        if (j->counter != NULL) (*j->counter)++;
        CHECK_OK(gort_mutex_unlock(j->mu));
    }
    if (j->hold) CHECK_OK(gort_mutex_lock(j->mu));
    CHECK_OK(gort_waitgroup_done(j->done));
}

/* run_locker runs lock_n(n) on a goroutine and waits for it. */
static void run_locker(gort_mutex* mu, long n, int hold) {
    struct job j = {.mu = mu, .n = n, .hold = hold, .done = gort_waitgroup_make()};
    CHECK(j.done != NULL);
    CHECK_OK(gort_waitgroup_add(j.done, 1));
    CHECK_OK(gort_go(lock_n, &j));
    CHECK_OK(gort_waitgroup_wait(j.done));
    CHECK_OK(gort_waitgroup_release(j.done));
}

static void try_then_lock(void* arg) {
    struct job* j = arg;
    j->rc = gort_mutex_lock_timeout(j->mu, 0);
    atomic_store(&j->state, 1);
    int rc = gort_mutex_lock(j->mu); /* waits for the thread's unlock */
    CHECK_OK(rc);
    atomic_store(&j->state, 2);
    CHECK_OK(gort_mutex_unlock(j->mu));
    CHECK_OK(gort_waitgroup_done(j->done));
}

/* ---- 1 P ---------------------------------------------------------------- */

static void test_plain_thread_revokes_and_excludes(void) {
    gort_mutex* mu = gort_mutex_make();
    CHECK(mu != NULL);
    struct counts before = counts_now();
    run_locker(mu, kBiasAfter + 10, 0);
    struct counts mid = counts_now();
    CHECK_EQ(mid.biased - before.biased, biasing_expected);
    CHECK_EQ(mid.revoked - before.revoked, 0);

    CHECK_OK(gort_mutex_lock(mu)); /* the main thread: no P, no region */
    struct counts after = counts_now();
    CHECK_EQ(after.revoked - mid.revoked, biasing_expected);

    struct job j = {.mu = mu, .done = gort_waitgroup_make()};
    CHECK_OK(gort_waitgroup_add(j.done, 1));
    CHECK_OK(gort_go(try_then_lock, &j));
    while (atomic_load(&j.state) == 0) CHECK_OK(gort_gosched());
    CHECK_EQ(j.rc, GORT_ETIMEDOUT);
    for (int i = 0; i < 100; i++) CHECK_OK(gort_gosched());
    CHECK_EQ(atomic_load(&j.state), 1); /* still waiting: we hold it */
    CHECK_OK(gort_mutex_unlock(mu));
    CHECK_OK(gort_waitgroup_wait(j.done));
    CHECK_EQ(atomic_load(&j.state), 2);
    CHECK_OK(gort_waitgroup_release(j.done));
    CHECK_OK(gort_mutex_release(mu));
}

static void test_plain_thread_unlocks_a_biased_lock(void) {
    for (int round = 0; round < 50; round++) {
        gort_mutex* mu = gort_mutex_make();
        CHECK(mu != NULL);
        run_locker(mu, kBiasAfter + 1, 1); /* returns holding it, biased */
        CHECK_EQ(gort_mutex_lock_timeout(mu, 0), GORT_ETIMEDOUT);
        CHECK_OK(gort_mutex_unlock(mu));
        CHECK_EQ(gort_mutex_unlock(mu), GORT_EINVAL);
        CHECK_OK(gort_mutex_lock_timeout(mu, 0));
        CHECK_OK(gort_mutex_unlock(mu));
        run_locker(mu, 10, 0); /* goroutines still get it */
        CHECK_OK(gort_mutex_release(mu));
    }
}

struct park_pair {
    gort_mutex* mu;
    gort_chan* wake;
    atomic_int order; /* 1: A holds, 2: B tried, 3: A unlocked, 4: B got it */
    atomic_int bad;
    gort_waitgroup* done;
    int try_rc; /* trier: its zero-timeout lock's status */
};

static void holder(void* arg) {
    struct park_pair* p = arg;
    for (int i = 0; i < kBiasAfter + 10; i++) {
        CHECK_OK(gort_mutex_lock(p->mu));
        CHECK_OK(gort_mutex_unlock(p->mu));
    }
    CHECK_OK(gort_mutex_lock(p->mu));
    atomic_store(&p->order, 1);
    int v, ok;
    CHECK_OK(gort_chan_recv(p->wake, &v, &ok)); /* parks holding the mutex */
    atomic_store(&p->order, 3);
    CHECK_OK(gort_mutex_unlock(p->mu));
    CHECK_OK(gort_waitgroup_done(p->done));
}

static void contender(void* arg) {
    struct park_pair* p = arg;
    while (atomic_load(&p->order) != 1) CHECK_OK(gort_gosched());
    atomic_store(&p->order, 2);
    int v = 1;
    CHECK_OK(gort_chan_send(p->wake, &v)); /* readies the holder, does not wait */
    CHECK_OK(gort_mutex_lock(p->mu));
    if (atomic_load(&p->order) != 3) atomic_fetch_add(&p->bad, 1);
    atomic_store(&p->order, 4);
    CHECK_OK(gort_mutex_unlock(p->mu));
    CHECK_OK(gort_waitgroup_done(p->done));
}

static void test_waiter_on_the_biased_p(void) {
    struct counts before = counts_now();
    int rounds = 100;
    for (int round = 0; round < rounds; round++) {
        struct park_pair p = {.mu = gort_mutex_make(),
                              .wake = gort_chan_make(sizeof(int), 1),
                              .done = gort_waitgroup_make()};
        CHECK(p.mu != NULL && p.wake != NULL && p.done != NULL);
        CHECK_OK(gort_waitgroup_add(p.done, 2));
        CHECK_OK(gort_go(holder, &p));
        CHECK_OK(gort_go(contender, &p));
        CHECK_OK(gort_waitgroup_wait(p.done));
        CHECK_EQ(atomic_load(&p.order), 4);
        CHECK_EQ(atomic_load(&p.bad), 0);
        CHECK_OK(gort_mutex_release(p.mu));
        CHECK_OK(gort_chan_release(p.wake));
        CHECK_OK(gort_waitgroup_release(p.done));
    }
    struct counts after = counts_now();
    CHECK_EQ(after.biased - before.biased, rounds * biasing_expected);
    CHECK_EQ(after.revoked - before.revoked, rounds * biasing_expected);
}

/* trier: a zero-timeout lock on the biased P while the holder keeps the
 * mutex; it times out, and the bias, exact on its own P, stays. */
static void trier(void* arg) {
    struct park_pair* p = arg;
    while (atomic_load(&p->order) != 1) CHECK_OK(gort_gosched());
    p->try_rc = gort_mutex_lock_timeout(p->mu, 0);
    int v = 1;
    CHECK_OK(gort_chan_send(p->wake, &v));
    CHECK_OK(gort_waitgroup_done(p->done));
}

static void test_try_on_the_biased_p_keeps_the_bias(void) {
    struct counts before = counts_now();
    int rounds = 100;
    for (int round = 0; round < rounds; round++) {
        struct park_pair p = {.mu = gort_mutex_make(),
                              .wake = gort_chan_make(sizeof(int), 1),
                              .done = gort_waitgroup_make()};
        CHECK(p.mu != NULL && p.wake != NULL && p.done != NULL);
        CHECK_OK(gort_waitgroup_add(p.done, 2));
        CHECK_OK(gort_go(holder, &p));
        CHECK_OK(gort_go(trier, &p));
        CHECK_OK(gort_waitgroup_wait(p.done));
        CHECK_EQ(p.try_rc, GORT_ETIMEDOUT);
        CHECK_EQ(atomic_load(&p.order), 3);
        CHECK_OK(gort_mutex_release(p.mu));
        CHECK_OK(gort_chan_release(p.wake));
        CHECK_OK(gort_waitgroup_release(p.done));
    }
    struct counts after = counts_now();
    CHECK_EQ(after.biased - before.biased, rounds * biasing_expected);
    CHECK_EQ(after.revoked - before.revoked, 0);
}

static void test_biased_at_most_four_times(void) {
    gort_mutex* mu = gort_mutex_make();
    CHECK(mu != NULL);
    struct counts before = counts_now();
    for (int i = 0; i < 10; i++) {
        run_locker(mu, kBiasAfter + 1, 0);
        CHECK_OK(gort_mutex_lock(mu)); /* a plain thread: revokes */
        CHECK_OK(gort_mutex_unlock(mu));
    }
    struct counts after = counts_now();
    CHECK_EQ(after.biased - before.biased, kMaxBiasings * biasing_expected);
    CHECK_EQ(after.revoked - before.revoked, kMaxBiasings * biasing_expected);
    CHECK_OK(gort_mutex_release(mu));
}

/* ---- 2 Ps: revocation racing the biased P ------------------------------- */

struct race {
    gort_mutex* mu;
    long counter;
    atomic_int go; /* the biasing goroutine's cue to the others */
    gort_waitgroup* done;
};

enum { kRaceLockers = 3, kRacePairs = 2000 };

static void bias_and_go_on(void* arg) {
    struct race* r = arg;
    for (long i = 0; i < kBiasAfter + 4 + kRacePairs; i++) {
        CHECK_OK(gort_mutex_lock(r->mu));
        r->counter++;
        CHECK_OK(gort_mutex_unlock(r->mu));
        if (i == kBiasAfter + 4) atomic_store(&r->go, 1);
    }
    CHECK_OK(gort_waitgroup_done(r->done));
}

static void join_in(void* arg) {
    struct race* r = arg;
    while (atomic_load(&r->go) == 0) CHECK_OK(gort_gosched());
    for (long i = 0; i < kRacePairs; i++) {
        CHECK_OK(gort_mutex_lock(r->mu));
        r->counter++;
        CHECK_OK(gort_mutex_unlock(r->mu));
    }
    CHECK_OK(gort_waitgroup_done(r->done));
}

static void test_revocation_races_the_biased_p(void) {
    int rounds = SCALED(300);
    long lost = 0;
    struct counts before = counts_now();
    for (int round = 0; round < rounds; round++) {
        struct race r = {.mu = gort_mutex_make(), .done = gort_waitgroup_make()};
        CHECK(r.mu != NULL && r.done != NULL);
        CHECK_OK(gort_waitgroup_add(r.done, 1 + kRaceLockers));
        CHECK_OK(gort_go(bias_and_go_on, &r));
        for (int i = 0; i < kRaceLockers; i++) CHECK_OK(gort_go(join_in, &r));
        while (atomic_load(&r.go) == 0) sched_yield();
        for (long i = 0; i < kRacePairs; i++) { /* the main thread joins in too */
            CHECK_OK(gort_mutex_lock(r.mu));
            r.counter++;
            CHECK_OK(gort_mutex_unlock(r.mu));
        }
        CHECK_OK(gort_waitgroup_wait(r.done));
        long want = kBiasAfter + 4 + kRacePairs + (long)(kRaceLockers + 1) * kRacePairs;
        lost += want - r.counter;
        CHECK_OK(gort_mutex_release(r.mu));
        CHECK_OK(gort_waitgroup_release(r.done));
    }
    CHECK_EQ(lost, 0);
    struct counts after = counts_now();
    /* Every round's mutex was biased once and revoked at least once. */
    CHECK(after.biased - before.biased >= (uint64_t)(rounds * biasing_expected));
    CHECK(after.revoked - before.revoked >= (uint64_t)(rounds * biasing_expected));
}

int main(void) {
    biasing_expected = regions_possible();
    init_procs(1);
    RUN(test_plain_thread_revokes_and_excludes);
    RUN(test_plain_thread_unlocks_a_biased_lock);
    RUN(test_waiter_on_the_biased_p);
    RUN(test_try_on_the_biased_p_keeps_the_bias);
    RUN(test_biased_at_most_four_times);
    CHECK_OK(gort_shutdown(-1));
    init_procs(2);
    RUN(test_revocation_races_the_biased_p);
    CHECK_OK(gort_shutdown(-1));
    return check_failures != 0;
}
