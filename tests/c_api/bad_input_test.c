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

#include "check.h"
#include "gort.h"

/* ---- shared objects the rows use ---------------------------------------- */

static gort_chan* live_chan;    /* a live channel (cap 1, int elements) */
static gort_chan* dead_chan;    /* made and released */
static gort_waitgroup* dead_wg; /* made and released */
static gort_mutex* dead_mu;     /* made and released */
static gort_ffi_sig* dead_sig;  /* made and released */
static gort_chan* garbage = (gort_chan*)(uintptr_t)0x12345678;

static void noop(void* arg) {
    (void)arg;
}
static void handler(void* ret, void** args, void* ud) {
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

struct row {
    const char* name;
    int (*call)(void);
    int want;
};

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

/* ---- rows: bad input while running ---------------------------------------- */

static int b_go_null(void) {
    return gort_go(NULL, NULL);
}
static int b_go_ex_null_fn(void) {
    return gort_go_ex(NULL, NULL, NULL, NULL);
}
static int b_go_ex_size0(void) {
    gort_go_opts o;
    memset(&o, 0, sizeof o);
    return gort_go_ex(&o, noop, NULL, NULL);
}
static int b_go_ex_size_small(void) {
    gort_go_opts o;
    memset(&o, 0, sizeof o);
    o.struct_size = 4;
    return gort_go_ex(&o, noop, NULL, NULL);
}
static int b_go_ex_stack_huge(void) {
    gort_go_opts o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.stack_size = (size_t)1 << 40;
    return gort_go_ex(&o, noop, NULL, NULL);
}
static int b_go_ex_bigger_struct(void) {
    /* A newer caller's bigger struct with something set we do not know. */
    struct {
        gort_go_opts o;
        uint64_t future;
    } big;
    memset(&big, 0, sizeof big);
    big.o.struct_size = sizeof big;
    big.future = 1;
    return gort_go_ex(&big.o, noop, NULL, NULL);
}
static int b_run_main_null(void) {
    return gort_run_main(NULL, NULL);
}
static int b_cgocall_null(void) {
    return gort_cgocall(NULL, NULL);
}
static int b_callback_null(void) {
    return gort_callback(NULL, NULL);
}
static int b_gomaxprocs_huge(void) {
    return gort_gomaxprocs(100000);
}
static int b_set_thread_start(void) {
    return gort_set_thread_start(NULL);
}
static int b_init_again(void) {
    return gort_init(NULL);
}
static int b_stats_null(void) {
    return gort_get_stats(NULL, sizeof(gort_stats));
}
static int b_stats_small(void) {
    gort_stats s;
    return gort_get_stats(&s, 8);
}
static int b_fork_null_path(void) {
    char* argv[] = {NULL};
    pid_t pid;
    return gort_fork_exec(NULL, argv, NULL, &pid);
}
static int b_fork_null_argv(void) {
    pid_t pid;
    return gort_fork_exec("/bin/true", NULL, NULL, &pid);
}
static int b_fork_null_pid(void) {
    char arg0[] = "true";
    char* argv[] = {arg0, NULL};
    return gort_fork_exec("/bin/true", argv, NULL, NULL);
}
static int b_fork_missing(void) {
    char arg0[] = "x";
    char* argv[] = {arg0, NULL};
    pid_t pid;
    int rc = gort_fork_exec("/nonexistent/program", argv, NULL, &pid);
    return rc == GORT_EINVAL && errno == ENOENT ? GORT_EINVAL : GORT_OK;
}
static int b_chan_make_huge_elem(void) {
    errno = 0;
    return gort_chan_make((size_t)1 << 40, 1) == NULL && errno == EINVAL ? GORT_EINVAL : GORT_OK;
}
static int b_chan_make_huge_cap(void) {
    errno = 0;
    return gort_chan_make(1024, (size_t)1 << 50) == NULL && errno != 0 ? GORT_EINVAL : GORT_OK;
}
static int b_send_null_chan(void) {
    int v = 1;
    return gort_chan_send(NULL, &v);
}
static int b_send_garbage(void) {
    int v = 1;
    return gort_chan_send(garbage, &v);
}
static int b_send_dead(void) {
    int v = 1;
    return gort_chan_send(dead_chan, &v);
}
static int b_send_null_elem(void) {
    return gort_chan_send(live_chan, NULL);
}
static int b_try_send_null_elem(void) {
    return gort_chan_try_send(live_chan, NULL);
}
static int b_recv_dead(void) {
    return gort_chan_recv(dead_chan, NULL, NULL);
}
static int b_try_recv_garbage(void) {
    return gort_chan_try_recv(garbage, NULL, NULL);
}
static int b_try_recv_empty(void) {
    int v, ok;
    return gort_chan_try_recv(live_chan, &v, &ok);
}
static int b_close_dead(void) {
    return gort_chan_close(dead_chan);
}
static int b_release_dead(void) {
    return gort_chan_release(dead_chan);
}
static int b_release_null(void) {
    return gort_chan_release(NULL);
}
static int b_release_wrong_kind(void) {
    return gort_chan_release((gort_chan*)dead_wg);
}
static int b_len_dead(void) {
    return (int)gort_chan_len(dead_chan) == 0 ? GORT_OK : GORT_EINVAL;
}
static int b_select_null_cases(void) {
    size_t chosen;
    return gort_select(NULL, 2, 0, &chosen);
}
static int b_select_null_chosen(void) {
    gort_select_case c = {live_chan, GORT_SELECT_RECV, NULL, 0};
    return gort_select(&c, 1, 0, NULL);
}
static int b_select_bad_dir(void) {
    gort_select_case c = {live_chan, 7, NULL, 0};
    size_t chosen;
    return gort_select(&c, 1, 0, &chosen);
}
static int b_select_dead_chan(void) {
    gort_select_case c = {dead_chan, GORT_SELECT_RECV, NULL, 0};
    size_t chosen;
    return gort_select(&c, 1, 0, &chosen);
}
static int b_select_send_null_elem(void) {
    gort_select_case c = {live_chan, GORT_SELECT_SEND, NULL, 0};
    size_t chosen;
    return gort_select(&c, 1, 0, &chosen);
}
static int b_select_none_ready(void) {
    int v;
    gort_select_case c = {live_chan, GORT_SELECT_RECV, &v, 0};
    size_t chosen;
    return gort_select(&c, 1, 0, &chosen);
}
static int b_select_block_empty(void) {
    size_t chosen;
    return gort_select(NULL, 0, 1, &chosen);
}
static int b_wg_add_negative(void) {
    gort_waitgroup* wg = gort_waitgroup_make();
    int rc = gort_waitgroup_add(wg, -1);
    gort_waitgroup_release(wg);
    return rc;
}
static int b_wg_done_zero(void) {
    gort_waitgroup* wg = gort_waitgroup_make();
    int rc = gort_waitgroup_done(wg);
    gort_waitgroup_release(wg);
    return rc;
}
static int b_wg_wait_dead(void) {
    return gort_waitgroup_wait(dead_wg);
}
static int b_wg_release_dead(void) {
    return gort_waitgroup_release(dead_wg);
}
static int b_wg_add_null(void) {
    return gort_waitgroup_add(NULL, 1);
}
static int b_mutex_unlock_unlocked(void) {
    gort_mutex* mu = gort_mutex_make();
    int rc = gort_mutex_unlock(mu);
    gort_mutex_release(mu);
    return rc;
}
static int b_mutex_lock_dead(void) {
    return gort_mutex_lock(dead_mu);
}
static int b_mutex_release_dead(void) {
    return gort_mutex_release(dead_mu);
}
static int b_mutex_lock_null(void) {
    return gort_mutex_lock(NULL);
}
static int b_sig_bad_type(void) {
    int a = 99;
    errno = 0;
    return gort_ffi_sig_make(GORT_FFI_INT32, &a, 1) == NULL && errno == EINVAL ? GORT_EINVAL
                                                                               : GORT_OK;
}
static int b_sig_void_arg(void) {
    int a = GORT_FFI_VOID;
    errno = 0;
    return gort_ffi_sig_make(GORT_FFI_INT32, &a, 1) == NULL && errno == EINVAL ? GORT_EINVAL
                                                                               : GORT_OK;
}
static int b_sig_null_args(void) {
    errno = 0;
    return gort_ffi_sig_make(GORT_FFI_INT32, NULL, 2) == NULL && errno == EINVAL ? GORT_EINVAL
                                                                                 : GORT_OK;
}
static int b_sig_too_many(void) {
    int a[200] = {0};
    errno = 0;
    return gort_ffi_sig_make(GORT_FFI_VOID, a, 200) == NULL && errno == EINVAL ? GORT_EINVAL
                                                                               : GORT_OK;
}
static int b_ffi_call_dead(void) {
    return gort_ffi_call(dead_sig, (void (*)(void))abort, NULL, NULL);
}
static int b_ffi_call_null_fn(void) {
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_VOID, NULL, 0);
    int rc = gort_ffi_call(sig, NULL, NULL, NULL);
    gort_ffi_sig_release(sig);
    return rc;
}
static int b_ffi_call_null_ret(void) {
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_INT32, NULL, 0);
    int rc = gort_ffi_call(sig, (void (*)(void))abort, NULL, NULL);
    gort_ffi_sig_release(sig);
    return rc;
}
static int b_ffi_call_null_arg(void) {
    int t = GORT_FFI_INT32;
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_VOID, &t, 1);
    void* args[1] = {NULL};
    int rc = gort_ffi_call(sig, (void (*)(void))abort, NULL, args);
    gort_ffi_sig_release(sig);
    return rc;
}
static int b_closure_null_handler(void) {
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_VOID, NULL, 0);
    void (*code)(void);
    errno = 0;
    gort_ffi_closure* c = gort_ffi_closure_make(sig, NULL, NULL, &code);
    gort_ffi_sig_release(sig);
    return c == NULL && errno == EINVAL ? GORT_EINVAL : GORT_OK;
}
static int b_closure_dead_sig(void) {
    void (*code)(void);
    errno = 0;
    return gort_ffi_closure_make(dead_sig, handler, NULL, &code) == NULL && errno == EINVAL
               ? GORT_EINVAL
               : GORT_OK;
}
static int b_closure_release_twice(void) {
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_VOID, NULL, 0);
    void (*code)(void);
    gort_ffi_closure* c = gort_ffi_closure_make(sig, handler, NULL, &code);
    gort_ffi_sig_release(sig); /* the closure keeps it alive */
    int first = gort_ffi_closure_release(c);
    int second = gort_ffi_closure_release(c);
    return first == GORT_OK ? second : GORT_EBUSY;
}
static int b_sig_release_dead(void) {
    return gort_ffi_sig_release(dead_sig);
}
static int b_go_ex_bad_flags(void) {
    gort_go_opts o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.flags = 0x80;
    return gort_go_ex(&o, noop, NULL, NULL);
}
static int b_go_ex_v1_struct(void) {
    /* A caller built against 0.1: the struct ends after name. */
    struct {
        uint32_t struct_size;
        size_t stack_size;
        const char* name;
    } old;
    memset(&old, 0, sizeof old);
    old.struct_size = sizeof old;
    return gort_go_ex((const gort_go_opts*)&old, noop, NULL, NULL);
}
static int b_send_timeout_dead(void) {
    int v = 1;
    return gort_chan_send_timeout(dead_chan, &v, 1000);
}
static int b_send_timeout_null_elem(void) {
    return gort_chan_send_timeout(live_chan, NULL, 1000);
}
static int b_recv_timeout_dead(void) {
    return gort_chan_recv_timeout(dead_chan, NULL, NULL, 1000);
}
static int b_recv_timeout_empty(void) {
    int v, ok;
    return gort_chan_recv_timeout(live_chan, &v, &ok, 1000000); /* 1 ms: nothing comes */
}
static int b_recv_timeout_zero(void) {
    return gort_chan_recv_timeout(live_chan, NULL, NULL, 0);
}
static int b_select_timeout_null_chosen(void) {
    gort_select_case c = {live_chan, GORT_SELECT_RECV, NULL, 0};
    return gort_select_timeout(&c, 1, 1000, NULL);
}
static int b_select_timeout_none_ready(void) {
    int v;
    gort_select_case c = {live_chan, GORT_SELECT_RECV, &v, 0};
    size_t chosen = 99;
    int rc = gort_select_timeout(&c, 1, 1000000, &chosen);
    return chosen == 99 ? rc : GORT_EINVAL; /* nothing was chosen */
}
static int b_select_timeout_no_cases(void) {
    size_t chosen;
    return gort_select_timeout(NULL, 0, 1000, &chosen);
}
static int b_chan_retain_dead(void) {
    return gort_chan_retain(dead_chan);
}
static int b_wg_wait_timeout_dead(void) {
    return gort_waitgroup_wait_timeout(dead_wg, 1000);
}
static int b_wg_retain_dead(void) {
    return gort_waitgroup_retain(dead_wg);
}
static int b_wg_wait_timeout_pending(void) {
    gort_waitgroup* wg = gort_waitgroup_make();
    gort_waitgroup_add(wg, 1);
    int rc = gort_waitgroup_wait_timeout(wg, 1000000);
    gort_waitgroup_done(wg);
    gort_waitgroup_release(wg);
    return rc;
}
static int b_mutex_lock_timeout_dead(void) {
    return gort_mutex_lock_timeout(dead_mu, 1000);
}
static int b_mutex_retain_dead(void) {
    return gort_mutex_retain(dead_mu);
}
static int b_mutex_lock_timeout_held(void) {
    gort_mutex* mu = gort_mutex_make();
    gort_mutex_lock(mu);
    int rc = gort_mutex_lock_timeout(mu, 1000000);
    gort_mutex_unlock(mu);
    gort_mutex_release(mu);
    return rc;
}
static void end_twice(void* arg) {
    int* rc = arg;
    rc[0] = gort_blocking_end();
    rc[1] = gort_blocking_begin();
    rc[2] = gort_blocking_begin();
    rc[3] = gort_blocking_end();
}
static int b_blocking_unbalanced(void) {
    int rc[4] = {1, 1, 1, 1};
    gort_callback(end_twice, rc);
    return rc[0] == GORT_EINVAL && rc[1] == GORT_OK && rc[3] == GORT_OK ? rc[2] : GORT_OK;
}
static int b_blocking_plain_thread(void) {
    /* This thread runs no goroutine: both are no-ops. */
    int a = gort_blocking_begin();
    int b = gort_blocking_end();
    int c = gort_blocking_end();
    return a == GORT_OK && b == GORT_OK ? c : GORT_EINVAL;
}
static int b_trace_start_null(void) {
    return gort_trace_start(NULL);
}
static int b_dump_bad_fd(void) {
    return gort_dump_goroutines(-1);
}
static int b_chan_make_elem0(void) {
    gort_chan* ch = gort_chan_make(0, 2);
    if (ch == NULL) return GORT_EINVAL;
    int rc = gort_chan_try_send(ch, NULL);
    int ok = 0;
    if (rc == GORT_OK) rc = gort_chan_try_recv(ch, NULL, &ok);
    gort_chan_release(ch);
    return rc == GORT_OK && ok == 1 ? GORT_OK : GORT_EINVAL;
}

static const struct row bad_input[] = {
    {"go(NULL)", b_go_null, GORT_EINVAL},
    {"go_ex(NULL fn)", b_go_ex_null_fn, GORT_EINVAL},
    {"go_ex(struct_size 0)", b_go_ex_size0, GORT_EINVAL},
    {"go_ex(struct_size 4)", b_go_ex_size_small, GORT_EINVAL},
    {"go_ex(huge stack)", b_go_ex_stack_huge, GORT_EINVAL},
    {"go_ex(unknown future field)", b_go_ex_bigger_struct, GORT_EINVAL},
    {"run_main(NULL)", b_run_main_null, GORT_EINVAL},
    {"cgocall(NULL)", b_cgocall_null, GORT_EINVAL},
    {"callback(NULL)", b_callback_null, GORT_EINVAL},
    {"gomaxprocs(100000)", b_gomaxprocs_huge, GORT_EINVAL},
    {"set_thread_start after init", b_set_thread_start, GORT_EBUSY},
    {"init twice", b_init_again, GORT_EALREADY},
    {"get_stats(NULL)", b_stats_null, GORT_EINVAL},
    {"get_stats(size 8)", b_stats_small, GORT_EINVAL},
    {"fork_exec(NULL path)", b_fork_null_path, GORT_EINVAL},
    {"fork_exec(NULL argv)", b_fork_null_argv, GORT_EINVAL},
    {"fork_exec(NULL pid)", b_fork_null_pid, GORT_EINVAL},
    {"fork_exec(missing program)", b_fork_missing, GORT_EINVAL},
    {"chan_make(huge elem)", b_chan_make_huge_elem, GORT_EINVAL},
    {"chan_make(huge cap)", b_chan_make_huge_cap, GORT_EINVAL},
    {"chan_send(NULL)", b_send_null_chan, GORT_EINVAL},
    {"chan_send(garbage)", b_send_garbage, GORT_EINVAL},
    {"chan_send(released)", b_send_dead, GORT_EINVAL},
    {"chan_send(NULL elem)", b_send_null_elem, GORT_EINVAL},
    {"chan_try_send(NULL elem)", b_try_send_null_elem, GORT_EINVAL},
    {"chan_recv(released)", b_recv_dead, GORT_EINVAL},
    {"chan_try_recv(garbage)", b_try_recv_garbage, GORT_EINVAL},
    {"chan_try_recv(empty)", b_try_recv_empty, GORT_EAGAIN},
    {"chan_close(released)", b_close_dead, GORT_EINVAL},
    {"chan_release twice", b_release_dead, GORT_EINVAL},
    {"chan_release(NULL)", b_release_null, GORT_EINVAL},
    {"chan_release(a waitgroup)", b_release_wrong_kind, GORT_EINVAL},
    {"chan_len(released)", b_len_dead, GORT_OK},
    {"select(NULL cases)", b_select_null_cases, GORT_EINVAL},
    {"select(NULL chosen)", b_select_null_chosen, GORT_EINVAL},
    {"select(bad dir)", b_select_bad_dir, GORT_EINVAL},
    {"select(released chan)", b_select_dead_chan, GORT_EINVAL},
    {"select(send NULL elem)", b_select_send_null_elem, GORT_EINVAL},
    {"select(none ready, default)", b_select_none_ready, GORT_EAGAIN},
    {"select(no cases, blocking)", b_select_block_empty, GORT_EINVAL},
    {"waitgroup_add(-1) at zero", b_wg_add_negative, GORT_EINVAL},
    {"waitgroup_done at zero", b_wg_done_zero, GORT_EINVAL},
    {"waitgroup_wait(released)", b_wg_wait_dead, GORT_EINVAL},
    {"waitgroup_release twice", b_wg_release_dead, GORT_EINVAL},
    {"waitgroup_add(NULL)", b_wg_add_null, GORT_EINVAL},
    {"mutex_unlock unlocked", b_mutex_unlock_unlocked, GORT_EINVAL},
    {"mutex_lock(released)", b_mutex_lock_dead, GORT_EINVAL},
    {"mutex_release twice", b_mutex_release_dead, GORT_EINVAL},
    {"mutex_lock(NULL)", b_mutex_lock_null, GORT_EINVAL},
    {"ffi_sig_make(bad type)", b_sig_bad_type, GORT_EINVAL},
    {"ffi_sig_make(void arg)", b_sig_void_arg, GORT_EINVAL},
    {"ffi_sig_make(NULL args)", b_sig_null_args, GORT_EINVAL},
    {"ffi_sig_make(200 args)", b_sig_too_many, GORT_EINVAL},
    {"ffi_call(released sig)", b_ffi_call_dead, GORT_EINVAL},
    {"ffi_call(NULL fn)", b_ffi_call_null_fn, GORT_EINVAL},
    {"ffi_call(NULL ret)", b_ffi_call_null_ret, GORT_EINVAL},
    {"ffi_call(NULL arg)", b_ffi_call_null_arg, GORT_EINVAL},
    {"ffi_closure_make(NULL handler)", b_closure_null_handler, GORT_EINVAL},
    {"ffi_closure_make(released sig)", b_closure_dead_sig, GORT_EINVAL},
    {"ffi_closure_release twice", b_closure_release_twice, GORT_EINVAL},
    {"ffi_sig_release twice", b_sig_release_dead, GORT_EINVAL},
    {"go_ex(unknown flag)", b_go_ex_bad_flags, GORT_EINVAL},
    {"go_ex(0.1 struct)", b_go_ex_v1_struct, GORT_OK},
    {"chan_send_timeout(released)", b_send_timeout_dead, GORT_EINVAL},
    {"chan_send_timeout(NULL elem)", b_send_timeout_null_elem, GORT_EINVAL},
    {"chan_recv_timeout(released)", b_recv_timeout_dead, GORT_EINVAL},
    {"chan_recv_timeout(empty, 1 ms)", b_recv_timeout_empty, GORT_ETIMEDOUT},
    {"chan_recv_timeout(empty, 0)", b_recv_timeout_zero, GORT_ETIMEDOUT},
    {"select_timeout(NULL chosen)", b_select_timeout_null_chosen, GORT_EINVAL},
    {"select_timeout(none ready)", b_select_timeout_none_ready, GORT_ETIMEDOUT},
    {"select_timeout(no cases)", b_select_timeout_no_cases, GORT_ETIMEDOUT},
    {"chan_retain(released)", b_chan_retain_dead, GORT_EINVAL},
    {"waitgroup_wait_timeout(released)", b_wg_wait_timeout_dead, GORT_EINVAL},
    {"waitgroup_retain(released)", b_wg_retain_dead, GORT_EINVAL},
    {"waitgroup_wait_timeout(pending)", b_wg_wait_timeout_pending, GORT_ETIMEDOUT},
    {"mutex_lock_timeout(released)", b_mutex_lock_timeout_dead, GORT_EINVAL},
    {"mutex_retain(released)", b_mutex_retain_dead, GORT_EINVAL},
    {"mutex_lock_timeout(held)", b_mutex_lock_timeout_held, GORT_ETIMEDOUT},
    {"blocking_begin twice", b_blocking_unbalanced, GORT_EINVAL},
    {"blocking on a plain thread", b_blocking_plain_thread, GORT_OK},
    {"trace_start(NULL)", b_trace_start_null, GORT_EINVAL},
    {"dump_goroutines(-1)", b_dump_bad_fd, GORT_EINVAL},
    {"chan_make(elem 0)", b_chan_make_elem0, GORT_OK},
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

    run_rows(bad_input, sizeof bad_input / sizeof bad_input[0], "running");

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
