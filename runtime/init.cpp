// Starting and stopping the runtime, and the small entry points of
// runtime/runtime.h.
//
// Unlike Go's, this runtime can stop: shutdown waits for the goroutines to
// finish, wakes every idle M with exitThread set (each runs mexit and its
// thread ends), stops the template thread and sysmon, waits for their
// threads to be gone, and frees Ps, Gs, stacks and extra Ms. The global
// state is then reset to its load-time value, so init works again and
// libgort can be unloaded.
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "runtime/dump.h"
#include "runtime/futex.h"
#include "runtime/proc.h"
#include "runtime/procfence.h"
#include "runtime/runtime.h"
#include "runtime/signals.h"
#include "runtime/stats.h"
#include "runtime/trace.h"

namespace gort {

constinit CallGateState callGate;

namespace {

Mutex initLock;  // serialises init and shutdown

// The asymmetric gate. Most counted calls come from C threads bound to an
// extra M between callbacks (a legacy pool calling gort.h, a C thread
// calling back), and two fenced updates of one shared counter were half
// the cost of such a call. Such a thread counts itself in its own M
// (gateHeld) with only a compiler barrier between that count and its read
// of `open`; closeGate supplies the fence for it: after closing, one
// membarrier makes every running thread of the process execute a full
// barrier, and then closeGate reads every M's count. Either the caller's
// read of `open` comes after its barrier and sees the gate closed, or its
// count comes before it and closeGate sees it. The M must be this
// runtime's (its generation, checked after `open`, which init publishes
// after the generation) so that closeGate finds it on allm. Without
// membarrier (an old kernel, a seccomp filter), and under TSan, which
// cannot see the ordering membarrier gives, every counted call uses the
// shared counter.
std::atomic<bool> asymmetricGate{false};

// heldByAnyM: some C thread's M counts a call inside the gate.
bool heldByAnyM() {
    LockGuard g(sched.lock);
    for (M* m = sched.allm.load(std::memory_order_relaxed); m != nullptr; m = m->alllink) {
        if (m->gateHeld.load(std::memory_order_acquire) != 0) return true;
    }
    return false;
}

// enterHeld admits a call through m's own count (see above); false if the
// call must use the shared counter instead.
bool enterHeld(M* m, CallGate* g, int* rc) {
    uint32_t n = m->gateHeld.load(std::memory_order_relaxed);
    m->gateHeld.store(n + 1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // closeGate's membarrier fences it
    bool open = callGate.open.load(std::memory_order_acquire);
    if (!open || m->gen != runtimeGen.load(std::memory_order_acquire)) {
        m->gateHeld.store(n, std::memory_order_release);
        if (open) return false;  // an M of an earlier runtime: validm revives it
        *rc = kENOTINIT;
        return true;
    }
    g->counted = true;
    g->heldBy = m;
    *rc = kOK;
    return true;
}

void (*beforeTeardown)() = nullptr;  // Config::beforeTeardown (under initLock)
void (*afterTeardown)() = nullptr;   // Config::afterTeardown (under initLock)

// A raw fork() of a process whose runtime runs leaves the child with the
// runtime's memory but none of its threads: nothing can work there.
std::atomic<bool> forked{false};
std::atomic<bool> atforkInstalled{false};

void atforkChild() {
    if (callGate.open.load(std::memory_order_relaxed) ||
        sched.running.load(std::memory_order_relaxed)) {
        forked.store(true, std::memory_order_relaxed);
        callGate.open.store(false, std::memory_order_relaxed);
    }
    setm(nullptr);  // the forking thread's M does not exist here
}

int32_t ncpu() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? int32_t(n) : 1;
}

void teardown();

bool taskAlive(pid_t tid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", int(tid));
    struct stat st;
    return stat(path, &st) == 0;
}

// stopAllThreads ends every runtime-owned thread.
void stopAllThreads() {
    {
        LockGuard g(sched.lock);
        while (M* m = mget()) {
            m->exitThread = true;
            m->park.wakeup();
        }
        if (M* s = sched.timerSleeper) {
            sched.timerSleeper = nullptr;
            sched.pollUntil.store(0, std::memory_order_relaxed);
            s->exitThread = true;
            s->park.wakeup();
        }
    }
    wakeTemplateThread();
    wakeSysmon();
    auto* n = reinterpret_cast<std::atomic<uint32_t>*>(&sched.nthreads);
    for (uint32_t v; (v = n->load(std::memory_order_acquire)) != 0;) futexsleep(n, v, 1000000);
}

// waitThreadsGone waits until every thread that ran mexit is gone from the
// kernel: it has left the library's code too (bounded, in case a thread id
// was reused by a thread that lives on).
void waitThreadsGone() {
    int64_t until = nanotime() + 1'000'000'000;
    for (uint32_t i = 0; i < sched.nexitedTids; i++) {
        while (taskAlive(sched.exitedTids[i]) && nanotime() < until) sched_yield();
    }
}

// closeGate turns new calls away and waits, until deadline, for the ones
// inside to leave. False (the gate reopened) if they did not.
bool closeGate(int64_t deadline) {
    callGate.open.store(false, std::memory_order_seq_cst);
    if (asymmetricGate.load(std::memory_order_relaxed)) processFence();
    while (callGate.inside.load(std::memory_order_seq_cst) != 0 || heldByAnyM()) {
        if (deadline >= 0 && nanotime() >= deadline) {
            callGate.open.store(true, std::memory_order_seq_cst);
            return false;
        }
        usleep(50);
    }
    return true;
}

// inCallFromGoroutine: the caller is a goroutine, or C code one called.
bool inCallFromGoroutine() {
    M* m = getm();
    if (m == nullptr || m->gen != runtimeGen.load(std::memory_order_acquire)) return false;
    if (!m->isExtra) return true;  // a runtime thread: a goroutine, its C code, or g0
    return m->cbdepth.load(std::memory_order_relaxed) > 0;  // inside a callback
}

}  // namespace

bool forkedChild() {
    return forked.load(std::memory_order_relaxed);
}

int callEnter(CallGate* g) {
    M* m = getmAtEntry();
    if (GORT_LIKELY(admitsUncounted(m))) {
        g->counted = false;  // a goroutine holds the runtime up itself
        return kOK;
    }
    if (GORT_UNLIKELY(forked.load(std::memory_order_relaxed))) return kENOTSUP;
    if (m != nullptr && m->isExtra && !g->inGate &&
        asymmetricGate.load(std::memory_order_relaxed)) {
        int rc;
        if (enterHeld(m, g, &rc)) return rc;
    }
    callGate.inside.fetch_add(1, std::memory_order_seq_cst);
    if (!callGate.open.load(std::memory_order_seq_cst)) {
        callGate.inside.fetch_sub(1, std::memory_order_seq_cst);
        return kENOTINIT;
    }
    g->counted = true;
    return kOK;
}

void callExitCounted(const CallGate& g) {
    if (M* m = g.heldBy; m != nullptr) {
        m->gateHeld.store(m->gateHeld.load(std::memory_order_relaxed) - 1,
                          std::memory_order_release);
        return;
    }
    callGate.inside.fetch_sub(1, std::memory_order_seq_cst);
}

int init(const Config& c) {
    if (forked.load(std::memory_order_relaxed)) return kENOTSUP;
    LockGuard g(initLock);
    if (sched.running.load(std::memory_order_acquire)) return kEALREADY;
    if (!atforkInstalled.exchange(true)) {
        pthread_atfork(nullptr, nullptr, atforkChild);
        asymmetricGate.store(processFenceOn(), std::memory_order_relaxed);
    }
    if (c.threadStart != nullptr) setThreadStartHook(c.threadStart, c.threadStartEnds);
    beforeTeardown = c.beforeTeardown;
    afterTeardown = c.afterTeardown;
    stats().reset();
    observeInit(c);
    mainTid.store(getpid(), std::memory_order_relaxed);  // before any M runs
    runtimeGen.fetch_add(1, std::memory_order_acq_rel);
    pthread_sigmask(SIG_SETMASK, nullptr, &initSigmask);
    iscgo = c.cgo;
    if (iscgo && threadStartHook == nullptr) fatal("_cgo_thread_start missing");
    stackSetDefaultSize(c.stackSize);
    sched.schedtraceMs = c.schedtraceMs > 0 ? c.schedtraceMs : 0;
    sched.maxLent = c.maxLentProcs;
    sched.lendForCPU = c.lendForCPU;
    sched.quietStalls = c.quietStalls;
    sched.asymmetricSyscall.store(processFenceOn(), std::memory_order_relaxed);  // before any M
    initsig();
    extramInit();
    sched.running.store(true, std::memory_order_release);
    procresize(c.maxprocs > 0 ? c.maxprocs : ncpu(), false);
    // The runtime's own threads, and one idle worker M so that the first
    // goroutines find a thread: if they cannot be created (a failing
    // thread-start hook), undo everything.
    if ((iscgo && startTemplateThread() != 0) || newm(sysmon, nullptr) != 0 ||
        newm(nullptr, nullptr) != 0) {
        teardown();
        return kETHREAD;
    }
    callGate.open.store(true, std::memory_order_seq_cst);  // last: calls are admitted
    return kOK;
}

int shutdown(int64_t timeoutNs) {
    if (forked.load(std::memory_order_relaxed)) return kENOTSUP;
    if (inCallFromGoroutine()) return kEDEADLK;
    LockGuard g(initLock);
    if (!sched.running.load(std::memory_order_acquire)) return kENOTINIT;
    int64_t deadline = timeoutNs < 0 ? -1 : nanotime() + timeoutNs;
    for (;;) {
        while (numGoroutine() > 0) {
            if (deadline >= 0 && nanotime() >= deadline) return kEBUSY;
            usleep(500);
        }
        // No goroutine: turn new calls away and let those inside leave. One
        // that got in meanwhile may have started a goroutine: then wait for
        // it too (with the gate open again).
        if (!closeGate(deadline)) return kEBUSY;
        if (numGoroutine() == 0) break;
        callGate.open.store(true, std::memory_order_seq_cst);
    }
    if (beforeTeardown != nullptr) beforeTeardown();
    teardown();
    if (afterTeardown != nullptr) afterTeardown();
    return kOK;
}

namespace {

void teardown() {
    sched.stopping.store(true, std::memory_order_release);
    stopAllThreads();
    traceShutdown();
    // The threads have left the scheduler; wait until they have left our code
    // too (a few instructions), so libgort may be unloaded after this returns.
    waitThreadsGone();
    resetsig();
    // The calling thread's own extra M (it may have entered through the
    // callback path) can be released here; other threads keep theirs.
    if (M* m = getm(); m != nullptr && m->isExtra && m->gen == runtimeGen.load()) dropm(m);
    extramFreeAll();
    gfreeAll();
    pfreeAll();
    stackReleaseAll();
    free(sched.allgs);
    free(sched.exitedTids);
    std::destroy_at(&sched);
    std::construct_at(&sched);
}

}  // namespace

bool initialized() {
    return callGate.open.load(std::memory_order_acquire);
}

int go(void (*fn)(void*), void* arg, const GoOptions& opts, int64_t* goidOut) {
    if (fn == nullptr) return kEINVAL;
    if (!initialized()) return kENOTINIT;
    return newproc(fn, arg, opts, goidOut);
}

int64_t goid() {
    G* gp = getg();
    if (gp != nullptr) return gp->goid;
    // A switch hook runs on its goroutine's stack even while the goroutine
    // is in a system call (waiting for a P): it is that goroutine's code.
    M* m = getm();
    gp = m != nullptr ? m->curg : nullptr;
    return gp != nullptr && gp->inHook ? gp->goid : 0;
}

bool onGoroutine() {
    return getg() != nullptr;
}

void sleep(int64_t ns) {
    timeSleep(ns);
}

int gomaxprocs(int n) {
    if (!initialized()) return kENOTINIT;
    if (n <= 0) return sched.gomaxprocs.load(std::memory_order_acquire);
    return procresize(n, true);
}

void setThreadStartHook(ThreadStartHook hook, bool threadsEnd) {
    threadStartHook = hook;
    threadStartHookIsDefault = threadsEnd;
}

}  // namespace gort
