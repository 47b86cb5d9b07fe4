// Internal scheduler interface: the functions the runtime's files call on
// each other. Names follow Go's proc.go so the two can be read side by side.
// Nothing here is for the layers above; they use runtime/include/runtime/.
#pragma once

#include "runtime/gmp.h"
#include "runtime/runq.h"
#include "runtime/runtime.h"

namespace gort {

// ---- switching (proc.cpp) -------------------------------------------------

// Switching (gswitch, private to proc.cpp) suspends the running G or g0
// and resumes another; after(m, from) runs on the resumed side once the
// suspended context is saved (Go's mcall function). gswitchToG0 is mcall:
// it leaves the running G gp for this M's g0, running gp's switch hooks
// around the switch; returns the M that resumes gp.
M* gswitchToG0(M* m, G* gp, void (*after)(M*, G*));

// finishSwitch completes a switch on the resumed side: it saves the left
// context in the G that left, then runs the pending after action. Every
// point where a context starts or resumes calls it first.
inline void finishSwitch(M* m, fcontext_t fctx) {
    G* prev = m->prevg;
    prev->ctx.fctx = fctx;
    if (auto after = m->afterSwitch) {
        m->afterSwitch = nullptr;
        after(m, prev);
    }
}

// ---- G lifecycle (proc.cpp) -----------------------------------------------

// newproc creates a runnable G running fn(arg) and queues it; goidOut, if
// set, receives its id. Returns kOK or kENOMEM. A goroutine that spawns into
// a full run queue yields (see proc.cpp).
int newproc(GoFunc fn, void* arg, const GoOptions& opts, int64_t* goidOut = nullptr);

// gfget returns a G in state Gdead from the free lists (stack still
// attached), or null; gfput puts a dead one there.
G* gfget(P* p);
void gfput(P* p, G* gp);
void gdelete(G* gp);
void gfreeAll();
// newproc1 makes a runnable G without queueing it; null when memory ran out.
G* newproc1(GoFunc fn, void* arg, const GoOptions& opts, P* p);
// stackput returns a stack to p's cache (p may be null: freed).
void stackput(P* p, Stack s);

[[noreturn]] void goexit1();
void gosched();
// gopark parks the running G. unlockf(gp, lock), if set, runs after the G
// is off its stack; if it returns false the G is resumed at once.
void gopark(bool (*unlockf)(G*, void*), void* lock, const char* reason);
// goparkunlock parks and releases a runtime Mutex.
void goparkunlock(Mutex* lock, const char* reason);
// goready makes a parked G runnable on the caller's P (or the global queue).
void goready(G* gp);

// casgstatus moves gp from status `from` to `to`, fatally if it was not in
// `from`. Only the G's current owner changes its status (gmp.h), so a
// checked store is enough; Go needs a CAS because its GC also claims Gs.
[[noreturn]] void badgstatus(G* gp, uint32_t from, uint32_t to);
inline void casgstatus(G* gp, Gstatus from, Gstatus to) {
    if (GORT_UNLIKELY(gp->atomicstatus.load(std::memory_order_relaxed) != from)) {
        badgstatus(gp, from, to);
    }
    gp->atomicstatus.store(to, std::memory_order_release);
}

// ---- scheduling (proc.cpp) ------------------------------------------------

// execute runs gp on m (called on g0); returns when m's g0 runs again.
void execute(M* m, G* gp, bool inheritTime);
// schedule runs on g0 until the M must exit (m->exitThread) or, for an M
// bound to a foreign thread, until its locked G is done.
void schedule(M* m);
G* findRunnable(M* m, bool* inheritTime);
void resetspinning(M* m);
int64_t goidalloc(P* p);

// ---- run queues (runq.cpp) ------------------------------------------------

G* runqsteal(P* p, P* p2, bool stealRunNextG);
// runqdrain moves every G of an unowned P to the global queue (sched.lock
// held).
void runqdrain(P* p);
void globrunqput(G* gp);                             // sched.lock held
void globrunqputbatch(G* head, G* tail, int32_t n);  // sched.lock held
G* globrunqget(P* p, int32_t max);                   // sched.lock held
// globrunqgetLocked takes off the global queue the first G locked to an M
// (that M waits for it in stoplockedm), or null (sched.lock held).
G* globrunqgetLocked();

// ---- idle Ms and Ps (idle.cpp) -------------------------------------------

void mput(M* m);      // sched.lock held
M* mget();            // sched.lock held
void pidleput(P* p);  // sched.lock held
P* pidleget();        // sched.lock held
void acquirep(M* m, P* p);
P* releasep(M* m);
void stopm(M* m);
void startm(P* p, bool spinning);
void handoffp(P* p);
void wakep();
void incidlelocked(int32_t v);
// mspinning is the start function of an M started spinning (startm).
void mspinning();

// ---- threads (newm.cpp) ---------------------------------------------------

// threadStartHook is Go's _cgo_thread_start: null unless bridge/ filled it.
extern ThreadStartHook threadStartHook;
// threadStartHookIsDefault: the hook's threads end when mstart returns
// (shutdown waits for them to be gone).
extern bool threadStartHookIsDefault;
extern bool iscgo;
extern RWMutex execLock;

M* allocm(P* p, void (*fn)());
// newm creates an M and its thread, starting with fn (if set) then p.
// Returns 0 or an errno value (the thread could not be created).
int newm(void (*fn)(), P* p);
int newm1(M* mp);
void mstart(M* m);
void mexit(M* m);
int startTemplateThread();
void wakeTemplateThread();
void minit(M* m);
// minitG0 makes g0 describe the calling thread's own stack. mrecordStack
// records the stack's bounds (for the overflow report; it may allocate).
void minitG0(M* m);
void mrecordStack(M* m);
void unminit(M* m);
void mcommoninit(M* m);
// allmRemove takes m out of allm, counting it freed (sched.lock held).
void allmRemove(M* m);
// msysinit marks the calling M as a system M (sysmon, template thread):
// never counted as running by deadlock detection.
void msysinit(M* m);
void mfree(M* m);

// ---- LockOSThread (lockosthread.cpp) -------------------------------------

inline void dolockOSThread(M* m, G* gp) {
    m->lockedg = gp;
    gp->lockedm = m;
}
void lockOSThreadInternal();
void unlockOSThreadInternal();
void stoplockedm(M* m);
void startlockedm(M* m, G* gp);
// Hosting (lockosthread.cpp): mayHost says whether m may run other Gs while
// its locked G waits; hostSet sets m->hosting to that (m holds a P);
// hostRunnable finds the next G for a host on its P and the global queue
// (null: stop, stoplockedm); unhost moves a hosted gp (running on an M
// whose locked G is another) to an M that hosts nothing, returning that M.
// mainTid is the process's main thread (its thread id is the pid), set by
// init.
extern std::atomic<pid_t> mainTid;
inline bool mayHost(const M* m) {
    return m->lockedg != nullptr && m->lockedExt == 0 && m->lockedInt != 0 &&
           __atomic_load_n(&m->procid, __ATOMIC_RELAXED) == mainTid.load(std::memory_order_relaxed);
}
// hostable: a host may run gp (it is not moving off hosts and has no switch
// hooks, see lockosthread.cpp).
inline bool hostable(const G* gp) {
    return !gp->noHost && !gp->hasHooks;
}
inline void hostSet(M* m) {
    bool host = mayHost(m);
    // Only this M writes its flag, so storing the value it already has
    // changes nothing another thread could see: a thread that never hosts
    // pays no fence for it on every callback.
    if (host || m->hosting.load(std::memory_order_relaxed)) {
        m->hosting.store(host, std::memory_order_seq_cst);
    }
}
G* hostRunnable(M* m, bool* inheritTime);
M* unhost(G* gp);

// ---- callbacks and extra Ms (cgocallback.cpp, extram.cpp) ----------------

// cgocallback runs fn(arg) as goroutine code on the calling thread, whose M
// is m and whose goroutine m->curg is in a system call: a goroutine inside a
// cgocall, or an extra M's own goroutine. Returns when fn returns; fn may
// block, spawn and use every primitive meanwhile.
int cgocallback(M* m, GoFunc fn, void* arg, bool isMain);
// mallocSchedStack gives m the stack its scheduler uses during callbacks
// (before any callback can reach the M: a callback may run in a signal
// handler, where nothing may be allocated); mfreeSchedStack frees it.
void mallocSchedStack(M* m);
void mfreeSchedStack(M* m);
// needm binds an extra M to the calling thread (bind: until the thread
// exits, through a pthread key); dropm releases it.
M* needm(bool bind);
void dropm(M* m);
// validm returns the calling thread's M, or null if it has none in the
// current runtime (an M bound before a shutdown is revived here).
M* validm();
void extramInit();
void extramFreeAll();
// extramReplenish makes a spare extra M if needm took the last (sysmon).
void extramReplenish();
// runtimeGen counts inits: Ms record the generation they belong to.
extern std::atomic<uint64_t> runtimeGen;

// ---- the call gate (init.cpp; the protocol is in runtime.h) ---------------

struct CallGateState {
    std::atomic<bool> open{false};
    std::atomic<int64_t> inside{0};  // counted calls in progress
};
// It outlives every runtime: a thread may be inside callEnter while the
// scheduler state is reset.
extern constinit CallGateState callGate;

// admitsUncounted is callEnter's fast path, inline for the hottest entries:
// goroutine code holds the runtime up itself, so its calls pass uncounted.
// That is a runtime thread, or a thread of C's inside a callback (which
// holds the gate): between callbacks an extra M's goroutine is not the
// thread's to look at (shutdown may be freeing it; the M stays, see
// extram.cpp). C code a goroutine called on this thread (a callback from
// it) holds the runtime up the same way: that goroutine cannot finish
// before the call returns.
GORT_ALWAYS_INLINE bool admitsUncounted(const M* m) {
    if (GORT_UNLIKELY(m == nullptr) ||
        (m->isExtra && m->cbdepth.load(std::memory_order_relaxed) == 0)) {
        return false;
    }
    const G* gp = m->curg;
    return gp != nullptr &&
           (gp->atomicstatus.load(std::memory_order_relaxed) == Grunning || gp->inBlocking ||
            m->incgo) &&
           callGate.open.load(std::memory_order_relaxed);
}

// validmAtEntry is validm with its common case (no M, or one of this
// runtime) inline.
GORT_ALWAYS_INLINE M* validmAtEntry() {
    M* m = getmAtEntry();
    if (m == nullptr || m->gen == runtimeGen.load(std::memory_order_acquire)) return m;
    return validm();
}

// ---- timers (timers.cpp) --------------------------------------------------

struct Timer {
    int64_t when = 0;
    void (*f)(void* arg, uintptr_t seq) = nullptr;
    void* arg = nullptr;
    uintptr_t seq = 0;
    // drop(arg), if set, runs for a timer still queued when the runtime shuts
    // down (the timer will never fire: free what it holds).
    void (*drop)(void* arg) = nullptr;
    std::atomic<P*> pp{nullptr};  // heap holding it (under pp->timersLock)
    int32_t idx = -1;
};

// addtimer queues t on the current M's P (P 0 when there is none).
void addtimer(Timer* t);
// deltimer removes t; false if it already ran or was not queued.
bool deltimer(Timer* t);
// checkTimers runs p's expired timers; returns the time used.
int64_t checkTimers(P* p, int64_t now);
// nextTimerAll returns the earliest timer over all Ps (0 = none).
int64_t nextTimerAll();
// moveTimers moves every timer of an unowned P to P 0.
void moveTimers(P* from);
// wakeTimerSleeper wakes the M sleeping until the next timer if `when` is
// earlier; with no such M it wakes an idle P.
void wakeTimerSleeper(int64_t when);
// timeSleep parks the calling goroutine for ns (Go's timeSleep).
void timeSleep(int64_t ns);

// ---- the set of Ps (procresize.cpp) ---------------------------------------

// procresize sets GOMAXPROCS; wake starts Ms for the new Ps if there is
// work (not at init: the runtime's own threads come first).
int32_t procresize(int32_t nprocs, bool wake);
// lendp grows the live P set by up to n lent Ps and says how many (fewer at
// the limit: the configured maximum, or kMaxProcs); unlendp retires n again.
int32_t lendp(int32_t n);
void unlendp(int32_t n);
// lendCap is how many Ps may be lent at GOMAXPROCS maxprocs.
int32_t lendCap(int32_t maxprocs);
// retireIfBeyondMaxprocs: the M owns p and p is now beyond the live set:
// retire it. Returns true if p was retired (the M then has no P, and is
// still spinning if it was).
bool retireIfBeyondMaxprocs(M* m);
// retireSyscallP retires p, beyond the live set, from a system call
// (sysmon): true if it did.
bool retireSyscallP(P* p);

// ---- stall detection (stall.cpp) -------------------------------------------

// checkStalls is sysmon's look at the running Ps (every tick): it lends Ps
// for goroutines stalled in the kernel, returns them when the stall ends,
// and reports goroutines running a second without a scheduling point.
// Returns the longest sysmon may sleep before it looks again (-1: no
// limit).
int64_t checkStalls(int64_t now);
void pfreeAll();

// ---- system calls (syscall.cpp) -------------------------------------------

// entersyscall/exitsyscall bracket a call that blocks outside the runtime
// (a cgocall, a blocking region, a foreign thread between callbacks):
// meanwhile the P may be taken for other goroutines, and the G may come
// back on another M. There are two ways out of Psyscall, the two sides of
// one hand-over: reclaimOldp for the M coming back (to Prunning, or to Pidle
// when it gives the P away: a thread's exit), takePsyscall for a thief
// taking the P away (to Pidle: retake, procresize). See syscall.cpp.
constexpr int64_t kSysmonTickUs = 20;  // sysmon's fastest tick
// sysmon's longest sleep while a goroutine runs not known to be blocked
// (stall.cpp: such a stall is compensated within it plus kStallNs).
constexpr int64_t kRunningTickNs = 1'000'000;

// nudgeSysmon interrupts sysmon's sleep for one look (its tick unchanged).
void nudgeSysmon();

// watchRunning: a P starts running (acquirep, exitsyscall taking its P
// back) while sysmon sleeps longer than a running tick, as it does when its
// last look found nothing running: it looks now, so that a goroutine
// blocking in the kernel without telling is compensated as soon as if
// sysmon had been watching all along. Once per such sleep (the first P to
// run takes the flag); sysmon's look then finds the P running and ticks
// accordingly.
inline void watchRunning() {
    if (GORT_UNLIKELY(sched.sysmonLapsed.load(std::memory_order_relaxed)) &&
        sched.sysmonLapsed.exchange(false, std::memory_order_acq_rel)) {
        nudgeSysmon();
    }
}

// takePsyscall is the thieves' way out of Psyscall (sysmon's retake,
// procresize): p goes to `to` if its M is not coming back meanwhile. It
// costs a process fence; see syscall.cpp.
bool takePsyscall(P* p, Pstatus to);
// awaitTake waits out a thief's look at p (Pretaking) and returns p's
// status after it.
uint32_t awaitTake(P* p);

// wakeSysmonFor: p's M enters a call now, with work queued behind it
// (sysmon.cpp: it stamps the call's start, then wakeSysmon).
void wakeSysmonFor(P* p);
bool exitsyscallfastPidle(M* m);
void exitsyscallSlow(M* m);

GORT_ALWAYS_INLINE void entersyscall(M* m) {
    G* gp = m->curg;
    P* p = m->p;
    casgstatus(gp, Grunning, Gsyscall);
    p->m = nullptr;
    m->oldp = p;
    m->syscalltick = p->syscalltick.load(std::memory_order_relaxed);
    m->p = nullptr;
    m->exitingSyscall.store(false, std::memory_order_relaxed);
    p->syscallm.store(m, std::memory_order_relaxed);
    p->status.store(Psyscall, std::memory_order_release);  // publishes both
    // Goroutines waiting on this P's queue must not wait for the call to
    // end: make sure sysmon is watching (it takes the P after one tick).
    if (GORT_UNLIKELY(sched.sysmonwait.load(std::memory_order_seq_cst) ||
                      (sched.sysmonDelayUs.load(std::memory_order_relaxed) > kSysmonTickUs &&
                       !runqempty(p)))) {
        wakeSysmonFor(p);
    }
}

// reclaimOldp moves m's reserved P out of Psyscall (to Prunning: m takes it
// back; to Pidle: m gives it away), if it is still m's reservation. The M's
// side of the hand-over (syscall.cpp): it says it is coming back, then
// looks. With the process fence the thief pays for both sides, and this
// path has no locked instruction.
GORT_ALWAYS_INLINE bool reclaimOldp(M* m, P* p, Pstatus to) {
    if (GORT_LIKELY(sched.asymmetricSyscall.load(std::memory_order_relaxed))) {
        m->exitingSyscall.store(true, std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);  // the thief's fence orders it
    } else {
        m->exitingSyscall.exchange(true, std::memory_order_seq_cst);  // a full barrier
    }
    uint32_t st = p->status.load(std::memory_order_seq_cst);
    if (GORT_UNLIKELY(st == Pretaking)) st = awaitTake(p);
    // Status first, then the tick: a P retaken and in Psyscall again for
    // another M's call shows the retake's tick.
    if (st != Psyscall || p->syscalltick.load(std::memory_order_relaxed) != m->syscalltick) {
        return false;
    }
    // Ours: a thief that claims p from here on sees exitingSyscall and
    // leaves it (its claim, if this store lands on it, is simply gone). The
    // tick goes first and the status store releases it: whoever sees this
    // status, or a later one, sees the new tick.
    p->syscalltick.store(m->syscalltick + 1, std::memory_order_relaxed);
    p->status.store(to, std::memory_order_release);
    return true;
}

// exitsyscallfast takes the old P back if nobody claimed it (no lock, no
// other thread involved), else any idle P; false if there is none. The old
// P is ours only while its syscalltick has not moved: once retaken, it may
// be in Psyscall again for another M's call, which the CAS alone would
// take from it (Go allows that steal; it cost a hand-off and made the
// region's M find its P gone without any retake). What remains is a window
// of two instructions, which a retake, a hand-off and another M's call
// would all have to fall into.
GORT_ALWAYS_INLINE bool exitsyscallfast(M* m) {
    P* oldp = m->oldp;
    m->oldp = nullptr;
    if (GORT_LIKELY(oldp != nullptr && reclaimOldp(m, oldp, Prunning))) {
        m->p = oldp;
        oldp->m = m;
        oldp->mtid.store(m->procid, std::memory_order_relaxed);
        oldp->runningG.store(m->curg, std::memory_order_relaxed);
        casgstatus(m->curg, Gsyscall, Grunning);
        watchRunning();
        return true;
    }
    return exitsyscallfastPidle(m);
}

GORT_ALWAYS_INLINE void exitsyscall(M* m) {
    if (GORT_LIKELY(exitsyscallfast(m))) return;
    exitsyscallSlow(m);
}

// handoffOldp gives away the P an M reserved when it entered a system call
// and will not come back for (a thread leaving the runtime).
void handoffOldp(M* m);

// ---- sysmon (sysmon.cpp) ------------------------------------------------

void sysmon();
// wakeSysmon makes sysmon poll at its fastest (one tick) from now on, and
// interrupts its sleep.
void wakeSysmon();
// sysmonTimerAdded: a thread holding no P added a timer; if sysmon sleeps
// with every P idle, it wakes to bound its sleep by that timer.
void sysmonTimerAdded();

// ---- goroutine accounting ---------------------------------------------------

int64_t numGoroutine();

// fastrand returns a per-M pseudo-random number.
uint32_t fastrand(M* m);

}  // namespace gort
