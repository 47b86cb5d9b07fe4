// LockOSThread and UnlockOSThread (Go's semantics), the scheduling of
// locked goroutines (stoplockedm, startlockedm), and hosting.
//
// An M counts user locks (lockedExt, nested) and runtime-internal locks
// (lockedInt) separately; the G stays wired to the M while either is
// non-zero. A wired G runs only on its M:
//   - when the G blocks, its M hands the P to someone else and sleeps
//     (stoplockedm);
//   - when another M dequeues the G, it hands its own P to the G's M, wakes
//     it, and goes idle itself (startlockedm).
// A G that exits still locked takes its thread with it (goexitLocked in
// proc.cpp): the M exits instead of returning to the idle pool, because
// the goroutine may have changed the thread's state.
//
// Hosting. Those two steps are two thread hand-offs for every park of a
// locked G (15 us with Go's LockOSThread), and the locked G a C program
// meets most is not one it asked for: a callback's goroutine is locked
// internally (lockedInt: its C frames are below it on the thread's stack,
// cgocallback.cpp), which is how the C main thread, gort_run_main's
// goroutine and every foreign thread calling gort.h wait. So an M whose
// locked G is locked internally only (lockedInt > 0, lockedExt == 0) keeps
// its P while that G waits and runs other goroutines on it (they are
// "hosted"), on the scheduler stack's g0 as any M would; when the locked G
// is ready again, it resumes on that same thread at the host's next
// scheduling point. A ping-pong between the main thread and a goroutine
// then needs no thread hand-off at all. The promises kept:
//   - the locked G only ever runs on its own thread (the main goroutine on
//     the main thread);
//   - a goroutine that called lockOSThread itself (lockedExt) gets Go's
//     full promise: its M hosts nothing, it parks and wakes as above;
//   - a hosted goroutine never takes the host's thread for itself: before
//     it locks its thread or enters C (a cgocall, a blocking region: C on
//     the host's thread would stall the locked G, and a callback from there
//     would nest a second scheduler on the host's scheduler stack) it moves
//     to another M (unhost: G.noHost, which hosts never run). So it cannot
//     exit locked on the host either, and no foreign thread is ever taken
//     with a goroutine. It stays off hosts for the rest of its life: a
//     goroutine that calls C once tends to again, and each move is a
//     thread hand-off (W8's blocked cgocall waited for two);
//   - a goroutine with switch hooks (GoOptions onPark/onResume: every
//     Python goroutine) is never hosted: the layer that installs them keeps
//     per-thread state of its own (Python handles signals on the main
//     thread only, so a Python goroutine on it would take the main thread's
//     KeyboardInterrupt).
// The cost: a hosted goroutine that computes without a scheduling point
// delays the locked G by as long (Go's main goroutine shares its P
// likewise); a hosted goroutine that stalls in the kernel without telling
// the runtime delays it until the stall ends (sysmon lends a P to the
// others meanwhile, stall.cpp). A host runs only what its P's queues and
// the global queue hold (it never steals or spins); with nothing there it
// stops as before (stoplockedm: handoffp, sleep until its G is handed back
// with a P).
//
// The protocol between a host and the M that dequeues its G (every M may:
// it sits in run queues like any G). M.hosting is set by the M itself,
// only while it holds a P (before execute runs the locked G, or as a
// callback starts), and cleared before the M gives that P up (stoplockedm,
// its own startlockedm) or queues the locked G without one (exitsyscall0).
// So hosting is already set whenever the locked G can be dequeued while
// its M may host. The dequeuer, in startlockedm, sets M.hostReady and then
// reads hosting: if set, it leaves the G to the host and keeps its P (no
// thread is woken). A host clears hosting and then takes hostReady
// (exchange) before it gives up its P; both sides are seq_cst (Dekker), so
// either the host sees the flag and runs its G on its own P, or the
// dequeuer sees hosting clear, and whichever of the two takes hostReady
// back decides: the host runs its G, or the dequeuer hands its P over as
// before. hostReady set and not yet taken means: the locked G is runnable,
// in no queue, and its M is awake with a P (deadlock detection counts it
// running).
//
// The first LockOSThread starts the template thread, while this thread is
// still clean: from then on, Ms that a locked thread needs are created by
// the template thread (newm.cpp).
#include <unistd.h>

#include "runtime/errors.h"
#include "runtime/proc.h"
#include "runtime/stats.h"
#include "runtime/trace.h"

namespace gort {

namespace {

void dounlockOSThread(M* m, G* gp) {
    if (m->lockedInt != 0 || m->lockedExt != 0) {
        // Back to an internal lock alone: the M may host again (it holds
        // a P: gp runs).
        hostSet(m);
        return;
    }
    m->lockedg = nullptr;
    gp->lockedm = nullptr;
}

// hostEvicted runs on the host's g0 for a hosted G moving off (unhost):
// next on the host's P, where the host finds it and hands the P on with it.
void hostEvicted(M* m, G* prev) {
    prev->m = nullptr;
    casgstatus(prev, Grunning, Grunnable);
    runqput(m->p, prev, true);
}

}  // namespace

// mayHost (proc.h): m's thread is the process's main thread (the C main
// thread or gort_run_main's), waiting in a callback and not locked by its
// goroutine. Other C threads do not host: they may call in from a signal
// handler (or a C library's pool thread may be short of stack), where
// running other goroutines is not safe. (The wild jumps ASan saw in
// stress.signals were not hosting's: a handler's callback on the signal
// stack, cgocallback.cpp.) A forked child calls nothing (ENOTSUP), so the
// pid init saw stays right.
std::atomic<pid_t> mainTid{0};

M* unhost(G* gp) {
    gp->noHost = true;
    M* m = gp->m;
    while (m->lockedg != nullptr && m->lockedg != gp) m = gswitchToG0(m, gp, hostEvicted);
    return m;
}

G* hostRunnable(M* m, bool* inheritTime) {
    P* p = m->p;
    if (p == nullptr || !mayHost(m) || sched.stopping.load(std::memory_order_relaxed) ||
        p->id >= sched.nprocs.load(std::memory_order_relaxed)) {
        return nullptr;  // stoplockedm: the P goes on (retired if beyond GOMAXPROCS)
    }
    if (m->hostReady.load(std::memory_order_relaxed) &&
        m->hostReady.exchange(false, std::memory_order_acq_rel)) {
        return m->lockedg;
    }
    checkTimers(p, 0);
    G* gp = nullptr;
    *inheritTime = false;
    if (sched.runqsize.load(std::memory_order_relaxed) > 0 && p->tick() % 61 == 0) {
        LockGuard g(sched.lock);
        gp = globrunqget(p, 1);  // fairness, as schedule() does
    }
    if (gp == nullptr) gp = runqget(p, inheritTime);
    if (gp == nullptr && sched.runqsize.load(std::memory_order_relaxed) > 0) {
        LockGuard g(sched.lock);
        gp = globrunqget(p, 0);
    }
    if (gp == nullptr) return nullptr;
    if (gp->lockedm == nullptr && !hostable(gp)) {
        // It is leaving hosts, or it has switch hooks (see the top):
        // stoplockedm hands our P on with it.
        runqput(p, gp, true);
        return nullptr;
    }
    return gp;  // ours, a G to host, or one locked elsewhere (startlockedm)
}

int lockOSThread() {
    G* gp = getg();
    if (gp == nullptr) return kENOTGOROUTINE;
    M* m = gp->m;
    // A hosted goroutine locks a thread of its own, never its host's.
    if (GORT_UNLIKELY(m->lockedg != nullptr && m->lockedg != gp)) m = unhost(gp);
    if (sched.newmHandoff.haveTemplateThread.load(std::memory_order_acquire) == 0) {
        if (startTemplateThread() != 0) return kETHREAD;
    }
    if (m->lockedExt == UINT32_MAX) return kEOVERFLOW;  // Go: "LockOSThread nesting overflow"
    m->lockedExt++;
    dolockOSThread(m, gp);
    m->hosting.store(false, std::memory_order_seq_cst);  // Go's full promise from now on
    return kOK;
}

int unlockOSThread() {
    G* gp = getg();
    if (gp == nullptr) return kENOTGOROUTINE;
    M* m = gp->m;
    if (m->lockedExt == 0 || m->lockedg != gp) return kOK;  // not locked (maybe hosted)
    m->lockedExt--;
    dounlockOSThread(m, gp);
    return kOK;
}

void lockOSThreadInternal() {
    M* m = getm();
    m->lockedInt++;
    dolockOSThread(m, m->curg);
}

void unlockOSThreadInternal() {
    M* m = getm();
    if (m->lockedInt == 0) fatal("runtime: internal error: misuse of lockOSThread/unlockOSThread");
    m->lockedInt--;
    dounlockOSThread(m, m->curg);
}

void lockOSCounts(uint32_t* ext, uint32_t* in) {
    M* m = getm();
    bool mine = m != nullptr && m->lockedg != nullptr && m->lockedg == m->curg;
    *ext = mine ? m->lockedExt : 0;  // a hosted goroutine is not locked
    *in = mine ? m->lockedInt : 0;
}

void stoplockedm(M* m) {
    G* lg = m->lockedg;
    if (lg == nullptr || lg->lockedm != m) fatal("stoplockedm: inconsistent locking");
    // Our G may have been left to us while we could host (see the top).
    m->hosting.store(false, std::memory_order_seq_cst);
    // Only with a P: an M without one has hosting clear, so whoever
    // dequeued our G hands a P over with it (and must win the exchange).
    if (m->p != nullptr && m->hostReady.exchange(false, std::memory_order_seq_cst)) {
        return;  // run it on our P
    }
    if (m->p != nullptr) handoffp(releasep(m));
    incidlelocked(1);
    traceIdle(m, TraceIdle::lockedm, true);
    m->park.sleep();
    m->park.clear();
    traceIdle(m, TraceIdle::lockedm, false);

    if (m->exitThread) return;
    if (lg->status() != Grunnable) {
        printerr("runtime:stoplockedm: lockedg (atomicstatus=%u) is not Grunnable", lg->status());
        fatal("stoplockedm: not runnable");
    }
    acquirep(m, m->nextp);
    m->nextp = nullptr;
}

void startlockedm(M* m, G* gp) {
    M* mp = gp->lockedm;
    if (mp == m) fatal("startlockedm: locked to me");
    // A host awake with a P runs gp itself at its next scheduling point: we
    // keep our P and wake no one.
    // From the store on, mp may run gp, finish and be freed: hostRefs keeps
    // it until we are done looking (mfree waits). Before the store mp is
    // safe to touch: a host runs its own G only once hostReady says so (or
    // once it holds it itself), so mp cannot have left its callback yet, and
    // the increment is ordered before mfree's acquire load of hostRefs.
    mp->hostRefs.fetch_add(1, std::memory_order_seq_cst);
    mp->hostReady.store(true, std::memory_order_seq_cst);
    bool leftToHost = mp->hosting.load(std::memory_order_seq_cst) ||
                      !mp->hostReady.exchange(false, std::memory_order_seq_cst);
    mp->hostRefs.fetch_sub(1, std::memory_order_release);
    if (leftToHost) return;  // (mp may be gone now)
    if (mp->nextp != nullptr) fatal("startlockedm: m has p");
    incidlelocked(-1);
    stats().lockedmWakeups.fetch_add(1, std::memory_order_relaxed);
    if (m->lockedg != nullptr) {
        // We are a host giving our P away: our own G, if it was left to us
        // meanwhile, goes with the P (mp's M hands it back to us).
        m->hosting.store(false, std::memory_order_seq_cst);
        if (m->hostReady.exchange(false, std::memory_order_seq_cst)) {
            runqput(m->p, m->lockedg, false);
        }
    }
    // Hand our P to the locked M along with its G, then go idle (a host
    // waits for its own G instead: schedule's stoplockedm).
    // The G itself needs no handing over: the locked M runs its lockedg.
    mp->nextp = releasep(m);
    traceStartLocked(mp, gp);
    mp->park.wakeup();
    if (m->lockedg == nullptr) stopm(m);
}

}  // namespace gort
