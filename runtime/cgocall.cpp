// cgocall: a goroutine calls C (Go's cgocall.go).
//
//   1. entersyscall: the G is Gsyscall and its P may be taken by sysmon for
//      other goroutines while C runs;
//   2. mark the M incgo and switch to the M's C context, on the thread's own
//      stack (Go's asmcgocall), so C code gets the native stack, not the
//      goroutine's small one;
//   3. run fn there, save errno, switch back;
//   4. exitsyscall: reacquire the old P (fast path) or another, or queue the
//      G and resume later, possibly on another M.
//
// The C context. Each call gets one, made just before it at a fixed place:
// kG0Reserve below the frame where the thread entered the runtime. g0 (the
// scheduler) lives in those top kG0Reserve bytes and never goes deeper, so
// the two never meet. A thread whose stack is too small for that, or that
// the runtime did not create, gets its context just below g0's suspended
// frame instead (g0 is suspended while one of its goroutines runs). Making
// a context is a few stores; what a fresh one buys is the way back: the C
// side ends with ctxReturn (context.h), so the goroutine resumes through a
// return the CPU predicted, and its own returns up to the interpreter or
// the C caller stay predicted too (with a persistent C context that jumped
// back, each of them mispredicted).
//
// A goroutine that already runs on the thread's own stack (a callback runs
// inline there, see cgocallback.cpp) calls fn directly.
//
// Blocking regions are a cgocall without the call: entersyscall at the
// beginning, exitsyscall at the end, the code in between running on the
// goroutine's own stack. blockingEndTry is the end without the wait:
// exitsyscall's fast path alone, kEAGAIN (still in the region) when no P
// can be had at once.
#include <errno.h>
#include <pthread.h>

#include <exception>

#include "runtime/cgo.h"
#include "runtime/errors.h"
#include "runtime/proc.h"
#include "runtime/trace.h"

namespace gort {

namespace {

// The scheduler's share of a thread's stack, above the C context.
constexpr size_t kG0Reserve = 256 * 1024;
// Below that, C needs room of its own; else per-call contexts are used.
constexpr size_t kMinCStack = 512 * 1024;
// Space left between g0's suspended frame and a per-call context.
constexpr size_t kG0Gap = 512;

// The floating-point environment (FpEnv, context.h): each context switch
// saves it for the side it leaves and loads the other side's, and loading
// a different MXCSR is slow (a cgocall took 84 ns instead of 38 once the
// goroutine had raised the sticky "inexact" flag that the C context never
// had). So the C side starts from the goroutine's environment and the
// goroutine continues with the C side's: a call behaves like a plain
// function call (C sees the goroutine's rounding mode, the goroutine sees
// the flags C raised and the mode C set), and both contexts keep one
// value, which the switches then reload unchanged. Reading the x87 control
// word is what costs (6 ns a call for two reads), so it is read only when
// MXCSR's control bits change: fesetround, fesetenv and feenableexcept
// change both; code that changes the x87 word alone (_FPU_SETCW, for long
// double precision) keeps that change in its own context. The x87 status
// word (its exception flags) is the thread's: no switch saves it, so a
// goroutine that moves to another thread finds that thread's.

struct CgoFrame {
    void (*fn)(void*);
    void* arg;
    fcontext_t back;  // the goroutine's context
    int err;
    G* gp;
    M* m;
    FpEnv fpenv;  // the floating-point environment across the call (see below)
};

void runC(CgoFrame* f) {
    try {
        f->fn(f->arg);
    } catch (const std::exception& e) {
        fatalf("cgocall: C++ exception escaped from a C function called by goroutine %lld: %s",
               (long long)f->gp->goid, e.what());
    } catch (...) {
        fatalf("cgocall: C++ exception escaped from a C function called by goroutine %lld",
               (long long)f->gp->goid);
    }
    f->err = errno;
}

// The floating-point environment (FpEnv, context.h). A context made just
// now holds the environment the goroutine has (make_fcontext reads it), so
// C starts with the goroutine's rounding mode and flags, and loading it is
// loading the same value (loading a different MXCSR is what is slow: a
// cgocall took 84 ns instead of 38 once the goroutine had raised the
// sticky "inexact" flag that a C context never had). The way back restores
// the goroutine's own, and the goroutine then takes what C left if it
// differs: a call behaves like a plain function call (the goroutine sees
// the flags C raised and the mode C set). Reading the x87 control word is
// what costs (6 ns a call for two reads), so it is read only when MXCSR's
// control bits change: fesetround, fesetenv and feenableexcept change
// both; code that changes the x87 word alone (_FPU_SETCW, for long double
// precision) keeps that change to the call. The x87 status word (its
// exception flags) is the thread's: no switch saves it, so a goroutine
// that moves to another thread finds that thread's. m->cgoFpenv caches
// the x87 word last seen with an MXCSR, so a call costs no x87 read.

// goroutineFpenv: the goroutine's environment, with the cached x87 word
// unless MXCSR's control bits differ from the cache's (then read).
inline FpEnv goroutineFpenv(const M* m) {
    FpEnv e;
    e.mxcsr = mxcsrGet();
    if (m->cgoFpenvKnown && !mxcsrControlDiffers(e.mxcsr, m->cgoFpenv.mxcsr)) {
        e.x87 = m->cgoFpenv.x87;
    } else {
        e.x87 = x87Get();
    }
    return e;
}

// leaveFpenv records the environment C leaves (the x87 word read only if
// MXCSR's control bits moved).
inline void leaveFpenv(CgoFrame* f) {
    uint32_t csr = mxcsrGet();
    if (mxcsrControlDiffers(csr, f->fpenv.mxcsr)) f->fpenv.x87 = x87Get();
    f->fpenv.mxcsr = csr;
    f->m->cgoFpenv = f->fpenv;
    f->m->cgoFpenvKnown = true;
}

// cgoRun is a C context's entry function: one call, then back to the
// goroutine through ctxReturn, its last statement (a tail call).
void cgoRun(transfer_t t) {
    ctxEntered();
    auto* f = static_cast<CgoFrame*>(t.data);
    f->back = t.fctx;
    f->gp->syscallctx = t.fctx;  // a callback from C parks below this point
    runC(f);
    leaveFpenv(f);
    ctxReturn(&f->m->cgoctx, &f->gp->ctx, f->back);
}

// cgoCheckStack sets m's C contexts' identity, and their fixed top if the
// thread's stack has room for C below kG0Reserve.
GORT_NOINLINE void cgoCheckStack(M* m) {
    m->cgoctxChecked = true;
    // The C side runs on the thread's stack, as g0 does.
    Context& c = m->cgoctx;
    c.stackLo = m->g0->ctx.stackLo;
    c.stackSize = m->g0->ctx.stackSize;
    c.tsanFiber = m->g0->ctx.tsanFiber;
    pthread_attr_t attr;
    if (m->g0sp0 != nullptr && pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* lo = nullptr;
        size_t size = 0;
        pthread_attr_getstack(&attr, &lo, &size);
        pthread_attr_destroy(&attr);
        char* top = static_cast<char*>(m->g0sp0) - kG0Reserve;
        if (top > static_cast<char*>(lo) + kMinCStack) m->cgoFixedTop = top;
    }
}

// cgoTop is where m's C contexts are made: kG0Reserve below g0's entry
// frame if the thread's stack has room for C below that, else just below
// g0's suspended frame.
GORT_ALWAYS_INLINE char* cgoTop(M* m) {
    if (GORT_UNLIKELY(!m->cgoctxChecked)) cgoCheckStack(m);
    if (GORT_LIKELY(m->cgoFixedTop != nullptr)) return m->cgoFixedTop;
    return static_cast<char*>(m->g0->ctx.fctx) - kG0Gap;
}

// ensureTemplateThread starts the template thread before a goroutine's
// thread runs C code for the first time (while it is still clean): C code
// may spawn goroutines, and a thread in C must not clone new Ms itself
// (newm.cpp). cgo mode starts it at init; native mode here.
GORT_ALWAYS_INLINE void ensureTemplateThread() {
    if (GORT_UNLIKELY(sched.newmHandoff.haveTemplateThread.load(std::memory_order_relaxed) == 0)) {
        startTemplateThread();
    }
}

// cgocallOn is cgocall's body, inlined into each entry point so that the
// switch to C sits in the frame the caller returns through (see
// cgocallEntry in cgo.h).
GORT_ALWAYS_INLINE int cgocallOn(M* m, void (*fn)(void*), void* arg) {
    G* gp = m != nullptr ? m->curg : nullptr;
    if (gp == nullptr || m->incgo || gp->atomicstatus.load(std::memory_order_relaxed) != Grunning) {
        // Not goroutine code (a plain thread, or C code already in a call):
        // nothing to hand off, just call it.
        fn(arg);
        return kOK;
    }
    // A hosted goroutine enters C on an M of its own, not on its host's
    // thread (lockosthread.cpp).
    if (GORT_UNLIKELY(m->lockedg != nullptr && m->lockedg != gp)) m = unhost(gp);
    m->ncgocall.store(m->ncgocall.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    ensureTemplateThread();
    traceSliceBegin(TraceSlice::cgocall, gp, reinterpret_cast<const void*>(fn));
    entersyscall(m);
    m->incgo = true;
    CgoFrame f{fn, arg, nullptr, 0, gp, m, {}};
    if (gp->onNativeStack) {
        runC(&f);  // already on the thread's stack: no switch
    } else {
        FpEnv mine = goroutineFpenv(m);  // the way back restores it
        f.fpenv = mine;
        fcontext_t outerSyscallctx = gp->syscallctx;
        ctxJump(&gp->ctx, &m->cgoctx, ctxMakeAt(cgoTop(m), cgoRun), &f);
        gp->syscallctx = outerSyscallctx;
        if (!(f.fpenv == mine)) fpenvResume(f.fpenv, mine);
    }
    m->incgo = false;
    gp->cgoErrno = f.err;
    traceSliceEnd(TraceSlice::cgocall, gp);
    exitsyscall(m);  // may resume on another M
    errno = gp->cgoErrno;
    return kOK;
}

}  // namespace

int cgocall(void (*fn)(void*), void* arg) {
    if (fn == nullptr) return kEINVAL;
    return cgocallOn(validmAtEntry(), fn, arg);
}

namespace {

// gatedCgocall is cgocall behind the call gate, with its fast path (a
// goroutine's call passes uncounted) inline.
GORT_ALWAYS_INLINE int gatedCgocall(void (*fn)(void*), void* arg) {
    CallGate g;
    if (GORT_UNLIKELY(!admitsUncounted(getmAtEntry()))) {
        if (int rc = callEnter(&g); rc != kOK) return rc;
    }
    int rc = cgocallOn(validmAtEntry(), fn, arg);
    callExit(g);
    return rc;
}

}  // namespace

int cgocallEntry(void (*fn)(void*), void* arg) {
    if (fn == nullptr) return kEINVAL;
    return gatedCgocall(fn, arg);
}

int cgocallWords(void (*fn)(void*), void* w0, void* w1, void* w2, void* w3) {
    if (fn == nullptr) return kEINVAL;
    void* words[4] = {w0, w1, w2, w3};
    return gatedCgocall(fn, words);
}

namespace {

GORT_ALWAYS_INLINE int blockingBeginOn(M* m) {
    G* gp = m != nullptr ? m->curg : nullptr;
    if (gp == nullptr) return kOK;
    switch (gp->status()) {
        case Grunning:
            break;
        case Gsyscall:
            // Inside a region already (unbalanced), or C code a goroutine
            // called (no goroutine code runs here: a no-op).
            return gp->inBlocking ? kEINVAL : kOK;
        default:
            return kOK;
    }
    if (GORT_UNLIKELY(m->lockedg != nullptr && m->lockedg != gp)) m = unhost(gp);
    ensureTemplateThread();
    gp->inBlocking = true;
    traceSliceBegin(TraceSlice::blocking, gp, nullptr);
    entersyscall(m);
    m->incgo = true;
    return kOK;
}

}  // namespace

int blockingBegin() {
    return blockingBeginOn(getm());
}

namespace {

// regionG is the calling goroutine if it is inside a blocking region, else
// null with *rc what ending one returns: kOK where no goroutine runs (a
// plain thread, or C code a goroutine called), kEINVAL when not in one.
GORT_ALWAYS_INLINE G* regionG(M* m, int* rc) {
    G* gp = m != nullptr ? m->curg : nullptr;
    *rc = kOK;
    if (gp == nullptr) return nullptr;
    switch (gp->status()) {
        case Grunning:
            *rc = kEINVAL;  // not in a region
            return nullptr;
        case Gsyscall:
            return gp->inBlocking ? gp : nullptr;  // else C code: nothing was begun here
        default:
            return nullptr;
    }
}

// leaveRegion is the bookkeeping of a region's end (the P is dealt with by
// the caller).
GORT_ALWAYS_INLINE void leaveRegion(M* m, G* gp) {
    m->incgo = false;
    gp->inBlocking = false;
    traceSliceEnd(TraceSlice::blocking, gp);
}

GORT_ALWAYS_INLINE int blockingEndOn(M* m) {
    int rc;
    G* gp = regionG(m, &rc);
    if (gp == nullptr) return rc;
    leaveRegion(m, gp);
    exitsyscall(m);
    return kOK;
}

}  // namespace

int blockingEnd() {
    return blockingEndOn(getm());
}

namespace {

// gatedRegion is an entry of gort_blocking_begin or gort_blocking_end: the
// call gate's fast path inline, as gatedCgocall's (gort.ffi brackets every
// call from a Python goroutine with them), then `on`.
template <int (*on)(M*)>
GORT_ALWAYS_INLINE int gatedRegion() {
    M* m = getmAtEntry();
    if (GORT_LIKELY(admitsUncounted(m))) return on(m);
    CallGate g;
    if (int rc = callEnter(&g); rc != kOK) return rc;
    int rc = on(getm());
    callExit(g);
    return rc;
}

}  // namespace

int blockingBeginEntry() {
    return gatedRegion<blockingBeginOn>();
}

int blockingEndEntry() {
    return gatedRegion<blockingEndOn>();
}

int blockingEndTry() {
    M* m = getm();
    int rc;
    G* gp = regionG(m, &rc);
    if (gp == nullptr) return rc;
    // Only exitsyscall's fast path: the old P if nobody took it, else an
    // idle P. On failure nothing changes but m->oldp, which the fast path
    // cleared: that P is somebody else's now (and a later blockingEnd must
    // not CAS it back from a Psyscall of another M).
    if (!exitsyscallfast(m)) return kEAGAIN;
    leaveRegion(m, gp);
    return kOK;
}

int withExecLock(int (*f)(void*), void* arg) {
    // A goroutine waits for the lock (a thread creation in progress, or
    // another fork) and runs f without holding its P.
    bool onG = getg() != nullptr;
    if (onG) blockingBegin();
    execLock.lock();
    int rc = f(arg);
    execLock.unlock();
    if (onG) blockingEnd();
    return rc;
}

}  // namespace gort
