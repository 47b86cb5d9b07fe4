/* The C ABI used as a C program uses it: goroutines, channels, select,
 * sync, cgocall, callbacks from C threads, libffi calls and closures,
 * LockOSThread, statistics, and 100 init/shutdown cycles (which must leak
 * nothing: the AddressSanitizer build checks leaks). Compiled as C. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static int init_runtime(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = check_cgo_mode(); /* ctest runs this in both modes */
    return gort_init(&c);
}

/* ---- goroutines and channels ---------------------------------------------- */

enum { kProducers = 8, kPerProducer = 2000 };

struct pc {
    gort_chan* ch;
    gort_waitgroup* wg;
};

static void producer(void* arg) {
    struct pc* p = arg;
    for (long i = 1; i <= kPerProducer; i++) CHECK_OK(gort_chan_send(p->ch, &i));
    gort_waitgroup_done(p->wg);
}

static void closer(void* arg) {
    struct pc* p = arg;
    gort_waitgroup_wait(p->wg); /* the producers */
    CHECK_OK(gort_chan_close(p->ch));
}

static void test_producers_consumers(void) {
    for (int cap = 0; cap <= 16; cap += 16) {
        struct pc p;
        p.ch = gort_chan_make(sizeof(long), (size_t)cap);
        p.wg = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(p.wg, kProducers));
        for (int i = 0; i < kProducers; i++) CHECK_OK(gort_go(producer, &p));
        CHECK_OK(gort_go(closer, &p));
        /* The consumer is this plain thread: through the callback path,
         * recv blocks the thread, not the scheduler. */
        long v, sum = 0, count = 0;
        int ok;
        while (gort_chan_recv(p.ch, &v, &ok) == GORT_OK && ok) {
            sum += v;
            count++;
        }
        CHECK_EQ(count, (long)kProducers * kPerProducer);
        CHECK_EQ(sum, (long)kProducers * kPerProducer * (kPerProducer + 1) / 2);
        CHECK_OK(gort_chan_release(p.ch));
        CHECK_OK(gort_waitgroup_release(p.wg));
    }
}

/* ---- select ---------------------------------------------------------------- */

static void test_select(void) {
    gort_chan *a = gort_chan_make(sizeof(int), 1), *b = gort_chan_make(sizeof(int), 1);
    int one = 1, two = 2, got = 0;
    CHECK_OK(gort_chan_send(b, &two));
    gort_select_case cases[2] = {{a, GORT_SELECT_RECV, &got, -1}, {b, GORT_SELECT_RECV, &got, -1}};
    size_t chosen = 99;
    CHECK_OK(gort_select(cases, 2, 1, &chosen));
    CHECK_EQ(chosen, 1);
    CHECK_EQ(got, 2);
    CHECK_EQ(cases[1].ok, 1);
    /* A send case. */
    gort_select_case send = {a, GORT_SELECT_SEND, &one, 0};
    CHECK_OK(gort_select(&send, 1, 0, &chosen));
    CHECK_EQ(chosen, 0);
    CHECK_EQ(gort_chan_len(a), 1);
    /* Closed: a receive is ready with ok = 0. */
    CHECK_OK(gort_chan_close(b));
    gort_select_case rb = {b, GORT_SELECT_RECV, &got, -1};
    CHECK_OK(gort_select(&rb, 1, 1, &chosen));
    CHECK_EQ(rb.ok, 0);
    CHECK_OK(gort_chan_release(a));
    CHECK_OK(gort_chan_release(b));
}

/* ---- a handle released while goroutines block on it ------------------------ */

static atomic_int got_value, got_closed, got_invalid, receivers_done;

static void blocked_receiver(void* arg) {
    gort_chan* ch = arg;
    int v = 0, ok = -1;
    int rc = gort_chan_recv(ch, &v, &ok);
    if (rc == GORT_OK && ok == 1 && v == 42) {
        atomic_fetch_add(&got_value, 1);
    } else if (rc == GORT_OK && ok == 0 && v == 0) {
        atomic_fetch_add(&got_closed, 1); /* was blocked when closed and released */
    } else if (rc == GORT_EINVAL) {
        atomic_fetch_add(&got_invalid, 1); /* came after the release */
    }
    atomic_fetch_add(&receivers_done, 1);
}

static void test_release_while_blocked(void) {
    atomic_store(&got_value, 0);
    atomic_store(&got_closed, 0);
    atomic_store(&got_invalid, 0);
    atomic_store(&receivers_done, 0);
    gort_chan* ch = gort_chan_make(sizeof(int), 0);
    for (int i = 0; i < 10; i++) CHECK_OK(gort_go(blocked_receiver, ch));
    /* A try_send on an unbuffered channel succeeds only into a blocked
     * receiver: once it does, receivers are blocking; give the others a
     * moment to (every outcome below is checked either way). */
    int v = 42;
    while (gort_chan_try_send(ch, &v) != GORT_OK) gort_sleep(100000);
    gort_sleep(10000000);
    CHECK_OK(gort_chan_close(ch));
    CHECK_OK(gort_chan_release(ch)); /* blocked receivers still hold it */
    while (atomic_load(&receivers_done) < 10) gort_sleep(1000000);
    CHECK_EQ(atomic_load(&got_value), 1);
    CHECK_EQ(atomic_load(&got_value) + atomic_load(&got_closed) + atomic_load(&got_invalid), 10);
    CHECK_EQ(gort_chan_len(ch), 0); /* the handle is gone */
}

/* ---- cgocall ----------------------------------------------------------------- */

static void set_errno(void* arg) {
    usleep(1000);
    errno = *(int*)arg;
}

static void errno_goroutine(void* arg) {
    int want = 4242;
    CHECK_OK(gort_cgocall(set_errno, &want));
    CHECK_EQ(errno, want);
    gort_waitgroup_done(arg);
}

static void test_cgocall(void) {
    gort_waitgroup* wg = gort_waitgroup_make();
    gort_waitgroup_add(wg, 4);
    for (int i = 0; i < 4; i++) gort_go(errno_goroutine, wg);
    CHECK_OK(gort_waitgroup_wait(wg));
    gort_waitgroup_release(wg);
    /* Off a goroutine it just calls. */
    int want = 7;
    CHECK_OK(gort_cgocall(set_errno, &want));
    CHECK_EQ(errno, 7);
}

/* ---- callbacks from C threads --------------------------------------------- */

static atomic_long callback_sum;
static void add_one(void* arg) {
    (void)arg;
    CHECK(gort_goid() > 0); /* goroutine context */
    atomic_fetch_add(&callback_sum, 1);
}

static void* c_thread(void* arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) CHECK_OK(gort_callback(add_one, NULL));
    return NULL;
}

static void test_callbacks_from_c_threads(void) {
    atomic_store(&callback_sum, 0);
    pthread_t t[6];
    for (int i = 0; i < 6; i++) pthread_create(&t[i], NULL, c_thread, NULL);
    for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
    CHECK_EQ(atomic_load(&callback_sum), 600);
    gort_stats s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    CHECK(s.callbacks >= 600);
    CHECK(s.foreign_threads_bound >= 6);
}

/* ---- libffi ------------------------------------------------------------------- */

static int64_t add3(int32_t a, int64_t b, double c) {
    return a + b + (int64_t)c;
}

static void on_call(void* ret, void** args, void* ud) {
    CHECK(gort_goid() > 0);
    *(int64_t*)ret = *(int32_t*)args[0] * 10 + (ud != NULL);
}

static void* call_closure(void* code) {
    int64_t (*fn)(int32_t) = (int64_t(*)(int32_t))code;
    long r = 0;
    for (int i = 0; i < 10; i++) r += (long)fn(i);
    return (void*)r;
}

static void test_ffi(void) {
    int at[3] = {GORT_FFI_INT32, GORT_FFI_INT64, GORT_FFI_DOUBLE};
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_INT64, at, 3);
    CHECK(sig != NULL);
    int32_t a = 1;
    int64_t b = 20;
    double c = 300.0;
    void* args[3] = {&a, &b, &c};
    int64_t ret = 0;
    CHECK_OK(gort_ffi_call(sig, (void (*)(void))add3, &ret, args));
    CHECK_EQ(ret, 321);
    CHECK_OK(gort_ffi_sig_release(sig));

    int one = GORT_FFI_INT32;
    gort_ffi_sig* csig = gort_ffi_sig_make(GORT_FFI_INT64, &one, 1);
    void (*code)(void) = NULL;
    gort_ffi_closure* cl = gort_ffi_closure_make(csig, on_call, &one, &code);
    CHECK(cl != NULL && code != NULL);
    CHECK_OK(gort_ffi_sig_release(csig)); /* the closure keeps the signature */
    pthread_t t;
    void* sum = NULL;
    pthread_create(&t, NULL, call_closure, (void*)code); /* a thread gort never saw */
    pthread_join(t, &sum);
    CHECK_EQ((long)sum, 460); /* sum of i*10+1 for i in 0..9 */
    CHECK_OK(gort_ffi_closure_release(cl));
}

/* ---- LockOSThread and run_main ------------------------------------------------- */

static void locked_main(void* arg) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    CHECK_EQ(tid, *(pid_t*)arg); /* runs on the calling thread */
    CHECK_OK(gort_lock_os_thread());
    CHECK_OK(gort_sleep(1000));
    CHECK_EQ((pid_t)syscall(SYS_gettid), tid);
    CHECK_OK(gort_unlock_os_thread());
    CHECK_OK(gort_unlock_os_thread()); /* not locked: nothing */
}

static void test_run_main(void) {
    pid_t me = (pid_t)syscall(SYS_gettid);
    CHECK_OK(gort_run_main(locked_main, &me));
}

/* ---- fork/exec ----------------------------------------------------------------- */

static void test_fork_exec(void) {
    char arg0[] = "sh", arg1[] = "-c", arg2[] = "exit 3";
    char* argv[] = {arg0, arg1, arg2, NULL};
    pid_t pid = 0;
    CHECK_OK(gort_fork_exec("/bin/sh", argv, NULL, &pid));
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
}

/* ---- init/shutdown cycles ------------------------------------------------------ */

static void cycle_work(void* arg) {
    gort_chan_send(arg, &(int){1});
}

static void test_init_shutdown_cycles(void) {
    for (int i = 0; i < 100; i++) {
        CHECK_OK(init_runtime(1 + i % 3));
        gort_chan* ch = gort_chan_make(sizeof(int), 0);
        for (int k = 0; k < 10; k++) gort_go(cycle_work, ch);
        int v, ok, got = 0;
        for (int k = 0; k < 10; k++) got += gort_chan_recv(ch, &v, &ok) == GORT_OK && ok;
        CHECK_EQ(got, 10);
        gort_chan_release(ch);
        CHECK_OK(gort_shutdown(5000000000LL));
    }
}

int main(void) {
    CHECK_OK(init_runtime(2));
    RUN(test_producers_consumers);
    RUN(test_select);
    RUN(test_release_while_blocked);
    RUN(test_cgocall);
    RUN(test_callbacks_from_c_threads);
    RUN(test_ffi);
    RUN(test_run_main);
    RUN(test_fork_exec);
    CHECK_OK(gort_shutdown(5000000000LL));
    RUN(test_init_shutdown_cycles);
    return check_failures == 0 ? 0 : 1;
}
