/**
 * \file gort.h
 * \brief The C interface of gort, a Go-style goroutine runtime.
 *
 * **Goroutines are cooperative.** A goroutine keeps its processor (P) until
 * it parks (a channel operation, a sleep, a lock, gort_gosched). Blocking or
 * long-running C code must go through gort_cgocall (or a blocking region,
 * gort_blocking_begin / gort_blocking_end), or it holds its P and the
 * goroutines queued behind it wait. sysmon notices a goroutine blocked in
 * the kernel that way within about a millisecond and lends the scheduler
 * another P meanwhile ($GORT_MAXLENT bounds it), and reports a goroutine
 * that holds its P for a second without a scheduling point
 * (#GORT_CONFIG_QUIET_STALLS, $GORT_STALLREPORT=0); a goroutine computing
 * without yielding keeps its P unless $GORT_LENDCPU=1. See the guide's
 * "Stall detection".
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
 *     gort_set_thread_start, gort_strerror, gort_version, gort_init and the
 *     ffi types, signatures and closures (gort_ffi_struct_make,
 *     gort_ffi_sig_make..., gort_ffi_closure_make...: they outlive a
 *     shutdown); gort_ffi_call needs the runtime.
 *   - In the child of a raw fork() (not gort_fork_exec), every call returns
 *     #GORT_ENOTSUP at once (constructors: NULL with errno = ENOTSUP),
 *     gort_init and gort_shutdown included: the child may exec or _exit.
 *   - Timeouts are in nanoseconds: a negative timeout waits forever, 0 tries
 *     once.
 *   - Structs that may grow start with a `struct_size` field: set it to
 *     sizeof the struct (gort_config_init does it for gort_config).
 *   - Handles (gort_chan, gort_waitgroup, gort_mutex, gort_ffi_sig,
 *     gort_ffi_closure) are checked: a released or foreign handle gets
 *     #GORT_EINVAL, never a crash. A handle is reference counted: it starts
 *     with one reference, `*_retain` takes another, `*_release` drops one,
 *     and the object goes with the last; operations in progress hold their
 *     own. The handle is invalid from that release on. A channel, wait
 *     group or mutex is freed in a batch soon after (a gort_after timer is
 *     cancelled then), a channel with a buffer of 64 KiB or more at once.
 *     gort_shutdown frees every channel, wait group and mutex still alive;
 *     a handle from before a shutdown gets #GORT_EINVAL after the next
 *     gort_init.
 */
#ifndef GORT_H
#define GORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "gort_version.h"

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
/** \brief Busy: goroutines remain at gort_shutdown, or gort_set_thread_start
 * was called after gort_init. */
#define GORT_EBUSY (-8)
/** \brief Timed out. */
#define GORT_ETIMEDOUT (-9)
/** \brief Goroutine context required. */
#define GORT_ENOTGOROUTINE (-10)
/** \brief A thread could not be created. */
#define GORT_ETHREAD (-11)
/** \brief Not supported (in the child of a raw fork(); a feature this build
 * lacks). */
#define GORT_ENOTSUP (-12)
/** \brief The call would wait for itself: gort_shutdown from a goroutine or
 * from C code a goroutine called, gort_run_main from a goroutine. */
#define GORT_EDEADLK (-13)
/** \} */

/** \brief A function run by the runtime: a goroutine's body, C code for
 * gort_cgocall, a callback, a thread's start routine.
 * \param arg the pointer given with the function */
typedef void (*gort_fn)(void* arg);

/* ---- version and errors ------------------------------------------------ */

/** \brief The version of the library in use.
 * \return #GORT_VERSION of the library (which may differ from the header's) */
GORT_API int gort_version(void);
/** \brief A message for a status code.
 * \param err a status code (#GORT_OK or a `GORT_E*` code)
 * \return a static string for every code ("unknown gort status code" for
 *         any other value); never NULL */
GORT_API const char* gort_strerror(int err);

/* ---- lifecycle --------------------------------------------------------- */

/** \name gort_config flags
 * Bits of gort_config::flags.
 * \{ */
/** \brief No stall report: do not print "goroutine N has run for 1.0s without
 * yielding" (the stall is still counted in gort_stats). $GORT_STALLREPORT=0
 * does the same. */
#define GORT_CONFIG_QUIET_STALLS 0x1u
/** \brief Abort the process (as Go does) when every goroutine is asleep for
 * good and no gort_run_main goroutine exists; by default the deadlock is
 * reported once on stderr and the process goes on. */
#define GORT_CONFIG_ABORT_ON_DEADLOCK 0x2u
/** \} */

/** \brief Runtime configuration for gort_init; fill it with gort_config_init.
 *
 * A field left 0 (or NULL) takes its value from the environment variable
 * named, if set, else the default; a field set explicitly wins. An
 * out-of-range value, in a field or in the environment, makes gort_init fail
 * with #GORT_EINVAL and a message on stderr naming it. */
typedef struct gort_config {
    uint32_t struct_size;   /**< sizeof(gort_config) as the caller knows it */
    int32_t maxprocs;       /**< GOMAXPROCS, 1..1024; 0: $GORT_MAXPROCS, else the number of
                                 CPUs available to the process */
    size_t stack_size;      /**< goroutine stack size, 16 KiB..1 GiB (rounded to pages);
                                 0: 128 KiB */
    int32_t cgo;            /**< 1: threads through the thread-start hook (default);
                                 0: native newosproc */
    int32_t schedtrace_ms;  /**< > 0: print Go's SCHED line to stderr every N ms; 0:
                                 $GORT_SCHEDTRACE (ms), else off */
    const char* trace_path; /**< write a Chrome trace (JSON) of the scheduler there; NULL:
                                 $GORT_TRACE, else off (see gort_trace_start) */
    /* Since 0.2 (check struct_size): */
    int32_t max_lent_procs; /**< Ps sysmon may lend to the scheduler while goroutines stall in
                                 the kernel without telling the runtime, 1..1024; 0:
                                 $GORT_MAXLENT, else 16 or GOMAXPROCS if larger; -1: never
                                 lend (since 0.2) */
    int32_t scheddetail;    /**< 1: with schedtrace_ms, Go's per-P, per-M and per-G detail
                                 lines; 0: $GORT_SCHEDDETAIL, else off (since 0.2) */
    uint32_t flags;         /**< `GORT_CONFIG_*` bits (since 0.2) */
} gort_config;

/** \brief Fill *c with the defaults (and c->struct_size).
 * \param c the configuration to fill; NULL does nothing */
GORT_API void gort_config_init(gort_config* c);
/** \brief Start the runtime.
 * \param c the configuration; NULL: gort_config_init's defaults (fields left
 *          0 read the environment, see gort_config)
 * \return #GORT_OK; #GORT_EALREADY on a second call; #GORT_EINVAL for a bad
 *         configuration (a message on stderr names it); #GORT_ETHREAD when
 *         the runtime's first threads could not be created (a failing
 *         thread-start hook: nothing is left behind); #GORT_ENOTSUP in the
 *         child of a raw fork() */
GORT_API int gort_init(const gort_config* c);
/** \brief Stop the runtime.
 *
 * Waits up to timeout_ns for every goroutine to finish, then stops every
 * runtime thread, frees the runtime's memory (every channel, wait group and
 * mutex still alive included) and returns once no runtime thread runs
 * library code any more (so libgort may be unloaded). gort_init may be
 * called again afterwards. A call racing it from another thread gets
 * #GORT_OK (it ran before) or #GORT_ENOTINIT (it did not), never a crash.
 * \param timeout_ns how long to wait for the goroutines, in nanoseconds; a
 *        negative value waits forever
 * \return #GORT_OK; #GORT_EBUSY if goroutines remain (the runtime keeps
 *         running); #GORT_EDEADLK when called from a goroutine or from C
 *         code a goroutine called (inside gort_cgocall); #GORT_ENOTINIT */
GORT_API int gort_shutdown(int64_t timeout_ns);

/* ---- goroutines -------------------------------------------------------- */

/** \brief gort_go_opts::flags: prefer resuming the goroutine on the M (thread)
 * that last ran it, when that M is free. A hint, never a lock: the goroutine
 * runs elsewhere rather than wait. */
#define GORT_GO_RESUME_AFFINITY 0x1u

/** \brief A switch hook (gort_go_opts::on_park, gort_go_opts::on_resume).
 * \param hook_arg gort_go_opts::hook_arg */
typedef void (*gort_hook_fn)(void* hook_arg);

/** \brief Options for gort_go_ex. */
typedef struct gort_go_opts {
    uint32_t struct_size; /**< sizeof(gort_go_opts) as the caller knows it */
    size_t stack_size;    /**< goroutine stack size; 0: the default */
    const char* name;     /**< shown in dumps and traces; copied; may be NULL */
    /* Since 0.2 (check struct_size): */
    uint32_t flags; /**< `GORT_GO_*` bits, e.g. #GORT_GO_RESUME_AFFINITY (since 0.2) */
    /** Runs on the goroutine's own stack immediately before every switch away
     * from it: a park (channel, select, sleep, lock, wait group), gort_gosched,
     * gort_mutex_unlock handing the mutex to a starving waiter,
     * a wait for a P after gort_cgocall or a blocking region, a callback
     * waiting for a P. It may call gort_blocking_begin/end and nothing that
     * parks; a switch made inside a hook runs no hooks. NULL: none (since
     * 0.2). */
    gort_hook_fn on_park;
    /** Runs on the goroutine's own stack immediately after every switch back
     * to it, on whatever M (thread) it resumed; same rules as on_park. Not
     * run when the goroutine first starts (since 0.2). */
    gort_hook_fn on_resume;
    void* hook_arg; /**< passed to on_park and on_resume (since 0.2) */
} gort_go_opts;

/** \brief Spawn a goroutine running fn(arg).
 * \param fn the goroutine's body; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \return #GORT_OK, #GORT_EINVAL, #GORT_ENOMEM or #GORT_ENOTINIT */
GORT_API int gort_go(gort_fn fn, void* arg);
/** \brief Spawn a goroutine running fn(arg), with options.
 * \param o options (NULL: the defaults); a bad struct_size, stack size or
 *          flag: #GORT_EINVAL
 * \param fn the goroutine's body; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \param goid_out if not NULL, gets the new goroutine's id
 * \return #GORT_OK, #GORT_EINVAL, #GORT_ENOMEM or #GORT_ENOTINIT */
GORT_API int gort_go_ex(const gort_go_opts* o, gort_fn fn, void* arg, int64_t* goid_out);
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
 * The main goroutine only ever runs on this thread. While it waits inside
 * gort, the thread runs other goroutines (it hosts them, as every thread
 * waiting in a gort call does), and the main goroutine resumes there at the
 * next scheduling point once it is ready; a hosted goroutine moves to
 * another thread before gort_lock_os_thread, gort_cgocall or
 * gort_blocking_begin (guide: "Locked threads"). Deadlock detection
 * watches it: if it and every other goroutine block for good, and no thread
 * outside the runtime can still wake one (see the guide: the detector sees
 * goroutines, timers and threads bound to the runtime, not plain threads
 * that may call in later), the process aborts with Go's "all goroutines are
 * asleep - deadlock!" and a dump of the goroutines.
 * \param fn the goroutine's body; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \return #GORT_OK, #GORT_EINVAL, #GORT_ENOTINIT, or #GORT_EDEADLK when
 *         called from a goroutine (it would wait for itself) */
GORT_API int gort_run_main(gort_fn fn, void* arg);
/** \brief Go's LockOSThread: wire the calling goroutine to its thread.
 *
 * Counts nest; until as many gort_unlock_os_thread calls, the goroutine
 * runs only on this thread and no other goroutine runs there (a thread that
 * waits in a gort call or gort_run_main runs other goroutines meanwhile
 * unless it called this). A goroutine that exits locked takes its thread
 * with it (the runtime's threads only). Called from a goroutine that a
 * waiting thread hosts, it first moves the goroutine to a thread of its
 * own: never the main thread or another C thread.
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
 *
 * Any call that may park can resume the goroutine on another thread, and C
 * compilers may keep the address of a thread-local variable across a call:
 * glibc declares `__errno_location` const, so in `errno = 0;
 * gort_cgocall(fn, a); if (errno == E) ...` the second errno may be the
 * first thread's. Read errno inside fn and pass it back through arg (or read
 * it in a separate non-inlined function).
 * \param fn the C code; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_cgocall(gort_fn fn, void* arg);
/** \brief Begin a blocking region: code that waits on something outside the
 * runtime (a C library's lock, the Python GIL) without calling it through
 * gort_cgocall.
 *
 * On a goroutine, it enters the system-call state exactly as a cgocall does:
 * its P may be handed to another M while the region lasts. Code inside the
 * region counts as C code: gort calls made there go through the callback
 * path, and a callback (gort_callback, an ffi closure) runs as the
 * goroutine, on its own stack, where the region's code runs; a region the
 * callback begins and ends is its own, and the outer region goes on when it
 * returns. On a thread that runs no goroutine (and in C code a goroutine
 * called) it does nothing.
 * \return #GORT_OK; #GORT_EINVAL for a second gort_blocking_begin inside a
 *         region; #GORT_ENOTINIT */
GORT_API int gort_blocking_begin(void);
/** \brief End a blocking region: reacquire a P (the goroutine may resume on
 * another M).
 * \return #GORT_OK; #GORT_EINVAL on a goroutine that is not in a region;
 *         #GORT_ENOTINIT */
GORT_API int gort_blocking_end(void);
/** \brief gort_blocking_end_try() exists (since 0.2): test it with `#ifdef`. */
#define GORT_HAVE_BLOCKING_END_TRY 1
/** \brief End a blocking region only if a P can be had at once, without
 * waiting (since 0.2).
 *
 * It takes back the P the region left, if nobody took it meanwhile, or an
 * idle one (Go's exitsyscallfast): then, as after gort_blocking_end, the
 * goroutine runs on. Otherwise it returns #GORT_EAGAIN and changes nothing:
 * the goroutine is still in the region, so the caller may release what it
 * holds (the Python GIL, say) and then call gort_blocking_end, which waits
 * for a P, or try again. On a thread that runs no goroutine (and in C code a
 * goroutine called) it does nothing and returns #GORT_OK, as
 * gort_blocking_end does.
 * \return #GORT_OK (the region ended); #GORT_EAGAIN (no P free now: still
 *         in the region); #GORT_EINVAL on a goroutine that is not in a
 *         region; #GORT_ENOTINIT */
GORT_API int gort_blocking_end_try(void);
/** \brief Run fn(arg) as goroutine code, from any thread.
 *
 * Returns when fn finishes. Inside a gort_cgocall, fn runs on the calling
 * goroutine; callbacks nest. On a thread the runtime never saw, an extra M
 * is bound to the thread (until it exits) and fn runs as a goroutine locked
 * to it.
 * \param fn the goroutine code; NULL: #GORT_EINVAL
 * \param arg passed to fn
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_callback(gort_fn fn, void* arg);

/** \brief What a thread-start hook is asked to start. */
typedef struct gort_thread_start {
    gort_fn fn;        /**< the new thread must call fn(arg) */
    void* arg;         /**< the argument for fn */
    size_t stack_size; /**< requested; 0: the thread library's default */
} gort_thread_start;

/** \brief A thread-start hook (Go's _cgo_thread_start).
 *
 * It must start a thread that calls ts->fn(ts->arg).
 * \param ts what to start; *ts is valid only during the call
 * \return 0, or an errno value */
typedef int (*gort_thread_start_fn)(const gort_thread_start* ts);

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
GORT_API int gort_fork_exec(const char* path, char* const argv[], char* const envp[], pid_t* pid);

/* ---- channels ---------------------------------------------------------- */

/** \brief A channel of fixed-size elements (a checked handle). */
typedef struct gort_chan gort_chan;

/** \brief Make a channel.
 * \param elem_size bytes per element, at most 64 KiB; 0 is allowed (Go's
 *        `chan struct{}`: values carry no data, elem and out may be NULL)
 * \param cap buffer slots; 0: unbuffered
 * \return the channel, or NULL with errno set on bad input (EINVAL), no
 *         memory (ENOMEM) or no runtime (EPERM) */
GORT_API gort_chan* gort_chan_make(size_t elem_size, size_t cap);
/** \brief Go's time.After: a channel that receives the fire time once.
 *
 * Its element is an int64_t, the CLOCK_MONOTONIC time in nanoseconds when
 * the timer fired; capacity 1; usable in gort_select. Releasing it (its
 * last reference) before it fires cancels the timer when the channel is
 * freed, in a batch soon after (see Handles above): it then costs nothing.
 * \param ns how long from now; <= 0 fires at once
 * \return the channel, or NULL with errno set (ENOMEM; EPERM with no
 *         runtime) */
GORT_API gort_chan* gort_after(int64_t ns);
/** \brief Send: block until *elem is delivered.
 * \param ch the channel
 * \param elem the value (elem_size bytes are copied; may be NULL when
 *        elem_size is 0)
 * \return #GORT_OK; #GORT_ECLOSED if the channel is (or gets) closed;
 *         #GORT_EINVAL; #GORT_ENOTINIT */
GORT_API int gort_chan_send(gort_chan* ch, const void* elem);
/** \brief gort_chan_send with a timeout.
 * \param ch the channel
 * \param elem the value
 * \param timeout_ns how long to wait; negative: forever; 0: try once
 * \return as gort_chan_send, or #GORT_ETIMEDOUT (nothing was sent) */
GORT_API int gort_chan_send_timeout(gort_chan* ch, const void* elem, int64_t timeout_ns);
/** \brief Receive: block until a value or close.
 * \param ch the channel
 * \param out gets the value; zeroed once closed and drained; may be NULL
 * \param ok gets 1 with a value, 0 once closed and drained; may be NULL
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_chan_recv(gort_chan* ch, void* out, int* ok);
/** \brief gort_chan_recv with a timeout.
 * \param ch the channel
 * \param out gets the value, as for gort_chan_recv; may be NULL
 * \param ok gets 1 with a value, 0 once closed and drained; may be NULL
 * \param timeout_ns how long to wait; negative: forever; 0: try once
 * \return as gort_chan_recv, or #GORT_ETIMEDOUT (nothing was received) */
GORT_API int gort_chan_recv_timeout(gort_chan* ch, void* out, int* ok, int64_t timeout_ns);
/** \brief Send if it can be done without blocking.
 * \param ch the channel
 * \param elem the value
 * \return #GORT_OK, #GORT_EAGAIN when it would block, #GORT_ECLOSED,
 *         #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_chan_try_send(gort_chan* ch, const void* elem);
/** \brief Receive if it can be done without blocking.
 * \param ch the channel
 * \param out gets the value, as for gort_chan_recv; may be NULL
 * \param ok gets 1 with a value, 0 once closed and drained; may be NULL
 * \return #GORT_OK, #GORT_EAGAIN when it would block, #GORT_EINVAL or
 *         #GORT_ENOTINIT */
GORT_API int gort_chan_try_recv(gort_chan* ch, void* out, int* ok);
/** \brief Close the channel, waking every waiter.
 * \param ch the channel
 * \return #GORT_OK; #GORT_ECLOSED on a second close; #GORT_EINVAL;
 *         #GORT_ENOTINIT */
GORT_API int gort_chan_close(gort_chan* ch);
/** \brief Take one more reference to the channel.
 * \param ch the channel
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_chan_retain(gort_chan* ch);
/** \brief Drop one reference; the last one frees the channel (operations in
 * progress keep theirs, and a gort_after timer is cancelled).
 * \param ch the channel
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_chan_release(gort_chan* ch);
/** \brief The number of buffered elements.
 * \param ch the channel
 * \return the count (0 for an invalid handle) */
GORT_API size_t gort_chan_len(gort_chan* ch);
/** \brief The capacity.
 * \param ch the channel
 * \return the buffer slots (0 for an invalid handle) */
GORT_API size_t gort_chan_cap(gort_chan* ch);

/** \brief gort_select_case::dir of a send case. */
#define GORT_SELECT_SEND 1
/** \brief gort_select_case::dir of a receive case. */
#define GORT_SELECT_RECV 2

/** \brief One case of gort_select. */
typedef struct gort_select_case {
    gort_chan* ch; /**< NULL: never ready (Go's nil channel) */
    int dir;       /**< #GORT_SELECT_SEND or #GORT_SELECT_RECV */
    void* elem;    /**< value to send, or buffer to receive into (may be NULL) */
    int ok;        /**< set for a receive: 1 value, 0 closed */
} gort_select_case;

/** \brief Go's select over n cases, choosing uniformly among ready ones.
 * \param cases the cases
 * \param n the number of cases
 * \param block 0 behaves as `default:` (#GORT_EAGAIN when none is ready)
 * \param chosen gets the index of the case that ran
 * \return #GORT_OK; #GORT_EAGAIN; #GORT_ECLOSED when a chosen send case's
 *         channel is closed; #GORT_EINVAL; #GORT_ENOTINIT */
GORT_API int gort_select(gort_select_case* cases, size_t n, int block, size_t* chosen);
/** \brief A blocking gort_select that gives up after timeout_ns.
 * \param cases the cases
 * \param n the number of cases (0 with a timeout: just waits it out)
 * \param timeout_ns how long to wait; negative: forever; 0: try once
 * \param chosen gets the index of the case that ran
 * \return as gort_select, or #GORT_ETIMEDOUT (no case ran) */
GORT_API int gort_select_timeout(gort_select_case* cases, size_t n, int64_t timeout_ns,
                                 size_t* chosen);

/* ---- sync -------------------------------------------------------------- */

/** \brief Go's sync.WaitGroup (a checked handle). */
typedef struct gort_waitgroup gort_waitgroup;
/** \brief Make a wait group (counter 0).
 * \return the wait group, or NULL with errno set (ENOMEM; EPERM with no
 *         runtime) */
GORT_API gort_waitgroup* gort_waitgroup_make(void);
/** \brief Add delta to the counter.
 * \param wg the wait group
 * \param delta the change (may be negative)
 * \return #GORT_OK; #GORT_EINVAL if the counter would go below zero (it is
 *         unchanged) or for a bad handle; #GORT_ENOTINIT */
GORT_API int gort_waitgroup_add(gort_waitgroup* wg, int64_t delta);
/** \brief Decrement the counter by one.
 * \param wg the wait group
 * \return as gort_waitgroup_add with delta -1 */
GORT_API int gort_waitgroup_done(gort_waitgroup* wg);
/** \brief Block until the counter is zero.
 * \param wg the wait group
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_waitgroup_wait(gort_waitgroup* wg);
/** \brief gort_waitgroup_wait with a timeout.
 * \param wg the wait group
 * \param timeout_ns how long to wait; negative: forever; 0: try once
 * \return #GORT_OK (the counter reached zero), #GORT_ETIMEDOUT,
 *         #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_waitgroup_wait_timeout(gort_waitgroup* wg, int64_t timeout_ns);
/** \brief Take one more reference to the wait group.
 * \param wg the wait group
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_waitgroup_retain(gort_waitgroup* wg);
/** \brief Drop one reference; the last one frees the wait group.
 * \param wg the wait group
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_waitgroup_release(gort_waitgroup* wg);

/** \brief Go's sync.Mutex, parking goroutines (a checked handle).
 *
 * A mutex that goroutines on one P keep taking while it is free becomes
 * biased to that P: there it locks and unlocks without a locked instruction.
 * The first lock or unlock from anywhere else ends the bias (one
 * membarrier, a few microseconds, at most a few times in a mutex's life;
 * gort_stats counts both). Nothing else changes: see "Mutexes" in
 * docs/guide.md. */
typedef struct gort_mutex gort_mutex;
/** \brief Make an unlocked mutex.
 * \return the mutex, or NULL with errno set (ENOMEM; EPERM with no runtime) */
GORT_API gort_mutex* gort_mutex_make(void);
/** \brief Lock, blocking until the mutex is free.
 * \param mu the mutex
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT; #GORT_EDEADLK from a
 *         signal handler that interrupted a gort call on the thread of the
 *         P the mutex is biased to (it would wait for itself) */
GORT_API int gort_mutex_lock(gort_mutex* mu);
/** \brief gort_mutex_lock with a timeout.
 * \param mu the mutex
 * \param timeout_ns how long to wait; negative: forever; 0: try once
 * \return #GORT_OK (locked), #GORT_ETIMEDOUT (not locked), #GORT_EINVAL,
 *         #GORT_ENOTINIT or #GORT_EDEADLK (as gort_mutex_lock) */
GORT_API int gort_mutex_lock_timeout(gort_mutex* mu, int64_t timeout_ns);
/** \brief Unlock.
 *
 * As Go's: when a waiter has waited over 1 ms (starvation mode), the mutex
 * goes straight to it and the caller yields to it, a switch like
 * gort_gosched (the caller's on_park and on_resume hooks run).
 * \param mu the mutex
 * \return #GORT_OK; #GORT_EINVAL when not locked or for a bad handle;
 *         #GORT_ENOTINIT; #GORT_EDEADLK as gort_mutex_lock */
GORT_API int gort_mutex_unlock(gort_mutex* mu);
/** \brief Take one more reference to the mutex.
 * \param mu the mutex
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_mutex_retain(gort_mutex* mu);
/** \brief Drop one reference; the last one frees the mutex.
 * \param mu the mutex
 * \return #GORT_OK, #GORT_EINVAL or #GORT_ENOTINIT */
GORT_API int gort_mutex_release(gort_mutex* mu);

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
    /* Since 0.2 (check struct_size): */
    uint64_t procs_lent;       /**< Ps sysmon lent while goroutines stalled in the kernel (0.2) */
    uint64_t procs_returned;   /**< lent Ps retired again once the stall ended (since 0.2) */
    uint64_t procs_lent_now;   /**< lent Ps in use now (since 0.2) */
    uint64_t stalls;           /**< stalls detected: a goroutine blocked in the kernel without
                                    telling the runtime, holding its P (since 0.2) */
    uint64_t long_runners;     /**< goroutines that ran over 1 s without a scheduling point
                                    (each reported once; since 0.2) */
    uint64_t stack_high_water; /**< the most stack any goroutine was seen to use, in bytes
                                    (pages touched; since 0.2) */
    uint64_t hosted_runs;      /**< goroutines run by a thread while its own goroutine (a
                                    callback's, gort_run_main's) waited: see "Locked threads"
                                    in docs/guide.md (since 0.2) */
    uint64_t lockedm_wakeups;  /**< threads woken with a P handed over to run their locked
                                    goroutine: a thread hand-off (since 0.2) */
    uint64_t mutexes_biased;   /**< times a gort_mutex became biased to a P that kept locking
                                    it alone (then it locks without a locked instruction; see
                                    "Mutexes" in docs/guide.md; since 0.2) */
    uint64_t mutex_bias_revocations; /**< biases revoked by another P or thread taking the
                                          mutex: each one a membarrier (since 0.2) */
} gort_stats;

/** \brief Read the runtime's counters.
 * \param s the struct to fill
 * \param size sizeof *s as the caller knows it (older, shorter structs work)
 * \return #GORT_OK; #GORT_EINVAL for NULL or too small a size;
 *         #GORT_ENOTINIT */
GORT_API int gort_get_stats(gort_stats* s, size_t size);
/** \brief The names of gort_stats' uint64_t fields, in order (for bindings and
 * tools that present the counters by name).
 * \return a static NULL-terminated array; the i-th name is the field at
 *         offsetof(gort_stats, goroutines_live) + 8 * i */
GORT_API const char* const* gort_stats_names(void);

/* ---- seeing the scheduler ---------------------------------------------- */

/** \brief Start writing an execution trace of the scheduler to path, in the
 * Chrome trace event format (JSON; it loads in Perfetto and
 * chrome://tracing): a track per M, slices for goroutine runs, cgocalls,
 * syscalls, blocking regions and callbacks, events for thread creation,
 * handoffs, retakes, steals, parks and unparks. Memory is bounded: events
 * beyond the buffers ($GORT_TRACE_BUFFER bytes, with a K or M suffix;
 * 64 MiB by default) are dropped, counted and said in the file. Events are
 * stamped with the CPU's time-stamp counter where the kernel's clocksource
 * is the TSC (mapped onto CLOCK_MONOTONIC in the file), else with
 * clock_gettime; $GORT_TRACE_CLOCK=monotonic always uses clock_gettime.
 * The file's otherData says which ("stamps").
 * \param path the output file (created or truncated)
 * \return #GORT_OK; #GORT_EALREADY when a trace is running; #GORT_EINVAL
 *         (NULL, or the file cannot be created: errno says why);
 *         #GORT_ENOTINIT */
GORT_API int gort_trace_start(const char* path);
/** \brief Stop the trace and finish its file.
 * \return #GORT_OK; #GORT_EINVAL when no trace is running; #GORT_ENOTINIT */
GORT_API int gort_trace_stop(void);
/** \brief Write every goroutine to fd: id, name, state, wait reason and for
 * how long, the M it is locked to, its stack high-water mark and its stack
 * (function names, file:line where debug info exists), parked ones
 * included.
 * \param fd an open file descriptor
 * \return #GORT_OK; #GORT_EINVAL for a bad fd; #GORT_ENOTINIT */
GORT_API int gort_dump_goroutines(int fd);

#ifdef __cplusplus
}
#endif

/* libffi calls and closures (part of this interface, in a file of their
 * own). */
#include "gort_ffi.h"

#endif /* GORT_H */
