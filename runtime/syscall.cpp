// System calls and blocking C calls: entersyscall and exitsyscall (Go 1.14's
// protocol).
//
// A goroutine about to block outside the runtime (a C call, a system call,
// waiting for Python's GIL) calls entersyscall: its G becomes Gsyscall and
// its P goes to status Psyscall, detached from the M but reserved for it
// (m->oldp). Nobody runs on that P unless somebody takes it: sysmon, after
// the call has lasted at least one of its ticks (retake), or GOMAXPROCS
// shrinking. exitsyscall tries, in order:
//   1. the fast path: CAS the old P from Psyscall back to Prunning, if it is
//      still ours (nothing was taken: no lock, no other thread involved);
//   2. any idle P;
//   3. the slow path: the G becomes runnable on the global queue and this M
//      stops (or, if the G is locked to it, waits for it in stoplockedm).
//
// Ownership: while a P is Psyscall, only a CAS out of Psyscall may claim it
// (casPsyscall, proc.h: the one place that does it, for the M coming back,
// sysmon's retake, procresize, and a thread leaving the runtime); the M in
// the call must not touch it until its own CAS succeeds. p->syscalltick
// counts the P's syscall exits and retakes; sysmon compares it between
// ticks to tell a long call from many short ones.
//
// Every user of the transition goes through entersyscall/exitsyscall:
// cgocall, blocking regions, callbacks (a callback leaves the system call
// its goroutine is in, and goes back into it), and extra Ms between
// callbacks.
#include "runtime/proc.h"
#include "runtime/stats.h"

namespace gort {

namespace {

// exitsyscall0 runs on g0 for a G that came out of a system call and found
// no P (Go's exitsyscall0).
void exitsyscall0(M* m, G* prev) {
    // Queued without a P, a locked G must not be left to this M as to a
    // host (lockosthread.cpp): whoever dequeues it hands a P over.
    if (prev == m->lockedg) m->hosting.store(false, std::memory_order_seq_cst);
    prev->m = nullptr;
    casgstatus(prev, Gsyscall, Grunnable);
    P* p;
    {
        LockGuard g(sched.lock);
        p = pidleget();
        if (p == nullptr) globrunqput(prev);
    }
    if (p != nullptr) {
        acquirep(m, p);
        m->pendingg = prev;  // run it at once
    }
    // With no P, schedule() stops this M: no P was idle, so the Ms that hold
    // the Ps will find prev on the global queue. A locked prev comes back to
    // this very thread through stoplockedm/startlockedm.
}

}  // namespace

bool exitsyscallfastPidle(M* m) {
    if (sched.npidle.load(std::memory_order_acquire) == 0) return false;
    P* p;
    {
        LockGuard g(sched.lock);
        p = pidleget();
    }
    if (p == nullptr) return false;
    acquirep(m, p);
    casgstatus(m->curg, Gsyscall, Grunning);
    stats().exitsyscallSlow.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void exitsyscallSlow(M* m) {
    // Queue the G and let g0 stop this M. The G may resume on another
    // thread.
    stats().exitsyscallSlow.fetch_add(1, std::memory_order_relaxed);
    gswitchToG0(m, m->curg, exitsyscall0);
}

void handoffOldp(M* m) {
    P* p = m->oldp;
    m->oldp = nullptr;
    if (p != nullptr && reclaimOldp(m, p, Pidle)) handoffp(p);
}

}  // namespace gort
