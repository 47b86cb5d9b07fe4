/* Signal storms while foreign threads make their first callback (needm),
 * issue 11 ("Keeping it fixed"; Go's NeedmDeadlock, golang/go#42207 and
 * #15994), in both thread-creation modes:
 *   - the host chains handlers: an inner handler for SIGUSR1 and SIGPROF
 *     installed before gort_init, an outer one installed after it that
 *     calls the inner one (as libraries do); SIGUSR1 without SA_RESTART
 *     (every wait in the runtime sees EINTR), SIGPROF with it;
 *   - storm: sender threads tgkill SIGUSR1/SIGPROF at random at the live
 *     foreign threads and at every thread of the process (the runtime's
 *     own), and ITIMER_PROF fires SIGPROF process-wide;
 *   - foreign threads churn: each sends itself SIGUSR2 (delivered before
 *     pthread_kill returns: counted exactly), opens a window in which the
 *     outer SIGUSR1 handler calls back into the runtime from the signal
 *     handler (a first callback there is a needm in a signal handler),
 *     makes its own first callback, checks its signal mask is unchanged,
 *     and exits (dropm through the key's destructor, under the storm);
 *   - goroutines ping-pong and sleep meanwhile (their threads take the
 *     storm too).
 * Exact: inner == outer for each signal (the chain is intact), every
 * self-sent SIGUSR2 delivered once, callbacks from handlers made == ran,
 * every thread's callbacks ran and its mask survived, messages exact. */
#include <dirent.h>
#include <sys/time.h>

#include "stress.h"

enum { kLive = 32, kSenders = 3, kPairs = 2 };

/* ---- the host's handlers ----------------------------------------------------- */

static atomic_llong inner_n[2], outer_begun[2], outer_done[2], usr2_n;
static atomic_llong handler_cb_made, handler_cb_ran;
static struct sigaction prev_usr1, prev_prof;
static _Thread_local volatile sig_atomic_t may_call_back, usr2_here;

static int sig_index(int sig) {
    return sig == SIGUSR1 ? 0 : 1;
}

static void inner_handler(int sig, siginfo_t* info, void* uc) {
    (void)info, (void)uc;
    atomic_fetch_add(&inner_n[sig_index(sig)], 1);
}

static void from_handler(void* arg) {
    (void)arg;
    atomic_fetch_add(&handler_cb_ran, 1);
}

static void outer_handler(int sig, siginfo_t* info, void* uc) {
    int saved = errno;
    int i = sig_index(sig);
    atomic_fetch_add(&outer_begun[i], 1);
    if (sig == SIGUSR1 && may_call_back) {
        may_call_back = 0; /* once per window */
        atomic_fetch_add(&handler_cb_made, 1);
        int rc = gort_callback(from_handler, NULL);
        if (rc != GORT_OK) {
            static const char m[] = "signals: gort_callback in a handler failed\n";
            (void)!write(2, m, sizeof m - 1);
            atomic_fetch_add(&stress_failures, 1);
        }
    }
    struct sigaction* prev = sig == SIGUSR1 ? &prev_usr1 : &prev_prof;
    if (prev->sa_flags & SA_SIGINFO) prev->sa_sigaction(sig, info, uc);
    atomic_fetch_add(&outer_done[i], 1);
    errno = saved;
}

static void usr2_handler(int sig) {
    (void)sig;
    usr2_here++;
    atomic_fetch_add(&usr2_n, 1);
}

static void install(int sig, void (*fn)(int, siginfo_t*, void*), int flags, struct sigaction* old) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | flags;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(sig, &sa, old), 0);
}

/* ---- the storm ------------------------------------------------------------------ */

static _Atomic pid_t live_tids[kLive];
static atomic_int stop_storm;
static atomic_llong sent;

static void* sender(void* arg) {
    stress_rng r = stress_rng_for(500 + (uint64_t)(uintptr_t)arg);
    pid_t pid = getpid();
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL); /* senders take none */
    for (long round = 0; !atomic_load(&stop_storm); round++) {
        for (int k = 0; k < 16; k++) {
            pid_t t = atomic_load(&live_tids[stress_below(&r, kLive)]);
            int sig = stress_below(&r, 3) ? SIGUSR1 : SIGPROF;
            if (t != 0 && syscall(SYS_tgkill, pid, t, sig) == 0) atomic_fetch_add(&sent, 1);
        }
        if (round % 64 == 0) {
            /* Every thread of the process: the runtime's too. */
            DIR* d = opendir("/proc/self/task");
            struct dirent* e;
            while (d != NULL && (e = readdir(d)) != NULL) {
                pid_t t = (pid_t)atoi(e->d_name);
                if (t <= 0) continue;
                int sig = stress_below(&r, 2) ? SIGUSR1 : SIGPROF;
                if (syscall(SYS_tgkill, pid, t, sig) == 0) atomic_fetch_add(&sent, 1);
            }
            if (d != NULL) closedir(d);
        }
        stress_sleep_ns(5000);
    }
    return NULL;
}

/* ---- foreign threads ------------------------------------------------------------ */

static atomic_llong threads_done, thread_callbacks, usr2_lost, mask_changed;

static void in_callback(void* arg) {
    (void)arg;
    atomic_fetch_add(&thread_callbacks, 1);
    CHECK_OK(gort_gosched());
}

static void self_usr2(void) {
    int before = usr2_here;
    pthread_kill(pthread_self(), SIGUSR2);
    if (usr2_here != before + 1) atomic_fetch_add(&usr2_lost, 1);
}

static void* foreign(void* arg) {
    int slot = (int)(uintptr_t)arg;
    atomic_store(&live_tids[slot], stress_tid());
    sigset_t before, after;
    pthread_sigmask(SIG_BLOCK, NULL, &before);
    self_usr2();
    /* A window for the storm's SIGUSR1 to call back from the handler. */
    int64_t until = stress_now_ns() + 300000;
    may_call_back = 1;
    while (may_call_back && stress_now_ns() < until) {
    }
    may_call_back = 0;
    CHECK_OK(gort_callback(in_callback, NULL));
    self_usr2();
    CHECK_OK(gort_callback(in_callback, NULL));
    pthread_sigmask(SIG_BLOCK, NULL, &after);
    for (int s = 1; s < 32; s++) {
        if (sigismember(&before, s) != sigismember(&after, s)) {
            atomic_fetch_add(&mask_changed, 1);
            break;
        }
    }
    atomic_fetch_add(&threads_done, 1);
    return NULL; /* the storm may hit the exit too */
}

/* ---- goroutines meanwhile -------------------------------------------------------- */

static atomic_int stop_pairs;
static atomic_llong msgs_sent, msgs_recvd;
static gort_waitgroup* wg;

static void pinger(void* arg) {
    gort_chan* ch = arg;
    for (long long i = 0; !atomic_load(&stop_pairs); i++) {
        if (gort_chan_send_timeout(ch, &i, 1000000) == GORT_OK) atomic_fetch_add(&msgs_sent, 1);
        if (i % 64 == 0) CHECK_OK(gort_sleep(50000));
    }
    long long end = -1;
    CHECK_OK(gort_chan_send(ch, &end));
    CHECK_OK(gort_waitgroup_done(wg));
}

static void ponger(void* arg) {
    gort_chan* ch = arg;
    for (;;) {
        long long v;
        CHECK_OK(gort_chan_recv(ch, &v, NULL));
        if (v < 0) break;
        atomic_fetch_add(&msgs_recvd, 1);
    }
    CHECK_OK(gort_waitgroup_done(wg));
}

static void test_storm_during_needm(void) {
    install(SIGUSR1, inner_handler, 0, NULL);
    install(SIGPROF, inner_handler, SA_RESTART, NULL);
    struct sigaction u2;
    memset(&u2, 0, sizeof u2);
    u2.sa_handler = usr2_handler;
    sigemptyset(&u2.sa_mask);
    CHECK_EQ(sigaction(SIGUSR2, &u2, NULL), 0);
    CHECK_OK(stress_init(2));
    /* The outer handlers, after init: they chain to what was there. */
    install(SIGUSR1, outer_handler, 0, &prev_usr1);
    install(SIGPROF, outer_handler, SA_RESTART, &prev_prof);

    wg = gort_waitgroup_make();
    gort_chan* chans[kPairs];
    CHECK_OK(gort_waitgroup_add(wg, 2 * kPairs));
    for (int i = 0; i < kPairs; i++) {
        chans[i] = gort_chan_make(sizeof(long long), (size_t)i);
        CHECK_OK(gort_go(pinger, chans[i]));
        CHECK_OK(gort_go(ponger, chans[i]));
    }
    pthread_t snd[kSenders];
    for (uintptr_t i = 0; i < kSenders; i++) pthread_create(&snd[i], NULL, sender, (void*)i);
    struct itimerval it = {{0, 200}, {0, 200}};
    CHECK_EQ(setitimer(ITIMER_PROF, &it, NULL), 0);

    stress_phase("storm");
    long total = STRESS_N(16000);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    pthread_t live[kLive];
    int used[kLive] = {0};
    for (long made = 0; made < total; made++) {
        int slot = (int)(made % kLive);
        if (used[slot]) {
            pthread_join(live[slot], NULL);
            atomic_store(&live_tids[slot], 0);
        }
        CHECK_EQ(pthread_create(&live[slot], &attr, foreign, (void*)(uintptr_t)slot), 0);
        used[slot] = 1;
    }
    for (int s = 0; s < kLive; s++) {
        if (used[s]) pthread_join(live[s], NULL);
        atomic_store(&live_tids[s], 0);
    }
    pthread_attr_destroy(&attr);

    stress_phase("quiescing");
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, NULL);
    atomic_store(&stop_storm, 1);
    for (int i = 0; i < kSenders; i++) pthread_join(snd[i], NULL);
    atomic_store(&stop_pairs, 1);
    CHECK_OK(gort_waitgroup_wait(wg));
    stress_sleep_ns(50000000); /* pending signals land */

    stress_phase("checking");
    long long delivered = 0;
    for (int i = 0; i < 2; i++) {
        long long done = atomic_load(&outer_done[i]), in = atomic_load(&inner_n[i]),
                  begun = atomic_load(&outer_begun[i]);
        CHECK(done <= in && in <= begun);
        CHECK_EQ(done, begun); /* quiet now: every outer call finished */
        delivered += in;
    }
    CHECK(atomic_load(&inner_n[0]) > 0);
    CHECK(atomic_load(&inner_n[1]) > 0);
    CHECK_EQ(atomic_load(&threads_done), total);
    CHECK_EQ(atomic_load(&thread_callbacks), 2 * total);
#if !defined(STRESS_TSAN)
    /* (ThreadSanitizer defers handlers to its own safe points, with its own
     * masking meanwhile, and drops what is still pending when a thread
     * exits: a self-sent signal is then neither synchronous nor exact.) */
    CHECK_EQ(atomic_load(&usr2_lost), 0);
    CHECK_EQ(atomic_load(&usr2_n), 2 * total);
    CHECK_EQ(atomic_load(&mask_changed), 0);
#endif
    CHECK_EQ(atomic_load(&handler_cb_made), atomic_load(&handler_cb_ran));
    CHECK_EQ(atomic_load(&msgs_sent), atomic_load(&msgs_recvd));
    gort_stats s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    fprintf(stderr,
            "  %ld foreign threads; signals: %lld sent by tgkill + ITIMER_PROF, %lld delivered "
            "(SIGUSR1 %lld, SIGPROF %lld), %lld SIGUSR2 self-sent; %lld callbacks from handlers; "
            "%lld messages; extra Ms pooled %llu\n",
            total, atomic_load(&sent), delivered, atomic_load(&inner_n[0]),
            atomic_load(&inner_n[1]), atomic_load(&usr2_n), atomic_load(&handler_cb_ran),
            atomic_load(&msgs_recvd), (unsigned long long)s.extra_ms_pooled);
    /* Restore the host's handlers before the runtime goes. */
    sigaction(SIGUSR1, &prev_usr1, NULL);
    sigaction(SIGPROF, &prev_prof, NULL);
    for (int i = 0; i < kPairs; i++) CHECK_OK(gort_chan_release(chans[i]));
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK_OK(gort_shutdown(10LL * 1000000000));
    stress_figure("foreign_threads", total);
    stress_figure("signals_delivered", delivered + atomic_load(&usr2_n));
    stress_figure("callbacks_from_handlers", atomic_load(&handler_cb_ran));
    stress_figure("messages", atomic_load(&msgs_recvd));
}

static void progress(void) {
    fprintf(stderr, "  threads %lld, sent %lld, SIGUSR1 %lld, SIGPROF %lld, callbacks %lld\n",
            atomic_load(&threads_done), atomic_load(&sent), atomic_load(&inner_n[0]),
            atomic_load(&inner_n[1]), atomic_load(&thread_callbacks));
}

int main(void) {
    stress_setup("stress.signals", 90);
    stress_progress = progress;
    STRESS_RUN(test_storm_during_needm);
    return stress_finish();
}
