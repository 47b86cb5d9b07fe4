/* GOMAXPROCS shrinking while its Ps sit in system calls (issue 11, bug 4),
 * from gort.h, many rounds with random shapes:
 *   kHolders goroutines each hold a P (they spin, never yielding, until all
 *   of them run at once); GOMAXPROCS then drops to 1 or 2 (from one of
 *   them, or from a plain thread once they are all in C), so most of them
 *   now hold a P beyond it. Each queues a child on its P and arms a timer
 *   there (gort_after, received by a goroutine also queued there), and
 *   enters C: a gort_cgocall or a blocking region that waits until its
 *   child and its timer's receiver have both run. A P left stranded keeps
 *   its work (and its timers) until the call returns, so the call would
 *   wait for ever: it gives up after kStrandNs and counts the holder as
 *   stranded. In the variant "from C", the holder enters C first and its C
 *   code spawns the child.
 * Exact outcome: no holder stranded, every child and every timer ran. */
#include "stress.h"

enum { kHolders = 4 };
#if defined(STRESS_TSAN) || defined(STRESS_ASAN)
static const int64_t kStrandNs = 30LL * 1000000000;
#else
static const int64_t kStrandNs = 10LL * 1000000000;
#endif

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int child_ran, timer_ran;
    gort_chan* timer;
} Slot;

static Slot slots[kHolders];
static atomic_int arrived, shrunk, in_c;
static atomic_long stranded, children, timers, rounds_done;
static int shrink_to, shrink_from_c, use_region, shrinker;
static gort_waitgroup* wg;

static void mark(Slot* s, int timer) {
    pthread_mutex_lock(&s->mu);
    if (timer) {
        s->timer_ran = 1;
    } else {
        s->child_ran = 1;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void child(void* arg) {
    mark(arg, 0);
    atomic_fetch_add(&children, 1);
    CHECK_OK(gort_waitgroup_done(wg));
}

static void timer_receiver(void* arg) {
    Slot* s = arg;
    int64_t fired;
    int ok;
    CHECK_OK(gort_chan_recv(s->timer, &fired, &ok));
    CHECK_EQ(ok, 1);
    CHECK_OK(gort_chan_release(s->timer)); /* its own reference */
    mark(s, 1);
    atomic_fetch_add(&timers, 1);
    CHECK_OK(gort_waitgroup_done(wg));
}

/* queue_work: a child and a timer's receiver, queued where this code runs. */
static void queue_work(Slot* s) {
    s->timer = gort_after(1000000); /* 1 ms */
    CHECK(s->timer != NULL);
    CHECK_OK(gort_chan_retain(s->timer)); /* for the receiver */
    CHECK_OK(gort_waitgroup_add(wg, 2));
    CHECK_OK(gort_go(child, s));
    CHECK_OK(gort_go(timer_receiver, s));
}

/* wait_work: in C, until the slot's child and timer have run (or give up). */
static void wait_work(Slot* s) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t end = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + kStrandNs;
    ts.tv_sec = (time_t)(end / 1000000000);
    ts.tv_nsec = (long)(end % 1000000000);
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    while (!(s->child_ran && s->timer_ran) && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    if (!(s->child_ran && s->timer_ran)) {
        fprintf(stderr, "shrink: holder stranded (child %d, timer %d; GOMAXPROCS %d)\n",
                s->child_ran, s->timer_ran, shrink_to);
        atomic_fetch_add(&stranded, 1);
    }
    pthread_mutex_unlock(&s->mu);
}

static void c_code(void* arg) {
    Slot* s = arg;
    if (shrink_from_c) {
        atomic_fetch_add(&in_c, 1);
        queue_work(s); /* from C code: through the callback path */
        while (!atomic_load(&shrunk)) {
        }
    }
    wait_work(s);
}

static void holder(void* arg) {
    intptr_t i = (intptr_t)arg;
    Slot* s = &slots[i];
    /* Hold a P: spin (no scheduling point) until every holder runs. */
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < kHolders) {
    }
    if (!shrink_from_c) {
        if (i == shrinker) {
            CHECK(gort_gomaxprocs(shrink_to) >= 1);
            atomic_store(&shrunk, 1);
        }
        while (!atomic_load(&shrunk)) {
        }
        queue_work(s);
    }
    if (use_region) {
        CHECK_OK(gort_blocking_begin());
        c_code(s);
        CHECK_OK(gort_blocking_end());
    } else {
        CHECK_OK(gort_cgocall(c_code, s));
    }
    CHECK_OK(gort_chan_release(s->timer));
    CHECK_OK(gort_waitgroup_done(wg));
}

static void one_round(stress_rng* r) {
    CHECK(gort_gomaxprocs(kHolders) >= 1);
    shrink_to = 1 + (int)stress_below(r, 2);
    shrink_from_c = stress_below(r, 3) == 0;
    use_region = stress_below(r, 3) == 0;
    shrinker = (int)stress_below(r, kHolders);
    atomic_store(&arrived, 0);
    atomic_store(&shrunk, 0);
    atomic_store(&in_c, 0);
    for (int i = 0; i < kHolders; i++) {
        slots[i].child_ran = slots[i].timer_ran = 0;
        slots[i].timer = NULL;
    }
    CHECK_OK(gort_waitgroup_add(wg, kHolders));
    for (intptr_t i = 0; i < kHolders; i++) CHECK_OK(gort_go(holder, (void*)i));
    if (shrink_from_c) {
        /* From this plain thread, once every holder is in C. */
        while (atomic_load(&in_c) < kHolders) stress_sleep_ns(10000);
        CHECK(gort_gomaxprocs(shrink_to) >= 1);
        atomic_store(&shrunk, 1);
    }
    CHECK_OK(gort_waitgroup_wait(wg));
    atomic_fetch_add(&rounds_done, 1);
}

static void test_shrink_during_syscalls(void) {
    CHECK_OK(stress_init(kHolders));
    wg = gort_waitgroup_make();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (int i = 0; i < kHolders; i++) {
        pthread_mutex_init(&slots[i].mu, NULL);
        pthread_cond_init(&slots[i].cv, &ca);
    }
    pthread_condattr_destroy(&ca);
    stress_rng r = stress_rng_for(1);
    long rounds = STRESS_N(250);
    for (long k = 0; k < rounds; k++) one_round(&r);
    CHECK_EQ(atomic_load(&stranded), 0);
    CHECK_EQ(atomic_load(&children), rounds * kHolders);
    CHECK_EQ(atomic_load(&timers), rounds * kHolders);
    gort_stats s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    fprintf(stderr, "  %ld rounds: %ld children and %ld timers on retired Ps ran, %ld stranded\n",
            rounds, atomic_load(&children), atomic_load(&timers), atomic_load(&stranded));
    stress_figure("rounds", rounds);
    stress_figure("holders_in_syscalls", rounds * kHolders);
    stress_figure("p_retakes", (long long)s.p_retakes);
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK_OK(gort_shutdown(10LL * 1000000000));
}

static void progress(void) {
    fprintf(stderr, "  rounds %ld, arrived %d, in C %d, shrunk %d, stranded %ld\n",
            atomic_load(&rounds_done), atomic_load(&arrived), atomic_load(&in_c),
            atomic_load(&shrunk), atomic_load(&stranded));
}

int main(void) {
    stress_setup("stress.shrink", 90);
    stress_progress = progress;
    STRESS_RUN(test_shrink_during_syscalls);
    return stress_finish();
}
