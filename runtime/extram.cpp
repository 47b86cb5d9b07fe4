// Extra Ms: Ms for threads the runtime did not create (Go's needm, dropm,
// extra-M list, and Go 1.21's binding of an extra M to its C thread).
//
// A thread created by C, or the application's main thread, has no M. To run
// goroutine code there, needm gives it one from a pool of spares. Everything
// a thread needs is made with the M (its goroutine, the scheduler stack of
// its callbacks, its alternate signal stack), so needm allocates nothing,
// ever: a callback may come from a signal handler (golang/go#15994), where
// malloc may deadlock. When needm takes the last spare it asks sysmon for a
// new one (Go's needextram: made later, in a thread that may allocate); if
// the pool is empty, needm waits for sysmon, which makes one spare per
// waiter (Go's needm waits in lockextra likewise). dropm puts an M back, or
// frees it beyond kMaxPooled spares: a burst of threads does not leave a
// pool the size of the burst. Extra Ms do not count toward the thread limit
// (golang/go#60004).
//
// Each extra M owns one goroutine of its own, which runs the thread's
// callbacks; between callbacks it sits in a system call (Gsyscall) and does
// not count as a user goroutine.
//
// Binding (golang/go#51676): the M stays with the thread until the thread
// exits: a pthread key holds it, and the key's destructor, run at thread
// exit, gives back the P the thread may still reserve and returns the M to
// the pool. Repeated callbacks from one thread therefore cost no M lookup.
// The key lives as long as the library (deleted when it is unloaded), so the
// destructor runs whatever runtime the M belongs to:
//   - the running one: it goes through the call gate (shutdown cannot tear
//     down meanwhile) and drops the M;
//   - a runtime shut down since: shutdown could not reach into the thread,
//     so it reset the M and parked it on a list that survives the runtime
//     (the graveyard, marked with the old runtimeGen), where the thread
//     would find it again if it called back into a later runtime (validm);
//     the destructor frees it from there;
//   - one shutting down right now (the gate is closed): under the
//     graveyard's lock it either frees the M from the graveyard or, if
//     teardown has not reached it yet, marks it so that teardown frees it
//     instead of parking it.
//
// Signals are blocked while an M is bound or released, so a signal handler
// that calls back into the runtime cannot interrupt needm or dropm halfway
// (Go's NeedmDeadlock, golang/go#42207).
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/futex.h"
#include "runtime/proc.h"
#include "runtime/runtime.h"
#include "runtime/signals.h"
#include "runtime/stats.h"
#include "runtime/trace.h"
#include "runtime/traceback.h"

namespace gort {

std::atomic<uint64_t> runtimeGen{0};

namespace {

constexpr int32_t kMaxPooled = 8;  // spare extra Ms kept beyond those in use

// Bound Ms whose runtime was shut down (see the top of the file).
struct Graveyard {
    Mutex lock;
    M* head = nullptr;
};
Graveyard& graveyard() {
    static NoDestructor<Graveyard> g;
    return *g;
}

// The key that binds an extra M to its thread: made once, deleted when the
// library is unloaded (then no destructor of ours may run any more).
pthread_key_t extraKey;
bool extraKeyValid = false;
pthread_once_t extraKeyOnce = PTHREAD_ONCE_INIT;

void extraMExit(void* v);

void makeExtraKey() {
    extraKeyValid = pthread_key_create(&extraKey, extraMExit) == 0;
}

__attribute__((destructor)) void deleteExtraKey() {
    if (extraKeyValid) pthread_key_delete(extraKey);
    extraKeyValid = false;
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
// counted. It runs on its thread's own stack (cgocallback.cpp), so it needs
// no stack of its own.
G* newExtraG() {
    G* gp = rtnew<G>();
    gp->system = true;
    gp->goid = goidalloc(nullptr);
    gp->atomicstatus.store(Gsyscall, std::memory_order_relaxed);
    allgadd(gp);
    return gp;
}

void freeExtraG(G* gp) {
    if (gp == nullptr) return;
    allgremove(gp);
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
    mallocSchedStack(m);
    mallocSignalStack(m);
    mcommoninit(m);
    return m;
}

// freeExtraM frees an extra M of the running runtime that no thread holds.
void freeExtraM(M* m) {
    {
        LockGuard g(sched.lock);
        allmRemove(m);
    }
    freeExtraG(m->curg);
    freeSignalStack(m);
    mfree(m);
}

// extramPool adds m to the pool of spares (extraLock held) and wakes the
// needms waiting for one. An M a thread gave back goes first (its stacks
// are warm), one sysmon just made goes last (atTail): so a thread that
// calls in after another one left gets that one's M, whenever sysmon's
// refill ran.
void extramPool(M* m, bool atTail = false) {
    M** link = &sched.extram;
    if (atTail) {
        while (*link != nullptr) link = &(*link)->schedlink;
    }
    m->schedlink = *link;
    *link = m;
    sched.extraMCount.fetch_add(1, std::memory_order_relaxed);
    sched.extraGen.fetch_add(1, std::memory_order_release);
    if (sched.extraWaiters.load(std::memory_order_acquire) > 0) {
        futexwakeup(&sched.extraGen, INT32_MAX);
    }
}

// extramPut returns m to the pool of spares, or frees it when the pool is
// full and every thread waiting for a spare has one to take.
void extramPut(M* m) {
    {
        LockGuard g(sched.extraLock);
        int32_t n = sched.extraMCount.load(std::memory_order_relaxed);
        if (n < kMaxPooled || n < sched.extraWaiters.load(std::memory_order_acquire)) {
            extramPool(m);
            return;
        }
    }
    freeExtraM(m);
}

// extramTake takes a spare from the pool, or null.
M* extramTake() {
    LockGuard g(sched.extraLock);
    M* m = sched.extram;
    if (m != nullptr) {
        sched.extram = m->schedlink;
        sched.extraMCount.fetch_sub(1, std::memory_order_relaxed);
    }
    return m;
}

// extramWait waits until sysmon has pooled a spare (or a thread has given
// one back), and takes it. Only futex calls: safe in a signal handler.
M* extramWait() {
    sched.extraWaiters.fetch_add(1, std::memory_order_acq_rel);
    M* m;
    for (;;) {
        uint32_t gen = sched.extraGen.load(std::memory_order_acquire);
        if ((m = extramTake()) != nullptr) break;
        sched.needExtraM.store(true, std::memory_order_release);
        wakeSysmon();
        futexsleep(&sched.extraGen, gen, 1'000'000);
    }
    sched.extraWaiters.fetch_sub(1, std::memory_order_acq_rel);
    return m;
}

// graveyardRemove takes m off the graveyard; false if it is not there.
bool graveyardRemove(Graveyard& gy, M* m) {
    M** link = &gy.head;
    while (*link != nullptr && *link != m) link = &(*link)->schedlink;
    if (*link != m) return false;
    *link = m->schedlink;
    m->schedlink = nullptr;
    return true;
}

// extraMExit is the pthread key destructor: the thread is exiting.
void extraMExit(void* v) {
    auto* m = static_cast<M*>(v);
    BlockSignals b;
    CallGate gate;
    gate.inGate = true;  // dropm gives m to the next thread that needs one
    if (callEnter(&gate) == kOK) {
        if (m->gen == runtimeGen.load(std::memory_order_acquire)) {
            // The running runtime's: drop it. (TLS may already be torn down:
            // the key's value is the M.)
            setm(m);
            m->bound = false;
            dropm(m);
            callExit(gate);
            return;
        }
        callExit(gate);
    }
    // A runtime shut down since, or shutting down now.
    Graveyard& gy = graveyard();
    LockGuard g(gy.lock);
    if (graveyardRemove(gy, m)) {
        freeSignalStack(m);
        mfree(m);  // its goroutine went with its runtime
    } else {
        m->threadGone.store(true, std::memory_order_release);  // teardown frees it
    }
}

}  // namespace

void extramInit() {
    pthread_once(&extraKeyOnce, makeExtraKey);
    extramPut(oneNewExtraM());  // the first spare (Go's newextram at start)
}

void extramReplenish() {
    if (!sched.needExtraM.exchange(false, std::memory_order_acq_rel)) return;
    // One spare beyond the threads waiting (a burst of first callbacks is
    // served in one go), made outside the lock.
    for (;;) {
        {
            LockGuard g(sched.extraLock);
            if (sched.extraMCount.load(std::memory_order_relaxed) >
                sched.extraWaiters.load(std::memory_order_acquire)) {
                return;
            }
        }
        M* m = oneNewExtraM();
        LockGuard g(sched.extraLock);
        extramPool(m, true);
    }
}

M* needm(bool bind) {
    BlockSignals b;
    M* m = extramTake();
    if (m == nullptr) {
        m = extramWait();  // the pool ran dry: sysmon makes one
    } else if (sched.extraMCount.load(std::memory_order_relaxed) == 0) {
        // Took the last spare: sysmon makes the next (needm itself must not
        // allocate: it may run in a signal handler).
        sched.needExtraM.store(true, std::memory_order_release);
        wakeSysmon();
    }
    m->schedlink = nullptr;
    sched.extraMInUse.fetch_add(1, std::memory_order_relaxed);
    stats().foreignThreadsBound.fetch_add(1, std::memory_order_relaxed);
    setm(m);
    // Like minit, but the thread's signal mask is its owner's: leave it.
    __atomic_store_n(&m->procid, pid_t(syscall(SYS_gettid)), __ATOMIC_RELEASE);
    traceBind(m, true);
    minitSignalStack(m);
    ctxAdoptThread(&m->g0->ctx);
    m->bound = bind && extraKeyValid && pthread_setspecific(extraKey, m) == 0;
    return m;
}

void dropm(M* m) {
    BlockSignals b;
    traceBind(m, false);
    handoffOldp(m);  // the P its last callback left reserved
    if (m->bound && extraKeyValid) pthread_setspecific(extraKey, nullptr);
    m->bound = false;
    unminitSignalStack(m);
    setm(nullptr);
    __atomic_store_n(&m->procid, 0, __ATOMIC_RELEASE);
    m->stackLo = m->stackHi = 0;
    sched.extraMInUse.fetch_sub(1, std::memory_order_relaxed);
    extramPut(m);
}

M* validm() {
    M* m = getmAtEntry();
    if (m == nullptr || m->gen == runtimeGen.load(std::memory_order_acquire)) return m;
    // Bound in a runtime that has been shut down: take it off the graveyard
    // and make it this runtime's.
    {
        Graveyard& gy = graveyard();
        LockGuard g(gy.lock);
        graveyardRemove(gy, m);
    }
    m->p = m->nextp = m->oldp = nullptr;
    m->lockedg = nullptr;
    m->lockedExt = m->lockedInt = 0;
    m->hosting.store(false, std::memory_order_relaxed);
    m->hostReady.store(false, std::memory_order_relaxed);
    m->incgo = false;
    m->spinning = false;
    m->exitThread = false;
    m->pendingg = nullptr;
    m->park.clear();
    m->curg = newExtraG();
    mallocSchedStack(m);
    mcommoninit(m);
    sched.extraMInUse.fetch_add(1, std::memory_order_relaxed);
    m->bound = extraKeyValid && pthread_setspecific(extraKey, m) == 0;
    return m;
}

void extramFreeAll() {
    {
        LockGuard g(sched.extraLock);
        while (M* m = sched.extram) {
            sched.extram = m->schedlink;
            freeExtraM(m);
        }
        sched.extraMCount = 0;
    }
    // Ms still bound to threads: their threads may enter a later runtime
    // (or exit: their key's destructor frees them then).
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
            // Its scheduler stack comes from the stack arenas, which go with
            // the runtime (revival gives it a new one).
            mfreeSchedStack(m);
            if (m->threadGone.load(std::memory_order_acquire)) {
                freeSignalStack(m);
                mfree(m);  // its thread exited meanwhile
            } else {
                m->schedlink = gy.head;
                gy.head = m;
            }
        }
        m = next;
    }
}

}  // namespace gort
