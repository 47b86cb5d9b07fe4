/**
 * \file gort.h
 * \brief The C interface of gort, a Go-style goroutine runtime.
 *
 * **Goroutines are cooperative.** A goroutine keeps its processor (P) until
 * it parks (a channel operation, a sleep, a lock, gort_gosched). Blocking or
 * long-running C code must go through gort_cgocall (or a blocking region,
 * gort_blocking_begin / gort_blocking_end, coming soon), or it holds its P
 * and the goroutines queued behind it wait.
 *
 * Link with `-lgort` (pkg-config: `gort`; CMake: `find_package(gort)`,
 * target `gort::gort`). The names, types and behaviours here are a stable
 * contract. The user guide (docs/guide.md) explains the terms used here:
 * goroutine, M, P, the template thread, cgocall, callbacks, locked threads.
 *
 * Conventions
 *   - Functions return int status: #GORT_OK (0) or a negative `GORT_E*` code,
 *     unless a result is named. gort_strerror() describes every code.
 *   - Every function may be called from any thread. A thread that is not
 *     running a goroutine (the C main thread, a thread C created) gets
 *     goroutine context through the callback path: an M is bound to the
 *     thread until it exits, and blocking calls block that thread only,
 *     never the scheduler.
 *   - Before gort_init and after gort_shutdown, calls return #GORT_ENOTINIT
 *     (constructors return NULL with errno = EPERM), except gort_config_init,
 *     gort_set_thread_start, gort_strerror, gort_version and gort_init.
 *   - Structs that may grow start with a `struct_size` field: set it to
 *     sizeof the struct (gort_config_init does it for gort_config).
 *   - Handles (gort_chan, gort_waitgroup, gort_mutex, gort_ffi_sig,
 *     gort_ffi_closure) are checked: a released or foreign handle gets
 *     #GORT_EINVAL, never a crash. A handle released by its creator stays
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

/** \brief Major version of this header. */
#define GORT_VERSION_MAJOR 0
/** \brief Minor version of this header. */
#define GORT_VERSION_MINOR 1
/** \brief Patch level of this header. */
#define GORT_VERSION_PATCH 0
/** \brief The version as one number:
 * GORT_VERSION_MAJOR * 10000 + GORT_VERSION_MINOR * 100 + GORT_VERSION_PATCH
 * (compare with gort_version() for the library in use). */
#define GORT_VERSION (GORT_VERSION_MAJOR * 10000 + GORT_VERSION_MINOR * 100 + GORT_VERSION_PATCH)

#if defined(__GNUC__)
/** \brief Marks the exported symbols of libgort (default visibility). */
#define GORT_API __attribute__((visibility("default")))
#else
/** \brief Marks the exported symbols of libgort (empty on this compiler). */
#define GORT_API
#endif

/** \name Status codes
 * Every function that returns int status returns one of these.
 * \{ */
/** \brief Success. */
#define GORT_OK 0
/** \brief Invalid argument (including a released or foreign handle). */
#define GORT_EINVAL (-1)
/** \brief The runtime is not initialised (before gort_init, after gort_shutdown). */
#define GORT_ENOTINIT (-2)
/** \brief The runtime is already initialised. */
#define GORT_EALREADY (-3)
/** \brief Out of memory. */
#define GORT_ENOMEM (-4)
/** \brief The operation would block (the non-blocking forms). */
#define GORT_EAGAIN (-5)
/** \brief The channel is closed. */
#define GORT_ECLOSED (-6)
/** \brief A counter would overflow (gort_lock_os_thread nesting). */
#define GORT_EOVERFLOW (-7)
/** \brief Busy: goroutines remain, or the call is not allowed at this moment. */
#define GORT_EBUSY (-8)
/** \brief Timed out. */
#define GORT_ETIMEDOUT (-9)
/** \brief Goroutine context required. */
#define GORT_ENOTGOROUTINE (-10)
/** \brief A thread could not be created. */
#define GORT_ETHREAD (-11)
/** \brief Not supported. */
#define GORT_ENOTSUP (-12)
/** \} */

/** \brief A function run by the runtime: a goroutine's body, C code for
 * gort_cgocall, a callback, a thread's start routine.
 * \param arg the pointer given with the function */
typedef void (*gort_fn)(void *arg);

/* ---- version and errors ------------------------------------------------ */

/** \brief The version of the library in use.
 * \return #GORT_VERSION of the library (which may differ from the header's) */
GORT_API int gort_version(void);
/** \brief A message for a status code.
 * \param err a status code (#GORT_OK or a `GORT_E*` code)
 * \return a static string for every code ("unknown gort status code" for
 *         any other value); never NULL */
GORT_API const char *gort_strerror(int err);

/* ---- lifecycle --------------------------------------------------------- */

/** \brief Runtime configuration for gort_init; fill it with gort_config_init. */
typedef struct gort_config {
    uint32_t struct_size;   /**< sizeof(gort_config) as the caller knows it */
    int32_t maxprocs;       /**< GOMAXPROCS; 0: number of CPUs (or $GORT_MAXPROCS) */
    size_t stack_size;      /**< goroutine stack size; 0: 128 KiB */
    int32_t cgo;            /**< 1: threads through the thread-start hook (default);
                               0: native newosproc */
    int32_t schedtrace_ms;  /**< > 0: print a scheduler trace line to stderr every N ms */
    const char *trace_path; /**< Chrome trace output: not supported yet (#GORT_ENOTSUP) */
} gort_config;

/** \brief Fill *c with the defaults (and c->struct_size).
 * \param c the configuration to fill; NULL does nothing */
GORT_API void gort_config_init(gort_config *c);
/** \brief Start the runtime.
 * \param c the configuration; NULL: defaults, read from the environment
 *          ($GORT_MAXPROCS, $GORT_SCHEDTRACE in ms, $GORT_TRACE)
 * \return #GORT_OK; #GORT_EALREADY on a second call; #GORT_EINVAL for a bad
 *         configuration; #GORT_ENOTSUP for trace_path */
GORT_API int gort_init(const gort_config *c);
/** \brief Stop the runtime.
 *
 * Waits up to timeout_ns for every goroutine to finish, then stops every
 * runtime thread and frees the runtime's memory; gort_init may be called
 * again afterwards.
 * \param timeout_ns how long to wait for the goroutines, in nanoseconds
 * \return #GORT_OK; #GORT_EBUSY if goroutines remain (the runtime keeps
 *         running) or if called from a goroutine; #GORT_ENOTINIT */
GORT_API int gort_shutdown(int64_t timeout_ns);

/* ---- goroutines -------------------------------------------------------- */

/** \brief Options for gort_go_ex. */
typedef struct gort_go_opts {
    uint32_t struct_size; /**< sizeof(gort_go_opts) as the caller knows it */
    size_t stack_size;    /**< goroutine stack size; 0: the default */
    const char *name;     /**< shown in fatal-error dumps; copied; may be NULL */
} gort_go_opts;

/** \brief Spawn a goroutine running fn(arg).
 * \param fn the goroutine's body; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \return #GORT_OK, #GORT_EINVAL, #GORT_ENOMEM or #GORT_ENOTINIT */
GORT_API int gort_go(gort_fn fn, void *arg);
/** \brief Spawn a goroutine running fn(arg), with options.
 * \param o options (NULL: the defaults); a bad struct_size or stack size:
 *          #GORT_EINVAL
 * \param fn the goroutine's body; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \param goid_out if not NULL, gets the new goroutine's id
 * \return #GORT_OK, #GORT_EINVAL, #GORT_ENOMEM or #GORT_ENOTINIT */
GORT_API int gort_go_ex(const gort_go_opts *o, gort_fn fn, void *arg, int64_t *goid_out);
/** \brief The running goroutine's id.
 * \return the id (> 0), or 0 on a thread that is not running a goroutine */
GORT_API int64_t gort_goid(void);
/** \brief Yield the processor: let other goroutines run, then continue.
 * \return #GORT_OK or #GORT_ENOTINIT */
GORT_API int gort_gosched(void);
/** \brief Park the calling goroutine for at least ns nanoseconds.
 * \param ns the duration; <= 0 returns at once
 * \return #GORT_OK or #GORT_ENOTINIT */
GORT_API int gort_sleep(int64_t ns);
/** \brief Run fn(arg) as a goroutine locked to the calling thread.
 *
 * As Go's main goroutine owns the main thread; returns when fn finishes.
 * Deadlock detection watches it: if it and every other goroutine block for
 * good, the process aborts with Go's "all goroutines are asleep - deadlock!".
 * \param fn the goroutine's body; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \return #GORT_OK, #GORT_EINVAL, #GORT_ENOTINIT, or #GORT_EBUSY when the
 *         calling thread is already running a goroutine */
GORT_API int gort_run_main(gort_fn fn, void *arg);
/** \brief Go's LockOSThread: wire the calling goroutine to its thread.
 *
 * Counts nest; until as many gort_unlock_os_thread calls, the goroutine
 * runs only on this thread and no other goroutine runs there. A goroutine
 * that exits locked takes its thread with it (the runtime's threads only).
 * \return #GORT_OK, #GORT_EOVERFLOW on nesting overflow, #GORT_ENOTINIT */
GORT_API int gort_lock_os_thread(void);
/** \brief Go's UnlockOSThread: undo one gort_lock_os_thread.
 *
 * Unlocking when not locked does nothing.
 * \return #GORT_OK or #GORT_ENOTINIT */
GORT_API int gort_unlock_os_thread(void);
/** \brief Read or set GOMAXPROCS, the number of processors (Ps).
 * \param n the new value when n > 0; n <= 0 only reads
 * \return the previous value, or a negative status (#GORT_EINVAL when n is
 *         too large, #GORT_ENOTINIT) */
GORT_API int gort_gomaxprocs(int n);
/** \brief The number of live goroutines.
 * \return the count, or #GORT_ENOTINIT */
GORT_API int gort_num_goroutine(void);

/* ---- the C bridge ------------------------------------------------------ */

/** \brief Run blocking C code from a goroutine.
 *
 * fn(arg) runs on the thread's own stack while the goroutine's processor
 * may serve other goroutines. errno left by fn is the goroutine's
 * afterwards, even if it resumes on another thread. Off a goroutine, fn is
 * simply called.
 * \param fn the C code; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_cgocall(gort_fn fn, void *arg);
/** \brief Run fn(arg) as goroutine code, from any thread.
 *
 * Returns when fn finishes. Inside a gort_cgocall, fn runs on the calling
 * goroutine; callbacks nest. On a thread the runtime never saw, an extra M
 * is bound to the thread (until it exits) and fn runs as a goroutine locked
 * to it.
 * \param fn the goroutine code; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_callback(gort_fn fn, void *arg);

/** \brief What a thread-start hook is asked to start. */
typedef struct gort_thread_start {
    gort_fn fn;        /**< the new thread must call fn(arg) */
    void *arg;         /**< the argument for fn */
    size_t stack_size; /**< requested; 0: the thread library's default */
} gort_thread_start;

/** \brief A thread-start hook (Go's _cgo_thread_start).
 *
 * It must start a thread that calls ts->fn(ts->arg).
 * \param ts what to start; *ts is valid only during the call
 * \return 0, or an errno value */
typedef int (*gort_thread_start_fn)(const gort_thread_start *ts);

/** \brief Install the thread-start hook.
 *
 * The runtime creates its threads through the hook in cgo mode (Go's
 * _cgo_thread_start).
 * \param fn the hook; NULL restores the default (a detached pthread created
 *           with every signal blocked)
 * \return #GORT_OK, or #GORT_EBUSY when called after gort_init */
GORT_API int gort_set_thread_start(gort_thread_start_fn fn);

/** \brief Fork and exec, with no runtime thread being created meanwhile.
 *
 * Starts path with argv and envp, holding the runtime's execLock for
 * writing. The child starts with the caller's signal mask and default
 * signal actions.
 * \param path the program to run
 * \param argv its NULL-terminated argument vector
 * \param envp its NULL-terminated environment; NULL: the current one
 * \param pid gets the child's id
 * \return #GORT_OK, #GORT_EINVAL (bad arguments; errno tells more for a
 *         failed exec), #GORT_ENOMEM, #GORT_EAGAIN or #GORT_ENOTINIT */
GORT_API int gort_fork_exec(const char *path, char *const argv[], char *const envp[], pid_t *pid);

/* ---- channels ---------------------------------------------------------- */

/** \brief A channel of fixed-size elements (a checked handle). */
typedef struct gort_chan gort_chan;

/** \brief Make a channel.
 * \param elem_size bytes per element
 * \param cap buffer slots; 0: unbuffered
 * \return the channel, or NULL with errno set on bad input (EINVAL), no
 *         memory (ENOMEM) or no runtime (EPERM) */
GORT_API gort_chan *gort_chan_make(size_t elem_size, size_t cap);
/** \brief Send: block until *elem is delivered.
 * \param ch the channel
 * \param elem the value (elem_size bytes are copied)
 * \return #GORT_OK; #GORT_ECLOSED if the channel is (or gets) closed;
 *         #GORT_EINVAL; #GORT_ENOTINIT */
GORT_API int gort_chan_send(gort_chan *ch, const void *elem);
/** \brief Receive: block until a value or close.
 * \param ch the channel
 * \param out gets the value; zeroed once closed and drained; may be NULL
 * \param ok gets 1 with a value, 0 once closed and drained; may be NULL
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_chan_recv(gort_chan *ch, void *out, int *ok);
/** \brief Send if it can be done without blocking.
 * \param ch the channel
 * \param elem the value
 * \return #GORT_OK, #GORT_EAGAIN when it would block, #GORT_ECLOSED,
 *         #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_chan_try_send(gort_chan *ch, const void *elem);
/** \brief Receive if it can be done without blocking.
 * \param ch the channel
 * \param out gets the value, as for gort_chan_recv; may be NULL
 * \param ok gets 1 with a value, 0 once closed and drained; may be NULL
 * \return #GORT_OK, #GORT_EAGAIN when it would block, #GORT_EINVAL or
 *         #GORT_ENOTINIT */
GORT_API int gort_chan_try_recv(gort_chan *ch, void *out, int *ok);
/** \brief Close the channel, waking every waiter.
 * \param ch the channel
 * \return #GORT_OK; #GORT_ECLOSED on a second close; #GORT_EINVAL;
 *         #GORT_ENOTINIT */
GORT_API int gort_chan_close(gort_chan *ch);
/** \brief Drop the creator's reference.
 * \param ch the channel
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_chan_release(gort_chan *ch);
/** \brief The number of buffered elements.
 * \param ch the channel
 * \return the count (0 for an invalid handle) */
GORT_API size_t gort_chan_len(gort_chan *ch);
/** \brief The capacity.
 * \param ch the channel
 * \return the buffer slots (0 for an invalid handle) */
GORT_API size_t gort_chan_cap(gort_chan *ch);

/** \brief gort_select_case::dir of a send case. */
#define GORT_SELECT_SEND 1
/** \brief gort_select_case::dir of a receive case. */
#define GORT_SELECT_RECV 2

/** \brief One case of gort_select. */
typedef struct gort_select_case {
    gort_chan *ch; /**< NULL: never ready (Go's nil channel) */
    int dir;       /**< #GORT_SELECT_SEND or #GORT_SELECT_RECV */
    void *elem;    /**< value to send, or buffer to receive into (may be NULL) */
    int ok;        /**< set for a receive: 1 value, 0 closed */
} gort_select_case;

/** \brief Go's select over n cases, choosing uniformly among ready ones.
 * \param cases the cases
 * \param n the number of cases
 * \param block 0 behaves as `default:` (#GORT_EAGAIN when none is ready)
 * \param chosen gets the index of the case that ran
 * \return #GORT_OK; #GORT_EAGAIN; #GORT_ECLOSED when a chosen send case's
 *         channel is closed; #GORT_EINVAL; #GORT_ENOTINIT */
GORT_API int gort_select(gort_select_case *cases, size_t n, int block, size_t *chosen);

/* ---- sync -------------------------------------------------------------- */

/** \brief Go's sync.WaitGroup (a checked handle). */
typedef struct gort_waitgroup gort_waitgroup;
/** \brief Make a wait group (counter 0).
 * \return the wait group, or NULL with errno set (ENOMEM; EPERM with no
 *         runtime) */
GORT_API gort_waitgroup *gort_waitgroup_make(void);
/** \brief Add delta to the counter.
 * \param wg the wait group
 * \param delta the change (may be negative)
 * \return #GORT_OK; #GORT_EINVAL if the counter would go below zero (it is
 *         unchanged) or for a bad handle; #GORT_ENOTINIT */
GORT_API int gort_waitgroup_add(gort_waitgroup *wg, int64_t delta);
/** \brief Decrement the counter by one.
 * \param wg the wait group
 * \return as gort_waitgroup_add with delta -1 */
GORT_API int gort_waitgroup_done(gort_waitgroup *wg);
/** \brief Block until the counter is zero.
 * \param wg the wait group
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_waitgroup_wait(gort_waitgroup *wg);
/** \brief Drop the creator's reference.
 * \param wg the wait group
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_waitgroup_release(gort_waitgroup *wg);

/** \brief Go's sync.Mutex, parking goroutines (a checked handle). */
typedef struct gort_mutex gort_mutex;
/** \brief Make an unlocked mutex.
 * \return the mutex, or NULL with errno set (ENOMEM; EPERM with no runtime) */
GORT_API gort_mutex *gort_mutex_make(void);
/** \brief Lock, blocking until the mutex is free.
 * \param mu the mutex
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_mutex_lock(gort_mutex *mu);
/** \brief Unlock.
 * \param mu the mutex
 * \return #GORT_OK; #GORT_EINVAL when not locked or for a bad handle;
 *         #GORT_ENOTINIT */
GORT_API int gort_mutex_unlock(gort_mutex *mu);
/** \brief Drop the creator's reference.
 * \param mu the mutex
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_mutex_release(gort_mutex *mu);

/* ---- libffi calls and closures ----------------------------------------- */

/** \name ffi type codes
 * Types of ffi return values and arguments.
 * \{ */
/** \brief void (return type only). */
#define GORT_FFI_VOID 0
/** \brief int8_t. */
#define GORT_FFI_INT8 1
/** \brief uint8_t. */
#define GORT_FFI_UINT8 2
/** \brief int16_t. */
#define GORT_FFI_INT16 3
/** \brief uint16_t. */
#define GORT_FFI_UINT16 4
/** \brief int32_t. */
#define GORT_FFI_INT32 5
/** \brief uint32_t. */
#define GORT_FFI_UINT32 6
/** \brief int64_t. */
#define GORT_FFI_INT64 7
/** \brief uint64_t. */
#define GORT_FFI_UINT64 8
/** \brief float. */
#define GORT_FFI_FLOAT 9
/** \brief double. */
#define GORT_FFI_DOUBLE 10
/** \brief any data pointer (void *). */
#define GORT_FFI_POINTER 11
/** \} */

/** \brief A call signature for gort_ffi_call and closures (a checked handle). */
typedef struct gort_ffi_sig gort_ffi_sig;
/** \brief A C function pointer that calls a handler (a checked handle). */
typedef struct gort_ffi_closure gort_ffi_closure;

/** \brief Build a call signature.
 * \param rtype the return type, a `GORT_FFI_*` code
 * \param argtypes nargs argument types, `GORT_FFI_*` codes (#GORT_FFI_VOID
 *                 only as a return type)
 * \param nargs the number of arguments
 * \return the signature, or NULL with errno set on bad input */
GORT_API gort_ffi_sig *gort_ffi_sig_make(int rtype, const int *argtypes, size_t nargs);
/** \brief Release a signature.
 * \param sig the signature
 * \return #GORT_OK or #GORT_EINVAL */
GORT_API int gort_ffi_sig_release(gort_ffi_sig *sig);
/** \brief Call fn with the signature, as a gort_cgocall.
 * \param sig the signature
 * \param fn the function to call
 * \param ret receives the result (at least 8 bytes); may be NULL for VOID
 * \param args args[i] points at the i-th argument's value
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_ffi_call(gort_ffi_sig *sig, void (*fn)(void), void *ret, void **args);

/** \brief A closure handler.
 *
 * It runs as goroutine code (through gort_callback), on whatever thread C
 * calls the closure from.
 * \param ret where the result goes
 * \param args args[i] points at the i-th argument
 * \param userdata the pointer given to gort_ffi_closure_make */
typedef void (*gort_ffi_handler)(void *ret, void **args, void *userdata);
/** \brief Make a C function pointer with the signature that calls handler.
 * \param sig the signature; it must outlive the closure
 * \param handler called for every call of *code
 * \param userdata passed to handler
 * \param code gets the C function pointer
 * \return the closure, or NULL with errno set on bad input */
GORT_API gort_ffi_closure *gort_ffi_closure_make(gort_ffi_sig *sig, gort_ffi_handler handler,
                                                 void *userdata, void (**code)(void));
/** \brief Release a closure.
 * \param c the closure
 * \return #GORT_OK or #GORT_EINVAL */
GORT_API int gort_ffi_closure_release(gort_ffi_closure *c);

/* ---- statistics -------------------------------------------------------- */

/** \brief Runtime counters, filled by gort_get_stats. */
typedef struct gort_stats {
    uint32_t struct_size; /**< sizeof(gort_stats) as the caller knows it; set by gort_get_stats
                               to the bytes it filled */
    int32_t maxprocs;     /**< GOMAXPROCS */
    /** \brief goroutines: live now; created since gort_init */
    /**@{*/
    uint64_t goroutines_live, goroutines_created;
    /**@}*/
    /** \brief Ms (OS threads of the runtime): all; idle (parked) */
    /**@{*/
    uint64_t ms_total, ms_idle;
    /**@}*/
    /** \brief Ms created natively (newosproc); created through the thread-start hook; of
     * those, created by the template thread because the caller was locked or in C */
    /**@{*/
    uint64_t ms_created_native, ms_created_hook, template_handoffs;
    /**@}*/
    /** \brief Ms whose goroutine exited locked (the thread went with it); thread creations
     * that failed */
    /**@{*/
    uint64_t ms_exited_locked, thread_create_failures;
    /**@}*/
    /** \brief gort_cgocall calls; callbacks; foreign threads bound to an extra M; extra Ms
     * bound now */
    /**@{*/
    uint64_t cgocalls, callbacks, foreign_threads_bound, extra_ms_in_use;
    /**@}*/
    /** \brief Ps retaken by sysmon from Ms blocked in C or a syscall; goroutines stolen
     * from other Ps' run queues */
    /**@{*/
    uint64_t p_retakes, steals;
    /**@}*/
    /* Since 0.1 (check struct_size): */
    uint64_t thread_create_retries; /**< EAGAIN retries of thread creation (since 0.1) */
    uint64_t extra_ms_pooled;       /**< extra Ms waiting for a foreign thread (since 0.1) */
    uint64_t handoffs;              /**< Ps handed from a blocked M to another (since 0.1) */
} gort_stats;

/** \brief Read the runtime's counters.
 * \param s the struct to fill
 * \param size sizeof *s as the caller knows it (older, shorter structs work)
 * \return #GORT_OK; #GORT_EINVAL for NULL or too small a size;
 *         #GORT_ENOTINIT */
GORT_API int gort_get_stats(gort_stats *s, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* GORT_H */
