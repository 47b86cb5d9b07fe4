// findRunnable: what an M does when it has no G to run (Go's findRunnable
// and its helpers), in phases: the local queue, the global queue every so
// often, due timers, stealing while spinning, then dropping the P, one last
// look at every queue and timer, and sleep (as the timer sleeper if a timer
// is pending). The spinning protocol and the timer sleeper are described
// at the top of proc.cpp.
#include <errno.h>
#include <sched.h>
#include <string.h>

#include <algorithm>

#include "runtime/proc.h"
#include "runtime/stats.h"
#include "runtime/trace.h"

namespace gort {

namespace {

// stealWork tries to steal a G from other Ps, in random order; the last
// pass may also take a victim's runnext. Ps beyond GOMAXPROCS that are not
// retired yet (their M has not reached a scheduling point) are victims too:
// what is queued there must not wait for them.
G* stealWork(M* m) {
    P* p = m->p;
    constexpr int kStealTries = 4;
    for (int i = 0; i < kStealTries; i++) {
        bool stealRunNextG = i == kStealTries - 1;
        int32_t n = sched.nallp.load(std::memory_order_acquire);
        uint32_t start = fastrand(m);
        for (int32_t j = 0; j < n; j++) {
            P* p2 = sched.allp[(start + uint32_t(j)) % uint32_t(n)].load(std::memory_order_acquire);
            uint32_t st = p2->status.load(std::memory_order_relaxed);
            if (p2 == p || st == Pidle || st == Pdead) continue;
            if (G* gp = runqsteal(p, p2, stealRunNextG)) return gp;
        }
    }
    return nullptr;
}

// runDueTimers runs the expired timers of every P; returns true if that
// made work for m's P.
bool runDueTimers(M* m, int64_t now) {
    bool ran = false;
    int32_t n = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < n; i++) {
        P* p2 = sched.allp[i].load(std::memory_order_acquire);
        int64_t w = p2->timer0When.load(std::memory_order_relaxed);
        if (w != 0 && w <= now) {
            checkTimers(p2, now);
            ran = true;
        }
    }
    return ran && !runqempty(m->p);
}

// sleepUntilTimer blocks the M (holding no P) until `until` or a wakeup, as
// the timer sleeper. Returns with a P acquired if one was idle, else none.
void sleepUntilTimer(M* m, int64_t until) {
    int64_t d = until - nanotime();
    m->park.tsleep(d > 0 ? d : 0);
    LockGuard g(sched.lock);
    if (sched.timerSleeper == m) {
        sched.timerSleeper = nullptr;
        sched.pollUntil.store(0, std::memory_order_relaxed);
    }
    // Under sched.lock: a waker clears timerSleeper and wakes under it too.
    m->park.clear();
    if (P* p = pidleget()) acquirep(m, p);
}

// The phases of findRunnable, in order. Each returns a G to run, or null to
// go on to the next.

// findLocal: p's own run queue.
G* findLocal(P* p, bool* inheritTime) {
    return runqget(p, inheritTime);
}

// findGlobal: a batch from the global queue.
G* findGlobal(P* p, bool* inheritTime) {
    if (sched.runqsize.load(std::memory_order_relaxed) == 0) return nullptr;
    G* gp;
    {
        LockGuard g(sched.lock);
        gp = globrunqget(p, 0);
    }
    *inheritTime = false;
    return gp;
}

// becomeSpinning counts m among the spinning Ms (Go's mp.becomeSpinning).
void becomeSpinning(M* m) {
    m->spinning = true;
    sched.nmspinning.fetch_add(1, std::memory_order_acq_rel);
}

// findBySteal: other Ps' queues, as a spinning M, unless half the busy Ps
// already have a spinner. At most GOMAXPROCS Ps count as busy: a P lent by
// stall detection stands in for one whose M is blocked in the kernel, not
// running, and a hundred stalled calls (ctypes) must not allow fifty
// spinners, which took both CPUs here from the threads the calls woke.
G* findBySteal(M* m, bool* inheritTime) {
    int32_t procs = sched.nprocs.load(std::memory_order_relaxed);
    int32_t busy = std::min(procs - sched.npidle.load(std::memory_order_relaxed),
                            sched.gomaxprocs.load(std::memory_order_relaxed));
    if (!m->spinning && 2 * sched.nmspinning.load(std::memory_order_relaxed) >= busy) {
        return nullptr;
    }
    if (!m->spinning) becomeSpinning(m);
    *inheritTime = false;
    return stealWork(m);
}

// dropP gives up the M's P, after a last look at the global queue under
// sched.lock (so a G queued there is not left behind). Returns that G, or
// null with the P on the idle list.
G* dropP(M* m, bool* inheritTime) {
    P* p = m->p;
    LockGuard g(sched.lock);
    if (sched.runqsize.load(std::memory_order_relaxed) > 0) {
        if (G* gp = globrunqget(p, 0)) {
            *inheritTime = false;
            return gp;
        }
    }
    if (releasep(m) != p) fatal("findrunnable: wrong p");
    pidleput(p);
    return nullptr;
}

// stopSpinning leaves the spinning state; returns whether the M was spinning.
bool stopSpinning(M* m) {
    if (!m->spinning) return false;
    m->spinning = false;
    if (sched.nmspinning.fetch_sub(1, std::memory_order_acq_rel) - 1 < 0) {
        fatal("findrunnable: negative nmspinning");
    }
    return true;
}

// reacquireForWork: an M that has just stopped spinning, now without a P,
// looks at every run queue once more (a G queued between its last look and
// its pidleput must not be stranded: Go's "delicate dance"); if there is
// work and an idle P, it takes the P back, spinning again.
bool reacquireForWork(M* m) {
    int32_t n = sched.nallp.load(std::memory_order_acquire);
    bool work = sched.runqsize.load(std::memory_order_acquire) > 0;
    for (int32_t i = 0; i < n && !work; i++) {
        work = !runqempty(sched.allp[i].load(std::memory_order_acquire));
    }
    if (!work) return false;
    P* p2;
    {
        LockGuard g(sched.lock);
        p2 = pidleget();
    }
    if (p2 == nullptr) return false;
    acquirep(m, p2);
    becomeSpinning(m);
    return true;
}

// becomeTimerSleeper makes m the M that sleeps until the next timer, unless
// another sleeps until an earlier one. Returns whether it did (and slept).
bool becomeTimerSleeper(M* m) {
    int64_t next = nextTimerAll();
    if (next == 0) return false;
    {
        LockGuard g(sched.lock);
        // Shutting down: the M stops instead (stopm), as idle Ms do.
        if (sched.stopping.load(std::memory_order_relaxed)) return false;
        M* old = sched.timerSleeper;
        if (old != nullptr && next >= sched.pollUntil.load(std::memory_order_relaxed)) return false;
        sched.timerSleeper = m;
        sched.pollUntil.store(next, std::memory_order_relaxed);
        if (old != nullptr) old->park.wakeup();
    }
    sleepUntilTimer(m, next);
    return true;
}

// idleWithoutP: the M has just given up its P (dropP) or had it retired
// (retireIfBeyondMaxprocs). If it was spinning, wakers (wakep) counted on
// it to look at the run queues once more before it sleeps
// (reacquireForWork). Only a spinning M does that, as in Go: whoever queues
// work calls wakep, which relies on a spinner for the last look, and a G
// queued on the global queue while the M still held its P is seen by
// dropP's look under the lock. (A non-spinning M that took a P back here
// could not steal, findBySteal's bound, and went round dropP and that look
// for as long as the work stayed queued.) Every M looks at the timers
// (becomeTimerSleeper). Returns with a P, or after a stopm.
void idleWithoutP(M* m) {
    if (stopSpinning(m) && reacquireForWork(m)) return;
    if (becomeTimerSleeper(m)) return;
    stopm(m);
}

}  // namespace

// findRunnable finds a G for m to run, in Go's order: the local queue, the
// global queue, stealing, due timers of other Ps; with nothing found the M
// drops its P, looks everywhere once more, and sleeps (until the next timer
// if no other M does, else until woken). Null when the M must exit.
G* findRunnable(M* m, bool* inheritTime) {
    for (;;) {
        if (m->exitThread) return nullptr;
        if (m->p == nullptr) {
            stopm(m);
            continue;
        }
        if (retireIfBeyondMaxprocs(m)) {
            // A spinner retiring its P still owes its last look (F5: a
            // timer added while it spun was lost).
            idleWithoutP(m);
            continue;
        }
        P* p = m->p;
        int64_t now = checkTimers(p, 0);
        if (G* gp = findLocal(p, inheritTime)) return gp;
        if (G* gp = findGlobal(p, inheritTime)) return gp;
        if (G* gp = findBySteal(m, inheritTime)) return gp;
        if (now == 0) now = nanotime();
        if (runDueTimers(m, now)) continue;
        if (G* gp = dropP(m, inheritTime)) return gp;
        idleWithoutP(m);
    }
}

}  // namespace gort
