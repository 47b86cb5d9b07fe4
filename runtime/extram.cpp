// Extra Ms: running goroutines on threads the runtime did not create (Go's
// needm/dropm and extra-M list).
//
// A thread created by C (or the application's main thread) has no M. To
// run goroutine code there, needm binds an M to the thread: one from the
// pool of spare extra Ms, or a new one (unlike Go, allocating an M needs no
// M, so entering never waits). The thread then acts as that M's g0: it runs
// schedule() on its own stack for one goroutine locked to it, handing its P
// on whenever that goroutine blocks, exactly like a locked runtime M. When
// the goroutine finishes, the thread keeps its own life: the M is released
// (dropm) or stays bound for the thread's next entry.
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/proc.h"
#include "runtime/runtime.h"
#include "runtime/signals.h"
#include "runtime/stats.h"

namespace gort {

namespace {

M* oneNewExtraM() {
    M* m = new M;
    m->g0 = new G;
    m->g0->system = true;
    m->g0->atomicstatus.store(Grunning, std::memory_order_relaxed);
    m->isExtra = true;
    m->origin = MOrigin::foreign;
    m->sigmask = initSigmask;
    mcommoninit(m);
    return m;
}

}  // namespace

M* needm() {
    M* m;
    {
        LockGuard g(sched.extraLock);
        m = sched.extram;
        if (m != nullptr) {
            sched.extram = m->schedlink;
            sched.extraMCount--;
        }
    }
    if (m == nullptr) m = oneNewExtraM();
    m->schedlink = nullptr;
    sched.extraMInUse.fetch_add(1, std::memory_order_relaxed);
    stats().foreignThreadsBound.fetch_add(1, std::memory_order_relaxed);
    setm(m);
    // Like minit, but the thread's signal mask is its owner's: leave it.
    m->procid = pid_t(syscall(SYS_gettid));
    minitSignalStack(m);
    minitG0(m);
    return m;
}

void dropm(M* m) {
    unminitSignalStack(m);
    setm(nullptr);
    m->procid = 0;
    sched.extraMInUse.fetch_sub(1, std::memory_order_relaxed);
    LockGuard g(sched.extraLock);
    m->schedlink = sched.extram;
    sched.extram = m;
    sched.extraMCount++;
}

void extramFreeAll() {
    LockGuard g(sched.extraLock);
    while (M* m = sched.extram) {
        sched.extram = m->schedlink;
        {
            LockGuard g2(sched.lock);
            M** link = reinterpret_cast<M**>(&sched.allm);
            while (*link != nullptr && *link != m) link = &(*link)->alllink;
            if (*link == m) *link = m->alllink;
            sched.nmfreed++;
        }
        mfree(m);
    }
    sched.extraMCount = 0;
}

int runOnThisThread(void (*fn)(void*), void* arg, const RunOpts& opts) {
    bool keepM = opts.keepM;
    if (!sched.running.load(std::memory_order_acquire)) return kENOTINIT;
    M* m = getm();
    if (m != nullptr && m->curg != nullptr) {
        // Already goroutine code: just call it.
        fn(arg);
        return kOK;
    }
    if (m != nullptr && !m->isExtra) return kEBUSY;  // a runtime thread's g0
    if (m == nullptr) m = needm();
    G* gp = newproc1(fn, arg, SpawnOpts{}, nullptr);
    if (gp == nullptr) {
        if (!keepM) dropm(m);
        return kENOMEM;
    }
    m->lockedInt++;
    dolockOSThread(m, gp);
    if (opts.main) sched.maing.store(gp, std::memory_order_release);
    P* p;
    {
        LockGuard g(sched.lock);
        p = pidleget();
        if (p == nullptr) globrunqput(gp);
    }
    if (p != nullptr) {
        acquirep(m, p);
        m->pendingg = gp;
    } else {
        wakep();  // whoever dequeues gp hands us a P (startlockedm)
    }
    m->exitThread = false;
    schedule(m);  // until gp exits
    m->exitThread = false;
    if (opts.main) sched.maing.store(nullptr, std::memory_order_release);
    if (m->p != nullptr) handoffp(releasep(m));
    if (!keepM) dropm(m);
    return kOK;
}

}  // namespace gort
