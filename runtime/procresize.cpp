// Changing the set of Ps while goroutines run: GOMAXPROCS (procresize), and
// the Ps sysmon lends while goroutines stall in the kernel (lendp, unlendp;
// see stall.cpp). The live set is Ps 0 .. nprocs-1, nprocs = GOMAXPROCS +
// lent; both kinds of change go through setprocsLocked.
//
// Go stops the world to resize. gort has no preemption, so it resizes
// without stopping anyone:
//   - Growing: new Ps are made (or dead ones revived) and put on the idle
//     list; wakep starts Ms for them if there is work.
//   - Shrinking: sched.nprocs drops first. A P beyond the new count is
//     retired by whoever owns it when they next look: idle Ps at once (here,
//     under sched.lock), Ps in a system call by CAS (their M takes another
//     P on return), running Ps by their M at its next scheduling point
//     (fastNext declines, findRunnable retires). Retiring (pretire) moves the
//     P's run queue to the global queue, its timers to P 0, its free Gs and
//     stacks to the global pools, and marks it Pdead.
// So nothing is lost, and a P keeps running only until its current
// goroutine yields. Ps are never freed before shutdown: stealers and stats
// may read any allp entry at any time.
#include <algorithm>

#include "runtime/proc.h"
#include "runtime/stats.h"

namespace gort {

void pretire(P* p) {
    runqdrain(p);
    moveTimers(p);
    if (p->gFree != nullptr) {
        LockGuard g(sched.gFreeLock);
        while (G* gp = p->gFree) {
            p->gFree = gp->schedlink;
            gp->schedlink = sched.gFree;
            sched.gFree = gp;
            sched.ngFree++;
        }
        p->gFreeCount = 0;
    }
    while (p->nstackcache > 0) stackfree(p->stackcache[--p->nstackcache]);
    p->status.store(Pdead, std::memory_order_release);
}

namespace {

// wakeForMovedTimers: retired Ps' timers went to P 0, behind the back of an
// M that may be sleeping until an earlier deadline, or not at all.
void wakeForMovedTimers() {
    int64_t when =
        sched.allp[0].load(std::memory_order_acquire)->timer0When.load(std::memory_order_acquire);
    if (when != 0) wakeTimerSleeper(when);
}

}  // namespace

namespace {

// setprocsLocked makes the live P set maxprocs + nlent Ps (under
// sched.lock): Ps below it are allocated or revived onto the idle list, idle
// Ps beyond it are retired, and Ps beyond it in a system call are taken and
// retired. A running P beyond it is retired by its M at its next scheduling
// point. Returns whether the set grew.
bool setprocsLocked(int32_t maxprocs, int32_t nlent) {
    if (maxprocs + nlent > kMaxProcs) nlent = kMaxProcs - maxprocs;
    int32_t n = maxprocs + nlent;
    int32_t old = sched.nprocs.load(std::memory_order_relaxed);
    int32_t nallp = sched.nallp.load(std::memory_order_relaxed);
    for (int32_t i = nallp; i < n; i++) {
        P* p = rtnew<P>();
        p->id = i;
        sched.allp[i].store(p, std::memory_order_release);
    }
    if (n > nallp) sched.nallp.store(n, std::memory_order_release);
    sched.gomaxprocs.store(maxprocs, std::memory_order_release);
    sched.nlent.store(nlent, std::memory_order_release);
    sched.nprocs.store(n, std::memory_order_release);

    // Revive dead Ps below the new count.
    for (int32_t i = 0; i < n; i++) {
        P* p = sched.allp[i].load(std::memory_order_relaxed);
        if (p->status.load(std::memory_order_acquire) == Pdead) {
            p->status.store(Pidle, std::memory_order_release);
            pidleput(p);
        }
    }
    // Retire idle Ps beyond it.
    P** link = &sched.pidle;
    while (P* p = *link) {
        if (p->id >= n) {
            *link = p->link;
            sched.npidle.fetch_sub(1, std::memory_order_acq_rel);
            pretire(p);
        } else {
            link = &p->link;
        }
    }
    // Take Ps beyond it from system calls.
    for (int32_t i = n; i < nallp; i++) {
        P* p = sched.allp[i].load(std::memory_order_relaxed);
        if (takePsyscall(p, Pidle)) pretire(p);
    }
    return n > old;
}

// afterResize starts an M if the P set grew or work is queued globally, and
// wakes the timer sleeper for timers that retired Ps moved to P 0.
void afterResize(bool grew) {
    if (grew || sched.runqsize.load(std::memory_order_relaxed) > 0) wakep();
    wakeForMovedTimers();
}

}  // namespace

int32_t procresize(int32_t nprocs, bool wake) {
    if (nprocs < 1) nprocs = 1;
    if (nprocs > kMaxProcs) nprocs = kMaxProcs;
    int32_t old;
    bool grew;
    {
        LockGuard g(sched.lock);
        old = sched.gomaxprocs.load(std::memory_order_relaxed);
        grew = setprocsLocked(nprocs, sched.nlent.load(std::memory_order_relaxed));
    }
    if (wake) afterResize(grew);
    return old;
}

int32_t lendCap(int32_t maxprocs) {
    return sched.maxLent != 0 ? sched.maxLent : std::max(maxprocs, kDefaultMaxLent);
}

int32_t lendp(int32_t n) {
    {
        LockGuard g(sched.lock);
        if (sched.stopping.load(std::memory_order_relaxed)) return 0;
        int32_t maxprocs = sched.gomaxprocs.load(std::memory_order_relaxed);
        int32_t nlent = sched.nlent.load(std::memory_order_relaxed);
        n = std::min({n, lendCap(maxprocs) - nlent, kMaxProcs - maxprocs - nlent});
        if (n <= 0) return 0;
        setprocsLocked(maxprocs, nlent + n);
        // Under the lock with nlent: readStats's snapshot of the three agrees.
        stats().procsLent.fetch_add(uint64_t(n), std::memory_order_relaxed);
    }
    afterResize(true);
    return n;
}

void unlendp(int32_t n) {
    {
        LockGuard g(sched.lock);
        int32_t nlent = sched.nlent.load(std::memory_order_relaxed);
        n = std::min(n, nlent);  // GOMAXPROCS may have grown to the limit meanwhile
        if (n <= 0) return;
        setprocsLocked(sched.gomaxprocs.load(std::memory_order_relaxed), nlent - n);
        stats().procsReturned.fetch_add(uint64_t(n), std::memory_order_relaxed);  // (see lendp)
    }
    afterResize(false);
}

bool retireIfBeyondMaxprocs(M* m) {
    P* p = m->p;
    if (p->id < sched.nprocs.load(std::memory_order_acquire)) return false;
    {
        LockGuard g(sched.lock);
        if (p->id < sched.nprocs.load(std::memory_order_relaxed)) return false;
        releasep(m);
        pretire(p);
    }
    // A spinning M stays spinning: findRunnable ends that after its last
    // look at the queues and timers (wakep relied on the spinner for it).
    if (sched.runqsize.load(std::memory_order_relaxed) > 0) wakep();
    wakeForMovedTimers();
    return true;
}

bool retireSyscallP(P* p) {
    {
        LockGuard g(sched.lock);
        if (p->id < sched.nprocs.load(std::memory_order_relaxed)) return false;
        if (!takePsyscall(p, Pidle)) return false;
        pretire(p);
    }
    if (sched.runqsize.load(std::memory_order_relaxed) > 0) wakep();
    wakeForMovedTimers();
    return true;
}

void pfreeAll() {
    int32_t n = sched.nallp.load(std::memory_order_relaxed);
    for (int32_t i = 0; i < n; i++) {
        P* p = sched.allp[i].load(std::memory_order_relaxed);
        for (int32_t k = 0; k < p->ntimers; k++) {
            Timer* t = p->timers[k];
            if (t->drop != nullptr) t->drop(t->arg);
        }
        free(p->timers);
        rtdelete(p);
        sched.allp[i].store(nullptr, std::memory_order_relaxed);
    }
    sched.nallp.store(0, std::memory_order_relaxed);
}

}  // namespace gort
