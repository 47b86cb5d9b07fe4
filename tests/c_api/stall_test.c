/* Stall detection (issue 12), seen from C: goroutines that block in the
 * kernel without telling the runtime (a plain usleep, a read on an empty
 * pipe) must not stop the others, with one P:
 *   - a ticker keeps ticking through a plain usleep, and through a read
 *     that only the ticker itself can end (without stall detection: a hang);
 *   - ten plain sleepers overlap (all ten at once), and a lending bound of 2
 *     lets exactly three run at once;
 *   - a stall that begins while sysmon sleeps long is compensated at once;
 *   - once the stalls end the lent Ps are returned (stats) and GOMAXPROCS
 *     reads as configured; max_lent_procs = -1 never lends;
 *   - stalls in a locked goroutine, in gort_run_main's goroutine, in a
 *     callback from a C thread; GOMAXPROCS changed during a stall; shutdown
 *     waits for a stalled goroutine; the deadlock detector does not take a
 *     stalled goroutine for asleep; a gort_cgocall is not a stall;
 *   - a goroutine computing for over a second is reported once on stderr
 *     (quiet with GORT_STALLREPORT=0 or the config flag, counted either way);
 *     with GORT_LENDCPU=1 a computing goroutine does not stop the ticker;
 *   - a mixed test, 20 times.
 * A watchdog (alarm) turns a hang into a failure. Reports run in a child
 * process (`stall_test --child NAME`). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static const char* self;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int init_with(int procs, int max_lent) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = check_cgo_mode();
    c.max_lent_procs = max_lent;
    return gort_init(&c);
}

static gort_stats stats(void) {
    gort_stats s;
    memset(&s, 0, sizeof s);
    CHECK_OK(gort_get_stats(&s, sizeof s));
    return s;
}

/* wait_lent_returned waits (bounded: 10 s) until no P is lent any more:
 * sysmon returns them asynchronously, at its next look after the stall. */
static void wait_lent_returned(void) {
    for (int i = 0; i < 10000 && stats().procs_lent_now != 0; i++) gort_sleep(1000000);
    gort_stats s = stats();
    CHECK_EQ(s.procs_lent_now, 0);
    CHECK_EQ(s.procs_lent, s.procs_returned);
}

/* ---- a ticker: ticks every ms until told to stop; records the longest gap
 * between ticks inside the window [from, to) the staller marks. */
struct ticker {
    atomic_int stop;
    atomic_long ticks;
    _Atomic int64_t last; /* time of the last tick */
    _Atomic int64_t from, to;
    _Atomic int64_t maxgap; /* the longest gap seen while from <= t < to */
    gort_waitgroup* wg;
};

static void ticker_run(void* arg) {
    struct ticker* t = arg;
    atomic_store(&t->last, now_ns());
    while (!atomic_load(&t->stop)) {
        CHECK_OK(gort_sleep(1000000));
        int64_t n = now_ns(), prev = atomic_exchange(&t->last, n);
        int64_t from = atomic_load(&t->from), to = atomic_load(&t->to);
        if (from != 0 && n > from && (to == 0 || prev < to)) {
            int64_t start = prev > from ? prev : from;
            int64_t gap = (to != 0 && n > to ? to : n) - start;
            if (gap > atomic_load(&t->maxgap)) atomic_store(&t->maxgap, gap);
        }
        atomic_fetch_add(&t->ticks, 1);
    }
    CHECK_OK(gort_waitgroup_done(t->wg));
}

static void ticker_start(struct ticker* t) {
    memset(t, 0, sizeof *t);
    t->wg = gort_waitgroup_make();
    CHECK(t->wg != NULL);
    CHECK_OK(gort_waitgroup_add(t->wg, 1));
    CHECK_OK(gort_go(ticker_run, t));
    /* Let it start: its first tick is the proof. */
    while (atomic_load(&t->ticks) == 0) CHECK_OK(gort_sleep(1000000));
}

static void ticker_stop(struct ticker* t) {
    atomic_store(&t->stop, 1);
    CHECK_OK(gort_waitgroup_wait(t->wg));
    CHECK_OK(gort_waitgroup_release(t->wg));
}

/* stall_plainly: a plain usleep (the runtime is not told) of ms, marking the
 * ticker's window; returns the ticks seen meanwhile. */
static long stall_plainly(struct ticker* t, int ms) {
    long before = atomic_load(&t->ticks);
    atomic_store(&t->maxgap, 0);
    atomic_store(&t->to, 0);
    atomic_store(&t->from, now_ns());
    usleep((useconds_t)ms * 1000);
    atomic_store(&t->to, now_ns());
    return atomic_load(&t->ticks) - before;
}

/* The ticker must have ticked through the stall: at least a fifth of the
 * ticks it would make running alone, and no gap near the stall's length
 * (under ThreadSanitizer, which slows every thread start and switch
 * tenfold, no gap of half of it). */
#ifdef CHECK_TSAN
#define GAP_DIVISOR 2
#else
#define GAP_DIVISOR 4
#endif
static void check_ticked_through(struct ticker* t, long ticks, int ms) {
    CHECK(ticks >= ms / 5);
    CHECK(atomic_load(&t->maxgap) < (int64_t)ms * 1000000 / GAP_DIVISOR);
    if (ticks < ms / 5 || atomic_load(&t->maxgap) >= (int64_t)ms * 1000000 / GAP_DIVISOR) {
        fprintf(stderr, "  ticks %ld over %d ms, longest gap %.1f ms\n", ticks, ms,
                (double)atomic_load(&t->maxgap) / 1e6);
    }
}

/* ---- a plain usleep does not stop a ticker ------------------------------ */

struct staller {
    struct ticker* t;
    int ms;
    long ticks;
    gort_waitgroup* wg;
};

static void staller_run(void* arg) {
    struct staller* s = arg;
    s->ticks = stall_plainly(s->t, s->ms);
    CHECK_OK(gort_waitgroup_done(s->wg));
}

static void stall_beside_ticker(int ms) {
    struct ticker t;
    ticker_start(&t);
    struct staller s = {&t, ms, 0, gort_waitgroup_make()};
    CHECK_OK(gort_waitgroup_add(s.wg, 1));
    CHECK_OK(gort_go(staller_run, &s));
    CHECK_OK(gort_waitgroup_wait(s.wg));
    CHECK_OK(gort_waitgroup_release(s.wg));
    check_ticked_through(&t, s.ticks, ms);
    ticker_stop(&t);
}

static void test_usleep_does_not_stop_ticker(void) {
    CHECK_OK(init_with(1, 0));
    gort_stats before = stats();
    stall_beside_ticker(500);
    CHECK(stats().stalls > before.stalls);
    CHECK(stats().procs_lent > before.procs_lent);
    wait_lent_returned();
    CHECK_EQ(gort_gomaxprocs(0), 1);
    CHECK_OK(gort_shutdown(-1));
}

/* ---- a read on an empty pipe that only the ticker can end -------------- */

struct pipe_case {
    int fds[2];
    atomic_long ticks;
    char got;
    gort_waitgroup* wg;
};

static void pipe_reader(void* arg) {
    struct pipe_case* p = arg;
    CHECK_EQ(read(p->fds[0], &p->got, 1), 1); /* blocks, holding the only P */
    CHECK_OK(gort_waitgroup_done(p->wg));
}

static void pipe_ticker(void* arg) {
    struct pipe_case* p = arg;
    for (int i = 0; i < 20; i++) {
        CHECK_OK(gort_sleep(1000000));
        atomic_fetch_add(&p->ticks, 1);
    }
    CHECK_EQ(write(p->fds[1], "x", 1), 1);
    CHECK_OK(gort_waitgroup_done(p->wg));
}

static void test_read_on_empty_pipe(void) {
    CHECK_OK(init_with(1, 0));
    for (int round = 0; round < 5; round++) {
        struct pipe_case p;
        memset(&p, 0, sizeof p);
        CHECK_EQ(pipe(p.fds), 0);
        p.wg = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(p.wg, 2));
        CHECK_OK(gort_go(pipe_reader, &p));
        CHECK_OK(gort_go(pipe_ticker, &p));
        CHECK_OK(gort_waitgroup_wait(p.wg));
        CHECK_EQ(atomic_load(&p.ticks), 20);
        CHECK_EQ(p.got, 'x');
        CHECK_OK(gort_waitgroup_release(p.wg));
        close(p.fds[0]);
        close(p.fds[1]);
    }
    wait_lent_returned();
    CHECK_OK(gort_shutdown(-1));
}

/* ---- ten plain sleepers overlap; the lending bound holds ---------------- */

/* A sleeper's plain usleep: long enough that all of them overlap once stall
 * detection has lent a P to each (slower under the sanitizers). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
static const useconds_t kSleeperUs = 800000;
#else
static const useconds_t kSleeperUs = 200000;
#endif

struct sleepers {
    atomic_int inside, most;
    gort_waitgroup* wg;
};

static void sleeper(void* arg) {
    struct sleepers* s = arg;
    int n = atomic_fetch_add(&s->inside, 1) + 1;
    for (int m = atomic_load(&s->most); n > m && !atomic_compare_exchange_weak(&s->most, &m, n);) {
    }
    usleep(kSleeperUs);
    atomic_fetch_sub(&s->inside, 1);
    CHECK_OK(gort_waitgroup_done(s->wg));
}

static int run_sleepers(int n) {
    struct sleepers s;
    memset(&s, 0, sizeof s);
    s.wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(s.wg, n));
    for (int i = 0; i < n; i++) CHECK_OK(gort_go(sleeper, &s));
    CHECK_OK(gort_waitgroup_wait(s.wg));
    CHECK_OK(gort_waitgroup_release(s.wg));
    return atomic_load(&s.most);
}

static void test_ten_sleepers_overlap(void) {
    CHECK_OK(init_with(1, 0));
    int64_t t0 = now_ns();
    CHECK_EQ(run_sleepers(10), 10);                 /* all at once */
    CHECK(now_ns() - t0 < 5 * kSleeperUs * 1000LL); /* 10 x kSleeperUs if serial */
    wait_lent_returned();
    CHECK(stats().procs_lent >= 9);
    CHECK_EQ(gort_gomaxprocs(0), 1);
    CHECK_OK(gort_shutdown(-1));
}

static void test_lending_bound(void) {
    CHECK_OK(init_with(1, 2));
    CHECK_EQ(run_sleepers(10), 3); /* the P and the two lent ones */
    wait_lent_returned();
    CHECK_OK(gort_shutdown(-1));
}

static void test_never_lend(void) {
    CHECK_OK(init_with(1, -1));
    CHECK_EQ(run_sleepers(3), 1); /* one after the other */
    gort_stats s = stats();
    CHECK(s.stalls >= 1); /* seen and counted, not compensated */
    CHECK_EQ(s.procs_lent, 0);
    CHECK_OK(gort_shutdown(-1));
}

/* ---- a stall that begins while sysmon sleeps long ----------------------
 * With every stall compensated and nothing else running, sysmon backs off
 * to 10 ms sleeps (in ~20 ms). A goroutine that takes a P then and blocks
 * plainly must still be compensated within stall detection's bound (about
 * 1.5 ms), not at sysmon's next look: the goroutine it queued behind itself
 * runs soon, while the blocker still sleeps. */
static const useconds_t kLateStallUs = 20000;
#ifdef CHECK_TSAN
static const int64_t kLateBoundNs = 4000000;
#else
static const int64_t kLateBoundNs = 2000000;
#endif
enum { kLateRounds = 20 };

struct late_case {
    _Atomic int64_t start; /* the blocker queued the other */
    _Atomic int64_t ran;   /* the other ran */
    atomic_int asleep;     /* the blocker is in its plain usleep */
    atomic_int ranAsleep;  /* the other ran while the blocker slept */
    gort_waitgroup* wg;
};

static void late_queued(void* arg) {
    struct late_case* c = arg;
    atomic_store(&c->ranAsleep, atomic_load(&c->asleep));
    atomic_store(&c->ran, now_ns());
    CHECK_OK(gort_waitgroup_done(c->wg));
}

static void late_blocker(void* arg) {
    struct late_case* c = arg;
    atomic_store(&c->asleep, 1);
    atomic_store(&c->start, now_ns());
    CHECK_OK(gort_go(late_queued, c)); /* on this P's queue: no P is idle */
    usleep(kLateStallUs);
    atomic_store(&c->asleep, 0);
    CHECK_OK(gort_waitgroup_done(c->wg));
}

static int cmp_i64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return (x > y) - (x < y);
}

static void test_stall_while_sysmon_backed_off(void) {
    CHECK_OK(init_with(1, 0));
    /* A reader blocked for the whole test holds P 0; the P lent for it is
     * the one each round's blocker takes. */
    struct pipe_case p;
    memset(&p, 0, sizeof p);
    CHECK_EQ(pipe(p.fds), 0);
    p.wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(p.wg, 1));
    CHECK_OK(gort_go(pipe_reader, &p));
    for (int i = 0; i < 10000 && stats().procs_lent_now == 0; i++) usleep(1000);
    CHECK_EQ(stats().procs_lent_now, 1);
    int64_t waited[kLateRounds];
    int ranAsleep = 0;
    for (int round = 0; round < kLateRounds; round++) {
        usleep(40000); /* the runtime stays quiet: sysmon backs off */
        struct late_case c;
        memset(&c, 0, sizeof c);
        c.wg = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(c.wg, 2));
        CHECK_OK(gort_go(late_blocker, &c));
        CHECK_OK(gort_waitgroup_wait(c.wg));
        CHECK_OK(gort_waitgroup_release(c.wg));
        waited[round] = atomic_load(&c.ran) - atomic_load(&c.start);
        ranAsleep += atomic_load(&c.ranAsleep);
    }
    /* Here: a median of ~0.5 ms; ~5.5 ms (sysmon's next look, anywhere in
     * its 10 ms sleep) when nothing made sysmon look. */
    qsort(waited, kLateRounds, sizeof waited[0], cmp_i64);
    int64_t median = waited[kLateRounds / 2];
    CHECK(median < kLateBoundNs);
    /* Most rounds ran the other while the blocker slept (the median says
     * as much); a round that a loaded machine, or a sanitizer's slow thread
     * creation, held up past the 20 ms sleep is one of the slow minority. */
    CHECK(ranAsleep > kLateRounds / 2);
    if (median >= kLateBoundNs || ranAsleep <= kLateRounds / 2) {
        fprintf(stderr, "  waited: median %.2f ms, longest %.2f ms; %d of %d ran in the sleep\n",
                (double)median / 1e6, (double)waited[kLateRounds - 1] / 1e6, ranAsleep,
                kLateRounds);
    }
    CHECK_EQ(write(p.fds[1], "x", 1), 1);
    CHECK_OK(gort_waitgroup_wait(p.wg));
    CHECK_OK(gort_waitgroup_release(p.wg));
    close(p.fds[0]);
    close(p.fds[1]);
    wait_lent_returned();
    CHECK_OK(gort_shutdown(-1));
}

/* ---- stalls where the runtime's special cases are ----------------------- */

static void locked_staller(void* arg) {
    CHECK_OK(gort_lock_os_thread());
    staller_run(arg);
    CHECK_OK(gort_unlock_os_thread());
}

static void test_stall_in_locked_goroutine(void) {
    CHECK_OK(init_with(1, 0));
    struct ticker t;
    ticker_start(&t);
    struct staller s = {&t, 200, 0, gort_waitgroup_make()};
    CHECK_OK(gort_waitgroup_add(s.wg, 1));
    CHECK_OK(gort_go(locked_staller, &s));
    CHECK_OK(gort_waitgroup_wait(s.wg));
    CHECK_OK(gort_waitgroup_release(s.wg));
    check_ticked_through(&t, s.ticks, 200);
    ticker_stop(&t);
    wait_lent_returned();
    CHECK_OK(gort_shutdown(-1));
}

static void main_stalls(void* arg) {
    struct ticker* t = arg;
    ticker_start(t);
    long ticks = stall_plainly(t, 200);
    check_ticked_through(t, ticks, 200);
    ticker_stop(t);
    wait_lent_returned();
}

static void test_stall_in_run_main(void) {
    CHECK_OK(init_with(1, 0));
    struct ticker t;
    CHECK_OK(gort_run_main(main_stalls, &t));
    CHECK_OK(gort_shutdown(-1));
}

static void callback_stalls(void* arg) {
    struct staller* s = arg;
    s->ticks = stall_plainly(s->t, s->ms);
}

static void* c_thread(void* arg) {
    CHECK_OK(gort_callback(callback_stalls, arg));
    return NULL;
}

static void test_stall_in_callback(void) {
    CHECK_OK(init_with(1, 0));
    struct ticker t;
    ticker_start(&t);
    struct staller s = {&t, 200, 0, NULL};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, c_thread, &s), 0);
    pthread_join(th, NULL);
    check_ticked_through(&t, s.ticks, 200);
    ticker_stop(&t);
    wait_lent_returned();
    CHECK_OK(gort_shutdown(-1));
}

static void cgocall_sleep(void* arg) {
    usleep((useconds_t)(*(int*)arg) * 1000);
}

static void cgocall_sleeper(void* arg) {
    int ms = 100;
    CHECK_OK(gort_cgocall(cgocall_sleep, &ms));
    CHECK_OK(gort_waitgroup_done(arg));
}

static void test_cgocall_is_not_a_stall(void) {
    CHECK_OK(init_with(1, 0));
    gort_waitgroup* wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(wg, 4));
    for (int i = 0; i < 4; i++) CHECK_OK(gort_go(cgocall_sleeper, wg));
    CHECK_OK(gort_waitgroup_wait(wg));
    CHECK_OK(gort_waitgroup_release(wg));
    gort_stats s = stats();
#ifndef CHECK_TSAN
    /* (Under ThreadSanitizer a goroutine's thread also waits in the kernel
     * for the sanitizer's own locks, now and then for over 0.5 ms while it
     * holds its P: a real stall, if not the program's.) */
    CHECK_EQ(s.stalls, 0);
    CHECK_EQ(s.procs_lent, 0);
#endif
    (void)s;
    CHECK_OK(gort_shutdown(-1));
}

struct resize_case {
    atomic_int stalling;
    gort_waitgroup* wg;
};

static void resize_staller(void* arg) {
    struct resize_case* r = arg;
    atomic_store(&r->stalling, 1);
    usleep(300000);
    CHECK_OK(gort_waitgroup_done(r->wg));
}

static void test_gomaxprocs_changed_during_stall(void) {
    CHECK_OK(init_with(1, 0));
    for (int round = 0; round < 3; round++) {
        struct resize_case r = {0, gort_waitgroup_make()};
        CHECK_OK(gort_waitgroup_add(r.wg, 1));
        CHECK_OK(gort_go(resize_staller, &r));
        while (!atomic_load(&r.stalling)) usleep(100);
        while (stats().procs_lent_now == 0) usleep(100); /* lent: the stall is seen */
        CHECK_EQ(gort_gomaxprocs(3), 1);
        CHECK_EQ(gort_gomaxprocs(0), 3);
        CHECK_EQ(gort_gomaxprocs(1), 3);
        CHECK_EQ(gort_gomaxprocs(0), 1);
        CHECK_OK(gort_waitgroup_wait(r.wg));
        CHECK_OK(gort_waitgroup_release(r.wg));
    }
    wait_lent_returned();
    CHECK_EQ(gort_gomaxprocs(0), 1);
    CHECK_OK(gort_shutdown(-1));
}

static void long_staller(void* arg) {
    (void)arg;
    usleep(300000);
}

static void test_shutdown_waits_for_stalled_goroutine(void) {
    CHECK_OK(init_with(1, 0));
    CHECK_OK(gort_go(long_staller, NULL));
    CHECK_EQ(gort_shutdown(50000000), GORT_EBUSY); /* it still runs */
    CHECK_OK(gort_shutdown(-1));
}

static void stalled_sender(void* arg) {
    usleep(100000); /* running, not asleep */
    int v = 5;
    CHECK_OK(gort_chan_send(arg, &v));
}

static void main_waits_for_stalled(void* arg) {
    gort_chan* ch = arg;
    CHECK_OK(gort_go(stalled_sender, ch));
    int v = 0;
    CHECK_OK(gort_chan_recv(ch, &v, NULL));
    CHECK_EQ(v, 5);
}

static void test_stalled_goroutine_is_not_asleep(void) {
    for (int procs = 1; procs <= 2; procs++) {
        CHECK_OK(init_with(procs, 0));
        gort_chan* ch = gort_chan_make(sizeof(int), 0);
        CHECK_OK(gort_run_main(main_waits_for_stalled, ch)); /* no deadlock report */
        CHECK_OK(gort_chan_release(ch));
        CHECK_OK(gort_shutdown(-1));
    }
}

/* ---- a goroutine computing for over a second ---------------------------- */

static void spin(void* arg) {
    int64_t until = now_ns() + *(int64_t*)arg;
    volatile long x = 0;
    while (now_ns() < until) x++;
}

/* Blocks in the kernel right here, holding its P: the report's stack must
 * name this function. */
__attribute__((noinline)) static void stalled_in_usleep(void* arg) {
    usleep(*(useconds_t*)arg);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
}

static int child(const char* name) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = 1;
    if (strcmp(name, "quiet-flag") == 0) c.flags |= GORT_CONFIG_QUIET_STALLS;
    if (gort_init(&c) != GORT_OK) return 2;
    int64_t goid = 0, ns = 1300000000;
    gort_go_opts o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.name = "spinner";
    useconds_t us = 1300000;
    if (strcmp(name, "report-sleeper") == 0) {
        o.name = "sleeper";
        if (gort_go_ex(&o, stalled_in_usleep, &us, &goid) != GORT_OK) return 3;
    } else if (gort_go_ex(&o, spin, &ns, &goid) != GORT_OK) {
        return 3;
    }
    if (gort_shutdown(-1) != GORT_OK) return 4;
    /* The report is what the parent reads, and this line to check the id. */
    fprintf(stderr, "spinner-goid %lld\n", (long long)goid);
    return 0;
}

static int count(const char* hay, const char* needle) {
    int n = 0;
    for (const char* p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

static void test_long_runner_reported_once(void) {
    char out[4096];
    int st = run_child(self, "report", out, sizeof out);
    CHECK_EXITED(st, 0);
    long long goid = 0;
    const char* g = strstr(out, "spinner-goid ");
    CHECK(g != NULL && sscanf(g, "spinner-goid %lld", &goid) == 1);
    char want[256];
    snprintf(want, sizeof want,
             "gort: goroutine %lld (spinner) has run for 1.0s without yielding; wrap blocking C "
             "code in gort_cgocall\n",
             goid);
    CHECK_EQ(count(out, want), 1);
    CHECK_EQ(count(out, "without yielding"), 1);
    if (count(out, want) != 1) fprintf(stderr, "  child said: %s\n", out);
}

/* A goroutine blocked in the kernel is reported with its stack: the
 * function it blocks in, read from its thread at the system call. */
static void test_long_sleeper_reported_with_stack(void) {
    char out[8192];
    int st = run_child(self, "report-sleeper", out, sizeof out);
    CHECK_EXITED(st, 0);
    long long goid = 0;
    const char* g = strstr(out, "spinner-goid ");
    CHECK(g != NULL && sscanf(g, "spinner-goid %lld", &goid) == 1);
    char want[256];
    snprintf(want, sizeof want, "gort: goroutine %lld (sleeper) has run for 1.0s without yielding",
             goid);
    const char* r = strstr(out, want);
    CHECK(r != NULL);
    snprintf(want, sizeof want, "goroutine %lld \"sleeper\" [running", goid);
    const char* h = r != NULL ? strstr(r, want) : NULL;
    CHECK(h != NULL);
    CHECK(h != NULL && strstr(h, "stalled_in_usleep") != NULL);
    if (h == NULL || strstr(h, "stalled_in_usleep") == NULL)
        fprintf(stderr, "  child said: %s\n", out);
}

static void test_long_runner_quiet(void) {
    char out[4096];
    setenv("GORT_STALLREPORT", "0", 1);
    int st = run_child(self, "report", out, sizeof out);
    unsetenv("GORT_STALLREPORT");
    CHECK_EXITED(st, 0);
    CHECK_EQ(count(out, "without yielding"), 0);
    st = run_child(self, "quiet-flag", out, sizeof out);
    CHECK_EXITED(st, 0);
    CHECK_EQ(count(out, "without yielding"), 0);
}

struct long_case {
    int64_t ns;
    gort_waitgroup* wg;
};

static void counted_spinner(void* arg) {
    struct long_case* l = arg;
    spin(&l->ns);
    CHECK_OK(gort_waitgroup_done(l->wg));
}

static void test_long_runner_counted(void) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = 1;
    c.flags = GORT_CONFIG_QUIET_STALLS;
    CHECK_OK(gort_init(&c));
    struct long_case l = {1200000000, gort_waitgroup_make()};
    CHECK_OK(gort_waitgroup_add(l.wg, 1));
    CHECK_OK(gort_go(counted_spinner, &l));
    CHECK_OK(gort_waitgroup_wait(l.wg));
    CHECK_OK(gort_waitgroup_release(l.wg));
    CHECK_EQ(stats().long_runners, 1);
    CHECK_OK(gort_shutdown(-1));
}

/* With GORT_LENDCPU=1 a goroutine computing without yielding gets a P lent
 * after 10 ms: the ticker runs beside it (the kernel time-slices). */
struct cpu_case {
    struct ticker* t;
    long ticks;
    gort_waitgroup* wg;
};

static void cpu_staller(void* arg) {
    struct cpu_case* c = arg;
    long before = atomic_load(&c->t->ticks);
    int64_t ns = 300000000;
    spin(&ns);
    c->ticks = atomic_load(&c->t->ticks) - before;
    CHECK_OK(gort_waitgroup_done(c->wg));
}

static void test_lend_for_cpu(void) {
    setenv("GORT_LENDCPU", "1", 1);
    CHECK_OK(init_with(1, 0));
    unsetenv("GORT_LENDCPU");
    struct ticker t;
    ticker_start(&t);
    struct cpu_case c = {&t, 0, gort_waitgroup_make()};
    CHECK_OK(gort_waitgroup_add(c.wg, 1));
    CHECK_OK(gort_go(cpu_staller, &c));
    CHECK_OK(gort_waitgroup_wait(c.wg));
    CHECK_OK(gort_waitgroup_release(c.wg));
    CHECK(c.ticks >= 300 / 5);
    ticker_stop(&t);
    wait_lent_returned();
    CHECK_OK(gort_shutdown(-1));
}

/* ---- everything at once, 20 times --------------------------------------- */

/* Short plain stalls, one after another on 4 goroutines at 1 P, make
 * sysmon lend and return Ps all the time; every stats snapshot meanwhile
 * must agree with itself: procs_lent - procs_returned == procs_lent_now (a
 * return once updated procs_lent_now and procs_returned apart, and
 * test_mixed_repeated saw lent 9, returned 8, none lent now). */
static void short_stalls(void* arg) {
    gort_waitgroup* wg = arg;
    for (int i = 0; i < 25; i++) usleep(2000);
    CHECK_OK(gort_waitgroup_done(wg));
}

static void test_lent_counters_agree(void) {
    CHECK_OK(init_with(1, 4));
    gort_waitgroup* wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(wg, 4));
    for (int i = 0; i < 4; i++) CHECK_OK(gort_go(short_stalls, wg));
    long snapshots = 0, disagree = 0;
    while (gort_waitgroup_wait_timeout(wg, 0) == GORT_ETIMEDOUT) {
        gort_stats s = stats();
        if (s.procs_lent - s.procs_returned != s.procs_lent_now) disagree++;
        snapshots++;
    }
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK_EQ(disagree, 0);
    CHECK(snapshots > 0);
    CHECK(stats().procs_lent > 0); /* the stalls were lent for */
    wait_lent_returned();
    CHECK_OK(gort_shutdown(-1));
}

static void test_mixed_repeated(void) {
    for (int rep = 0; rep < 20; rep++) {
        int procs = 1 + rep % 2;
        CHECK_OK(init_with(procs, 0));
        struct ticker t;
        ticker_start(&t);
        struct staller s = {&t, 50, 0, gort_waitgroup_make()};
        struct pipe_case p;
        memset(&p, 0, sizeof p);
        CHECK_EQ(pipe(p.fds), 0);
        p.wg = s.wg;
        CHECK_OK(gort_waitgroup_add(s.wg, 3));
        CHECK_OK(gort_go(staller_run, &s));
        CHECK_OK(gort_go(pipe_reader, &p));
        CHECK_OK(gort_go(pipe_ticker, &p));
        CHECK_EQ(run_sleepers(4), 4);
        CHECK_OK(gort_waitgroup_wait(s.wg));
        CHECK_OK(gort_waitgroup_release(s.wg));
        CHECK_EQ(p.got, 'x');
        close(p.fds[0]);
        close(p.fds[1]);
        ticker_stop(&t);
        wait_lent_returned();
        CHECK_EQ(gort_gomaxprocs(0), procs);
        CHECK_OK(gort_shutdown(-1));
    }
}

int main(int argc, char** argv) {
    self = argv[0];
    if (argc > 2 && strcmp(argv[1], "--child") == 0) {
        alarm(30);
        return child(argv[2]);
    }
#ifdef CHECK_TSAN
    alarm(300); /* a hang is a failure, not a stuck CI */
#else
    alarm(120);
#endif
    RUN(test_usleep_does_not_stop_ticker);
    RUN(test_read_on_empty_pipe);
    RUN(test_ten_sleepers_overlap);
    RUN(test_lending_bound);
    RUN(test_never_lend);
    RUN(test_stall_while_sysmon_backed_off);
    RUN(test_stall_in_locked_goroutine);
    RUN(test_stall_in_run_main);
    RUN(test_stall_in_callback);
    RUN(test_cgocall_is_not_a_stall);
    RUN(test_gomaxprocs_changed_during_stall);
    RUN(test_shutdown_waits_for_stalled_goroutine);
    RUN(test_stalled_goroutine_is_not_asleep);
    RUN(test_long_runner_reported_once);
    RUN(test_long_sleeper_reported_with_stack);
    RUN(test_long_runner_quiet);
    RUN(test_long_runner_counted);
    RUN(test_lend_for_cpu);
    RUN(test_lent_counters_agree);
    RUN(test_mixed_repeated);
    return check_failures != 0;
}
