/*
 * gort.h: the C interface of gort, a Go-style goroutine runtime.
 *
 * Link with -lgort (pkg-config: gort; CMake: find_package(gort), target
 * gort::gort). The names, types and behaviours here are a stable contract.
 *
 * Conventions
 *   - Functions return int status: GORT_OK (0) or a negative GORT_E* code,
 *     unless a result is named. gort_strerror() describes every code.
 *   - Every function may be called from any thread. A thread that is not
 *     running a goroutine (the C main thread, a thread C created) gets
 *     goroutine context through the callback path: an M is bound to the
 *     thread until it exits, and blocking calls block that thread only,
 *     never the scheduler.
 *   - Before gort_init and after gort_shutdown, calls return GORT_ENOTINIT
 *     (constructors return NULL with errno = EPERM), except gort_config_init,
 *     gort_set_thread_start, gort_strerror, gort_version and gort_init.
 *   - Structs that may grow start with a struct_size field: set it to
 *     sizeof the struct (gort_config_init does it for gort_config).
 *   - Handles (gort_chan, gort_waitgroup, gort_mutex, gort_ffi_sig,
 *     gort_ffi_closure) are checked: a released or foreign handle gets
 *     GORT_EINVAL, never a crash. A handle released by its creator stays
 *     valid for the operations in progress on it.
 */
#ifndef GORT_H
#define GORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GORT_VERSION_MAJOR 0
#define GORT_VERSION_MINOR 1
#define GORT_VERSION_PATCH 0
/* GORT_VERSION_MAJOR * 10000 + GORT_VERSION_MINOR * 100 + GORT_VERSION_PATCH */
#define GORT_VERSION (GORT_VERSION_MAJOR * 10000 + GORT_VERSION_MINOR * 100 + GORT_VERSION_PATCH)

#if defined(__GNUC__)
#define GORT_API __attribute__((visibility("default")))
#else
#define GORT_API
#endif

/* Status codes. */
#define GORT_OK 0
#define GORT_EINVAL (-1)         /* invalid argument */
#define GORT_ENOTINIT (-2)       /* the runtime is not initialised */
#define GORT_EALREADY (-3)       /* the runtime is already initialised */
#define GORT_ENOMEM (-4)         /* out of memory */
#define GORT_EAGAIN (-5)         /* the operation would block */
#define GORT_ECLOSED (-6)        /* the channel is closed */
#define GORT_EOVERFLOW (-7)      /* a counter would overflow */
#define GORT_EBUSY (-8)          /* busy: goroutines remain, or wrong moment */
#define GORT_ETIMEDOUT (-9)      /* timed out */
#define GORT_ENOTGOROUTINE (-10) /* goroutine context required */
#define GORT_ETHREAD (-11)       /* a thread could not be created */
#define GORT_ENOTSUP (-12)       /* not supported */

typedef void (*gort_fn)(void *arg);

/* ---- version and errors ------------------------------------------------ */

/* gort_version returns GORT_VERSION of the library in use. */
GORT_API int gort_version(void);
/* gort_strerror returns a message for every status code. */
GORT_API const char *gort_strerror(int err);

/* ---- lifecycle --------------------------------------------------------- */

typedef struct gort_config {
    uint32_t struct_size;
    int32_t maxprocs;       /* 0: number of CPUs (or $GORT_MAXPROCS) */
    size_t stack_size;      /* goroutine stack size; 0: 128 KiB */
    int32_t cgo;            /* 1: threads through the thread-start hook (default);
                               0: native newosproc */
    int32_t schedtrace_ms;  /* > 0: print a scheduler trace line to stderr every N ms */
    const char *trace_path; /* Chrome trace output: not supported yet (GORT_ENOTSUP) */
} gort_config;

/* gort_config_init fills *c with the defaults. */
GORT_API void gort_config_init(gort_config *c);
/* gort_init starts the runtime. c == NULL: defaults, read from the
 * environment ($GORT_MAXPROCS, $GORT_SCHEDTRACE in ms, $GORT_TRACE). A second
 * call returns GORT_EALREADY. */
GORT_API int gort_init(const gort_config *c);
/* gort_shutdown waits up to timeout_ns for every goroutine to finish, then
 * stops every runtime thread and frees the runtime's memory; gort_init may
 * be called again afterwards. GORT_EBUSY if goroutines remain (the runtime
 * keeps running) or if called from a goroutine. */
GORT_API int gort_shutdown(int64_t timeout_ns);

/* ---- goroutines -------------------------------------------------------- */

typedef struct gort_go_opts {
    uint32_t struct_size;
    size_t stack_size; /* 0: the default */
    const char *name;  /* shown in fatal-error dumps; copied */
} gort_go_opts;

/* gort_go spawns a goroutine running fn(arg). */
GORT_API int gort_go(gort_fn fn, void *arg);
/* gort_go_ex spawns with options; *goid_out (if not NULL) gets its id. */
GORT_API int gort_go_ex(const gort_go_opts *o, gort_fn fn, void *arg, int64_t *goid_out);
/* gort_goid returns the running goroutine's id, 0 on a thread that is not
 * running one. */
GORT_API int64_t gort_goid(void);
/* gort_gosched yields the processor. */
GORT_API int gort_gosched(void);
/* gort_sleep parks the calling goroutine for at least ns nanoseconds. */
GORT_API int gort_sleep(int64_t ns);
/* gort_run_main runs fn(arg) as a goroutine locked to the calling thread
 * (as Go's main goroutine owns the main thread) and returns when it
 * finishes. Deadlock detection watches it: if it and every other goroutine
 * block for good, the process aborts with Go's
 * "all goroutines are asleep - deadlock!". */
GORT_API int gort_run_main(gort_fn fn, void *arg);
/* Go's LockOSThread/UnlockOSThread: nested counts; unlocking when not
 * locked does nothing; nesting overflow: GORT_EOVERFLOW. A goroutine that
 * exits locked takes its thread with it (the runtime's threads only). */
GORT_API int gort_lock_os_thread(void);
GORT_API int gort_unlock_os_thread(void);
/* gort_gomaxprocs sets GOMAXPROCS when n > 0; returns the previous value
 * (or a negative status). */
GORT_API int gort_gomaxprocs(int n);
/* gort_num_goroutine returns the number of live goroutines. */
GORT_API int gort_num_goroutine(void);

/* ---- the C bridge ------------------------------------------------------ */

/* gort_cgocall runs blocking C code from a goroutine: fn(arg) runs on the
 * thread's own stack while the goroutine's processor may serve other
 * goroutines. errno left by fn is the goroutine's afterwards, even if it
 * resumes on another thread. Off a goroutine, fn is simply called. */
GORT_API int gort_cgocall(gort_fn fn, void *arg);
/* gort_callback runs fn(arg) as goroutine code, from any thread, and
 * returns when it finishes. Inside a gort_cgocall, fn runs on the calling
 * goroutine; callbacks nest. */
GORT_API int gort_callback(gort_fn fn, void *arg);

typedef struct gort_thread_start {
    gort_fn fn;
    void *arg;
    size_t stack_size; /* requested; 0: the thread library's default */
} gort_thread_start;

/* A thread-start hook must start a thread that calls ts->fn(ts->arg) (*ts is
 * valid only during the call) and return 0 or an errno value. */
typedef int (*gort_thread_start_fn)(const gort_thread_start *ts);

/* gort_set_thread_start installs the hook through which the runtime creates
 * its threads in cgo mode (Go's _cgo_thread_start): call it before gort_init
 * (else GORT_EBUSY); NULL restores the default (a detached pthread created
 * with every signal blocked). */
GORT_API int gort_set_thread_start(gort_thread_start_fn fn);

/* gort_fork_exec starts path with argv and envp (NULL: the current
 * environment), holding the runtime's execLock for writing so that no
 * thread is being created meanwhile; *pid gets the child's id. The child
 * starts with the caller's signal mask and default signal actions. Returns
 * GORT_OK, GORT_EINVAL (bad arguments; errno tells more for a failed
 * exec), GORT_ENOMEM or GORT_EAGAIN. */
GORT_API int gort_fork_exec(const char *path, char *const argv[], char *const envp[], pid_t *pid);

/* ---- channels ---------------------------------------------------------- */

typedef struct gort_chan gort_chan;

/* gort_chan_make makes a channel of elem_size-byte elements with cap slots
 * (0: unbuffered). NULL with errno set on bad input (EINVAL) or no memory. */
GORT_API gort_chan *gort_chan_make(size_t elem_size, size_t cap);
/* gort_chan_send blocks until *elem is delivered; GORT_ECLOSED if the
 * channel is (or gets) closed. */
GORT_API int gort_chan_send(gort_chan *ch, const void *elem);
/* gort_chan_recv blocks until a value or close: *ok = 1 with a value,
 * *ok = 0 (and *out zeroed) once closed and drained. out and ok may be
 * NULL. */
GORT_API int gort_chan_recv(gort_chan *ch, void *out, int *ok);
/* The non-blocking forms return GORT_EAGAIN when they would block. */
GORT_API int gort_chan_try_send(gort_chan *ch, const void *elem);
GORT_API int gort_chan_try_recv(gort_chan *ch, void *out, int *ok);
/* gort_chan_close wakes every waiter; a second close: GORT_ECLOSED. */
GORT_API int gort_chan_close(gort_chan *ch);
/* gort_chan_release drops the creator's reference. */
GORT_API int gort_chan_release(gort_chan *ch);
/* Buffered elements and capacity (0 for an invalid handle). */
GORT_API size_t gort_chan_len(gort_chan *ch);
GORT_API size_t gort_chan_cap(gort_chan *ch);

#define GORT_SELECT_SEND 1
#define GORT_SELECT_RECV 2

typedef struct gort_select_case {
    gort_chan *ch; /* NULL: never ready (Go's nil channel) */
    int dir;       /* GORT_SELECT_SEND or GORT_SELECT_RECV */
    void *elem;    /* value to send, or buffer to receive into (may be NULL) */
    int ok;        /* set for a receive: 1 value, 0 closed */
} gort_select_case;

/* gort_select is Go's select over n cases, choosing uniformly among ready
 * ones; *chosen gets the index. block == 0 behaves as `default:`
 * (GORT_EAGAIN when none is ready). A send case on a closed channel that
 * is chosen returns GORT_ECLOSED. */
GORT_API int gort_select(gort_select_case *cases, size_t n, int block, size_t *chosen);

/* ---- sync -------------------------------------------------------------- */

typedef struct gort_waitgroup gort_waitgroup;
GORT_API gort_waitgroup *gort_waitgroup_make(void);
/* add: counter below zero is GORT_EINVAL (the counter is unchanged). */
GORT_API int gort_waitgroup_add(gort_waitgroup *wg, int64_t delta);
GORT_API int gort_waitgroup_done(gort_waitgroup *wg);
GORT_API int gort_waitgroup_wait(gort_waitgroup *wg);
GORT_API int gort_waitgroup_release(gort_waitgroup *wg);

typedef struct gort_mutex gort_mutex;
GORT_API gort_mutex *gort_mutex_make(void);
GORT_API int gort_mutex_lock(gort_mutex *mu);
/* unlock when not locked: GORT_EINVAL. */
GORT_API int gort_mutex_unlock(gort_mutex *mu);
GORT_API int gort_mutex_release(gort_mutex *mu);

/* ---- libffi calls and closures ----------------------------------------- */

#define GORT_FFI_VOID 0
#define GORT_FFI_INT8 1
#define GORT_FFI_UINT8 2
#define GORT_FFI_INT16 3
#define GORT_FFI_UINT16 4
#define GORT_FFI_INT32 5
#define GORT_FFI_UINT32 6
#define GORT_FFI_INT64 7
#define GORT_FFI_UINT64 8
#define GORT_FFI_FLOAT 9
#define GORT_FFI_DOUBLE 10
#define GORT_FFI_POINTER 11

typedef struct gort_ffi_sig gort_ffi_sig;
typedef struct gort_ffi_closure gort_ffi_closure;

/* gort_ffi_sig_make builds a call signature: return type and nargs argument
 * types, as GORT_FFI_* codes (VOID only as a return type). NULL with errno
 * set on bad input. */
GORT_API gort_ffi_sig *gort_ffi_sig_make(int rtype, const int *argtypes, size_t nargs);
GORT_API int gort_ffi_sig_release(gort_ffi_sig *sig);
/* gort_ffi_call calls fn with the signature, as a gort_cgocall: args[i]
 * points at the i-th argument's value, *ret receives the result (at least
 * 8 bytes; may be NULL for VOID). */
GORT_API int gort_ffi_call(gort_ffi_sig *sig, void (*fn)(void), void *ret, void **args);

/* A closure handler: args[i] points at the i-th argument, *ret is where the
 * result goes. It runs as goroutine code (through gort_callback), on
 * whatever thread C calls the closure from. */
typedef void (*gort_ffi_handler)(void *ret, void **args, void *userdata);
/* gort_ffi_closure_make makes a C function pointer (*code) with the
 * signature that calls handler. The signature must outlive the closure. */
GORT_API gort_ffi_closure *gort_ffi_closure_make(gort_ffi_sig *sig, gort_ffi_handler handler,
                                                 void *userdata, void (**code)(void));
GORT_API int gort_ffi_closure_release(gort_ffi_closure *c);

/* ---- statistics -------------------------------------------------------- */

typedef struct gort_stats {
    uint32_t struct_size;
    int32_t maxprocs;
    uint64_t goroutines_live, goroutines_created;
    uint64_t ms_total, ms_idle;
    uint64_t ms_created_native, ms_created_hook, template_handoffs;
    uint64_t ms_exited_locked, thread_create_failures;
    uint64_t cgocalls, callbacks, foreign_threads_bound, extra_ms_in_use;
    uint64_t p_retakes, steals;
    /* Since 0.1 (check struct_size): */
    uint64_t thread_create_retries; /* EAGAIN retries of thread creation */
    uint64_t extra_ms_pooled;       /* extra Ms waiting for a foreign thread */
    uint64_t handoffs;              /* Ps handed from a blocked M to another */
} gort_stats;

/* gort_get_stats fills *s (size: sizeof *s as the caller knows it). */
GORT_API int gort_get_stats(gort_stats *s, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* GORT_H */
