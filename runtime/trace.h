// The execution tracer's event sites (trace.cpp writes the file).
//
// Every site is an inline function that costs one predictable branch while
// tracing is off: a relaxed load of traceOn, marked unlikely, with the work
// in an out-of-line slow path. Sites pass what they know (the M they run on,
// the G, the P); the slow path records a compact binary event in the
// calling M's own buffer, without a lock. trace.cpp's top comment has the
// buffer protocol, the file format and the invariants.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/base.h"
#include "runtime/observe.h"

namespace gort {

struct G;
struct M;
struct P;

// traceOn is set between traceStart and traceStop.
extern std::atomic<bool> traceOn;

GORT_ALWAYS_INLINE bool tracing() {
    return traceOn.load(std::memory_order_relaxed);
}

// ---- control (traceStart and traceStop: runtime/observe.h) ----------------------------

// traceShutdown ends a trace still running when the runtime stops.
void traceShutdown();
// traceWriterTid is the kernel id of the tracer's writer thread (0: none);
// it is the runtime's own thread (deadlock detection must not take it for
// a thread of the application's).
int traceWriterTid();
// traceLastDropped is the number of events the last finished trace dropped.
uint64_t traceLastDropped();

// ---- event kinds ---------------------------------------------------------------

// Slices nested in a goroutine's run (cgocall, blocking region, callback).
enum class TraceSlice : uint8_t { cgocall = 1, blocking = 2, callback = 3 };
// Why an M sleeps without a P.
enum class TraceIdle : uint8_t { stopm = 1, lockedm = 2 };
// How handoffp disposed of a P.
enum class TraceHandoff : uint8_t { startm = 1, spinning = 2, idle = 3 };

// ---- slow paths (trace.cpp) -------------------------------------------------------

void traceSwitchSlow(M* m, G* from, G* to, bool dying);
void traceGoUnparkSlow(G* gp);
void traceGoCreateSlow(G* gp);
void traceSliceBeginSlow(TraceSlice kind, G* gp, const void* fn);
void traceSliceEndSlow(TraceSlice kind, G* gp, bool endsRun);
void traceIdleSlow(M* m, TraceIdle why, bool begin);
void traceRetakeSlow(P* p);
void traceHandoffSlow(P* p, TraceHandoff how);
void traceStealSlow(P* p, P* from, uint32_t n);
void traceNewmSlow(int64_t id, uint32_t origin);
void traceTemplateHandoffSlow(M* mp);
void traceStartLockedSlow(M* to, G* gp);
void traceMStartSlow(M* m);
void traceMExitSlow(M* m);
void traceBindSlow(M* m, bool bind);
void traceCountIdleSlow(int32_t idlePs, int32_t idleMs);
void traceCountGlobalRunqSlow(int32_t n);

// ---- event sites ---------------------------------------------------------------------

// traceSwitch: m switches from `from` to `to` (either may be m's g0); the
// run slice of from ends (with its park reason), to's begins.
GORT_ALWAYS_INLINE void traceSwitch(M* m, G* from, G* to, bool dying) {
    if (tracing()) [[unlikely]]
        traceSwitchSlow(m, from, to, dying);
}
// traceGoUnpark: gp was made runnable (goready); a flow arrow leads from
// here to where it next runs.
GORT_ALWAYS_INLINE void traceGoUnpark(G* gp) {
    if (tracing()) [[unlikely]]
        traceGoUnparkSlow(gp);
}
// traceGoCreate: gp was created (newproc).
GORT_ALWAYS_INLINE void traceGoCreate(G* gp) {
    if (tracing()) [[unlikely]]
        traceGoCreateSlow(gp);
}
// traceSliceBegin/End bracket a cgocall (fn: the C function), a blocking
// region or a callback (fn: the callback) of the running goroutine gp.
// endsRun: gp's run ends with the slice (an extra M's goroutine goes back
// into C after its callback).
GORT_ALWAYS_INLINE void traceSliceBegin(TraceSlice kind, G* gp, const void* fn) {
    if (tracing()) [[unlikely]]
        traceSliceBeginSlow(kind, gp, fn);
}
GORT_ALWAYS_INLINE void traceSliceEnd(TraceSlice kind, G* gp, bool endsRun = false) {
    if (tracing()) [[unlikely]]
        traceSliceEndSlow(kind, gp, endsRun);
}
// traceIdle: m sleeps without a P (begin) or wakes (end).
GORT_ALWAYS_INLINE void traceIdle(M* m, TraceIdle why, bool begin) {
    if (tracing()) [[unlikely]]
        traceIdleSlow(m, why, begin);
}
// traceRetake: sysmon took p from an M in a system call.
GORT_ALWAYS_INLINE void traceRetake(P* p) {
    if (tracing()) [[unlikely]]
        traceRetakeSlow(p);
}
GORT_ALWAYS_INLINE void traceHandoff(P* p, TraceHandoff how) {
    if (tracing()) [[unlikely]]
        traceHandoffSlow(p, how);
}
// traceSteal: p stole n goroutines from `from`.
GORT_ALWAYS_INLINE void traceSteal(P* p, P* from, uint32_t n) {
    if (tracing()) [[unlikely]]
        traceStealSlow(p, from, n);
}
// traceNewm: M id's thread was created by the path origin (an MOrigin; the
// creating thread may be the template thread). By value: once its thread
// runs, the M may exit and be freed.
GORT_ALWAYS_INLINE void traceNewm(int64_t id, uint32_t origin) {
    if (tracing()) [[unlikely]]
        traceNewmSlow(id, origin);
}
// traceTemplateHandoff: mp was queued for the template thread to create.
GORT_ALWAYS_INLINE void traceTemplateHandoff(M* mp) {
    if (tracing()) [[unlikely]]
        traceTemplateHandoffSlow(mp);
}
// traceStartLocked: the calling M hands its P to `to`, which runs gp.
GORT_ALWAYS_INLINE void traceStartLocked(M* to, G* gp) {
    if (tracing()) [[unlikely]]
        traceStartLockedSlow(to, gp);
}
GORT_ALWAYS_INLINE void traceMStart(M* m) {
    if (tracing()) [[unlikely]]
        traceMStartSlow(m);
}
GORT_ALWAYS_INLINE void traceMExit(M* m) {
    if (tracing()) [[unlikely]]
        traceMExitSlow(m);
}
// traceBind: an extra M was bound to (bind) or released by its C thread.
GORT_ALWAYS_INLINE void traceBind(M* m, bool bind) {
    if (tracing()) [[unlikely]]
        traceBindSlow(m, bind);
}
// Counters, sampled where they change (under sched.lock).
GORT_ALWAYS_INLINE void traceCountIdle(int32_t idlePs, int32_t idleMs) {
    if (tracing()) [[unlikely]]
        traceCountIdleSlow(idlePs, idleMs);
}
GORT_ALWAYS_INLINE void traceCountGlobalRunq(int32_t n) {
    if (tracing()) [[unlikely]]
        traceCountGlobalRunqSlow(n);
}

}  // namespace gort
