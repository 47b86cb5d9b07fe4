/* Fault injection through public behaviour (issue 11, "Keeping it fixed"):
 *   - stack memory runs out: in a child process RLIMIT_AS is lowered to
 *     what the process maps plus a little, and goroutines are spawned until
 *     gort_go says GORT_ENOMEM. The runtime must carry on: the goroutines
 *     that exist finish, and once the limit is lifted spawns succeed again;
 *   - thread creation fails: a child drops to an unprivileged uid of its
 *     own (root is exempt from RLIMIT_NPROC, and the limit counts every
 *     thread of the uid: a uid shared with another process, such as the
 *     native variant of this test running beside it, moves the count under
 *     the child's feet) and lowers RLIMIT_NPROC to the
 *     threads it has, then asks for more threads (cgocalls that hand their
 *     Ps off, more Ps, goroutines exiting locked, fork/exec). The failures
 *     are survived (every goroutine finishes), counted
 *     (gort_stats.thread_create_failures / thread_create_retries) and
 *     gort_fork_exec returns GORT_EAGAIN; with the limit lifted, threads
 *     are made again.
 * Each scenario is a child (`faults_test --child NAME`); the parent checks
 * its exit status and the line it prints at the end. */
#include "stress.h"

#include <dirent.h>
#include <grp.h>
#include <malloc.h>
#include <sys/resource.h>

/* ---- helpers --------------------------------------------------------------- */

static atomic_long started, finished;

#if !defined(STRESS_TSAN) && !defined(STRESS_ASAN) /* stack-enomem's: the plain build's */
static long proc_status_kb(const char* field) {
    FILE* f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static gort_chan* release_ch;

static void parked(void* arg) {
    (void)arg;
    atomic_fetch_add(&started, 1);
    int ok;
    CHECK_OK(gort_chan_recv(release_ch, NULL, &ok)); /* until closed */
    CHECK_EQ(ok, 0);
    atomic_fetch_add(&finished, 1);
}

static void count_done(void* arg) {
    (void)arg;
    atomic_fetch_add(&finished, 1);
}

static void wait_count(atomic_long* c, long want) {
    while (atomic_load(c) < want) stress_sleep_ns(100000);
}
#endif

static void progress(void) {
    fprintf(stderr, "  started %ld, finished %ld\n", atomic_load(&started), atomic_load(&finished));
}

/* ---- stack memory runs out ---------------------------------------------------- */

static int child_stack_enomem(void) {
#if defined(STRESS_TSAN) || defined(STRESS_ASAN)
    /* A sanitizer's shadow memory and allocator count toward RLIMIT_AS and
     * fail before the runtime does: this scenario is the plain build's. */
    fprintf(stderr, "stack-enomem: skipped in the %s build\n", STRESS_BUILD);
    return 77;
#else
    /* Keep the C heap out of it: one arena, grown now and never trimmed, so
     * the runtime's small allocations come from memory already mapped and
     * the stacks (mmap) are what runs out. */
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    enum { kChunks = 4096 };
    static void* chunks[kChunks];
    for (int i = 0; i < kChunks; i++) chunks[i] = malloc(16 * 1024);
    for (int i = 0; i < kChunks; i++) free(chunks[i]);

    CHECK_OK(stress_init(2));
    release_ch = gort_chan_make(0, 0);
    CHECK(release_ch != NULL);
    enum { kBefore = 64 };
    for (int i = 0; i < kBefore; i++) CHECK_OK(gort_go(parked, NULL));
    wait_count(&started, kBefore);

    struct rlimit old;
    getrlimit(RLIMIT_AS, &old);
    long vm_kb = proc_status_kb("VmSize");
    CHECK(vm_kb > 0);
    struct rlimit low = {(rlim_t)(vm_kb + 24 * 1024) * 1024, old.rlim_max};
    CHECK_EQ(setrlimit(RLIMIT_AS, &low), 0);
    fprintf(stderr, "stack-enomem: RLIMIT_AS %ld KiB (VmSize %ld KiB + 24 MiB)\n",
            (long)(low.rlim_cur / 1024), vm_kb);

    /* Spawn until refused. Each spawned goroutine parks, keeping its stack:
     * 24 MiB hold at most ~190 stacks of 128 KiB. */
    long spawned = kBefore, refused = 0, tries = 0;
    int other = 0;
    for (; tries < 20000 && refused == 0; tries++) {
        int rc = gort_go(parked, NULL);
        if (rc == GORT_OK) {
            spawned++;
            /* Let it start (and take its stack) before the next one. */
            wait_count(&started, spawned);
        } else if (rc == GORT_ENOMEM) {
            refused++;
        } else {
            other = rc;
            break;
        }
    }
    /* A huge stack is refused at once. */
    gort_go_opts o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.stack_size = 512u << 20;
    int big = gort_go_ex(&o, parked, NULL, NULL);
    fprintf(stderr, "stack-enomem: %ld spawned, refused after %ld tries, big stack: %s\n", spawned,
            tries, gort_strerror(big));
    CHECK_EQ(other, 0);
    CHECK_EQ(refused, 1);
    CHECK_EQ(big, GORT_ENOMEM);
    if (big == GORT_OK) spawned++;

    /* Memory comes back: the runtime carries on. */
    CHECK_EQ(setrlimit(RLIMIT_AS, &old), 0);
    CHECK_OK(gort_chan_close(release_ch));
    wait_count(&finished, spawned);
    enum { kAfter = 1000 };
    for (int i = 0; i < kAfter; i++) CHECK_OK(gort_go(count_done, NULL));
    wait_count(&finished, spawned + kAfter);
    CHECK_OK(gort_chan_release(release_ch));
    CHECK_OK(gort_shutdown(10LL * 1000000000));
    fprintf(stderr, "figure stress.faults stack_enomem_survived %ld\n", refused);
    fprintf(stderr, "stack-enomem: done, %ld goroutines finished\n", atomic_load(&finished));
    return atomic_load(&stress_failures) == 0 ? 0 : 1;
#endif
}

/* ---- thread creation fails ------------------------------------------------------- */

/* tasks_of_uid: the threads of every process whose real uid is uid (what
 * RLIMIT_NPROC counts). */
static long tasks_of_uid(uid_t uid) {
    DIR* d = opendir("/proc");
    if (d == NULL) return -1;
    long total = 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        FILE* f = fopen(path, "r");
        if (f == NULL) continue;
        char line[256];
        long u = -1, t = 0;
        while (fgets(line, sizeof line, f) != NULL) {
            if (strncmp(line, "Uid:", 4) == 0) u = strtol(line + 4, NULL, 10);
            if (strncmp(line, "Threads:", 8) == 0) t = strtol(line + 8, NULL, 10);
        }
        fclose(f);
        if (u == (long)uid) total += t;
    }
    closedir(d);
    return total;
}

static void blocking_c(void* arg) {
    stress_sleep_ns((int64_t)(intptr_t)arg);
}

static void in_c_goroutine(void* arg) {
    for (int i = 0; i < 4; i++) CHECK_OK(gort_cgocall(blocking_c, arg));
    atomic_fetch_add(&finished, 1);
}

static void exits_locked(void* arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    CHECK_OK(gort_gosched());
    CHECK_OK(gort_sleep(100000));
    atomic_fetch_add(&finished, 1); /* and exits locked: its thread goes */
}

/* wait_until: wait for *c >= want at most limit_ns; whether it got there. */
static int wait_until(atomic_long* c, long want, int64_t limit_ns) {
    int64_t end = stress_now_ns() + limit_ns;
    while (atomic_load(c) < want) {
        if (stress_now_ns() > end) return 0;
        stress_sleep_ns(1000000);
    }
    return 1;
}

/* demand_threads: n goroutines of kind fn, work that wants new Ms
 * (cgocalls hand their Ps off; goroutines exiting locked take their
 * threads with them). Whether it all finished within 20 s (a runtime that
 * survives finishes in well under a second; it stalls for good if not). */
static atomic_long spawned;

static int demand_threads(gort_fn fn, int n) {
    for (int i = 0; i < n; i++) {
        CHECK_OK(gort_go(fn, (void*)(intptr_t)2000000));
        atomic_fetch_add(&spawned, 1);
    }
    return wait_until(&finished, atomic_load(&spawned), 20LL * 1000000000);
}

static int fork_exec_true(void) {
    char* argv[] = {"true", NULL};
    pid_t pid = -1;
    int rc = gort_fork_exec("/bin/true", argv, NULL, &pid);
    if (rc == GORT_OK) {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return rc;
}

static void* idle_thread(void* arg) {
    return arg;
}

static struct rlimit nproc_old;
static uid_t nproc_uid;

/* unused_uid: a uid no process has, in the range every user namespace of
 * a container maps (below 65534), varied with the pid so that children
 * running at once pick different ones. */
static uid_t unused_uid(void) {
    uid_t u = 40000 + (uid_t)(getpid() % 20000);
    for (int i = 0; i < 20000 && tasks_of_uid(u) != 0; i++) u = 40000 + (u - 40000 + 1) % 20000;
    return u;
}

/* become: drop to uid (and gid) u; whether it worked. */
static int become(uid_t u) {
    return setgroups(0, NULL) == 0 && setresgid(u, u, u) == 0 && setresuid(u, u, u) == 0;
}

/* limit_threads: RLIMIT_NPROC down to the threads our uid has now. */
static void limit_threads(void) {
    long all = tasks_of_uid(nproc_uid);
    struct rlimit low = {(rlim_t)all, nproc_old.rlim_max};
    CHECK_EQ(setrlimit(RLIMIT_NPROC, &low), 0);
}

static uint64_t ms_made(void) {
    gort_stats s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    return s.ms_created_native + s.ms_created_hook;
}

/* child_nproc: kind is "handoff" (cgocalls and more Ps want Ms) or
 * "locked" (goroutines exit locked: their threads go, and every M left may
 * be locked to a goroutine waiting for a P). */
static int child_nproc(const char* kind) {
    nproc_uid = unused_uid();
    if (!become(nproc_uid)) {
        fprintf(stderr, "nproc: cannot become uid %u (%s): skipped\n", (unsigned)nproc_uid,
                strerror(errno));
        return 77;
    }
    int locked = strcmp(kind, "locked") == 0;
    gort_fn fn = locked ? exits_locked : in_c_goroutine;
    CHECK_OK(stress_init(2));
    gort_stats s0, s1;
    /* Warm up: the runtime's first Ms exist before the limit comes down. */
    CHECK(demand_threads(in_c_goroutine, 4));
    CHECK_OK(gort_get_stats(&s0, sizeof s0));
    getrlimit(RLIMIT_NPROC, &nproc_old);
    limit_threads();
    fprintf(stderr, "nproc-%s: RLIMIT_NPROC %ld (the threads of uid %u)\n", kind,
            tasks_of_uid(nproc_uid), (unsigned)nproc_uid);
    /* The limit is real: a thread of our own cannot be made. */
    pthread_t th;
    int prc = pthread_create(&th, NULL, idle_thread, NULL);
    CHECK_EQ(prc, EAGAIN);
    if (prc == 0) pthread_join(th, NULL);

    stress_phase("under RLIMIT_NPROC");
    CHECK_EQ(gort_gomaxprocs(8), 2);
    int rounds = (int)STRESS_N(3), stalled = 0;
    for (int r = 0; r < rounds && !stalled; r++) {
        int64_t t0 = stress_now_ns();
        stalled = !demand_threads(fn, 16);
        fprintf(stderr, "nproc-%s: round %d: %s after %.3f s (%ld finished)\n", kind, r,
                stalled ? "STALLED" : "done", (double)(stress_now_ns() - t0) / 1e9,
                atomic_load(&finished));
    }
    CHECK(!stalled); /* survived: the work got done with the threads there were */
    limit_threads();
    CHECK_EQ(fork_exec_true(), GORT_EAGAIN);
    CHECK_OK(gort_get_stats(&s1, sizeof s1));
    unsigned long long failures = s1.thread_create_failures - s0.thread_create_failures;
    unsigned long long retries = s1.thread_create_retries - s0.thread_create_retries;
    fprintf(stderr, "nproc-%s: under the limit: %llu creations failed, %llu retries, %llu Ms\n",
            kind, failures, retries, (unsigned long long)s1.ms_total);
    CHECK(failures > 0); /* counted */
    CHECK(retries > 0);

    /* Lifted: threads come again, the work finishes, fork/exec works. */
    stress_phase("limit lifted");
    CHECK_EQ(setrlimit(RLIMIT_NPROC, &nproc_old), 0);
    uint64_t before = ms_made();
    CHECK(demand_threads(fn, 16)); /* and what stalled, if anything, with it */
    CHECK_EQ(atomic_load(&finished), atomic_load(&spawned));
    CHECK_OK(fork_exec_true());
    CHECK(ms_made() > before);
    CHECK_OK(gort_shutdown(10LL * 1000000000));
    fprintf(stderr, "figure stress.faults%s nproc_%s_failures_survived %llu\n",
            stress_cgo_mode() ? "" : ".native", kind, stalled ? 0ULL : failures);
    return atomic_load(&stress_failures) == 0 ? 0 : 1;
}

/* ---- the parent ------------------------------------------------------------------ */

static char out[1 << 16];

static void run(const char* name) {
    int st = stress_run_child(name, out, sizeof out);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        fprintf(stderr, "  %s: skipped\n", name);
        return;
    }
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "  %s: child %s %d\n", name,
                WIFSIGNALED(st) ? "killed by signal" : "exited",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const char* const all_scenarios[] = {"stack-enomem", "nproc-handoff", "nproc-locked", NULL};

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        stress_setup(argv[2], 60);
        stress_progress = progress;
        int rc = 99;
        if (strcmp(argv[2], "stack-enomem") == 0) rc = child_stack_enomem();
        if (strncmp(argv[2], "nproc-", 6) == 0) rc = child_nproc(argv[2] + 6);
        stress_watchdog_stop();
        return rc;
    }
    /* Usage: faults_test [scenario...] (default: all of them). */
    stress_setup("stress.faults", 150);
    const char* const* list = argc > 1 ? (const char* const*)argv + 1 : all_scenarios;
    for (; *list != NULL; list++) {
        int before = atomic_load(&stress_failures);
        run(*list);
        fprintf(stderr, "%s %s\n", atomic_load(&stress_failures) == before ? "ok  " : "FAIL",
                *list);
    }
    return stress_finish();
}
