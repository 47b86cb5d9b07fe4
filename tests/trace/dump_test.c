/* Goroutine dumps (issue 15), through gort.h:
 *   - gort_dump_goroutines lists parked goroutines with their state, wait
 *     reason, for how long, lock, stack use and stack frames by function name
 *     (the parked goroutine's saved context unwound by libunwind);
 *   - from a goroutine, the caller comes first, marked (current);
 *   - stack high-water: a goroutine that touched 64 KiB of its stack shows
 *     it, and gort_stats.stack_high_water says at least that;
 *   - a deadlock without gort_run_main (the C main thread blocked in a
 *     channel receive nobody can satisfy) is reported once on stderr with the
 *     dump, and the process is not aborted (child process, killed after);
 *     with GORT_CONFIG_ABORT_ON_DEADLOCK it aborts;
 *   - GORT_SCHEDTRACE with GORT_SCHEDDETAIL=1 prints Go's SCHED, P, M and G
 *     lines.
 * Children run as `dump_test --child NAME`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static const char* self;

static void init_runtime(uint32_t flags) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = 2;
    c.cgo = check_cgo_mode();
    c.flags = flags;
    CHECK_OK(gort_init(&c));
}

/* dump_to_string returns gort_dump_goroutines' output (malloc'd). */
static char* dump_to_string(void) {
    char path[] = "/tmp/gort-dump-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    CHECK_OK(gort_dump_goroutines(fd));
    off_t n = lseek(fd, 0, SEEK_END);
    char* out = calloc(1, (size_t)n + 1);
    CHECK(pread(fd, out, (size_t)n, 0) == n);
    close(fd);
    return out;
}

static gort_chan* never;
static gort_waitgroup* wg;
static atomic_int parked;

__attribute__((noinline)) static void parked_in_recv(void* arg) {
    (void)arg;
    long v;
    int ok;
    atomic_fetch_add(&parked, 1);
    CHECK_OK(gort_chan_recv(never, &v, &ok));
    CHECK(!ok);
}

__attribute__((noinline)) static void use_stack(int depth) {
    volatile char buf[8192];
    memset((char*)buf, depth, sizeof buf);
    if (depth > 0) use_stack(depth - 1);
    __asm__ volatile("" ::"r"(buf) : "memory");
}

__attribute__((noinline)) static void deep_then_locked_wait(void* arg) {
    (void)arg;
    use_stack(8); /* about 72 KiB */
    CHECK_OK(gort_lock_os_thread());
    atomic_fetch_add(&parked, 1);
    CHECK_OK(gort_waitgroup_wait(wg));
    CHECK_OK(gort_unlock_os_thread());
}

static void dumps_parked_goroutines(void) {
    never = gort_chan_make(sizeof(long), 0);
    wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_add(wg, 1));
    gort_go_opts o = {sizeof o, 0, "receiver", 0, NULL, NULL, NULL};
    CHECK_OK(gort_go_ex(&o, parked_in_recv, NULL, NULL));
    CHECK_OK(gort_go(deep_then_locked_wait, NULL));
    /* Wait until both are parked: their dump entries say so. */
    char* d = NULL;
    for (int i = 0; i < 2000; i++) {
        free(d);
        d = dump_to_string();
        if (atomic_load(&parked) == 2 && strstr(d, "[chan receive") && strstr(d, "[semacquire"))
            break;
        gort_sleep(1000000);
    }
    fprintf(stderr, "%s", d);
    CHECK(strstr(d, "goroutine ") != NULL);
    CHECK(strstr(d, "\"receiver\" [chan receive, ") != NULL);
    CHECK(strstr(d, "parked_in_recv") != NULL); /* a frame of the parked goroutine */
    /* and the receive it is in: the C ABI call, or the runtime's that it
     * tail-calls when it opens an op region (not in a TSan build) */
    CHECK(strstr(d, "gort_chan_recv") != NULL || strstr(d, "chanrecvInRegion") != NULL);
    CHECK(strstr(d, "deep_then_locked_wait") != NULL); /* the other one */
    CHECK(strstr(d, "gort_waitgroup_wait") != NULL);
    CHECK(strstr(d, "locked to M") != NULL);
    CHECK(strstr(d, " s, ") != NULL); /* for how long */
    /* Its stack use: at least the 72 KiB it touched. */
    const char* deep = strstr(d, "[semacquire");
    unsigned used = 0, size = 0;
    const char* st = deep != NULL ? strstr(deep, "stack ") : NULL;
    CHECK(st != NULL && sscanf(st, "stack %u of %u KiB used", &used, &size) == 2);
    CHECK(used >= 64 && used <= size);
    free(d);
    gort_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    CHECK(s.stack_high_water >= 64 * 1024);
    CHECK(s.stack_high_water <= 1024 * 1024);
    CHECK_OK(gort_chan_close(never));
    CHECK_OK(gort_waitgroup_done(wg));
}

static void dump_from_goroutine(void* arg) {
    char** out = arg;
    *out = dump_to_string();
    CHECK_OK(gort_waitgroup_done(wg));
}

static void current_goroutine_first(void) {
    char* d = NULL;
    gort_waitgroup* w = gort_waitgroup_make();
    wg = w;
    CHECK_OK(gort_waitgroup_add(w, 1));
    CHECK_OK(gort_go(dump_from_goroutine, &d));
    CHECK_OK(gort_waitgroup_wait(w));
    CHECK(d != NULL && strncmp(d, "goroutine ", 10) == 0);
    char* nl = d != NULL ? strchr(d, '\n') : NULL;
    CHECK(nl != NULL && strstr(d, "(current)") != NULL && strstr(d, "(current)") < nl);
    CHECK(d != NULL && strstr(d, "dump_from_goroutine") != NULL);
    free(d);
    CHECK_OK(gort_waitgroup_release(w));
}

/* ---- dumps while goroutines come and go --------------------------------- */

/* Named goroutines are created and exit without pause while the main thread
 * dumps: every name a dump shows must be whole (an exiting goroutine frees
 * its name; a dump once read it after that: TSan, CI on 1e6ebfc). Under ASan
 * and TSan a read of a freed name or G fails the run. */
static atomic_int churn_stop, churn_spawned, churn_exited;
static gort_waitgroup* churn_wg;

static void churn_one(void* arg) {
    (void)arg;
    gort_gosched();
    atomic_fetch_add(&churn_exited, 1);
    CHECK_OK(gort_waitgroup_done(churn_wg));
}

static void churn(void* arg) {
    int base = (int)(intptr_t)arg;
    for (int i = 0; !atomic_load(&churn_stop); i++) {
        char name[32];
        snprintf(name, sizeof name, "churn-%06d", (base + i) % 1000000);
        gort_go_opts o = {sizeof o, 0, name, 0, NULL, NULL, NULL};
        CHECK_OK(gort_waitgroup_add(churn_wg, 1));
        CHECK_OK(gort_go_ex(&o, churn_one, NULL, NULL));
        atomic_fetch_add(&churn_spawned, 1);
        if (i % 16 == 0) gort_gosched();
    }
    CHECK_OK(gort_waitgroup_done(wg));
}

/* whole_names checks that every "churn-" name in d is six digits and a
 * closing quote; returns how many it saw. */
static int whole_names(const char* d) {
    int n = 0;
    for (const char* p = strstr(d, "\"churn-"); p != NULL; p = strstr(p + 1, "\"churn-")) {
        const char* q = p + 7;
        int digits = 0;
        while (q[digits] >= '0' && q[digits] <= '9') digits++;
        CHECK(digits == 6 && q[6] == '"');
        n++;
    }
    return n;
}

static void dumps_while_goroutines_come_and_go(void) {
    gort_waitgroup* w = gort_waitgroup_make();
    wg = w;
    churn_wg = gort_waitgroup_make();
    atomic_store(&churn_stop, 0);
    CHECK_OK(gort_waitgroup_add(w, 2));
    CHECK_OK(gort_go(churn, (void*)(intptr_t)0));
    CHECK_OK(gort_go(churn, (void*)(intptr_t)500000));
    /* At least 300 dumps, and on until the churn is well under way and some
     * dump has caught its goroutines (they may start only after the first
     * dumps are done). */
    int seen = 0, dumps = 0;
    for (; dumps < 20000 && (dumps < 300 || atomic_load(&churn_spawned) < 1000 || seen == 0);
         dumps++) {
        char* d = dump_to_string();
        CHECK(strncmp(d, "goroutine ", 10) == 0);
        seen += whole_names(d);
        free(d);
    }
    atomic_store(&churn_stop, 1);
    CHECK_OK(gort_waitgroup_wait(w));
    CHECK_OK(gort_waitgroup_release(w));
    CHECK_OK(gort_waitgroup_wait(churn_wg));
    CHECK_OK(gort_waitgroup_release(churn_wg));
    CHECK(atomic_load(&churn_exited) == atomic_load(&churn_spawned));
    CHECK(seen > 0); /* the dumps did see goroutines that were about to exit */
    fprintf(stderr, "%d names seen in %d dumps, %d goroutines\n", seen, dumps,
            atomic_load(&churn_spawned));
}

/* ---- deadlock without gort_run_main ------------------------------------- */

static void asleep_forever(void* arg) {
    (void)arg;
    long v;
    int ok;
    CHECK_OK(gort_chan_recv(never, &v, &ok));
}

static int child(const char* name) {
    if (strcmp(name, "schedtrace") == 0) {
        setenv("GORT_SCHEDTRACE", "10", 1);
        setenv("GORT_SCHEDDETAIL", "1", 1);
        init_runtime(0);
        never = gort_chan_make(sizeof(long), 0);
        gort_go_opts o = {sizeof o, 0, "sleeper", 0, NULL, NULL, NULL};
        CHECK_OK(gort_go_ex(&o, asleep_forever, NULL, NULL));
        gort_sleep(60 * 1000000LL); /* several 10 ms SCHED periods */
        CHECK_OK(gort_chan_close(never));
        CHECK_OK(gort_shutdown(-1));
        return check_failures != 0;
    }
    if (strcmp(name, "deadlock") == 0 || strcmp(name, "deadlock_abort") == 0) {
        init_runtime(strcmp(name, "deadlock_abort") == 0 ? GORT_CONFIG_ABORT_ON_DEADLOCK : 0);
        never = gort_chan_make(sizeof(long), 0);
        CHECK_OK(gort_go(asleep_forever, NULL));
        long v;
        int ok;
        fprintf(stderr, "main blocks\n");
        /* Nobody can ever send: reported once; the main thread stays blocked. */
        gort_chan_recv(never, &v, &ok);
        return 3;
    }
    return 2;
}

/* read_until reads fd into buf until it holds `want` twice... or the child
 * is done (EOF) or 30 s have passed; returns the bytes read. */
static size_t read_for(int fd, char* buf, size_t cap, const char* want, int settle_ms) {
    size_t n = 0;
    int64_t deadline = 30000, waited = 0, after = -1;
    while (n + 1 < cap && waited < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 10);
        waited += 10;
        if (r > 0) {
            ssize_t k = read(fd, buf + n, cap - 1 - n);
            if (k <= 0) break;
            n += (size_t)k;
            buf[n] = 0;
        }
        if (after < 0 && strstr(buf, want) != NULL) after = waited;
        if (after >= 0 && waited - after >= settle_ms) break;
    }
    buf[n] = 0;
    return n;
}

static void deadlock_reported_once(int do_abort) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        execl(self, self, "--child", do_abort ? "deadlock_abort" : "deadlock", (char*)NULL);
        _exit(127);
    }
    close(fds[1]);
    static char out[1 << 16];
    /* Wait for the report, then 300 ms more: no second one may come. */
    read_for(fds[0], out, sizeof out, "deadlock!", 300);
    int st = 0;
    if (!do_abort) {
        CHECK(waitpid(pid, &st, WNOHANG) == 0); /* still alive */
        kill(pid, SIGKILL);
    }
    waitpid(pid, &st, 0);
    close(fds[0]);
    fprintf(stderr, "%s", out);
    const char* first = strstr(out, "all goroutines are asleep - deadlock!");
    CHECK(first != NULL);
    CHECK(first == NULL || strstr(first + 1, "all goroutines are asleep") == NULL);
    CHECK(strstr(out, "asleep_forever") != NULL); /* the dump, with stacks */
    CHECK(strstr(out, "cgocallback") != NULL);    /* the main thread's goroutine too, */
    CHECK(strstr(out, "main+") != NULL);          /* down to main */
    CHECK(strstr(out, "[chan receive") != NULL);
    if (do_abort) {
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    } else {
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL); /* it was still running */
    }
}

/* GORT_SCHEDTRACE=10 GORT_SCHEDDETAIL=1: Go's SCHED line and its P, M and G
 * lines. */
static void schedtrace_lines(void) {
    static char out[1 << 17];
    int st = run_child(self, "schedtrace", out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strstr(out, "SCHED ") != NULL && strstr(out, "ms: gomaxprocs=2 idleprocs=") != NULL);
    CHECK(strstr(out, " nmidlelocked=") != NULL);
    CHECK(strstr(out, "\n  P0: status=") != NULL && strstr(out, "\n  P1: status=") != NULL);
    CHECK(strstr(out, "\n  M") != NULL && strstr(out, " sysmon") != NULL);
    CHECK(strstr(out, "(chan receive) m=-1 lockedm=-1") != NULL); /* the sleeper's G line */
}

static void deadlock_embedded(void) {
    deadlock_reported_once(0);
}

static void deadlock_embedded_abort(void) {
    deadlock_reported_once(1);
}

int main(int argc, char** argv) {
    self = argv[0];
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
    if (argc == 2 && strcmp(argv[1], "deadlock") == 0) {
        RUN(deadlock_embedded);
        RUN(deadlock_embedded_abort);
        return check_failures != 0;
    }
    init_runtime(0);
    RUN(dumps_parked_goroutines);
    RUN(current_goroutine_first);
    RUN(dumps_while_goroutines_come_and_go);
    CHECK_OK(gort_shutdown(-1));
    RUN(schedtrace_lines);
    return check_failures != 0;
}
