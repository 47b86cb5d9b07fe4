// The goroutine scheduler.
//
// Go's model: G (goroutine), M (OS thread), P (processor, the right to run
// Go code; GOMAXPROCS of them). An M must hold a P to run Gs. Each P has a
// local run queue; a global run queue takes the overflow and Gs from
// threads without a P. Idle Ps sit on an idle list, idle Ms sleep on their
// park note.
//
// Switching. A G runs on its own stack; an M's g0 runs on the thread's
// native stack. Every switch goes through gswitch, which jumps with
// Boost.Context and passes the current M as the jump's data, so a resumed G
// learns which thread it is now on from the jump itself. The G that was
// left is saved by the side that resumes (finishSwitch), which then runs the
// pending "after" action for it (Go's mcall function: park_m, gosched_m,
// goexit0). Until that action runs, the left G is still Grunning and
// unreachable, so no other M can resume it before its context is saved.
//
// Unlike Go, the common transitions do not go through g0: when a G parks,
// yields or exits and its P's local queue has a G that may run here, the M
// switches directly to that G (one jump instead of two; fastNext). Only
// when the local queue is empty, a timer is due, the global queue is due a
// look (every 61st schedule), or locking is involved, does the M switch to
// g0 and run schedule(), which can steal, block and hand Ps around.
//
// Spinning Ms (Go's "worker parking/unparking"): an M that runs out of
// work looks for it while "spinning" (sched.nmspinning); at most half of
// the busy Ps (at most GOMAXPROCS of them: Ps lent for stalled Ms do not
// count) may have a spinning M. Whoever makes work available (newproc,
// goready) calls wakep, which starts a spinning M only if there is an idle P
// and no M is spinning already. A spinning M that finds work stops spinning
// and, if it was the last spinner, wakes another (resetspinning), so a burst
// of new work fans out without a thundering herd. A spinning M that gives
// up drops its P, then re-checks every run queue before sleeping, so a G
// queued while it was giving up is not stranded.
//
// Timers: each P keeps a heap (timers.cpp). The M that goes idle with the
// earliest timer pending becomes the timer sleeper: it sleeps on its note
// with a timeout instead of indefinitely, and runs timers when it wakes.
//
// Finding work (findRunnable, its phases and the spinning protocol) is in
// findrunnable.cpp.
#include "runtime/proc.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include <cstdlib>
#include <exception>
#include <utility>

#include "runtime/dump.h"
#include "runtime/errors.h"
#include "runtime/sema.h"
#include "runtime/stats.h"
#include "runtime/trace.h"
#include "runtime/traceback.h"

namespace gort {

constinit Sched sched;
sigset_t initSigmask;

namespace {

// ---- switching ---------------------------------------------------------------

// Switch hooks (GoOptions::onPark/onResume) run on the goroutine's stack
// around every switch away from it; a switch made inside a hook (a
// blockingEnd that waits for a P) runs none.
GORT_NOINLINE void runParkHook(G* gp) {
    if (gp->inHook) return;
    gp->inHook = true;
    gp->onPark(gp->hookArg);
    gp->inHook = false;
}

GORT_NOINLINE void runResumeHook(G* gp) {
    if (gp->inHook) return;
    gp->inHook = true;
    gp->onResume(gp->hookArg);
    gp->inHook = false;
}

GORT_ALWAYS_INLINE void parkHook(G* gp) {
    if (GORT_UNLIKELY(gp->hasHooks) && gp->onPark != nullptr) runParkHook(gp);
}

GORT_ALWAYS_INLINE void resumeHook(G* gp) {
    if (GORT_UNLIKELY(gp->hasHooks) && gp->onResume != nullptr) runResumeHook(gp);
}

// gentry is where a new G starts: finish the switch that started it, run its
// function, exit.
[[noreturn]] void gentry(transfer_t t) {
    ctxEntered();
    M* m = static_cast<M*>(t.data);
    finishSwitch(m, t.fctx);
    G* gp = m->curg;

    try {
        gp->fn(gp->arg);
    } catch (const std::exception& e) {
        fatalf("unhandled C++ exception in goroutine %lld: %s", (long long)gp->goid, e.what());
    } catch (...) {
        fatalf("unhandled C++ exception in goroutine %lld", (long long)gp->goid);
    }
    goexit1();
}

// gstart gives a G that has never run its initial context. Its stack came
// with it from newproc1, reserved at the spawn; but in a spawn storm a G
// first runs hundreds of spawns later, when that stack has long left the
// cache, while the G that exited last on this P left one of its own, still
// warm, at the head of the P's free list (gfput). The two swap: the new G
// runs on the warm stack and the free G keeps the cold one for its next
// spawn. Nothing is allocated: every reservation stands.
void gstart(M* m, G* gp) {
    if (!gp->stack) fatal("gstart: goroutine without a stack");
    G* f = m->p->gFree;
    if (f != nullptr && f->stack && f->stack.size() == gp->stack.size()) {
        std::swap(f->stack, gp->stack);
    }
    ctxMake(&gp->ctx, reinterpret_cast<void*>(gp->stack.lo), gp->stack.size(), gentry);
}

// startRunning makes gp the M's current G, ready to be switched to.
inline void startRunning(M* m, G* gp, bool inheritTime) {
    m->curg = gp;
    gp->m = m;
    if (GORT_UNLIKELY(gp->affinity)) gp->lastm = m;
    casgstatus(gp, Grunnable, Grunning);
    // Every switch counts, inherited or not: the 1-in-61 look at the global
    // queue must come round even while a pair ping-pongs through runnext
    // (Go bounds that with preemption; a cooperative runtime cannot).
    (void)inheritTime;
    P* p = m->p;
    p->schedtick.store(p->tick() + 1, std::memory_order_relaxed);
    p->runningG.store(gp, std::memory_order_relaxed);
    if (gp->ctx.fctx == nullptr) gstart(m, gp);
}

// fastNext picks the G to switch to directly from a G that is leaving the
// CPU, or returns null when g0 must decide (see the comment at the top).
__attribute__((always_inline)) inline G* fastNext(M* m) {
    // A locked M only through g0, except a host (lockosthread.cpp) with
    // nothing left to it for its own G.
    if (m->lockedg != nullptr && (!m->hosting.load(std::memory_order_relaxed) ||
                                  m->hostReady.load(std::memory_order_relaxed))) {
        return nullptr;
    }
    P* p = m->p;
    if (p->tick() % 61 == 0 && sched.runqsize.load(std::memory_order_relaxed) > 0) {
        return nullptr;
    }
    if (p->id >= sched.nprocs.load(std::memory_order_relaxed)) return nullptr;
    int64_t t0 = p->timer0When.load(std::memory_order_relaxed);
    if (t0 != 0 && t0 <= nanotime()) return nullptr;
    bool inherit;
    G* gp = runqget(p, &inherit);
    if (gp == nullptr) return nullptr;
    if (gp->lockedm != nullptr) {
        m->pendingg = gp;  // g0 hands our P to its M (or runs it: ours)
        return nullptr;
    }
    if (GORT_UNLIKELY(m->lockedg != nullptr)) {
        if (!hostable(gp)) {
            runqput(p, gp, true);  // g0's hostRunnable hands our P on with it
            return nullptr;
        }
        p->countHostedRun();
    }
    startRunning(m, gp, inherit);
    return gp;
}

void goexitAfter(M* m, G* prev);
void goexitLocked(M* m, G* prev);

// gswitch is always inlined into its callers: the jump does not return
// with a `ret`, so each return after a switch is mispredicted (the CPU's
// return stack still holds the other goroutine's frames); one call level
// less around the jump is one mispredicted return less per switch.
GORT_ALWAYS_INLINE M* gswitch(M* m, G* from, G* to, void (*after)(M*, G*)) {
    m->prevg = from;
    m->afterSwitch = after;
    bool dying = after == goexitAfter || after == goexitLocked;
    traceSwitch(m, from, to, dying);
    transfer_t t = ctxJump(&from->ctx, &to->ctx, m, dying);
    M* cur = static_cast<M*>(t.data);
    finishSwitch(cur, t.fctx);
    return cur;
}

// leave switches the running G gp away: to next if fastNext found one, else
// to g0.
inline M* leave(M* m, G* gp, G* next, void (*after)(M*, G*)) {
    if (next == nullptr) {
        m->curg = nullptr;
        next = m->g0;
    }
    return gswitch(m, gp, next, after);
}

// ---- after-switch actions (run on the next stack, for the G that left) ----

void goschedLocal(M* m, G* prev) {
    prev->m = nullptr;
    casgstatus(prev, Grunning, Grunnable);
    runqput(m->p, prev, false);
}

void goschedGlobal(M* m, G* prev) {
    prev->m = nullptr;
    casgstatus(prev, Grunning, Grunnable);
    LockGuard g(sched.lock);
    globrunqput(prev);
}

void parkAfter(M* m, G* prev) {
    prev->m = nullptr;
    casgstatus(prev, Grunning, Gwaiting);
    auto unlockf = m->waitunlockf;
    void* lock = m->waitlock;
    m->waitunlockf = nullptr;
    m->waitlock = nullptr;
    if (unlockf != nullptr && !unlockf(prev, lock)) {
        // The wait is already over: run prev again as soon as possible.
        casgstatus(prev, Gwaiting, Grunnable);
        if (m->curg == nullptr) {
            m->pendingg = prev;  // we are on g0
        } else {
            runqput(m->p, prev, true);
        }
    }
}

// gdestroy turns a finished G into a free one.
void gdestroy(M* m, G* prev) {
    casgstatus(prev, Grunning, Gdead);
    prev->m = nullptr;
    prev->fn = nullptr;
    prev->arg = nullptr;
    prev->lockedm = nullptr;
    // sysmon may be reading the G it last saw on this P (stall reports,
    // under allglock): it must not find this one any more once it can be
    // freed, nor read its name while it is freed.
    P* p = m->p;
    if (p->runningG.load(std::memory_order_relaxed) == prev) {
        p->runningG.store(nullptr, std::memory_order_relaxed);  // the owner alone writes it
    }
    if (prev->name != nullptr) {
        LockGuard g(sched.allglock);
        free(prev->name);
        prev->name = nullptr;
    }
    // A free G has no hooks and no lastm (newproc1 sets only what it needs).
    if (GORT_UNLIKELY(prev->hasHooks)) {
        prev->onPark = nullptr;
        prev->onResume = nullptr;
        prev->hookArg = nullptr;
        prev->hasHooks = false;
    }
    if (GORT_UNLIKELY(prev->affinity)) {
        prev->lastm = nullptr;
        prev->affinity = false;
    }
    p->countExited();
    ctxDestroy(&prev->ctx);
    // A free G keeps a stack of the default size (Go's gfput): the next
    // goroutine spawned with it gets a stack that is warm, from the free
    // lists that already balance Gs between Ps. A spawner on one P and
    // goroutines exiting on another otherwise pass every stack through the
    // global stack pool (W1 at 2 Ps took 3.3 us per goroutine instead of
    // 0.14 once stacks were taken at spawn).
    if (prev->stack.size() != stackDefaultSize()) {
        stackput(p, prev->stack);
        prev->stack = Stack{};
    }
    gfput(p, prev);
}

void goexitAfter(M* m, G* prev) {
    gdestroy(m, prev);
}

// goexitLocked runs on g0 for a G that exits while wired to its M.
void goexitLocked(M* m, G* prev) {
    bool lockedExt = m->lockedExt != 0;
    uint32_t lockedInt = m->lockedInt;
    prev->lockedm = nullptr;
    m->lockedg = nullptr;
    gdestroy(m, prev);
    if (m->isExtra) {
        // A thread the runtime does not own (C thread, gort_run_main): the
        // thread lives on; its caller continues once schedule() returns.
        m->lockedExt = 0;
        m->lockedInt = 0;
        m->exitThread = true;
        return;
    }
    if (lockedInt != 0) {
        printerr("runtime: mp.lockedInt = %u", lockedInt);
        fatal("exited a goroutine internally locked to the OS thread");
    }
    if (lockedExt) {
        // The thread's state may be tainted: it dies with its goroutine.
        // lockedExt stays set, so the thread that replaces it (mexit hands
        // off the P) is created by the template thread, not cloned from here.
        stats().msExitedLocked.fetch_add(1, std::memory_order_relaxed);
        m->exitThread = true;
    }
}

}  // namespace

// ---- public switching entry points -----------------------------------------------

M* gswitchToG0(M* m, G* gp, void (*after)(M*, G*)) {
    parkHook(gp);
    m = gp->m;
    m->curg = nullptr;
    m = gswitch(m, gp, m->g0, after);
    resumeHook(gp);
    return m;
}

void badgstatus(G* gp, uint32_t from, uint32_t to) {
    fatalf("casgstatus: bad incoming values: goroutine %lld from %u to %u, status is %u",
           (long long)gp->goid, from, to, gp->atomicstatus.load(std::memory_order_relaxed));
}

void execute(M* m, G* gp, bool inheritTime) {
    startRunning(m, gp, inheritTime);
    gswitch(m, m->g0, gp, nullptr);
}

// yield is gosched's body, inlined into both of its entries (a call level
// less around the switch: see goschedEntry in runtime.h).
GORT_ALWAYS_INLINE void yield(G* gp) {
    parkHook(gp);
    M* m = gp->m;
    // Yield to the local queue, except every 61st time when there are
    // other Ps: then through the global queue, so yielding goroutines spread
    // over the Ps (Go always uses the global queue, at the cost of a lock
    // per yield). The tick is offset from schedule()'s own look at the
    // global queue (tick % 61 == 0), which would otherwise take the yielder
    // straight back.
    bool spread = m->p->tick() % 61 == 30 && sched.nprocs.load(std::memory_order_relaxed) > 1;
    G* next = spread ? nullptr : fastNext(m);
    // A hosted G (its M's locked G waits: no fastNext there) yields to the
    // local queue as it would elsewhere; the locked G itself globally.
    bool local = next != nullptr || (!spread && m->lockedg != nullptr && m->lockedg != gp);
    leave(m, gp, next, local ? goschedLocal : goschedGlobal);
    resumeHook(gp);
}

void gosched() {
    G* gp = getg();
    if (gp == nullptr) {
        sched_yield();
        return;
    }
    yield(gp);
}

int goschedEntry() {
    // Goroutine code passes the gate uncounted (the common case: its M and
    // G are read once, not again through getg).
    M* m = getmAtEntry();
    if (GORT_LIKELY(admitsUncounted(m))) {
        G* gp = m->curg;
        if (GORT_LIKELY(gp->atomicstatus.load(std::memory_order_relaxed) == Grunning)) {
            yield(gp);
        } else {
            sched_yield();  // C code a goroutine called: no goroutine here
        }
        return kOK;
    }
    CallGate g;
    if (int rc = callEnter(&g); rc != kOK) return rc;
    if (G* gp = getg()) {
        yield(gp);
    } else {
        sched_yield();
    }
    callExit(g);
    return kOK;
}

void goyield() {
    G* gp = getm()->curg;
    parkHook(gp);
    M* m = gp->m;
    leave(m, gp, fastNext(m), goschedLocal);
    resumeHook(gp);
}

void gopark(bool (*unlockf)(G*, void*), void* lock, const char* reason) {
    G* gp = getg();
    if (gp == nullptr) fatal("gopark: not on a goroutine");
    parkHook(gp);
    M* m = gp->m;
    gp->waitreason = reason;
    gp->waitsince = waitClock();
    m->waitunlockf = unlockf;
    m->waitlock = lock;
    leave(m, gp, fastNext(m), parkAfter);
    gp->waitreason = nullptr;
    resumeHook(gp);
}

namespace {

// readyOnLastm is resume affinity (GoOptions::resumeAffinity): if the M
// that last ran gp is free (parked idle) and a P is idle too, that M gets
// the P with gp queued on it and is woken; gp resumes on its own thread.
// Otherwise (it is busy, in C, gone) false: gp is scheduled as any other,
// since the affinity is a hint and never a reason to wait. gp->lastm is
// never dereferenced here (that M may have exited): it is only compared
// against the idle list.
bool readyOnLastm(G* gp) {
    if (gp->lastm == nullptr || sched.npidle.load(std::memory_order_acquire) == 0) return false;
    M* lm = nullptr;
    {
        LockGuard g(sched.lock);
        M** link = &sched.midle;
        while (*link != nullptr && *link != gp->lastm) link = &(*link)->schedlink;
        if (*link == nullptr) return false;
        P* p = pidleget();
        if (p == nullptr) return false;
        lm = *link;
        *link = lm->schedlink;
        sched.nmidle--;
        // p is ours until lm takes it: queue gp there for lm to find first.
        runqput(p, gp, true);
        lm->nextp = p;
    }
    lm->park.wakeup();
    return true;
}

bool unlockMutex(G*, void* lock) {
    static_cast<Mutex*>(lock)->unlock();
    return true;
}
}  // namespace

void goparkunlock(Mutex* lock, const char* reason) {
    gopark(unlockMutex, lock, reason);
}

void goready(G* gp) {
    casgstatus(gp, Gwaiting, Grunnable);
    traceGoUnpark(gp);
    M* m = getm();
    if (GORT_UNLIKELY(gp->affinity) && gp->lastm != m && readyOnLastm(gp)) return;
    P* p = m != nullptr ? m->p : nullptr;
    if (p != nullptr) {
        runqput(p, gp, true);
    } else {
        LockGuard g(sched.lock);
        globrunqput(gp);
    }
    wakep();
}

[[noreturn]] void goexit1() {
    M* m = getm();
    G* gp = m->curg;
    if (gp->lockedm != nullptr) {
        leave(m, gp, nullptr, goexitLocked);
    } else {
        leave(m, gp, fastNext(m), goexitAfter);
    }
    fatal("goexit: a dead goroutine was resumed");
}

int newproc(GoFunc fn, void* arg, const GoOptions& opts, int64_t* goidOut) {
    M* m = getm();
    P* p = m != nullptr ? m->p : nullptr;
    G* gp = newproc1(fn, arg, opts, p);
    if (gp == nullptr) return kENOMEM;
    if (goidOut != nullptr) *goidOut = gp->goid;  // before gp can run and be reused
    traceGoCreate(gp);
    bool spilled = false;
    if (p != nullptr) {
        spilled = runqput(p, gp, true);
    } else {
        LockGuard g(sched.lock);
        globrunqput(gp);
    }
    wakep();
    if (spilled && getg() != nullptr) {
        // A spawn storm filled the local queue. Go would preempt the spawner
        // within 10 ms; without preemption, the spawner steps back instead
        // (to the tail of the global queue), so the goroutines it made run
        // and free their memory before it makes more: queues, Gs and stacks
        // stay bounded however many goroutines one loop spawns.
        G* self = m->curg;
        parkHook(self);
        leave(self->m, self, nullptr, goschedGlobal);
        resumeHook(self);
    }
    return kOK;
}

int64_t numGoroutine() {
    // Every exit first, then every creation: a goroutine created on one P
    // and exited on another between the reads of the two would otherwise
    // count as an exit without its creation (the fuzzer saw -1). A G's
    // creation is counted before it can run, so each exit seen here has its
    // creation counted by the time the creations are read.
    int32_t np = sched.nallp.load(std::memory_order_acquire);
    int64_t exited = 0, created = 0;
    for (int32_t i = 0; i < np; i++) {
        exited +=
            sched.allp[i].load(std::memory_order_acquire)->gexited.load(std::memory_order_acquire);
    }
    created += sched.gcreatedNoP.load(std::memory_order_acquire);
    for (int32_t i = 0; i < np; i++) {
        created +=
            sched.allp[i].load(std::memory_order_acquire)->gcreated.load(std::memory_order_acquire);
    }
    return created - exited;
}

uint32_t fastrand(M* m) {
    // xorshift64*
    uint64_t x = m->fastrand;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->fastrand = x;
    return uint32_t((x * 0x2545F4914F6CDD1DULL) >> 32);
}

// ---- schedule ---------------------------------------------------------------------

void resetspinning(M* m) {
    if (!m->spinning) fatal("resetspinning: not a spinning m");
    m->spinning = false;
    int32_t n = sched.nmspinning.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (n < 0) fatal("findrunnable: negative nmspinning");
    // The last spinner found work: there may be more, so start another.
    wakep();
}

void schedule(M* m) {
    for (;;) {
        if (m->incgo) fatal("schedule: in cgo");
        if (m->exitThread) return;
        G* gp = m->pendingg;
        bool inheritTime = false;
        if (gp != nullptr) {
            m->pendingg = nullptr;
            inheritTime = true;
        } else if (m->lockedg != nullptr) {
            // This M runs its locked G, and while that waits, if the lock
            // is internal only, other Gs (hosting, lockosthread.cpp); with
            // nothing to run it waits until its G is handed back.
            gp = hostRunnable(m, &inheritTime);
            if (gp == nullptr) {
                stoplockedm(m);
                if (m->exitThread) return;
                gp = m->lockedg;
            }
        } else {
            P* p = m->p;
            if (p != nullptr && p->tick() % 61 == 0 &&
                sched.runqsize.load(std::memory_order_relaxed) > 0) {
                // Fairness: look at the global queue now and then.
                LockGuard g(sched.lock);
                gp = globrunqget(p, 1);
            }
            if (gp == nullptr) {
                gp = findRunnable(m, &inheritTime);
                if (gp == nullptr) return;  // told to exit
            } else if (m->spinning) {
                // A new spinning M found its first G here, not in
                // findRunnable: it is not spinning any more (as in Go's
                // schedule), or nmspinning would stay up while it runs and
                // wakep would start no one else.
                resetspinning(m);
            }
        }
        // A spinning M that found work stops spinning, and starts another
        // spinner if it was the last (there may be more work).
        if (m->spinning) resetspinning(m);
        if (gp->lockedm != nullptr && gp->lockedm != m) {
            startlockedm(m, gp);
            continue;
        }
        if (GORT_UNLIKELY(m->lockedg != nullptr)) {
            if (gp == m->lockedg) {
                hostSet(m);  // before gp can park and be dequeued elsewhere
            } else {
                m->p->countHostedRun();
            }
        }
        execute(m, gp, inheritTime);
    }
}

}  // namespace gort
