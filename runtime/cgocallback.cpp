// Callbacks: C calls into the runtime (Go's cgocallback and cgocallbackg).
//
// cgocallback runs on a thread whose M's goroutine gp is in a system call:
// a goroutine inside a cgocall whose C code calls back, or an extra M's own
// goroutine on a thread C created. The callback runs as gp:
//   1. gp is locked to the M (lockedInt): the C frames below the callback
//      live on this thread's stack, so the callback must come back here;
//   2. gp leaves its system call (exitsyscall, the same transition a
//      cgocall ends with): the P reserved for it if sysmon did not take it,
//      else an idle one, else gp queues and the M waits for it to be handed
//      back with a P, as any locked M does;
//   3. the callback function runs right here, on the thread's own stack, as
//      gp (m->curg, Grunning): no context switch when it does not block.
// For when it does block, g0 and gp swap places for the duration: g0 gets a
// fresh context on the M's scheduler stack (schedStack, made with the M;
// the context is kept for the next callback while none blocks),
// which runs the scheduler loop of a locked M (stoplockedm, then execute gp
// again). So the scheduler never runs over the C frames nor over what is
// left of gp's own stack, and while the callback waits this thread hands
// its P on and sleeps: the scheduler does not stall. gp takes the thread's
// sanitizer identity (stack bounds, TSan fiber), g0 the scheduler stack's.
//
// When the function returns, gp goes back into the system call (entersyscall:
// its P stays reserved for it, in Psyscall, so the next callback or the end
// of the cgocall finds it at once unless sysmon gave it away), everything
// that was swapped is restored, and C continues. A scheduler context left suspended
// on gp's stack by a blocking callback is simply abandoned: it holds
// nothing.
//
// Callbacks nest: C -> gort -> C -> gort ..., each level below the last on
// the thread's stack (cgocall calls C directly from a goroutine that runs
// there); g0 and gp swap places once, at the outermost level.
//
// C code in a blocking region runs on gp's own stack (cgocall.cpp), and a
// callback from there stays on it: gp keeps its stack and identity, g0
// keeps its own context on the thread's stack, and nothing is swapped.
// Only the lock to the M is taken (the C frames below are this thread's
// to return to); C that the callback then calls through cgocall gets the
// thread's stack as from any goroutine.
//
// A callback from a signal handler may run on the thread's alternate signal
// stack (SA_ONSTACK). While it blocks, the thread is off that stack (on the
// scheduler stack, or hosting), and the kernel delivers the next signal at
// the top of the alternate stack (it nests below the stack pointer only on
// it): right over the handler's frames, the signal frame its sigreturn
// needs and the callback's own, which then resumes into garbage
// (stress.signals' wild jumps: ASan gives every thread an alternate stack,
// so there the needm callback of a handler ran on one). So such a callback
// runs with the asynchronous signals blocked, from before it can first
// switch away until it can no more; they are delivered when it returns, on
// the signal stack below its frames. The faults stay unblocked: blocked,
// they would kill the process unreported, and one taken while the callback
// waits is fatal anyway. (gp keeps the thread's sanitizer identity there
// too: the handler returns to the thread's stack, and ASan keeps the bounds
// of the last switch.)
#include <signal.h>

#include <exception>

#include "runtime/cgo.h"
#include "runtime/proc.h"
#include "runtime/trace.h"

namespace gort {

namespace {

// The scheduler stack of a callback (rounded up to the default stack size,
// so it comes from the pooled arenas; committed lazily).
constexpr size_t kSchedStackSize = 64 * 1024;

// nestedSchedule is the scheduler context g0 gets on gp's stack during a
// callback: entered only when gp blocks, it schedules gp (locked to this M)
// until gp resumes for good and leaves it suspended.
[[noreturn]] void nestedSchedule(transfer_t t) {
    ctxEntered();
    M* m = static_cast<M*>(t.data);
    m->schedFresh = nullptr;  // entered: the next callback makes another
    finishSwitch(m, t.fctx);
    schedule(m);
    fatal("cgocallback: nested scheduler returned");
}

// onSignalStack: the caller runs on the thread's alternate signal stack.
GORT_ALWAYS_INLINE bool onSignalStack(const M* m) {
    auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    return sp >= m->sigstackLo && sp < m->sigstackHi;
}

// onOwnStack: the caller runs on gp's own stack (C called in a blocking
// region calls back).
GORT_ALWAYS_INLINE bool onOwnStack(const G* gp) {
    auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    return gp->stack && sp >= gp->stack.lo && sp < gp->stack.hi;
}

// blockAsyncSignals blocks every signal but the faults, saving the mask.
void blockAsyncSignals(sigset_t* old) {
    sigset_t s;
    sigfillset(&s);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) sigdelset(&s, sig);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

void runCallback(G* gp, GoFunc fn, void* arg) {
    try {
        fn(arg);
    } catch (const std::exception& e) {
        fatalf("unhandled C++ exception in a callback (goroutine %lld): %s", (long long)gp->goid,
               e.what());
    } catch (...) {
        fatalf("unhandled C++ exception in a callback (goroutine %lld)", (long long)gp->goid);
    }
}

}  // namespace

void mallocSchedStack(M* m) {
    if (m->schedStack) return;
    m->schedStack = stackalloc(stackRoundSize(kSchedStackSize));
    if (!m->schedStack) throwOOM("an M's scheduler stack", kSchedStackSize);
    ctxSetStack(&m->schedctx, reinterpret_cast<void*>(m->schedStack.lo), m->schedStack.size());
}

void mfreeSchedStack(M* m) {
    if (!m->schedStack) return;
    stackfree(m->schedStack);
    m->schedStack = Stack{};
    m->schedFresh = nullptr;
    ctxDestroy(&m->schedctx);
}

int cgocallback(M* m, GoFunc fn, void* arg, bool isMain) {
    G* gp = m->curg;
    G* g0 = m->g0;
    bool countG = gp->system;  // an extra M's goroutine counts only meanwhile
    // What the callback changes, restored when it is done.
    Context outerG0 = g0->ctx;
    Context outerGp = gp->ctx;
    bool wasIncgo = m->incgo;
    // A callback from C in a blocking region: the region is the outer
    // level's, to be ended there; a region the callback begins is its own.
    bool wasInBlocking = gp->inBlocking;
    G* outerMain = isMain ? sched.maing.load(std::memory_order_relaxed) : nullptr;

    // The first level on the thread's stack swaps g0 and gp. A nested
    // callback (C called from a callback calls back) finds them swapped: gp
    // already runs on this stack, and g0's scheduler context on the
    // scheduler stack serves it as is. C in a blocking region runs on gp's
    // own stack: a callback from it is gp calling on, with nothing to swap
    // (g0's own context is intact above, on the thread's stack).
    bool first = !gp->onNativeStack && !onOwnStack(gp);
    // On the signal stack (at any level: a handler may interrupt C that a
    // callback called), nothing may land there while gp waits (top of the
    // file).
    bool onSigstack = GORT_UNLIKELY(onSignalStack(m));
    sigset_t outerMask;
    if (onSigstack) blockAsyncSignals(&outerMask);
    if (first) {
        if (!m->schedStack) fatal("cgocallback: M has no scheduler stack");
        // gp runs on the thread's stack, under the thread's identity...
        gp->ctx.stackLo = g0->ctx.stackLo;
        gp->ctx.stackSize = g0->ctx.stackSize;
        gp->ctx.tsanFiber = g0->ctx.tsanFiber;
        gp->ctx.asanFakeStack = nullptr;
        // ...and g0, should gp block, on the scheduler stack.
        g0->ctx = m->schedctx;
        if (m->schedFresh == nullptr) {
            m->schedFresh = ctxMakeAt(reinterpret_cast<void*>(m->schedStack.hi), nestedSchedule);
        }
        g0->ctx.fctx = m->schedFresh;
        gp->onNativeStack = true;
    }
    m->incgo = false;
    gp->inBlocking = false;
    // The C frames below the callback live on this thread's stack: gp must
    // come back here if it blocks.
    m->lockedInt++;
    dolockOSThread(m, gp);
    if (isMain) sched.maing.store(gp, std::memory_order_release);
    m->cbdepth.store(m->cbdepth.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    m->ncallback.store(m->ncallback.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);

    // Out of the system call: the reserved P, an idle one, or wait (as a
    // locked G: the scheduler hands it back to this M with a P).
    gp->m = m;
    exitsyscall(m);
    m = gp->m;  // the same M: gp is locked to it
    // While gp waits, this M hosts other goroutines (lockosthread.cpp).
    hostSet(m);
    if (countG) {
        m->p->countCreated();
        gp->system = false;  // a user goroutine while it runs the callback
    }
    traceSliceBegin(TraceSlice::callback, gp, reinterpret_cast<const void*>(fn));
    runCallback(gp, fn, arg);
    m = gp->m;
    traceSliceEnd(TraceSlice::callback, gp, countG);
    if (countG) {
        m->p->countExited();
        gp->system = true;
    }

    m->cbdepth.store(m->cbdepth.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    if (isMain) sched.maing.store(outerMain, std::memory_order_release);
    // gp runs, so nothing can be left to this M for it: no more hosting.
    m->hosting.store(false, std::memory_order_relaxed);
    if (m->hostReady.load(std::memory_order_relaxed)) fatal("cgocallback: locked g left pending");
    // Back into the system call it came from, keeping the P reserved for
    // it: the next callback or the end of the cgocall finds it at once
    // unless sysmon gave it away.
    entersyscall(m);
    // An extra M's goroutine ends its life with the callback: a
    // LockOSThread it left behind goes with it (the thread is not the
    // runtime's to end). A goroutine in a cgocall lives on, locked or not.
    if (countG) m->lockedExt = 0;
    if (--m->lockedInt == 0 && m->lockedExt == 0) {
        m->lockedg = nullptr;
        gp->lockedm = nullptr;
    }
    if (first) {
        gp->ctx.stackLo = outerGp.stackLo;
        gp->ctx.stackSize = outerGp.stackSize;
        gp->ctx.tsanFiber = outerGp.tsanFiber;
        gp->ctx.asanFakeStack = outerGp.asanFakeStack;
        gp->onNativeStack = false;
        g0->ctx = outerG0;
    }
    m->incgo = wasIncgo;
    gp->inBlocking = wasInBlocking;
    // gp cannot switch away any more: what is pending lands below us.
    if (onSigstack) pthread_sigmask(SIG_SETMASK, &outerMask, nullptr);
    return kOK;
}

int runOnThisThread(void (*fn)(void*), void* arg, const RunOpts& opts) {
    if (fn == nullptr) return kEINVAL;
    if (!sched.running.load(std::memory_order_acquire)) return kENOTINIT;
    M* m = validmAtEntry();
    if (m != nullptr && m->curg != nullptr &&
        m->curg->atomicstatus.load(std::memory_order_relaxed) == Grunning) {
        fn(arg);  // already goroutine code
        return kOK;
    }
    // A runtime thread's g0, or a switch hook of a goroutine waiting for a
    // P: no goroutine code may run here.
    if (m != nullptr && !m->isExtra && !m->incgo) return kENOTGOROUTINE;
    bool fresh = m == nullptr;
    if (fresh) m = needm(opts.keepM);
    // The main goroutine runs on this thread's stack: an overflow there is
    // reported as one (needm itself may not find the bounds: it must not
    // allocate).
    if (opts.main && m->stackLo == 0) mrecordStack(m);
    int rc = cgocallback(m, fn, arg, opts.main);
    if (fresh && !m->bound) dropm(m);
    return rc;
}

int callback(void (*fn)(void*), void* arg) {
    RunOpts o;
    o.keepM = true;  // bind the extra M to this thread until it exits
    return runOnThisThread(fn, arg, o);
}

}  // namespace gort
