// Callbacks: C calls into the runtime (Go's cgocallback and cgocallbackg).
//
// cgocallback runs on a thread whose M's goroutine gp is in a system call:
// a goroutine inside a cgocall whose C code calls back, or an extra M's own
// goroutine on a thread C created. The callback runs as gp:
//   1. gp is locked to the M (lockedInt): the C frames below the callback
//      live on this thread's stack, so the callback must come back here;
//   2. the M reacquires a P: the one reserved for gp if sysmon did not take
//      it, else an idle one, else gp queues and the M waits for it to be
//      handed back with a P, as any locked M does;
//   3. the callback function runs right here, on the thread's own stack, as
//      gp (m->curg, Grunning): no context switch when it does not block.
// For when it does block, g0 and gp swap places for the duration: g0 gets a
// fresh context on gp's stack (below whatever gp has there: its cgocall's
// frames), which runs the scheduler loop of a locked M (stoplockedm, then
// execute gp again). So the scheduler never runs over the C frames, and
// while the callback waits this thread hands its P on and sleeps: the
// scheduler does not stall. The sanitizer identities (stack bounds, TSan
// fiber) of the two contexts are swapped with them.
//
// When the function returns, gp goes back into the system call (its P stays
// reserved for it, in Psyscall, so the next callback or the end of the
// cgocall finds it at once unless sysmon gave it away), everything that was
// swapped is restored, and C continues. A scheduler context left suspended
// on gp's stack by a blocking callback is simply abandoned: it holds
// nothing.
//
// Callbacks nest: C -> gort -> C -> gort ..., each level below the last on
// the thread's stack (cgocall calls C directly from a goroutine that runs
// there); g0 and gp swap places once, at the outermost level.
#include <exception>
#include <utility>

#include "runtime/proc.h"

namespace gort {

namespace {

// Space left between a goroutine's suspended frames and the scheduler
// context made below them.
constexpr size_t kGap = 512;

// nestedSchedule is the scheduler context g0 gets on gp's stack during a
// callback: entered only when gp blocks, it schedules gp (locked to this M)
// until gp resumes for good and leaves it suspended.
[[noreturn]] void nestedSchedule(transfer_t t) {
    M* m = static_cast<M*>(t.data);
#if defined(GORT_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
    finishSwitch(m, t.fctx);
    schedule(m);
    fatal("cgocallback: nested scheduler returned");
}

void swapIdentity(Context& a, Context& b) {
    std::swap(a.stackLo, b.stackLo);
    std::swap(a.stackSize, b.stackSize);
#if defined(GORT_TSAN)
    std::swap(a.tsanFiber, b.tsanFiber);
#endif
#if defined(GORT_ASAN)
    std::swap(a.asanFakeStack, b.asanFakeStack);
#endif
}

// acquirep0 gets m a P for gp (Go's exitsyscall): the reserved one, or an
// idle one. Returns false if there is none.
bool acquirep0(M* m) {
    P* oldp = m->oldp;
    m->oldp = nullptr;
    uint32_t st = Psyscall;
    if (oldp != nullptr &&
        oldp->status.compare_exchange_strong(st, Prunning, std::memory_order_acq_rel)) {
        m->p = oldp;
        oldp->m = m;
        oldp->syscalltick.store(oldp->syscalltick.load(std::memory_order_relaxed) + 1,
                                std::memory_order_release);
        return true;
    }
    if (sched.npidle.load(std::memory_order_acquire) == 0) return false;
    P* p;
    {
        LockGuard g(sched.lock);
        p = pidleget();
    }
    if (p == nullptr) return false;
    acquirep(m, p);
    return true;
}

// waitForP queues gp and lets the scheduler hand it back to this M with a
// P (whoever dequeues it starts this M: startlockedm).
void waitForP(M* m, G* gp) {
    casgstatus(gp, Gsyscall, Grunnable);
    {
        LockGuard g(sched.lock);
        globrunqput(gp);
    }
    wakep();
    gswitchToG0(m, gp, nullptr);  // to the nested scheduler; back once gp runs again
}

// reentersyscall puts gp back into the system call it came from, keeping
// the P reserved for it (Go's reentersyscall).
void reentersyscall(M* m, G* gp) {
    casgstatus(gp, Grunning, Gsyscall);
    P* p = m->p;
    m->syscalltick = p->syscalltick.load(std::memory_order_relaxed);
    p->m = nullptr;
    m->oldp = p;
    m->p = nullptr;
    p->status.store(Psyscall, std::memory_order_release);
    if (sched.sysmonwait.load(std::memory_order_seq_cst) ||
        sched.sysmonDelayUs.load(std::memory_order_relaxed) > kSysmonTickUs) {
        entersyscallSlow(p);  // sysmon must know if work waits on it
    }
}

}  // namespace

int cgocallback(M* m, GoFunc fn, void* arg, bool isMain) {
    G* gp = m->curg;
    G* g0 = m->g0;
    bool countG = gp->system;  // an extra M's goroutine counts only meanwhile
    // What the callback changes, restored when it is done.
    fcontext_t outerG0 = g0->ctx.fctx;
    bool wasIncgo = m->incgo;
    G* outerMain = isMain ? sched.maing.load(std::memory_order_relaxed) : nullptr;

    // The first level swaps g0 and gp. A nested callback (C called from a
    // callback calls back) finds them swapped: gp already runs on this
    // stack, and g0's scheduler context on gp's stack serves it as is (gp's
    // own stack has not grown meanwhile).
    bool first = !gp->onNativeStack;
    if (first) {
        char* top = gp->syscallctx != nullptr ? static_cast<char*>(gp->syscallctx) - kGap
                                              : reinterpret_cast<char*>(gp->stack.hi);
        g0->ctx.fctx = make_fcontext(top, 0, nestedSchedule);
        swapIdentity(g0->ctx, gp->ctx);
        gp->onNativeStack = true;
    }
    m->incgo = false;
    m->lockedInt++;
    dolockOSThread(m, gp);
    if (isMain) sched.maing.store(gp, std::memory_order_release);
    m->cbdepth.store(m->cbdepth.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    m->ncallback.store(m->ncallback.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);

    if (acquirep0(m)) {
        casgstatus(gp, Gsyscall, Grunning);
        gp->m = m;
    } else {
        waitForP(m, gp);
        m = getm();  // the same M: gp is locked to it
    }
    if (countG) {
        m->p->countCreated();
        gp->system = false;  // a user goroutine while it runs the callback
    }
    try {
        fn(arg);
    } catch (const std::exception& e) {
        fatalf("unhandled C++ exception in a callback (goroutine %lld): %s", (long long)gp->goid,
               e.what());
    } catch (...) {
        fatalf("unhandled C++ exception in a callback (goroutine %lld)", (long long)gp->goid);
    }
    if (countG) {
        m->p->countExited();
        gp->system = true;
    }

    m->cbdepth.store(m->cbdepth.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    if (isMain) sched.maing.store(outerMain, std::memory_order_release);
    m->curg = gp;
    reentersyscall(m, gp);
    // An extra M's goroutine ends its life with the callback: a
    // LockOSThread it left behind goes with it (the thread is not the
    // runtime's to end). A goroutine in a cgocall lives on, locked or not.
    if (countG) m->lockedExt = 0;
    if (--m->lockedInt == 0 && m->lockedExt == 0) {
        m->lockedg = nullptr;
        gp->lockedm = nullptr;
    }
    if (first) {
        swapIdentity(g0->ctx, gp->ctx);
        gp->onNativeStack = false;
        g0->ctx.fctx = outerG0;
    }
    m->incgo = wasIncgo;
    return kOK;
}

}  // namespace gort
