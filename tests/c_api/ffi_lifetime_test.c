/* Lifetimes of ffi closures and signatures (gort.h's rules): a closure
 * released while a call is in flight (the call completes; a handler may
 * release its own closure), a call after release (in a child process whose
 * stderr is checked: reported, zeroed result, handler not run), the
 * trampoline quarantine, and closures made before gort_init serving 50
 * init/shutdown cycles (from the main thread, a long-lived C thread and a
 * goroutine; plain C between the cycles). Compiled as C; the sanitizer
 * builds run it too.
 *
 * Usage: ffi_lifetime_test            the tests
 *        ffi_lifetime_test late-call  (the child of test_call_after_release) */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ffi_check.h"
#include "gort.h"

/* ---- release while a call is in flight ------------------------------------------------ */

struct inflight {
    /* With a runtime: gort channels (the handler parks, not its thread). */
    gort_chan* entered;
    gort_chan* proceed;
    /* Without: semaphores. */
    sem_t entered_sem, proceed_sem;
    int32_t add;
    gort_ffi_closure* self; /* released by its own handler when set */
};

static void h_inflight(void* ret, void** args, void* ud) {
    struct inflight* f = ud;
    note_context();
    int32_t v = 0;
    if (running) {
        int32_t one = 1;
        CHECK_OK(gort_chan_send(f->entered, &one));
        CHECK_OK(gort_chan_recv(f->proceed, &v, NULL));
    } else {
        sem_post(&f->entered_sem);
        while (sem_wait(&f->proceed_sem) != 0) {
        }
        v = f->add;
    }
    if (f->self != NULL) CHECK_OK(gort_ffi_closure_release(f->self));
    *(int64_t*)ret = *(int32_t*)args[0] + v;
}

static void* call_once(void* code) {
    int64_t (*fn)(int32_t) = (int64_t(*)(int32_t))code;
    return (void*)(intptr_t)fn(5);
}

/* A thread calls the closure; while its handler waits, the closure is
 * released; the handler then finishes, and its result arrives. */
static void test_release_in_flight(void) {
    int at = GORT_FFI_INT32;
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_INT64, &at, 1);
    struct inflight f;
    memset(&f, 0, sizeof f);
    if (running) {
        f.entered = gort_chan_make(sizeof(int32_t), 0);
        f.proceed = gort_chan_make(sizeof(int32_t), 0);
    } else {
        sem_init(&f.entered_sem, 0, 0);
        sem_init(&f.proceed_sem, 0, 0);
    }
    void (*code)(void) = NULL;
    gort_ffi_closure* cl = gort_ffi_closure_make(sig, h_inflight, &f, &code);
    CHECK(cl != NULL);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, call_once, code), 0);
    int32_t v = 100;
    if (running) {
        int32_t one;
        CHECK_OK(gort_chan_recv(f.entered, &one, NULL));
        CHECK_OK(gort_ffi_closure_release(cl)); /* the call is inside the handler */
        CHECK_OK(gort_chan_send(f.proceed, &v));
    } else {
        while (sem_wait(&f.entered_sem) != 0) {
        }
        CHECK_OK(gort_ffi_closure_release(cl));
        f.add = v;
        sem_post(&f.proceed_sem);
    }
    void* r = NULL;
    pthread_join(t, &r);
    CHECK_EQ((intptr_t)r, 105);
    CHECK_EQ(gort_ffi_closure_release(cl), GORT_EINVAL); /* released once only */

    /* A handler that releases its own closure. */
    void (*code2)(void) = NULL;
    f.self = gort_ffi_closure_make(sig, h_inflight, &f, &code2);
    CHECK(f.self != NULL);
    CHECK_EQ(pthread_create(&t, NULL, call_once, code2), 0);
    if (running) {
        int32_t one;
        CHECK_OK(gort_chan_recv(f.entered, &one, NULL));
        CHECK_OK(gort_chan_send(f.proceed, &v));
    } else {
        while (sem_wait(&f.entered_sem) != 0) {
        }
        sem_post(&f.proceed_sem);
    }
    pthread_join(t, &r);
    CHECK_EQ((intptr_t)r, 105);
    CHECK_EQ(gort_ffi_closure_release(f.self), GORT_EINVAL);

    if (running) {
        CHECK_OK(gort_chan_release(f.entered));
        CHECK_OK(gort_chan_release(f.proceed));
    } else {
        sem_destroy(&f.entered_sem);
        sem_destroy(&f.proceed_sem);
    }
    CHECK_OK(gort_ffi_sig_release(sig));
    CHECK_EQ(atomic_load(&wrong_context), 0);
}

/* ---- a call after release (in a child process) ------------------------------------------ */

static atomic_int late_handler_runs;

static void h_late(void* ret, void** args, void* ud) {
    (void)args, (void)ud;
    atomic_fetch_add(&late_handler_runs, 1);
    *(int64_t*)ret = 77;
}

/* late_call_once makes a closure, calls it, releases it, prints its
 * address on stdout, and calls it again: that call must be reported and
 * return 0. Returns the number of things that went wrong. */
static int late_call_once(void) {
    int at = GORT_FFI_INT64;
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_INT64, &at, 1);
    void (*code)(void) = NULL;
    gort_ffi_closure* cl = gort_ffi_closure_make(sig, h_late, NULL, &code);
    if (cl == NULL) return 1;
    int64_t (*f)(int64_t) = (int64_t(*)(int64_t))code;
    int bad = f(1) != 77;
    bad += gort_ffi_closure_release(cl) != GORT_OK;
    bad += gort_ffi_sig_release(sig) != GORT_OK;
    printf("%p\n", (void*)code);
    fflush(stdout);
    int runs = atomic_load(&late_handler_runs);
    bad += f(1) != 0;
    bad += atomic_load(&late_handler_runs) != runs; /* the handler did not run */
    return bad;
}

static int late_call_child(void) {
    int bad = late_call_once(); /* no runtime */
    bad += init_runtime(2) != GORT_OK;
    bad += late_call_once(); /* with one */
    bad += gort_shutdown(-1) != GORT_OK;
    return bad == 0 ? 0 : 1;
}

static char* read_file(const char* path) {
    static char buf[8192];
    FILE* f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL) fclose(f);
    buf[n] = 0;
    return strdup(buf);
}

static void test_call_after_release(const char* self) {
    char out[] = "/tmp/gort-ffi-late-out-XXXXXX", err[] = "/tmp/gort-ffi-late-err-XXXXXX";
    int ofd = mkstemp(out), efd = mkstemp(err);
    CHECK(ofd >= 0 && efd >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, ofd, 1);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    char arg0[] = "ffi_test", arg1[] = "late-call";
    char* argv[] = {arg0, arg1, NULL};
    extern char** environ;
    pid_t pid;
    CHECK_EQ(posix_spawn(&pid, self, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ofd);
    close(efd);
    char* addrs = read_file(out);
    char* text = read_file(err);
    int found = 0;
    for (char* line = strtok(addrs, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char want[128];
        snprintf(want, sizeof want, "gort: ffi closure %s called after gort_ffi_closure_release",
                 line);
        found += strstr(text, want) != NULL;
    }
    CHECK_EQ(found, 2);
    if (found != 2) fprintf(stderr, "  child stdout:\n%s  child stderr:\n%s", addrs, text);
    free(addrs);
    free(text);
    unlink(out);
    unlink(err);
}

/* ---- the quarantine ---------------------------------------------------------------------- */

static void h_nop(void* ret, void** args, void* ud) {
    (void)ret, (void)args, (void)ud;
}

/* A released closure's trampoline is not handed to any of the next 4096
 * closures made (each released in turn). */
static void test_quarantine(void) {
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_VOID, NULL, 0);
    void (*first)(void) = NULL;
    gort_ffi_closure* c = gort_ffi_closure_make(sig, h_nop, NULL, &first);
    CHECK_OK(gort_ffi_closure_release(c));
    int reused = 0;
    for (int i = 0; i < 4096; i++) {
        void (*code)(void) = NULL;
        c = gort_ffi_closure_make(sig, h_nop, NULL, &code);
        CHECK(c != NULL);
        reused += code == first;
        CHECK_OK(gort_ffi_closure_release(c));
    }
    CHECK_EQ(reused, 0);
    CHECK_OK(gort_ffi_sig_release(sig));
}

/* ---- 50 init/shutdown cycles ----------------------------------------------------------- */

/* A C thread that lives through every cycle and calls the closure when told
 * (its M, bound in one runtime, must serve the next). */
struct cycler {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int round, done;
    int64_t (*f)(int64_t);
    int bad;
};

static void* cycler_thread(void* p) {
    struct cycler* c = p;
    pthread_mutex_lock(&c->mu);
    for (int seen = 0;;) {
        while (c->round == seen) pthread_cond_wait(&c->cv, &c->mu);
        seen = c->round;
        if (seen < 0) break;
        pthread_mutex_unlock(&c->mu);
        int64_t r = c->f(seen);
        pthread_mutex_lock(&c->mu);
        c->bad += r != 2 * seen + 1;
        c->done = seen;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void cycler_call(struct cycler* c, int round) {
    pthread_mutex_lock(&c->mu);
    c->round = round;
    pthread_cond_broadcast(&c->cv);
    while (round > 0 && c->done != round) pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static int64_t (*cycle_f)(int64_t);

static void cycle_goroutine(void) {
    /* The closure called by C inside a cgocall (qsort), and directly. */
    qsort_with_closure(7);
    CHECK_EQ(cycle_f(20), 41);
}

static void test_cycles(void) {
    int at = GORT_FFI_INT64;
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_INT64, &at, 1);
    void (*code)(void) = NULL;
    gort_ffi_closure* cl = gort_ffi_closure_make(sig, h_twice_plus_one, NULL, &code);
    CHECK(cl != NULL);
    cycle_f = (int64_t(*)(int64_t))code;
    struct cycler cy = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, cycle_f, 0};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, cycler_thread, &cy), 0);
    for (int i = 1; i <= 50; i++) {
        CHECK_OK(init_runtime(2));
        set_running(true);
        CHECK_EQ(cycle_f(i), 2 * i + 1); /* the main thread */
        cycler_call(&cy, 2 * i);         /* the long-lived thread */
        run_in_goroutine(cycle_goroutine);
        int64_t r = 0;
        int64_t x = 3;
        void* args[1] = {&x};
        CHECK_OK(gort_ffi_call(sig, code, &r, args));
        CHECK_EQ(r, 7);
        CHECK_OK(gort_shutdown(-1));
        set_running(false);
        CHECK_EQ(gort_ffi_call(sig, code, &r, args), GORT_ENOTINIT);
        CHECK_EQ(cycle_f(i), 2 * i + 1); /* plain C now */
        cycler_call(&cy, 2 * i + 1);
    }
    cycler_call(&cy, -1);
    pthread_join(t, NULL);
    CHECK_EQ(cy.bad, 0);
    CHECK_OK(gort_ffi_closure_release(cl));
    CHECK_OK(gort_ffi_sig_release(sig));
    CHECK_EQ(atomic_load(&wrong_context), 0);
}

/* ---- main ------------------------------------------------------------------------- */

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "late-call") == 0) return late_call_child();

    set_running(false); /* before gort_init */
    make_comparator();
    RUN(test_release_in_flight);
    RUN(test_quarantine);

    CHECK_OK(init_runtime(2));
    set_running(true);
    RUN(test_release_in_flight);
    RUN(test_quarantine);
    CHECK_OK(gort_shutdown(-1));

    set_running(false); /* after gort_shutdown */
    RUN(test_release_in_flight);
    RUN(test_cycles);
    test_call_after_release("/proc/self/exe");
    fprintf(stderr, "%s test_call_after_release\n", check_failures == 0 ? "ok  " : "FAIL");
    CHECK_OK(gort_ffi_closure_release(cmp_closure));
    CHECK_OK(gort_ffi_sig_release(cmp_sig));
    return check_failures == 0 ? 0 : 1;
}
