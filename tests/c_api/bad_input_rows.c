/* The rows of bad_input_test.c run while the runtime runs: every function
 * of gort.h given NULL pointers, zero and huge sizes, wrong struct_size,
 * released, stale and foreign handles, double close and release. Each row
 * is one call and the status it must return. Compiled as C. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bad_input.h"
#include "gort.h"

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

const struct row bad_input_rows[] = {
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

const size_t n_bad_input_rows = sizeof bad_input_rows / sizeof bad_input_rows[0];
