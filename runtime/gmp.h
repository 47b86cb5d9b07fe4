// The scheduler's data structures: G (goroutine), M (OS thread), P
// (processor), and the global scheduler state. Go keeps these in
// runtime2.go; the algorithms that use them are in proc.cpp (scheduling),
// newm.cpp (thread creation), lockosthread.cpp, syscall.cpp and timers.cpp.
//
// The code mirrors Go 1.21's runtime (proc.go, cgocall.go, runtime/cgo):
// the 1.14 system-call protocol, the template thread of 1.10, and 1.21's
// extra Ms bound to their C threads. Names are Go's where the concept is
// Go's, so the two can be read side by side.
//
// Ownership rules, as in Go:
//   - A G is owned by the M running it (status Grunning), or by the run queue
//     or wait queue that holds it. Its status moves only along the edges
//     listed at Gstatus.
//   - A P is owned by the M whose m->p it is (status Prunning), by the idle
//     list (Pidle, sched.lock), by an M in a system call (Psyscall, until
//     someone CASes it away), or by no one (Pdead, beyond GOMAXPROCS).
//   - An M's fields are written by its own thread, except where noted: the
//     waker writes m->nextp before notewakeup(&m->park).
#pragma once

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/base.h"
#include "runtime/context.h"
#include "runtime/limits.h"
#include "runtime/lock.h"
#include "runtime/stack.h"

namespace gort {

struct G;
struct M;
struct P;
struct Timer;
struct Sudog;
struct TraceBuf;  // trace.cpp

// Goroutine states (Go's _G* constants). Transitions:
//   Gidle -> Grunnable (newproc) -> Grunning (execute)
//   Grunning -> Grunnable (gosched) | Gwaiting (gopark) | Gsyscall
//   (entersyscall) | Gdead (goexit)
//   Gwaiting -> Grunnable (goready);  Gsyscall -> Grunning | Grunnable
//   Gdead -> Grunnable (reused from a free list)
enum Gstatus : uint32_t { Gidle, Grunnable, Grunning, Gsyscall, Gwaiting, Gdead };

// Processor states (Go's _P* constants). Pretaking is gort's own: a P
// being taken out of Psyscall by someone other than its M (a thief:
// sysmon's retake, procresize), for as long as the thief needs to learn
// whether the M is coming back (syscall.cpp).
enum Pstatus : uint32_t { Pidle, Prunning, Psyscall, Pdead, Pretaking };

using GoFunc = void (*)(void*);

// G's fields are ordered by when they are touched: the first two cache
// lines hold everything a goroutine's life touches when it never parks nor
// calls C (spawn, run, exit), the other two what parking, C calls, hooks,
// affinity and the tracer use, touched only by those. A spawn storm keeps
// hundreds of Gs in flight, evicted between uses, so every line a life
// touches is a cache miss (W1: four and a half lines cost a tenth of a
// spawn more than three and a half). 256 bytes, from a line boundary.
struct alignas(64) G {
    // ---- Every life: spawning, running, exiting ----
    Context ctx;  // saved context while not running
    Stack stack;  // empty until the first run
    std::atomic<uint32_t> atomicstatus{Gidle};
    bool system = false;         // runtime G not counted by numGoroutine
    bool onNativeStack = false;  // runs on its M's thread stack (a callback)
    bool inBlocking = false;     // between blockingBegin and blockingEnd
    // It must not run on a host (an M whose own callback goroutine waits,
    // see lockosthread.cpp): set when it moves off one to lock its thread
    // or enter C, and kept (see unhost).
    bool noHost = false;
    int64_t goid = 0;
    M* m = nullptr;        // M running this G
    M* lockedm = nullptr;  // M this G is wired to (LockOSThread)
    G* schedlink = nullptr;
    GoFunc fn = nullptr;
    void* arg = nullptr;
    // Optional, malloc'd. Other threads (dumps, the stall report) read it
    // under sched.allglock, which its freeing takes, and through gname:
    // set with release (newproc1), so the text is there when it is seen.
    char* name = nullptr;
    bool hasHooks = false;  // onPark or onResume is set (below)
    bool inHook = false;    // a switch hook runs
    bool affinity = false;  // resume affinity: prefer lastm (below)

    // ---- The rest: each touched only by what uses it ----
    int64_t allgIndex = -1;  // position in sched.allgs

    // Parking.
    const char* waitreason = nullptr;
    void* param = nullptr;     // set by the waker (select; reset before each wait)
    Sudog* waiting = nullptr;  // sudogs of a blocked select (null outside one)
    Timer* timer = nullptr;    // for sleep, allocated on first use
    std::atomic<uint32_t> selectDone{0};

    // cgo.
    int cgoErrno = 0;                 // errno left by the last cgocall (read only after one)
    fcontext_t syscallctx = nullptr;  // this G's context while it is in C (null outside)

    // Switch hooks for the layers above (GoOptions): onPark runs on this
    // G's stack right before every switch away from it, onResume right
    // after every switch back. A switch made inside a hook runs no hooks.
    // Set only with hasHooks; a free G has none.
    void (*onPark)(void*) = nullptr;
    void (*onResume)(void*) = nullptr;
    void* hookArg = nullptr;
    // The M that last ran it, kept only with affinity (null otherwise).
    M* lastm = nullptr;

    // ---- Observability (issue 15: trace.cpp, dump.cpp) ----
    int64_t waitsince = 0;       // waitClock() when it last parked (dumps)
    uint64_t traceFlow = 0;      // flow id of the unpark or creation not yet run (0: none)
    int64_t traceNamedGoid = 0;  // the goid whose name that session has (Gs are reused)
    uint32_t traceGen = 0;       // the trace session traceNamedGoid belongs to
    // ---- end of observability ----

    Gstatus status() const { return Gstatus(atomicstatus.load(std::memory_order_acquire)); }
};
static_assert(sizeof(G) == 256, "G: keep it at four cache lines (see above)");
static_assert(offsetof(G, allgIndex) == 128, "G: a life that never parks touches two lines");

// SysmonTick is sysmon's last observation of a P (retake: its system call).
struct SysmonTick {
    uint32_t syscalltick = 0;
    int64_t syscallwhen = 0;
};

// StallWatch is sysmon's watch over a running P whose goroutine has not
// reached a scheduling point (stall.cpp). Only sysmon touches it.
struct StallWatch {
    uint32_t schedtick = 0;  // P's ticks when the current run was first seen
    uint32_t syscalltick = 0;
    pid_t tid = 0;       // the thread running it
    int64_t since = 0;   // when it was first seen (ns)
    int64_t cpuNs = -1;  // the thread's CPU clock at cpuWhen (-1: not read)
    int64_t cpuWhen = 0;
    bool blocked = false;   // the last window: the thread barely ran (in the kernel)
    bool counted = false;   // this stall is in stats().stalls
    int32_t lent = 0;       // Ps lent on its behalf (sched.nlent counts them)
    bool reported = false;  // the one-second report is out
};

// How an M's thread came to be (stats, tests).
enum class MOrigin : uint8_t { native, hook, foreign };

struct M {
    int64_t id = 0;
    G* g0 = nullptr;           // scheduling context on the thread's own stack
    G* curg = nullptr;         // user G running on this M
    P* p = nullptr;            // attached P
    P* nextp = nullptr;        // P to attach when woken or started
    P* oldp = nullptr;         // P held before entering a system call
    uint32_t syscalltick = 0;  // oldp's syscalltick then (ours while it has not moved)
    // Set by this M when it comes out of a system call and looks at oldp,
    // cleared when it enters one; read by a thief of oldp (syscall.cpp).
    std::atomic<bool> exitingSyscall{false};
    bool spinning = false;
    bool incgo = false;                  // running C code (a cgocall, a blocking region)
    std::atomic<uint64_t> ncgocall{0};   // written by this M only
    std::atomic<uint64_t> ncallback{0};  // written by this M only
    std::atomic<int32_t> cbdepth{0};     // callbacks in progress (written by this M)
    uint32_t lockedExt = 0;              // user LockOSThread nesting
    uint32_t lockedInt = 0;              // runtime-internal lockOSThread nesting
    G* lockedg = nullptr;
    // Hosting (lockosthread.cpp): hosting is set by this M while it holds a
    // P and will look at hostReady before it gives that P up; hostReady is
    // set by the M that dequeued lockedg while this one may host, and taken
    // (exchange) by whichever of the two then runs it.
    std::atomic<bool> hosting{false};
    std::atomic<bool> hostReady{false};
    // Threads inside startlockedm's hand-over to this M: once hostReady is
    // set the M may run its G, return from its callback and be freed, so
    // mfree waits for them to leave.
    std::atomic<int32_t> hostRefs{0};
    Note park;
    M* schedlink = nullptr;  // idle list, newmHandoff list, extra list
    M* alllink = nullptr;    // allm
    sigset_t sigmask;        // mask to run with (initSigmask for runtime Ms)
    void (*mstartfn)() = nullptr;
    pid_t procid = 0;  // kernel thread id
    uint64_t fastrand = 0;
    MOrigin origin = MOrigin::native;
    bool isExtra = false;  // for a thread the runtime did not create
    bool bound = false;    // isExtra, and kept by its thread until it exits
    uint64_t gen = 0;      // runtimeGen when this M was made or revived
    // Calls of the C ABI this extra M's thread has inside the call gate (the
    // asymmetric gate, init.cpp; written by that thread only).
    std::atomic<uint32_t> gateHeld{0};
    bool isTemplate = false;  // the template thread
    bool isSysmon = false;
    // Leave schedule(): to end the thread (mexit), or, on a thread the
    // runtime does not own, to return to its caller.
    bool exitThread = false;
    void* sigaltstack = nullptr;        // alternate signal stack memory (with the M)
    bool sigaltstackInstalled = false;  // ours is the thread's alternate stack now
    // The thread's alternate signal stack (ours or its own) as minit saw
    // it, [lo, hi); 0 for none. A callback from a handler may run there.
    uintptr_t sigstackLo = 0, sigstackHi = 0;
    std::atomic<bool> threadGone{false};  // a bound extra M's thread exited during teardown
    uintptr_t stackLo = 0, stackHi = 0;   // the thread's own stack (overflow reports)
    void* g0sp0 = nullptr;                // g0's frame where the thread entered the runtime
    Context cgoctx;                       // its C contexts' identity (cgocall.cpp)
    char* cgoFixedTop = nullptr;          // where they are made, if the stack has room
    FpEnv cgoFpenv;                       // the floating-point environment C left last
    bool cgoFpenvKnown = false;
    bool cgoctxChecked = false;  // cgoctx and cgoFixedTop are set
    // The scheduler's stack while a callback runs on the thread's own stack
    // (cgocallback.cpp): made with the M, so no callback allocates one.
    Stack schedStack;
    Context schedctx;
    // A scheduler context made on schedStack and not yet entered: a
    // callback that never blocks leaves it for the next one. Only the M's
    // own thread touches it (cgocallback, nestedSchedule), and
    // mfreeSchedStack once the M is no one's.
    fcontext_t schedFresh = nullptr;

    // Switch bookkeeping: the G that switched away from this M's thread and
    // what to do with it once its context is saved (Go's mcall function).
    G* prevg = nullptr;
    void (*afterSwitch)(M*, G*) = nullptr;
    // gopark's unlock function and its argument.
    bool (*waitunlockf)(G*, void*) = nullptr;
    void* waitlock = nullptr;
    // A G that the fast path picked but that only g0 may start.
    G* pendingg = nullptr;

    // ---- Observability (issue 15: trace.cpp) ----
    TraceBuf* traceBuf = nullptr;  // its trace buffer in session traceGen
    uint32_t traceGen = 0;
    bool byTemplate = false;  // its thread was created by the template thread
    // ---- end of observability ----
};

constexpr int kRunqSize = 256;
constexpr int kStackCacheSize = 32;

struct alignas(64) P {
    int32_t id = 0;
    std::atomic<uint32_t> status{Pdead};
    P* link = nullptr;  // idle list
    // Switches to a G on this P (every one): written by the owner only
    // (relaxed load and store), read by sysmon.
    std::atomic<uint32_t> schedtick{0};
    std::atomic<uint32_t> syscalltick{0};
    // The M whose system call holds this P in Psyscall (written by that M
    // before the status, read by thieves after they claim it).
    std::atomic<M*> syscallm{nullptr};
    // The call that woke sysmon because work waits behind it (entersyscall):
    // its syscalltick and start, so retake counts its tick from there.
    std::atomic<uint32_t> wakeTick{0};
    std::atomic<int64_t> wakeWhen{0};
    SysmonTick sysmontick;
    StallWatch stall;
    M* m = nullptr;  // owning M
    // For sysmon's stall watch, written by the owner: the kernel id of the
    // owning M's thread, and the G it switched to last (cleared before that
    // G can be freed: gdestroy, releasep).
    std::atomic<pid_t> mtid{0};
    std::atomic<G*> runningG{nullptr};
    // The owner is creating a thread (newm1): a wait in the kernel there is
    // the runtime's own, not a stall (lending for it would create more
    // threads, which wait on the same kernel locks).
    std::atomic<bool> creatingThread{false};

    uint32_t tick() const { return schedtick.load(std::memory_order_relaxed); }

    // Goroutine ids are handed out in batches.
    int64_t goidcache = 0, goidcacheend = 0;

    // Local run queue: a lock-free ring written by the owner at the tail,
    // consumed by the owner and by stealers at the head.
    alignas(64) std::atomic<uint32_t> runqhead{0};
    std::atomic<uint32_t> runqtail{0};
    std::atomic<G*> runq[kRunqSize] = {};
    // runnext, if set, runs before anything in runq: a G readied or created
    // by the running G inherits the rest of its time slice. runnextStreak
    // counts consecutive runs from runnext: at kMaxRunnextStreak the ring's
    // head goes first (fairness without preemption: a ping-pong pair cannot
    // keep the ring waiting).
    std::atomic<G*> runnext{nullptr};
    uint32_t runnextStreak = 0;

    // Dead Gs ready for reuse, and free stacks of the default size.
    G* gFree = nullptr;
    int32_t gFreeCount = 0;
    Stack stackcache[kStackCacheSize];
    int32_t nstackcache = 0;

    // Goroutine accounting: written only by the owner (release stores: a
    // creation is visible to whoever sees the G's exit), summed by
    // numGoroutine (exits first, then creations).
    std::atomic<int64_t> gcreated{0};
    std::atomic<int64_t> gexited{0};
    // Goroutines run here by a host (lockosthread.cpp), summed for stats:
    // a shared counter would cost a locked add on every hosted switch.
    std::atomic<int64_t> hostedRuns{0};
    // Odd while the running goroutine is inside an op region (opregion.cpp):
    // written by the owner only, read by opQuiesce.
    std::atomic<uint32_t> opWord{0};
    void countCreated() { bump(gcreated); }
    void countExited() { bump(gexited); }
    void countHostedRun() { bump(hostedRuns); }
    GORT_ALWAYS_INLINE static void bump(std::atomic<int64_t>& c) {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    // Timers (timers.cpp): a 4-ary min-heap on `when`, under timersLock.
    Mutex timersLock;
    Timer** timers = nullptr;
    int32_t ntimers = 0, timersCap = 0;
    std::atomic<int64_t> timer0When{0};  // earliest when, 0 if none
};

// Sched is the global scheduler state (Go's schedt plus globals).
struct Sched {
    Mutex lock;

    // Ms.
    M* midle = nullptr;  // idle Ms waiting for work
    int32_t nmidle = 0;
    int32_t nmidlelocked = 0;
    int64_t mnext = 0;    // Ms ever created; next id
    int64_t nmfreed = 0;  // Ms that exited
    int32_t nmsys = 0;    // system Ms (sysmon, template thread)
    std::atomic<M*> allm{nullptr};
    std::atomic<int32_t> nmspinning{0};

    // Ps. Those with id < nprocs are live: GOMAXPROCS of them, plus the ones
    // sysmon lends while goroutines stall (stall.cpp). A P at or beyond
    // nprocs is retired by whoever owns it when they next look.
    P* pidle = nullptr;
    std::atomic<int32_t> npidle{0};
    std::atomic<int32_t> gomaxprocs{0};  // as the user set it
    std::atomic<int32_t> nprocs{0};      // gomaxprocs + nlent (written under lock)
    std::atomic<int32_t> nlent{0};       // lent Ps (written under lock)
    std::atomic<int32_t> nallp{0};       // allp entries ever allocated
    std::atomic<P*> allp[kMaxProcs] = {};

    // Stall detection's settings (Config).
    int32_t maxLent = 0;      // < 0: never lend; 0: GOMAXPROCS
    bool lendForCPU = false;  // lend for goroutines computing without yielding too
    bool quietStalls = false;
    // The Psyscall hand-over uses the process fence (syscall.cpp): read on
    // every exit from a system call, so kept among the settings, away from
    // the fields sysmon and the thieves write. Set by init before any M of
    // the runtime runs and never changed while one may be in a call (the
    // two sides must agree; processFenceOn gives the same answer for the
    // life of the process).
    std::atomic<bool> asymmetricSyscall{false};

    // Global run queue.
    G* runqhead = nullptr;
    G* runqtail = nullptr;
    std::atomic<int32_t> runqsize{0};

    // Global pool of dead Gs (their stacks go back to the stack pools).
    Mutex gFreeLock;
    G* gFree = nullptr;
    std::atomic<int32_t> ngFree{0};  // written under gFreeLock, peeked without

    // Every G struct ever allocated and not yet freed (Go's allgs), for
    // dumps and deadlock detection.
    Mutex allglock;
    G** allgs = nullptr;
    int64_t allglen = 0, allgcap = 0;

    std::atomic<int64_t> goidgen{0};
    std::atomic<int64_t> gcreatedNoP{0};  // Gs created with no P (they exit on one)

    // The goroutine gort_run_main is running, if any (deadlock detection).
    std::atomic<G*> maing{nullptr};

    // The M sleeping until the next timer, and when it wakes.
    M* timerSleeper = nullptr;
    std::atomic<int64_t> pollUntil{0};

    // sysmon (sysmon.cpp).
    int32_t schedtraceMs = 0;                // Config::schedtraceMs
    std::atomic<bool> sysmonwait{false};     // in deep sleep: every P idle
    std::atomic<bool> sysmonLapsed{false};   // it sleeps past a running tick (watchRunning)
    std::atomic<int64_t> sysmonDelayUs{20};  // its current tick
    std::atomic<bool> sysmonFast{false};     // asked to poll at its fastest
    std::atomic<uint32_t> sysmonGen{0};      // futex word: bumped to wake it
    std::atomic<uint64_t> ncgocallDead{0};   // cgocalls of Ms that exited
    std::atomic<uint64_t> ncallbackDead{0};  // callbacks of Ms that exited
    // Thieves of Ps in Psyscall claim them one at a time (syscall.cpp:
    // takePsyscall). Lock order: sched.lock, then retakeLock (procresize
    // holds the first); nothing is taken while holding retakeLock.
    Mutex retakeLock;

    // Ms the template thread must create (Go's newmHandoff).
    struct {
        Mutex lock;
        M* newm = nullptr;
        bool waiting = false;
        Note wake;
        std::atomic<uint32_t> haveTemplateThread{0};
    } newmHandoff;

    // Extra Ms: Ms for threads the runtime did not create (extram.cpp).
    Mutex extraLock;
    M* extram = nullptr;                   // pooled, not bound to a thread
    std::atomic<int32_t> extraMCount{0};   // written under extraLock; checkdead reads it
    std::atomic<int32_t> extraMInUse{0};   // extra Ms held by threads
    std::atomic<bool> needExtraM{false};   // the pool ran dry: sysmon makes a spare
    std::atomic<int32_t> extraWaiters{0};  // needms waiting for sysmon to make a spare
    std::atomic<uint32_t> extraGen{0};     // futex word: bumped when a spare is pooled
    int64_t nextram = 0;                   // extra Ms in allm (sched.lock; not in the thread limit)

    // Kernel ids of the threads that ran mexit (under sched.lock): shutdown
    // waits for every one to be gone from the kernel, so no thread still
    // runs library code when it returns.
    pid_t* exitedTids = nullptr;
    uint32_t nexitedTids = 0, exitedTidsCap = 0;

    std::atomic<bool> running{false};   // between init and shutdown
    std::atomic<bool> stopping{false};  // shutdown in progress
    std::atomic<int32_t> nthreads{0};   // runtime-owned threads alive
};

// Sched is trivially destructible and constant-initialised, so it needs no
// constructor at load time and no destructor at unload; shutdown resets it.
extern constinit Sched sched;

// The process's initial signal mask, captured at init; new Ms start with it.
extern sigset_t initSigmask;

// Thread-local access. A goroutine may resume on another thread, so a
// thread-local address must never be kept across a switch: every read goes
// through these opaque calls (tls.cpp).
M* getm();
// getmAtEntry is getm inline, for the entry of a call into the runtime
// (the call gate, validm): a function that reads it once, before anything
// that can switch, and never again. Anywhere else, getm.
extern constinit __attribute__((tls_model("initial-exec"))) thread_local M* tlsM;
inline M* getmAtEntry() {
    return tlsM;
}
void setm(M* m);
// gname reads a G's name from any thread (see G::name).
inline const char* gname(const G* gp) {
    return __atomic_load_n(&gp->name, __ATOMIC_ACQUIRE);
}

// getg returns the goroutine whose code the calling thread is running, or
// null: on a thread without an M, on g0, and in C code (the M's goroutine is
// then in Gsyscall: a cgocall's C function, or a bound foreign thread
// between callbacks).
inline G* getg() {
    M* m = getm();
    G* gp = m != nullptr ? m->curg : nullptr;
    return gp != nullptr && gp->atomicstatus.load(std::memory_order_relaxed) == Grunning ? gp
                                                                                         : nullptr;
}

}  // namespace gort
