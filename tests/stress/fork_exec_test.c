/* gort_fork_exec during a thread-creation storm (issue 11; Go's execLock,
 * golang/go#19546), in both thread-creation modes:
 *   - storm: goroutines exit locked (each takes its thread: the runtime
 *     makes new Ms), goroutines block in cgocalls (handoffs want Ms),
 *     foreign threads are created, call back and exit, GOMAXPROCS flips;
 *   - forkers: goroutines, and plain threads, fork/exec over and over:
 *     /bin/true, or this program again (`--exec-child TOKEN`, which checks
 *     its argv, its environment and that it starts with no signal blocked
 *     but those its parent thread had, and exits with TOKEN % 100), each
 *     child reaped from a cgocall;
 *   - bad input: a missing program (GORT_EINVAL, errno ENOENT), NULL
 *     arguments (GORT_EINVAL).
 * Exact: every fork/exec started (GORT_EAGAIN is retried and counted),
 * every child reaped with the exit status it was given, none left over. */
#include "stress.h"

enum { kForkers = 3, kPlainForkers = 1 };

static atomic_int stop_storm;
static atomic_llong started, reaped, wrong_status, again, bad_inputs, locked_exits, cgo_calls;
static atomic_llong storm_threads;
static long forks_each;
static gort_waitgroup* wg;         /* the storm's goroutines */
static gort_waitgroup* forkers_wg; /* the forker goroutines */

/* ---- the child ------------------------------------------------------------------ */

static int exec_child(const char* token) {
    const char* env = getenv("GORT_STRESS_TOKEN");
    int bad = env == NULL || strcmp(env, token) != 0;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    /* The parent thread blocked SIGUSR2 (plain forkers) or nothing. */
    int want_usr2 = token[0] == 'p';
    for (int s = 1; s < 32; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        if (sigismember(&cur, s) != (s == SIGUSR2 && want_usr2)) bad = 1;
    }
    return bad ? 101 : atoi(token + 1) % 100;
}

/* ---- forking ----------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int status;
} Reap;

static void reap_c(void* arg) {
    Reap* r = arg;
    while (waitpid(r->pid, &r->status, 0) < 0 && errno == EINTR) {
    }
}

/* fork_one: start one child (retrying GORT_EAGAIN) and reap it. */
static void fork_one(stress_rng* r, char kind, long k, int on_goroutine) {
    char token[32], envbuf[64];
    snprintf(token, sizeof token, "%c%ld", kind, k);
    snprintf(envbuf, sizeof envbuf, "GORT_STRESS_TOKEN=%s", token);
    char* envp[] = {envbuf, NULL};
    int self = stress_below(r, 4) == 0;
    char* self_argv[] = {"/proc/self/exe", "--exec-child", token, NULL};
    char* true_argv[] = {"true", NULL};
    const char* path = self ? "/proc/self/exe" : "/bin/true";
    pid_t pid = -1;
    int rc;
    while ((rc = gort_fork_exec(path, self ? self_argv : true_argv, envp, &pid)) == GORT_EAGAIN) {
        atomic_fetch_add(&again, 1);
        stress_sleep_ns(100000);
    }
    CHECK_OK(rc);
    if (rc != GORT_OK) return;
    atomic_fetch_add(&started, 1);
    Reap re = {pid, 0};
    if (on_goroutine) {
        CHECK_OK(gort_cgocall(reap_c, &re));
    } else {
        reap_c(&re);
    }
    int want = self ? (int)(k % 100) : 0;
    if (!(WIFEXITED(re.status) && WEXITSTATUS(re.status) == want)) {
        fprintf(stderr, "fork_exec: child %s ended with status 0x%x, wanted exit %d\n", token,
                re.status, want);
        atomic_fetch_add(&wrong_status, 1);
    }
    atomic_fetch_add(&reaped, 1);
}

static void bad_forks(void) {
    char* argv[] = {"x", NULL};
    pid_t pid;
    errno = 0;
    CHECK_EQ(gort_fork_exec("/nonexistent/gort-stress", argv, NULL, &pid), GORT_EINVAL);
    CHECK_EQ(stress_errno(), ENOENT); /* we may be on another thread now */
    CHECK_EQ(gort_fork_exec(NULL, argv, NULL, &pid), GORT_EINVAL);
    CHECK_EQ(gort_fork_exec("/bin/true", NULL, NULL, &pid), GORT_EINVAL);
    CHECK_EQ(gort_fork_exec("/bin/true", argv, NULL, NULL), GORT_EINVAL);
    atomic_fetch_add(&bad_inputs, 4);
}

static void forker(void* arg) {
    stress_rng r = stress_rng_for(10 + (uint64_t)(uintptr_t)arg);
    for (long k = 0; k < forks_each; k++) {
        fork_one(&r, 'g', k, 1);
        if (k % 100 == 0) bad_forks();
    }
    CHECK_OK(gort_waitgroup_done(forkers_wg));
}

static void* plain_forker(void* arg) {
    stress_rng r = stress_rng_for(20 + (uint64_t)(uintptr_t)arg);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL); /* the child must start with it */
    for (long k = 0; k < forks_each; k++) fork_one(&r, 'p', k, 0);
    return NULL;
}

/* ---- the thread storm -------------------------------------------------------------- */

static void exits_locked(void* arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    CHECK_OK(gort_gosched());
    atomic_fetch_add(&locked_exits, 1);
    CHECK_OK(gort_waitgroup_done(wg));
}

static void short_c(void* arg) {
    (void)arg;
    stress_sleep_ns(200000);
}

static void in_c(void* arg) {
    (void)arg;
    CHECK_OK(gort_cgocall(short_c, NULL));
    atomic_fetch_add(&cgo_calls, 1);
    CHECK_OK(gort_waitgroup_done(wg));
}

static void storm_goroutines(void* arg) {
    (void)arg;
    for (long i = 0; !atomic_load(&stop_storm); i++) {
        CHECK_OK(gort_waitgroup_add(wg, 2));
        CHECK_OK(gort_go(exits_locked, NULL));
        CHECK_OK(gort_go(in_c, NULL));
        CHECK_OK(gort_sleep(200000));
    }
    CHECK_OK(gort_waitgroup_done(wg));
}

static void noop(void* arg) {
    (void)arg;
}

static void* foreign_once(void* arg) {
    (void)arg;
    CHECK_OK(gort_callback(noop, NULL));
    return NULL;
}

static void* storm_threads_main(void* arg) {
    (void)arg;
    stress_rng r = stress_rng_for(30);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    while (!atomic_load(&stop_storm)) {
        pthread_t th[4];
        for (int i = 0; i < 4; i++) CHECK_EQ(pthread_create(&th[i], &attr, foreign_once, NULL), 0);
        for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
        atomic_fetch_add(&storm_threads, 4);
        CHECK(gort_gomaxprocs(1 + (int)stress_below(&r, 4)) >= 1);
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

static void test_fork_exec_during_thread_storm(void) {
    CHECK_OK(stress_init(2));
    wg = gort_waitgroup_make();
    forkers_wg = gort_waitgroup_make();
    gort_stats s0, s1;
    CHECK_OK(gort_get_stats(&s0, sizeof s0));
    forks_each = STRESS_N(300);
    CHECK_OK(gort_waitgroup_add(wg, 1));
    CHECK_OK(gort_go(storm_goroutines, NULL));
    pthread_t storm;
    pthread_create(&storm, NULL, storm_threads_main, NULL);

    CHECK_OK(gort_waitgroup_add(forkers_wg, kForkers));
    for (uintptr_t i = 0; i < kForkers; i++) CHECK_OK(gort_go(forker, (void*)i));
    pthread_t plain[kPlainForkers];
    for (uintptr_t i = 0; i < kPlainForkers; i++) {
        pthread_create(&plain[i], NULL, plain_forker, (void*)i);
    }
    for (int i = 0; i < kPlainForkers; i++) pthread_join(plain[i], NULL);
    stress_phase("waiting for the forkers");
    CHECK_OK(gort_waitgroup_wait(forkers_wg));
    atomic_store(&stop_storm, 1);
    pthread_join(storm, NULL);
    CHECK_OK(gort_waitgroup_wait(wg));
    CHECK_OK(gort_get_stats(&s1, sizeof s1));

    long long want = (long long)forks_each * (kForkers + kPlainForkers);
    CHECK_EQ(atomic_load(&started), want);
    CHECK_EQ(atomic_load(&reaped), want);
    CHECK_EQ(atomic_load(&wrong_status), 0);
    int st;
    CHECK_EQ(waitpid(-1, &st, WNOHANG), -1); /* nothing left to reap */
    CHECK_EQ(errno, ECHILD);
    unsigned long long made =
        s1.ms_created_native + s1.ms_created_hook - s0.ms_created_native - s0.ms_created_hook;
    fprintf(stderr,
            "  %lld fork/execs reaped (%lld EAGAIN retried) while the runtime made %llu threads "
            "(%lld locked exits, %lld cgocalls) and %lld foreign threads came and went\n",
            atomic_load(&reaped), atomic_load(&again), made, atomic_load(&locked_exits),
            atomic_load(&cgo_calls), atomic_load(&storm_threads));
    CHECK(made > 0);
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK_OK(gort_waitgroup_release(forkers_wg));
    CHECK_OK(gort_shutdown(10LL * 1000000000));
    stress_figure("fork_execs", atomic_load(&reaped));
    stress_figure("threads_made_meanwhile", (long long)made);
    stress_figure("foreign_threads", atomic_load(&storm_threads));
    stress_figure("bad_inputs", atomic_load(&bad_inputs));
}

static void progress(void) {
    fprintf(stderr, "  started %lld, reaped %lld, locked exits %lld, foreign threads %lld\n",
            atomic_load(&started), atomic_load(&reaped), atomic_load(&locked_exits),
            atomic_load(&storm_threads));
}

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "--exec-child") == 0) return exec_child(argv[2]);
    stress_setup("stress.fork_exec", 90);
    stress_progress = progress;
    STRESS_RUN(test_fork_exec_during_thread_storm);
    return stress_finish();
}
