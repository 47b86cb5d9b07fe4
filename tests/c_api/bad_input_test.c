/* Bad input to every function of gort.h: NULL pointers, zero and huge
 * sizes, wrong struct_size, calls before init and after shutdown, double
 * close and double release, unlock when not locked. Each row of a table is
 * one call and the status it must return; nothing may crash, hang or leak
 * (the sanitizer builds run this too). Compiled as C. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bad_input.h"
#include "check.h"
#include "gort.h"

/* ---- shared objects the rows use ---------------------------------------- */

gort_chan* live_chan;    /* a live channel (cap 1, int elements) */
gort_chan* dead_chan;    /* made and released */
gort_waitgroup* dead_wg; /* made and released */
gort_mutex* dead_mu;     /* made and released */
gort_ffi_sig* dead_sig;  /* made and released */
gort_chan* garbage = (gort_chan*)(uintptr_t)0x12345678;

void noop(void* arg) {
    (void)arg;
}
void handler(void* ret, void** args, void* ud) {
    (void)ret, (void)args, (void)ud;
}

/* ---- rows: before init --------------------------------------------------- */

static int r_go(void) {
    return gort_go(noop, NULL);
}
static int r_go_ex(void) {
    return gort_go_ex(NULL, noop, NULL, NULL);
}
static int r_gosched(void) {
    return gort_gosched();
}
static int r_sleep(void) {
    return gort_sleep(1000);
}
static int r_run_main(void) {
    return gort_run_main(noop, NULL);
}
static int r_lock(void) {
    return gort_lock_os_thread();
}
static int r_unlock(void) {
    return gort_unlock_os_thread();
}
static int r_gomaxprocs(void) {
    return gort_gomaxprocs(2);
}
static int r_num_goroutine(void) {
    return gort_num_goroutine();
}
static int r_cgocall(void) {
    return gort_cgocall(noop, NULL);
}
static int r_callback(void) {
    return gort_callback(noop, NULL);
}
static int r_shutdown(void) {
    return gort_shutdown(0);
}
static int r_stats(void) {
    gort_stats s;
    return gort_get_stats(&s, sizeof s);
}
static int r_fork_exec(void) {
    char arg0[] = "true";
    char* argv[] = {arg0, NULL};
    pid_t pid;
    return gort_fork_exec("/bin/true", argv, NULL, &pid);
}
static int r_chan_make(void) {
    errno = 0;
    return gort_chan_make(4, 1) == NULL && errno == EPERM ? GORT_ENOTINIT : GORT_OK;
}
static int r_wg_make(void) {
    errno = 0;
    return gort_waitgroup_make() == NULL && errno == EPERM ? GORT_ENOTINIT : GORT_OK;
}
static int r_mutex_make(void) {
    errno = 0;
    return gort_mutex_make() == NULL && errno == EPERM ? GORT_ENOTINIT : GORT_OK;
}
static int r_sig_make(void) {
    /* ffi signatures need no runtime (they outlive it). */
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_VOID, NULL, 0);
    return sig != NULL ? gort_ffi_sig_release(sig) : GORT_EINVAL;
}
static int r_select(void) {
    size_t chosen;
    return gort_select(NULL, 0, 0, &chosen);
}
static int r_select_timeout(void) {
    size_t chosen;
    return gort_select_timeout(NULL, 0, 1000, &chosen);
}
static int r_after(void) {
    errno = 0;
    return gort_after(1000) == NULL && errno == EPERM ? GORT_ENOTINIT : GORT_OK;
}
static int r_send_timeout(void) {
    int v = 0;
    return gort_chan_send_timeout(garbage, &v, 1000);
}
static int r_recv_timeout(void) {
    return gort_chan_recv_timeout(garbage, NULL, NULL, 1000);
}
static int r_chan_retain(void) {
    return gort_chan_retain(garbage);
}
static int r_chan_release(void) {
    return gort_chan_release(garbage);
}
static int r_chan_close(void) {
    return gort_chan_close(garbage);
}
static int r_wg_wait_timeout(void) {
    return gort_waitgroup_wait_timeout((gort_waitgroup*)garbage, 1000);
}
static int r_wg_retain(void) {
    return gort_waitgroup_retain((gort_waitgroup*)garbage);
}
static int r_wg_release(void) {
    return gort_waitgroup_release((gort_waitgroup*)garbage);
}
static int r_mutex_lock_timeout(void) {
    return gort_mutex_lock_timeout((gort_mutex*)garbage, 1000);
}
static int r_mutex_retain(void) {
    return gort_mutex_retain((gort_mutex*)garbage);
}
static int r_mutex_release(void) {
    return gort_mutex_release((gort_mutex*)garbage);
}
static int r_blocking_begin(void) {
    return gort_blocking_begin();
}
static int r_blocking_end(void) {
    return gort_blocking_end();
}
static int r_trace_start(void) {
    return gort_trace_start("/tmp/gort-bad-input-trace.json");
}
static int r_trace_stop(void) {
    return gort_trace_stop();
}
static int r_dump(void) {
    return gort_dump_goroutines(2);
}

static const struct row not_init[] = {
    {"go", r_go, GORT_ENOTINIT},
    {"go_ex", r_go_ex, GORT_ENOTINIT},
    {"gosched", r_gosched, GORT_ENOTINIT},
    {"sleep", r_sleep, GORT_ENOTINIT},
    {"run_main", r_run_main, GORT_ENOTINIT},
    {"lock_os_thread", r_lock, GORT_ENOTINIT},
    {"unlock_os_thread", r_unlock, GORT_ENOTINIT},
    {"gomaxprocs", r_gomaxprocs, GORT_ENOTINIT},
    {"num_goroutine", r_num_goroutine, GORT_ENOTINIT},
    {"cgocall", r_cgocall, GORT_ENOTINIT},
    {"callback", r_callback, GORT_ENOTINIT},
    {"shutdown", r_shutdown, GORT_ENOTINIT},
    {"get_stats", r_stats, GORT_ENOTINIT},
    {"fork_exec", r_fork_exec, GORT_ENOTINIT},
    {"chan_make", r_chan_make, GORT_ENOTINIT},
    {"waitgroup_make", r_wg_make, GORT_ENOTINIT},
    {"mutex_make", r_mutex_make, GORT_ENOTINIT},
    {"ffi_sig_make", r_sig_make, GORT_OK},
    {"select", r_select, GORT_ENOTINIT},
    {"select_timeout", r_select_timeout, GORT_ENOTINIT},
    {"after", r_after, GORT_ENOTINIT},
    {"chan_send_timeout", r_send_timeout, GORT_ENOTINIT},
    {"chan_recv_timeout", r_recv_timeout, GORT_ENOTINIT},
    {"chan_retain", r_chan_retain, GORT_ENOTINIT},
    {"chan_release", r_chan_release, GORT_ENOTINIT},
    {"chan_close", r_chan_close, GORT_ENOTINIT},
    {"waitgroup_wait_timeout", r_wg_wait_timeout, GORT_ENOTINIT},
    {"waitgroup_retain", r_wg_retain, GORT_ENOTINIT},
    {"waitgroup_release", r_wg_release, GORT_ENOTINIT},
    {"mutex_lock_timeout", r_mutex_lock_timeout, GORT_ENOTINIT},
    {"mutex_retain", r_mutex_retain, GORT_ENOTINIT},
    {"mutex_release", r_mutex_release, GORT_ENOTINIT},
    {"blocking_begin", r_blocking_begin, GORT_ENOTINIT},
    {"blocking_end", r_blocking_end, GORT_ENOTINIT},
    {"trace_start", r_trace_start, GORT_ENOTINIT},
    {"trace_stop", r_trace_stop, GORT_ENOTINIT},
    {"dump_goroutines", r_dump, GORT_ENOTINIT},
};

static void run_rows(const struct row* rows, size_t n, const char* what) {
    for (size_t i = 0; i < n; i++) {
        int got = rows[i].call();
        if (got != rows[i].want) {
            fprintf(stderr, "%s: %s returned %d (%s), want %d (%s)\n", what, rows[i].name, got,
                    gort_strerror(got), rows[i].want, gort_strerror(rows[i].want));
            check_failures++;
        }
    }
}

/* ---- tests ---------------------------------------------------------------- */

static void test_strerror(void) {
    for (int code = 0; code >= GORT_EDEADLK; code--) {
        const char* m = gort_strerror(code);
        CHECK(m != NULL && strlen(m) > 0 && strstr(m, "unknown") == NULL);
        for (int other = 0; other > code; other--) CHECK(strcmp(m, gort_strerror(other)) != 0);
    }
    CHECK(strstr(gort_strerror(-999), "unknown") != NULL);
    CHECK(strstr(gort_strerror(42), "unknown") != NULL);
}

static void test_version(void) {
    CHECK_EQ(gort_version(), GORT_VERSION);
    CHECK_EQ(GORT_VERSION,
             GORT_VERSION_MAJOR * 10000 + GORT_VERSION_MINOR * 100 + GORT_VERSION_PATCH);
}

static void test_before_init(void) {
    run_rows(not_init, sizeof not_init / sizeof not_init[0], "before init");
    CHECK_EQ(gort_goid(), 0);
    CHECK_EQ(gort_chan_len(garbage), 0);
    gort_config_init(NULL); /* no crash */
}

static void test_bad_config(void) {
    gort_config c;
    gort_config_init(&c);
    CHECK_EQ(c.struct_size, sizeof c);
    CHECK_EQ(c.cgo, 1);
    c.struct_size = 0;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.struct_size = 8;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.maxprocs = -1;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.maxprocs = 5000;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.cgo = 7;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.stack_size = (size_t)1 << 40;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.stack_size = 100; /* below the minimum: an error, not a silent clamp */
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.flags = 0x100;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.max_lent_procs = -2;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    c.scheddetail = 3;
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    /* The environment is read whenever a field is 0, and checked. */
    gort_config_init(&c);
    setenv("GORT_MAXPROCS", "abc", 1);
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    CHECK_EQ(gort_init(NULL), GORT_EINVAL);
    setenv("GORT_MAXPROCS", "0", 1);
    CHECK_EQ(gort_init(NULL), GORT_EINVAL);
    setenv("GORT_MAXPROCS", "3", 1);
    c.maxprocs = 5000; /* an explicit field is checked too */
    CHECK_EQ(gort_init(&c), GORT_EINVAL);
    gort_config_init(&c);
    CHECK_OK(gort_init(&c));
    CHECK_EQ(gort_gomaxprocs(0), 3); /* from the environment: the field was 0 */
    CHECK_OK(gort_shutdown(-1));
    c.maxprocs = 2; /* an explicit field wins */
    CHECK_OK(gort_init(&c));
    CHECK_EQ(gort_gomaxprocs(0), 2);
    CHECK_OK(gort_shutdown(-1));
    unsetenv("GORT_MAXPROCS");
    setenv("GORT_SCHEDTRACE", "-5", 1);
    CHECK_EQ(gort_init(NULL), GORT_EINVAL);
    unsetenv("GORT_SCHEDTRACE");
    /* None of these started anything. */
    CHECK_EQ(gort_num_goroutine(), GORT_ENOTINIT);
}

static void try_shutdown_in_goroutine(void* arg) {
    *(int*)arg = gort_shutdown(0);
}
static void try_run_main_in_goroutine(void* arg) {
    *(int*)arg = gort_run_main(noop, NULL);
}
static void try_shutdown_in_goroutine_c(void* arg) {
    *(int*)arg = gort_shutdown(-1); /* C code a goroutine called: returns at once */
}
static void try_shutdown_in_cgocall(void* arg) {
    gort_cgocall(try_shutdown_in_goroutine_c, arg);
}

static void test_bad_input_running(void) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = 2;
    CHECK_OK(gort_init(&c));
    live_chan = gort_chan_make(sizeof(int), 1);
    CHECK(live_chan != NULL);
    dead_chan = gort_chan_make(sizeof(int), 0);
    CHECK_OK(gort_chan_release(dead_chan));
    dead_wg = gort_waitgroup_make();
    CHECK_OK(gort_waitgroup_release(dead_wg));
    dead_mu = gort_mutex_make();
    CHECK_OK(gort_mutex_release(dead_mu));
    dead_sig = gort_ffi_sig_make(GORT_FFI_VOID, NULL, 0);
    CHECK_OK(gort_ffi_sig_release(dead_sig));

    run_rows(bad_input_rows, n_bad_input_rows, "running");

    /* Channel errors that need a sequence. */
    int v = 5, got = 0, ok = -1;
    CHECK_OK(gort_chan_try_send(live_chan, &v));
    CHECK_EQ(gort_chan_try_send(live_chan, &v), GORT_EAGAIN); /* full */
    CHECK_EQ(gort_chan_len(live_chan), 1);
    CHECK_EQ(gort_chan_cap(live_chan), 1);
    CHECK_OK(gort_chan_close(live_chan));
    CHECK_EQ(gort_chan_close(live_chan), GORT_ECLOSED);
    CHECK_EQ(gort_chan_send(live_chan, &v), GORT_ECLOSED);
    CHECK_EQ(gort_chan_try_send(live_chan, &v), GORT_ECLOSED);
    CHECK_OK(gort_chan_recv(live_chan, &got, &ok)); /* drains the buffer first */
    CHECK_EQ(got, 5);
    CHECK_EQ(ok, 1);
    got = 9;
    CHECK_OK(gort_chan_recv(live_chan, &got, &ok));
    CHECK_EQ(ok, 0);
    CHECK_EQ(got, 0); /* zeroed after close and drain */
    CHECK_OK(gort_chan_release(live_chan));
    CHECK_EQ(gort_chan_release(live_chan), GORT_EINVAL);

    /* Unlocking when not locked does nothing, from any thread. */
    CHECK_OK(gort_unlock_os_thread());

    /* Calls that are not allowed on a goroutine. */
    int rc = 0;
    gort_waitgroup* wg = gort_waitgroup_make();
    CHECK_OK(gort_callback(try_shutdown_in_goroutine, &rc));
    CHECK_EQ(rc, GORT_EDEADLK);
    CHECK_OK(gort_callback(try_run_main_in_goroutine, &rc));
    CHECK_EQ(rc, GORT_EDEADLK);
    rc = 0;
    CHECK_OK(gort_callback(try_shutdown_in_cgocall, &rc));
    CHECK_EQ(rc, GORT_EDEADLK);
    CHECK_OK(gort_waitgroup_release(wg));

    CHECK_OK(gort_shutdown(5000000000LL));
    /* After shutdown: as before init. */
    run_rows(not_init, sizeof not_init / sizeof not_init[0], "after shutdown");
}

int main(void) {
    RUN(test_strerror);
    RUN(test_version);
    RUN(test_before_init);
    RUN(test_bad_config);
    RUN(test_bad_input_running);
    return check_failures == 0 ? 0 : 1;
}
