/* Signals and C threads around gort (issue 11, bug 7, and Go's scenarios
 * from go-runtime-semantics.md section 4 that concern them):
 *   - gort's SIGSEGV/SIGBUS handler chains to the host's exactly:
 *     SA_RESETHAND, the host's sa_mask, SIG_DFL (re-raised: the process dies
 *     with the signal) and SIG_IGN; shutdown leaves a handler the host
 *     installed after init;
 *   - a fault in a C pthread kills the process with that signal (Go 19);
 *   - a C thread bound to the runtime takes SIGPROF while it calls back
 *     (Go 18), keeps its blocked signals (Go 38) and its own alternate
 *     signal stack (Go 39) across callbacks, and calls back from a stack it
 *     switched to with swapcontext (Go 28);
 *   - a callback from a signal handler on the alternate signal stack may
 *     block while more signals come to its thread (the stress.signals bug);
 *   - the child of gort_fork_exec starts with the caller's signal mask and
 *     none of gort's blocking (Go 25).
 * Every death is a child process (`signals_test --child NAME`). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static const char* self;

static int init_runtime(void) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = 2;
    c.cgo = check_cgo_mode();
    return gort_init(&c);
}

static void say(const char* s) {
    (void)!write(2, s, strlen(s));
}

/* ---- children ------------------------------------------------------------- */

/* A store that faults: into a page mapped without access, which no
 * sanitizer flags beforehand (UBSan would report a store through NULL and
 * exit before the fault happens). */
static volatile int* unmapped_page(void) {
    void* p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    return (volatile int*)p;
}
static atomic_int host_calls;

static void host_handler(int sig) {
    (void)sig;
    atomic_fetch_add(&host_calls, 1);
    say("host-handler\n");
}

static int child_resethand(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = host_handler;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, NULL);
    volatile int* page = unmapped_page();
    init_runtime();
    *page = 1; /* the host's handler once, then the default: death */
    return 0;
}

static int child_raise_default(void) {
    init_runtime();
    raise(SIGSEGV); /* nobody handles it: the default action, not nothing */
    say("survived\n");
    return 0;
}

static atomic_int mask_had_usr1, segv_deferred;
static void host_info_handler(int sig, siginfo_t* info, void* uctx) {
    (void)info, (void)uctx;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    atomic_store(&mask_had_usr1, sigismember(&cur, SIGUSR1));
    atomic_store(&segv_deferred, sigismember(&cur, sig)); /* no SA_NODEFER */
    atomic_fetch_add(&host_calls, 1);
}

static int child_host_mask(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = host_info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaction(SIGSEGV, &sa, NULL);
    init_runtime();
    raise(SIGSEGV);
    raise(SIGSEGV); /* chaining still works the second time */
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    int ok = atomic_load(&host_calls) == 2 && atomic_load(&mask_had_usr1) &&
             atomic_load(&segv_deferred) && !sigismember(&cur, SIGUSR1);
    gort_shutdown(-1);
    return ok ? 0 : 1;
}

static int child_ignored(void) {
    signal(SIGSEGV, SIG_IGN);
    init_runtime();
    raise(SIGSEGV); /* ignored, as the host asked */
    gort_shutdown(-1);
    return 0;
}

static int child_host_after_init(void) {
    init_runtime();
    struct sigaction sa, cur;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = host_handler;
    sigaction(SIGSEGV, &sa, NULL);
    gort_shutdown(-1); /* must not put back what was there before init */
    sigaction(SIGSEGV, NULL, &cur);
    return cur.sa_handler == host_handler ? 0 : 1;
}

static void* fault_thread(void* arg) {
    *(volatile int*)arg = 1;
    return NULL;
}

static int child_c_thread_fault(void) {
    init_runtime();
    pthread_t th;
    pthread_create(&th, NULL, fault_thread, (void*)unmapped_page());
    pthread_join(th, NULL);
    say("survived\n");
    return 0;
}

/* A callback from a signal handler running on the alternate signal stack,
 * whose goroutine blocks: meanwhile the thread runs the scheduler on another
 * stack and takes more signals. The kernel delivers a signal to the top of
 * the alternate stack whenever the thread is not on it, right over the
 * frames the blocked callback left there (its handler, the signal frame
 * its sigreturn needs): they must survive. */
static pthread_t blocker;
static atomic_int blocker_bound, blocker_sleeping, blocker_done, scribbles;
static atomic_int handler_cb_rc = -1, handler_canary_ok;
static atomic_long callback_naps;

static void nap_in_callback(void* arg) {
    (void)arg;
    atomic_store(&blocker_sleeping, 1);
    for (int i = 0; i < 5; i++) {
        if (gort_sleep(10 * 1000000) == GORT_OK) atomic_fetch_add(&callback_naps, 1);
    }
    atomic_store(&blocker_sleeping, 0);
}

static atomic_int handler_entered;

static void call_back_handler(int sig) {
    (void)sig;
    if (atomic_exchange(&handler_entered, 1)) return; /* a re-sent SIGUSR1 (below) */
    int saved = errno;
    volatile unsigned long canary = 0x600dcafe600dcafeUL;
    atomic_store(&handler_cb_rc, gort_callback(nap_in_callback, NULL));
    atomic_store(&handler_canary_ok, canary == 0x600dcafe600dcafeUL);
    atomic_store(&blocker_done, 1);
    errno = saved;
}

/* A handler that uses its stack, as any does (the kernel's signal frame
 * alone overwrites the top of the alternate stack). */
static void scribble_handler(int sig) {
    (void)sig;
    volatile char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)0xa5;
    atomic_fetch_add(&scribbles, 1);
}

static void warm_up(void* arg) {
    (void)arg;
    CHECK_OK(gort_sleep(1)); /* allocates the goroutine's timer: not in the handler */
}

static void* blocker_thread(void* arg) {
    (void)arg;
    /* Room for the handler, its callback and signals nested in it. */
    static char altstack[256 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    stack_t before;
    sigaltstack(&ss, &before);
    /* Bound, as the goroutine the handler's callback runs as: not the first. */
    CHECK_OK(gort_callback(warm_up, NULL));
    atomic_store(&blocker_bound, 1);
    while (!atomic_load(&blocker_done)) usleep(1000);
    sigaltstack(&before, NULL);
    return NULL;
}

static void install_onstack(int sig, void (*fn)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static int child_handler_callback_blocks(void) {
    if (init_runtime() != GORT_OK) return 2;
    install_onstack(SIGUSR1, call_back_handler);
    install_onstack(SIGUSR2, scribble_handler);
    pthread_create(&blocker, NULL, blocker_thread, NULL);
    while (!atomic_load(&blocker_bound)) usleep(1000);
    /* Under TSan the handler sometimes never runs (1 child in 60-100, with
     * the runtime of 06ad2c9 as with today's: the blocker sits in its usleep
     * loop); so the signal is sent again if the handler has not been
     * entered within 50 ms, and the handler acts on the first only. */
    for (int waited = 0; !atomic_load(&blocker_sleeping) && !atomic_load(&blocker_done); waited++) {
        if (waited % 500 == 0 && !atomic_load(&handler_entered)) pthread_kill(blocker, SIGUSR1);
        usleep(100);
    }
    /* Into the naps: the callback's goroutine waits, its thread is off the
     * signal stack. */
    usleep(5000);
    for (int i = 0; i < 20 && atomic_load(&blocker_sleeping); i++) {
        pthread_kill(blocker, SIGUSR2);
        usleep(1000);
    }
    pthread_join(blocker, NULL);
    fprintf(stderr, "callback rc %d, canary %d, naps %ld, scribbles %d\n",
            atomic_load(&handler_cb_rc), atomic_load(&handler_canary_ok),
            atomic_load(&callback_naps), atomic_load(&scribbles));
    CHECK_EQ(atomic_load(&handler_cb_rc), GORT_OK);
    CHECK_EQ(atomic_load(&handler_canary_ok), 1);
    CHECK_EQ(atomic_load(&callback_naps), 5);
    CHECK(atomic_load(&scribbles) > 0); /* delivered, if only afterwards */
    CHECK_OK(gort_shutdown(-1));
    return check_failures != 0;
}

static int child(const char* name) {
    if (strcmp(name, "resethand") == 0) return child_resethand();
    if (strcmp(name, "raise-default") == 0) return child_raise_default();
    if (strcmp(name, "host-mask") == 0) return child_host_mask();
    if (strcmp(name, "ignored") == 0) return child_ignored();
    if (strcmp(name, "host-after-init") == 0) return child_host_after_init();
    if (strcmp(name, "c-thread-fault") == 0) return child_c_thread_fault();
    if (strcmp(name, "handler-callback-blocks") == 0) return child_handler_callback_blocks();
    if (strcmp(name, "print-mask") == 0) {
        sigset_t cur;
        pthread_sigmask(SIG_BLOCK, NULL, &cur);
        /* exit status: bit 0 SIGUSR2 blocked, bit 1 SIGINT blocked */
        return (sigismember(&cur, SIGUSR2) ? 1 : 0) | (sigismember(&cur, SIGINT) ? 2 : 0);
    }
    return 99;
}

/* ---- tests (parent side) --------------------------------------------------- */

static void test_chaining(void) {
    char out[4096];
    int st = run_child(self, "resethand", out, sizeof out);
    CHECK_KILLED_BY(st, SIGSEGV);
    const char* first = strstr(out, "host-handler");
    CHECK(first != NULL && strstr(first + 1, "host-handler") == NULL); /* exactly once */

    st = run_child(self, "raise-default", out, sizeof out);
    CHECK_FAULTED(st, SIGSEGV, out);
    CHECK(strstr(out, "survived") == NULL);

    st = run_child(self, "host-mask", out, sizeof out);
    CHECK_EXITED(st, 0);

    st = run_child(self, "ignored", out, sizeof out);
    CHECK_EXITED(st, 0);

    st = run_child(self, "host-after-init", out, sizeof out);
    CHECK_EXITED(st, 0);

    st = run_child(self, "c-thread-fault", out, sizeof out);
    CHECK_FAULTED(st, SIGSEGV, out);
    CHECK(strstr(out, "survived") == NULL);
}

static void noop(void* arg) {
    (void)arg;
}

/* Go 18 (CgoExternalThreadSIGPROF): SIGPROF on a bound C thread. */
static atomic_int profs;
static void on_prof(int sig) {
    (void)sig;
    atomic_fetch_add(&profs, 1);
}

static atomic_int prof_stop;
static atomic_long prof_calls;
static void* prof_thread(void* arg) {
    (void)arg;
    while (!atomic_load(&prof_stop)) {
        CHECK_OK(gort_callback(noop, NULL));
        atomic_fetch_add(&prof_calls, 1);
    }
    return NULL;
}

static void test_sigprof_on_bound_thread(void) {
    CHECK_OK(init_runtime());
    signal(SIGPROF, on_prof);
    pthread_t th;
    pthread_create(&th, NULL, prof_thread, NULL);
    for (int i = 0; i < 200; i++) {
        pthread_kill(th, SIGPROF);
        usleep(200);
    }
    atomic_store(&prof_stop, 1);
    pthread_join(th, NULL);
    signal(SIGPROF, SIG_DFL);
    CHECK(atomic_load(&profs) > 0);
    CHECK(atomic_load(&prof_calls) > 0);
    CHECK_OK(gort_shutdown(-1));
}

/* Go 38 and 39: a C thread's blocked signals and alternate stack. */
struct kept {
    int blocked_inside, blocked_after;
    void* stack_inside;
    void* stack_after;
};

static void check_inside(void* arg) {
    struct kept* k = arg;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    k->blocked_inside = sigismember(&cur, SIGIO);
    stack_t ss;
    sigaltstack(NULL, &ss);
    k->stack_inside = (ss.ss_flags & SS_DISABLE) ? NULL : ss.ss_sp;
}

static void* keeper_thread(void* arg) {
    struct kept* k = arg;
    sigset_t io;
    sigemptyset(&io);
    sigaddset(&io, SIGIO);
    pthread_sigmask(SIG_BLOCK, &io, NULL);
    static char altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    stack_t before;
    sigaltstack(&ss, &before);
    for (int i = 0; i < 3; i++) CHECK_OK(gort_callback(check_inside, k));
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    k->blocked_after = sigismember(&cur, SIGIO);
    stack_t now;
    sigaltstack(NULL, &now);
    k->stack_after = (now.ss_flags & SS_DISABLE) ? NULL : now.ss_sp;
    /* Put back what the thread had (a sanitizer's own stack, which it
     * unmaps when the thread exits). */
    sigaltstack(&before, NULL);
    return altstack;
}

static void test_c_thread_state_kept(void) {
    CHECK_OK(init_runtime());
    struct kept k;
    memset(&k, 0, sizeof k);
    pthread_t th;
    void* altstack = NULL;
    pthread_create(&th, NULL, keeper_thread, &k);
    pthread_join(th, &altstack);
    CHECK_EQ(k.blocked_inside, 1);
    CHECK_EQ(k.blocked_after, 1);
    CHECK(k.stack_inside == altstack);
    CHECK(k.stack_after == altstack);
    CHECK_OK(gort_shutdown(-1));
}

/* Go 28 (StackSwitchCallback): callbacks from a stack C switched to. */
static ucontext_t main_uc, side_uc;
static atomic_int side_calls;
static void bump(void* arg) {
    (void)arg;
    atomic_fetch_add(&side_calls, 1);
}
static void on_side_stack(void) {
    for (int i = 0; i < 10; i++) gort_callback(bump, NULL);
    swapcontext(&side_uc, &main_uc);
}

static void* switcher_thread(void* arg) {
    (void)arg;
    gort_callback(bump, NULL); /* bound on its own stack first */
    size_t size = 256 * 1024;
    void* stack = malloc(size);
    getcontext(&side_uc);
    side_uc.uc_stack.ss_sp = stack;
    side_uc.uc_stack.ss_size = size;
    side_uc.uc_link = &main_uc;
    makecontext(&side_uc, on_side_stack, 0);
    swapcontext(&main_uc, &side_uc);
    gort_callback(bump, NULL); /* and back on its own */
    free(stack);
    return NULL;
}

static void test_callback_after_swapcontext(void) {
    CHECK_OK(init_runtime());
    atomic_store(&side_calls, 0);
    pthread_t th;
    pthread_create(&th, NULL, switcher_thread, NULL);
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&side_calls), 12);
    CHECK_OK(gort_shutdown(-1));
}

static void test_callback_from_handler_blocks(void) {
    char out[8192];
    for (int i = 0; i < 3; i++) {
        int st = run_child(self, "handler-callback-blocks", out, sizeof out);
        CHECK_EXITED(st, 0);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "%s", out);
            break;
        }
    }
}

/* Go 25 (CgoExecSignalMask): the child of gort_fork_exec. */
static void fork_from_goroutine(void* arg) {
    int* status = arg;
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    char* argv[] = {(char*)self, (char*)"--child", (char*)"print-mask", NULL};
    pid_t pid = 0;
    *status = -1;
    if (gort_fork_exec(self, argv, NULL, &pid) == GORT_OK) waitpid(pid, status, 0);
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
}

static void test_fork_exec_signal_mask(void) {
    CHECK_OK(init_runtime());
    for (int i = 0; i < 10; i++) {
        int status = -1;
        CHECK_OK(gort_callback(fork_from_goroutine, &status));
        CHECK_EXITED(status, 1); /* SIGUSR2 blocked as in the caller, SIGINT not */
    }
    CHECK_OK(gort_shutdown(-1));
}

int main(int argc, char** argv) {
    self = argv[0];
    if (argc > 2 && strcmp(argv[1], "--child") == 0) {
        alarm(20); /* a child that loops (a fault re-entered forever) dies */
        return child(argv[2]);
    }
    RUN(test_chaining);
    RUN(test_sigprof_on_bound_thread);
    RUN(test_c_thread_state_kept);
    RUN(test_callback_after_swapcontext);
    RUN(test_callback_from_handler_blocks);
    RUN(test_fork_exec_signal_mask);
    return check_failures != 0;
}
