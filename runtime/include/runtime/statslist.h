// The runtime's counters, listed once (an X-macro): X(name, camelName, kind).
// The C ABI's gort_stats has a uint64_t field `name` for each, in this order
// (c_api static_asserts it); RuntimeStats (runtime.h) has them all; the
// runtime's event counters (runtime/stats.h) are the `event` ones, bumped
// where the event happens, while `state` ones are read off the scheduler
// when asked for.
#pragma once

#define GORT_STATS_LIST(X)                                 \
    X(goroutines_live, goroutinesLive, state)              \
    X(goroutines_created, goroutinesCreated, state)        \
    X(ms_total, msTotal, state)                            \
    X(ms_idle, msIdle, state)                              \
    X(ms_created_native, msCreatedNative, event)           \
    X(ms_created_hook, msCreatedHook, event)               \
    X(template_handoffs, templateHandoffs, event)          \
    X(ms_exited_locked, msExitedLocked, event)             \
    X(thread_create_failures, threadCreateFailures, event) \
    X(cgocalls, cgocalls, state)                           \
    X(callbacks, callbacks, state)                         \
    X(foreign_threads_bound, foreignThreadsBound, event)   \
    X(extra_ms_in_use, extraMsInUse, state)                \
    X(p_retakes, pRetakes, event)                          \
    X(steals, steals, event)                               \
    X(thread_create_retries, threadCreateRetries, event)   \
    X(extra_ms_pooled, extraMsPooled, state)               \
    X(handoffs, handoffs, event)                           \
    X(procs_lent, procsLent, event)                        \
    X(procs_returned, procsReturned, event)                \
    X(procs_lent_now, procsLentNow, state)                 \
    X(stalls, stalls, event)                               \
    X(long_runners, longRunners, event)                    \
    X(stack_high_water, stackHighWater, state)             \
    X(hosted_runs, hostedRuns, state)                      \
    X(lockedm_wakeups, lockedmWakeups, event)              \
    X(mutexes_biased, mutexesBiased, event)                \
    X(mutex_bias_revocations, mutexBiasRevocations, event)
