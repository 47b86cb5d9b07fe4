// System calls and blocking C calls: entersyscall and exitsyscall (Go 1.14's
// protocol).
//
// A goroutine about to block outside the runtime (a C call, a system call,
// waiting for Python's GIL) calls entersyscall: its G becomes Gsyscall and
// its P goes to status Psyscall, detached from the M but reserved for it
// (m->oldp). Nobody runs on that P unless somebody takes it: sysmon, after
// the call has lasted at least one of its ticks (retake), or GOMAXPROCS
// shrinking. exitsyscall tries, in order:
//   1. the fast path: take the old P from Psyscall back to Prunning, if it
//      is still ours (nothing was taken: no lock, no other thread involved,
//      and with the process fence no locked instruction: see below);
//   2. any idle P;
//   3. the slow path: the G becomes runnable on the global queue and this M
//      stops (or, if the G is locked to it, waits for it in stoplockedm).
//
// Ownership: while a P is Psyscall, it is claimed out of it in one of two
// ways, the two sides of one hand-over: reclaimOldp (proc.h) for the M
// coming back, takePsyscall (below) for a thief taking it away (sysmon's
// retake, procresize). p->syscalltick counts the P's syscall exits and
// retakes; sysmon compares it between ticks to tell a long call from many
// short ones, and an M whose oldp's tick moved knows the P is gone.
//
// The hand-over. Go claims the P with a CAS on both sides, and so did we:
// a locked instruction costs 13-15 ns here (it drains the store buffer),
// a third of a cgocall, paid twice per call by a callback from a C thread
// and by Python's calls into C, while thieves come once per 20 us at most.
// So the cost moves to the thief, as a Dekker hand-over:
//   - the M, coming back, sets m->exitingSyscall, then (a compiler barrier)
//     reads p->status: Psyscall with its own tick means the P is still its
//     own, and it takes it with plain stores (tick, then status);
//   - the thief CASes Psyscall -> Pretaking, runs the process fence
//     (membarrier: every running thread executes a full barrier, and a
//     thread not running passed through the kernel's), then reads the M's
//     flag (p->syscallm). Set: the M is coming back, and the thief puts
//     Psyscall back (a CAS: the M may have stored over Pretaking already).
//     Clear: it commits, a CAS Pretaking -> to, and only then bumps the
//     tick.
// The fence makes the two reads exclusive: either the M's flag reached
// memory before the fence ended and the thief sees it, or the M's read of
// the status comes after the thief's CAS and sees Pretaking (the M then
// waits for the thief's decision: awaitTake). An M that read Psyscall
// before the CAS has its flag seen, so every thief of that call backs off.
// Thieves hold sched.retakeLock for the whole claim, one at a time, so a
// thief's commit CAS can match only its own Pretaking: a claim the M
// stored over, then a new call of the M in Psyscall, fails it.
// The flag is the M's own, cleared at entersyscall before the status is
// published: an M that comes back late to a P long retaken writes only
// its own flag, never one that another M's call depends on.
// Without membarrier (an old kernel, a seccomp filter) and under TSan,
// which cannot see the kernel's barrier, the M sets its flag with a
// sequentially consistent exchange (a locked instruction, the cost of the
// old CAS) and the thief's CAS and load are sequentially consistent too:
// the two sides' accesses are then in one total order, which is Dekker's
// argument without the fence.
//
// Every user of the transition goes through entersyscall/exitsyscall:
// cgocall, blocking regions, callbacks (a callback leaves the system call
// its goroutine is in, and goes back into it), and extra Ms between
// callbacks.
#include <sched.h>

#include "runtime/proc.h"
#include "runtime/procfence.h"
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

uint32_t awaitTake(P* p) {
    // The thief holds Pretaking for one fence (microseconds), unless it was
    // descheduled.
    for (int spin = 0;; spin++) {
        uint32_t st = p->status.load(std::memory_order_acquire);
        if (st != Pretaking) return st;
        if (spin < 100) {
            __builtin_ia32_pause();
        } else {
            sched_yield();
        }
    }
}

bool takePsyscall(P* p, Pstatus to) {
    if (p->status.load(std::memory_order_relaxed) != Psyscall) return false;
    LockGuard g(sched.retakeLock);
    uint32_t st = Psyscall;
    if (!p->status.compare_exchange_strong(st, Pretaking, std::memory_order_seq_cst)) return false;
    // syscallm was stored before the status was published (entersyscall's
    // release store); the CAS read that status, so it sees the M of this call.
    M* m = p->syscallm.load(std::memory_order_relaxed);
    if (sched.asymmetricSyscall.load(std::memory_order_relaxed)) processFence();
    if (m->exitingSyscall.load(std::memory_order_seq_cst)) {
        st = Pretaking;
        p->status.compare_exchange_strong(st, Psyscall, std::memory_order_acq_rel);
        stats().retakeBackoffs.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    st = Pretaking;
    if (!p->status.compare_exchange_strong(st, to, std::memory_order_acq_rel)) {
        return false;  // the M stored over the claim and is in another call
    }
    // Ours: nobody else writes syscalltick meanwhile.
    p->syscalltick.store(p->syscalltick.load(std::memory_order_relaxed) + 1,
                         std::memory_order_release);
    return true;
}

void handoffOldp(M* m) {
    P* p = m->oldp;
    m->oldp = nullptr;
    if (p != nullptr && reclaimOldp(m, p, Pidle)) handoffp(p);
}

}  // namespace gort
