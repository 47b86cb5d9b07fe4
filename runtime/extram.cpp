// Extra Ms: Ms for threads the runtime did not create (Go's needm, dropm,
// extra-M list, and Go 1.21's binding of an extra M to its C thread).
//
// A thread created by C, or the application's main thread, has no M. To run
// goroutine code there, needm gives it one: a spare from the pool, which
// always keeps one ready (as Go's newextram does; and allocating one needs
// no M or thread here, so entering never waits for anything). Each extra M owns one goroutine of
// its own, which runs the thread's callbacks; between callbacks it sits in a system call (Gsyscall)
// and does not count as a user goroutine.
//
// Binding (golang/go#51676): with bind, the M stays with the thread until
// the thread exits: a pthread key holds it, and the key's destructor, run
// at thread exit, gives back the P the thread may still reserve and returns
// the M to the pool (dropm). Repeated callbacks from one thread therefore
// cost no M lookup at all.
//
// Shutdown frees pooled extra Ms, but cannot reach into the threads that
// hold bound ones: those are reset and parked on a list that survives the
// runtime (the graveyard), marked with the old runtimeGen. If the thread
// enters a later runtime, validm revives its M; if it never does, the M
// stays reachable on that list.
//
// Signals are blocked while an M is bound or released, so a signal handler
// that calls back into the runtime cannot interrupt needm or dropm halfway
// (Go's NeedmDeadlock, golang/go#42207).
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/proc.h"
#include "runtime/runtime.h"
#include "runtime/signals.h"
#include "runtime/stats.h"
#include "runtime/traceback.h"

namespace gort {

std::atomic<uint64_t> runtimeGen{0};

namespace {

// Bound Ms whose runtime was shut down (see the top of the file).
struct Graveyard {
    Mutex lock;
    M* head = nullptr;
};
Graveyard& graveyard() {
    static NoDestructor<Graveyard> g;
    return *g;
}

// BlockSignals blocks every signal for its lifetime.
class BlockSignals {
  public:
    BlockSignals() {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old_);
    }
    ~BlockSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

  private:
    sigset_t old_;
};

// newExtraG makes an extra M's own goroutine: in a system call, not
// counted, with a stack for its callbacks.
G* newExtraG() {
    G* gp = rtnew<G>();
    gp->system = true;
    gp->goid = goidalloc(nullptr);
    gp->stackSize = stackRoundSize(0);
    gp->stack = stackalloc(gp->stackSize);
    if (!gp->stack) throwOOM("an extra M's goroutine stack", gp->stackSize);
    ctxSetStack(&gp->ctx, reinterpret_cast<void*>(gp->stack.lo), gp->stack.size());
    gp->atomicstatus.store(Gsyscall, std::memory_order_relaxed);
    allgadd(gp);
    return gp;
}

void freeExtraG(G* gp) {
    if (gp == nullptr) return;
    allgremove(gp);
    stackfree(gp->stack);
    ctxDestroy(&gp->ctx);
    rtdelete(gp->timer);
    rtdelete(gp);
}

M* oneNewExtraM() {
    M* m = rtnew<M>();
    m->g0 = rtnew<G>();
    m->g0->system = true;
    m->g0->atomicstatus.store(Grunning, std::memory_order_relaxed);
    m->isExtra = true;
    m->origin = MOrigin::foreign;
    m->sigmask = initSigmask;
    m->curg = newExtraG();
    mcommoninit(m);
    return m;
}

// extramPut adds m to the pool of spare extra Ms.
void extramPut(M* m) {
    LockGuard g(sched.extraLock);
    m->schedlink = sched.extram;
    sched.extram = m;
    sched.extraMCount++;
}

// extraMExit is the pthread key destructor: the thread is exiting.
void extraMExit(void* v) {
    auto* m = static_cast<M*>(v);
    if (m->gen != runtimeGen.load(std::memory_order_acquire)) return;  // an older runtime's
    BlockSignals b;
    // TLS may already be torn down: use the key's value, not getm().
    setm(m);
    m->bound = false;
    dropm(m);
}

}  // namespace

void extramInit() {
    sched.extraKeyValid = pthread_key_create(&sched.extraKey, extraMExit) == 0;
    extramPut(oneNewExtraM());  // the first spare (Go's newextram at start)
}

M* needm(bool bind) {
    BlockSignals b;
    M* m;
    bool empty;
    {
        LockGuard g(sched.extraLock);
        m = sched.extram;
        if (m != nullptr) {
            sched.extram = m->schedlink;
            sched.extraMCount--;
        }
        empty = sched.extram == nullptr;
    }
    if (m == nullptr) m = oneNewExtraM();
    // Keep a spare ready for the next thread (Go's needextram/newextram).
    if (empty) extramPut(oneNewExtraM());
    m->schedlink = nullptr;
    sched.extraMInUse.fetch_add(1, std::memory_order_relaxed);
    stats().foreignThreadsBound.fetch_add(1, std::memory_order_relaxed);
    setm(m);
    // Like minit, but the thread's signal mask is its owner's: leave it.
    m->procid = pid_t(syscall(SYS_gettid));
    minitSignalStack(m);
    minitG0(m);
    m->bound = bind && sched.extraKeyValid && pthread_setspecific(sched.extraKey, m) == 0;
    return m;
}

void dropm(M* m) {
    BlockSignals b;
    handoffOldp(m);  // the P its last callback left reserved
    if (m->bound && sched.extraKeyValid) pthread_setspecific(sched.extraKey, nullptr);
    m->bound = false;
    unminitSignalStack(m);
    setm(nullptr);
    m->procid = 0;
    sched.extraMInUse.fetch_sub(1, std::memory_order_relaxed);
    extramPut(m);
}

M* validm() {
    M* m = getm();
    if (m == nullptr || m->gen == runtimeGen.load(std::memory_order_acquire)) return m;
    // Bound in a runtime that has been shut down: take it off the graveyard
    // and make it this runtime's.
    {
        Graveyard& gy = graveyard();
        LockGuard g(gy.lock);
        M** link = &gy.head;
        while (*link != nullptr && *link != m) link = &(*link)->schedlink;
        if (*link == m) *link = m->schedlink;
    }
    m->schedlink = nullptr;
    m->p = m->nextp = m->oldp = nullptr;
    m->lockedg = nullptr;
    m->lockedExt = m->lockedInt = 0;
    m->incgo = false;
    m->spinning = false;
    m->exitThread = false;
    m->pendingg = nullptr;
    m->park.clear();
    freeExtraG(m->curg);
    m->curg = newExtraG();
    mcommoninit(m);
    sched.extraMInUse.fetch_add(1, std::memory_order_relaxed);
    m->bound = sched.extraKeyValid && pthread_setspecific(sched.extraKey, m) == 0;
    return m;
}

void extramFreeAll() {
    {
        LockGuard g(sched.extraLock);
        while (M* m = sched.extram) {
            sched.extram = m->schedlink;
            {
                LockGuard g2(sched.lock);
                allmRemove(m);
            }
            freeExtraG(m->curg);
            mfree(m);
        }
        sched.extraMCount = 0;
    }
    // Ms still bound to threads: their threads may enter a later runtime.
    Graveyard& gy = graveyard();
    LockGuard g(sched.lock);
    LockGuard g2(gy.lock);
    for (M* m = sched.allm.load(std::memory_order_relaxed); m != nullptr;) {
        M* next = m->alllink;
        if (m->isExtra) {
            allmRemove(m);
            m->oldp = nullptr;  // the Ps are about to be freed
            m->p = nullptr;
            freeExtraG(m->curg);  // revival gives it a new one
            m->curg = nullptr;
            m->schedlink = gy.head;
            gy.head = m;
        }
        m = next;
    }
    if (sched.extraKeyValid) pthread_key_delete(sched.extraKey);
    sched.extraKeyValid = false;
}

}  // namespace gort
