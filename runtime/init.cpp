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
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "runtime/futex.h"
#include "runtime/proc.h"
#include "runtime/runtime.h"
#include "runtime/signals.h"
#include "runtime/stats.h"

namespace gort {

namespace {

Mutex initLock;  // serialises init and shutdown

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

}  // namespace

int init(const Config& c) {
    LockGuard g(initLock);
    if (sched.running.load(std::memory_order_acquire)) return kEALREADY;
    stats().reset();
    runtimeGen.fetch_add(1, std::memory_order_acq_rel);
    pthread_sigmask(SIG_SETMASK, nullptr, &initSigmask);
    iscgo = c.cgo;
    if (iscgo && threadStartHook == nullptr) fatal("_cgo_thread_start missing");
    stackSetDefaultSize(c.stackSize);
    sched.schedtraceMs = c.schedtraceMs > 0 ? c.schedtraceMs : 0;
    initsig();
    extramInit();
    sched.running.store(true, std::memory_order_release);
    procresize(c.maxprocs > 0 ? c.maxprocs : ncpu());
    if ((iscgo && startTemplateThread() != 0) || newm(sysmon, nullptr) != 0) {
        teardown();
        return kETHREAD;
    }
    return kOK;
}

int shutdown(int64_t timeoutNs) {
    LockGuard g(initLock);
    if (!sched.running.load(std::memory_order_acquire)) return kENOTINIT;
    if (onGoroutine()) return kEBUSY;
    int64_t deadline = nanotime() + (timeoutNs > 0 ? timeoutNs : 0);
    while (numGoroutine() > 0) {
        int64_t left = deadline - nanotime();
        if (left <= 0) return kEBUSY;
        usleep(useconds_t(left > 1000000 ? 1000 : left / 1000 + 1));
    }
    teardown();
    return kOK;
}

namespace {

void teardown() {
    sched.stopping.store(true, std::memory_order_release);
    stopAllThreads();
    // The threads have left the scheduler; wait until they have left our code
    // too (a few instructions), so libgort may be unloaded after this returns.
    int64_t until = nanotime() + 1000000000;
    uint32_t n = sched.nexitedTids < Sched::kExitedTids ? sched.nexitedTids : Sched::kExitedTids;
    for (uint32_t i = 0; i < n; i++) {
        while (taskAlive(sched.exitedTids[i]) && nanotime() < until) sched_yield();
    }
    resetsig();
    // The calling thread's own extra M (it may have entered through the
    // callback path) can be released here; other threads keep theirs.
    if (M* m = getm(); m != nullptr && m->isExtra && m->gen == runtimeGen.load()) dropm(m);
    extramFreeAll();
    gfreeAll();
    pfreeAll();
    stackReleaseAll();
    free(sched.allgs);
    std::destroy_at(&sched);
    std::construct_at(&sched);
}

}  // namespace

bool initialized() {
    return sched.running.load(std::memory_order_acquire);
}

int go(void (*fn)(void*), void* arg, const GoOptions& opts, int64_t* goidOut) {
    if (fn == nullptr) return kEINVAL;
    if (!initialized()) return kENOTINIT;
    return newproc(fn, arg, opts, goidOut);
}

int64_t goid() {
    G* gp = getg();
    return gp != nullptr ? gp->goid : 0;
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
    return procresize(n);
}

void setThreadStartHook(ThreadStartHook hook, bool threadsEnd) {
    threadStartHook = hook;
    threadStartHookIsDefault = threadsEnd;
}

}  // namespace gort
