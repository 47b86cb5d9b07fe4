/* Handles used without a reference (c_api/handles.h: op regions, and the
 * retiring of objects that a region may still use):
 *   - a handle released while goroutines on both Ps hammer it with the
 *     operations that run in regions (mutex lock/unlock, try_send/try_recv,
 *     wait group add/done, close) gets GORT_OK until the release and
 *     GORT_EINVAL after it, never a crash (ASan: no use of a freed object);
 *   - a released handle is invalid at once for region and referenced paths
 *     alike, though its object may not be destroyed yet;
 *   - thousands of objects released and retired in batches are all
 *     destroyed (ASan's leak check at exit), and those retired at shutdown
 *     too;
 *   - a channel with a large buffer is destroyed at its release. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gort.h"

enum { kWorkers = 4 };

struct target {
    gort_mutex* mu;
    gort_chan* ch;
    gort_waitgroup* counter;
    atomic_int ready;
    atomic_int bad; /* a status other than OK / EINVAL (or a channel's own) */
    atomic_long ops;
    gort_waitgroup* done;
};

static void hammer(void* arg) {
    struct target* t = arg;
    atomic_fetch_add(&t->ready, 1);
    int live = 1;
    for (long i = 0; live; i++) {
        /* Only try: a mutex released while one of us holds it stays locked
         * (its unlock then gets EINVAL), and a blocked lock would wait
         * forever, as it would without regions. */
        int rc = gort_mutex_lock_timeout(t->mu, 0);
        if (rc == GORT_OK) {
            rc = gort_mutex_unlock(t->mu);
            if (rc != GORT_OK && rc != GORT_EINVAL) atomic_fetch_add(&t->bad, 1);
        } else if (rc != GORT_EINVAL && rc != GORT_ETIMEDOUT) {
            atomic_fetch_add(&t->bad, 1);
        }
        if (rc == GORT_EINVAL) live = 0;
        int v = (int)i, ok = 0;
        rc = gort_chan_try_send(t->ch, &v);
        if (rc != GORT_OK && rc != GORT_EAGAIN && rc != GORT_EINVAL && rc != GORT_ECLOSED)
            atomic_fetch_add(&t->bad, 1);
        rc = gort_chan_try_recv(t->ch, &v, &ok);
        if (rc != GORT_OK && rc != GORT_EAGAIN && rc != GORT_EINVAL) atomic_fetch_add(&t->bad, 1);
        rc = gort_waitgroup_add(t->counter, 1);
        if (rc == GORT_OK) {
            rc = gort_waitgroup_done(t->counter);
            if (rc != GORT_OK && rc != GORT_EINVAL) atomic_fetch_add(&t->bad, 1);
        } else if (rc != GORT_EINVAL) {
            atomic_fetch_add(&t->bad, 1);
        }
        atomic_fetch_add(&t->ops, 1);
        if (i % 64 == 0) gort_gosched();
    }
    CHECK_OK(gort_waitgroup_done(t->done));
}

/* Each round: workers on both Ps hammer fresh handles; once they have run
 * for a while, the handles are released under them. */
static void release_under_regions(void) {
    for (int round = 0; round < SCALED(200); round++) {
        struct target t;
        memset(&t, 0, sizeof t);
        t.mu = gort_mutex_make();
        t.ch = gort_chan_make(sizeof(int), 4);
        t.counter = gort_waitgroup_make();
        t.done = gort_waitgroup_make();
        CHECK(t.mu != NULL && t.ch != NULL && t.counter != NULL && t.done != NULL);
        CHECK_OK(gort_waitgroup_add(t.done, kWorkers));
        for (int i = 0; i < kWorkers; i++) CHECK_OK(gort_go(hammer, &t));
        while (atomic_load(&t.ready) < kWorkers || atomic_load(&t.ops) < 200) gort_gosched();
        if (round % 2 == 0) CHECK_OK(gort_chan_close(t.ch));
        CHECK_OK(gort_chan_release(t.ch));
        CHECK_OK(gort_waitgroup_release(t.counter));
        CHECK_OK(gort_mutex_release(t.mu)); /* the workers stop on this one */
        CHECK_OK(gort_waitgroup_wait(t.done));
        CHECK_OK(gort_waitgroup_release(t.done));
        CHECK_EQ(atomic_load(&t.bad), 0);
    }
}

static void released_is_invalid_at_once(void) {
    for (int i = 0; i < 1000; i++) {
        gort_mutex* mu = gort_mutex_make();
        gort_chan* ch = gort_chan_make(sizeof(int), 1);
        gort_waitgroup* wg = gort_waitgroup_make();
        CHECK_OK(gort_mutex_lock(mu));
        CHECK_OK(gort_mutex_unlock(mu));
        CHECK_OK(gort_mutex_release(mu));
        CHECK_OK(gort_chan_release(ch));
        CHECK_OK(gort_waitgroup_release(wg));
        int v = 1, ok = 0;
        CHECK_EQ(gort_mutex_lock(mu), GORT_EINVAL);
        CHECK_EQ(gort_mutex_unlock(mu), GORT_EINVAL);
        CHECK_EQ(gort_chan_try_send(ch, &v), GORT_EINVAL);
        CHECK_EQ(gort_chan_recv_timeout(ch, &v, &ok, 0), GORT_EINVAL);
        CHECK_EQ(gort_chan_close(ch), GORT_EINVAL);
        CHECK_EQ(gort_waitgroup_add(wg, 1), GORT_EINVAL);
        CHECK_EQ(gort_waitgroup_wait_timeout(wg, 0), GORT_EINVAL);
        CHECK_EQ(gort_mutex_release(mu), GORT_EINVAL);
    }
}

static void many_retired(void) {
    /* 20,000 objects through the batches, and a channel with a 1 MiB
     * buffer each round (destroyed at its release, not batched). */
    for (int i = 0; i < SCALED(20000); i++) {
        gort_mutex* mu = gort_mutex_make();
        CHECK_OK(gort_mutex_lock(mu));
        CHECK_OK(gort_mutex_unlock(mu));
        CHECK_OK(gort_mutex_release(mu));
        if (i % 100 == 0) {
            gort_chan* big = gort_chan_make(1024, 1024);
            char buf[1024] = {1};
            CHECK_OK(gort_chan_try_send(big, buf));
            CHECK_OK(gort_chan_release(big));
        }
    }
    /* A few left in the last batch: shutdown destroys them. */
    for (int i = 0; i < 5; i++) CHECK_OK(gort_waitgroup_release(gort_waitgroup_make()));
}

struct body {
    void (*fn)(void);
};

static void run_body(void* arg) {
    ((struct body*)arg)->fn();
}

/* Every part runs on a goroutine (the region path) and again from the main
 * thread (the referenced path). */
static void both_ways(const char* name, void (*fn)(void)) {
    struct body b = {fn};
    CHECK_OK(gort_run_main(run_body, &b));
    fn();
    fprintf(stderr, "%s %s\n", check_failures == 0 ? "ok  " : "FAIL", name);
}

int main(void) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = 2;
    c.cgo = check_cgo_mode();
    CHECK_OK(gort_init(&c));
    both_ways("release_under_regions", release_under_regions);
    both_ways("released_is_invalid_at_once", released_is_invalid_at_once);
    both_ways("many_retired", many_retired);
    CHECK_OK(gort_shutdown(-1));
    return check_failures != 0;
}
