// How an M is born and how it dies: Go's newm -> allocm -> newm1 ->
// (cgo: the thread-start hook; native: newosproc) -> mstart, and mexit.
//
// newm(fn, p) builds the M (allocm) and then decides who creates its
// thread. If the calling thread is locked to a goroutine (lockedExt != 0) or
// is running C code (incgo), its state may be unfit to clone (namespaces,
// credentials, cwd via unshare, a C library's thread-local state), so the M
// is queued on sched.newmHandoff and the template thread creates it. The
// template thread is a clean thread that never runs goroutines; it is
// started by the first LockOSThread, or at init in cgo mode.
//
// newm1 holds execLock for reading while the thread is created, so
// gort_fork_exec (write side) never runs while a thread is half made. In
// cgo mode it fills a ThreadStart and calls threadStartHook (Go's
// _cgo_thread_start; bridge/ provides the default, an application may
// install its own). In native mode it calls newosproc: a detached pthread
// created with every signal blocked, the creator's mask restored after.
// Either way the new thread starts in mstart, which installs the M's own
// signal mask (the process's initial mask, never the creator's), takes
// nextp, and runs schedule().
//
// Unlike Go, failing to create a thread does not end the process: the
// failure is reported in Go's words, counted, retried on EAGAIN with
// backoff (20 tries), and then undone: the P the M was meant to run goes
// back to the idle list, so its work stays runnable for the existing Ms.
//
// mexit: an M whose locked goroutine exited, or that is told to stop at
// shutdown, hands its P off, leaves allm, frees itself, and its thread
// returns.
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/deadlock.h"
#include "runtime/futex.h"
#include "runtime/proc.h"
#include "runtime/signals.h"
#include "runtime/stats.h"
#include "runtime/testhooks.h"
#include "runtime/trace.h"

namespace gort {

ThreadStartHook threadStartHook = nullptr;
bool threadStartHookIsDefault = false;
bool iscgo = false;
RWMutex execLock;

namespace {

constexpr int kCreateTries = 20;
constexpr int32_t kIdleReserve = 2;  // idle Ms kept ready while locked threads exit

// mcount counts the Ms toward the thread limit: not those of C threads.
int64_t mcount() {
    return sched.mnext - sched.nmfreed - sched.nextram;
}

void checkmcount() {
    int64_t limit = maxMCount.load(std::memory_order_relaxed);
    if (mcount() > limit) {
        printerr("runtime: program exceeds %lld-thread limit", (long long)limit);
        fatal("thread exhaustion");
    }
}

// mstartTrampoline is the C-style entry both thread paths use.
void mstartTrampoline(void* arg) {
    mstart(static_cast<M*>(arg));
}

void* mstartPthread(void* arg) {
    mstart(static_cast<M*>(arg));
    return nullptr;
}

// withRetry calls create until it succeeds, fails with something other than
// EAGAIN, or has been tried kCreateTries times, sleeping (try+1) ms between.
template <class F>
int withRetry(F create) {
    int err = 0;
    for (int tries = 0; tries < kCreateTries; tries++) {
        err = create();
        if (err != EAGAIN) return err;
        stats().threadCreateRetries.fetch_add(1, std::memory_order_relaxed);
        timespec ts{0, (tries + 1) * 1000000L};
        nanosleep(&ts, nullptr);
    }
    return err;
}

}  // namespace

// newosprocFault makes the next N native thread creations fail with the
// given errno (tests of the failure path; see runtime/testhooks.h).
std::atomic<int32_t> newosprocFaults{0};
std::atomic<int64_t> maxMCount{kMaxMCount};
std::atomic<int32_t> newosprocFaultErrno{EAGAIN};

namespace {

// newosproc creates the thread for mp with pthreads (native mode).
int newosproc(M* mp) {
    pthread_attr_t attr;
    if (int err = pthread_attr_init(&attr)) return err;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    // Block every signal across creation: the new thread must not take a
    // signal before minit has set up its M; it opens its own mask there.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int err = withRetry([&] {
        int32_t f = newosprocFaults.load(std::memory_order_relaxed);
        while (f > 0) {
            if (newosprocFaults.compare_exchange_weak(f, f - 1, std::memory_order_relaxed)) {
                return int(newosprocFaultErrno.load(std::memory_order_relaxed));
            }
        }
        return pthread_create(&tid, &attr, mstartPthread, mp);
    });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&attr);
    return err;
}

// workerMs counts the Ms other than except that can run goroutines (not
// sysmon, the template thread, or threads the runtime does not own).
int workerMs(M* except) {
    LockGuard g(sched.lock);
    int n = 0;
    for (M* m = sched.allm.load(std::memory_order_relaxed); m != nullptr; m = m->alllink) {
        if (m != except && !m->isExtra && !m->isTemplate && !m->isSysmon) n++;
    }
    return n;
}

// freeUnstartedM undoes allocm for an M whose thread will never run: the
// work and P it was given go to the global queue and to an idle M, else to
// an M waiting in stoplockedm for its locked G (that G runs, and when it
// exits locked its thread goes, so the next thread creation may succeed),
// else the idle list (sysmon is woken to find the work: unstrand); the M
// leaves allm.
void freeUnstartedM(M* mp) {
    if (mp->mstartfn == mspinning) {
        sched.nmspinning.fetch_sub(1, std::memory_order_acq_rel);
    }
    bool stranded = false;
    {
        LockGuard g(sched.lock);
        if (P* p = mp->nextp) {
            // The Ms that exist will find the work; no new thread is tried
            // from here. (An idle M may have appeared since startm looked.)
            mp->nextp = nullptr;
            runqdrain(p);
            if (M* idle = mget()) {
                idle->nextp = p;
                idle->park.wakeup();
            } else if (G* lg = globrunqgetLocked()) {
                // What startlockedm does: the P goes to the M, which runs
                // lg (its lockedg) once woken.
                sched.nmidlelocked--;
                lg->lockedm->nextp = p;
                lg->lockedm->park.wakeup();
            } else {
                pidleput(p);
                stranded = sched.runqsize.load(std::memory_order_relaxed) > 0;
            }
        }
        allmRemove(mp);
    }
    mfree(mp);
    if (stranded) wakeSysmon();
}

// newmFailed undoes a newm whose thread could not be created.
void newmFailed(M* mp, int err) {
    int64_t have;
    {
        LockGuard g(sched.lock);
        have = mcount();
    }
    printerr("runtime: failed to create new OS thread (have %lld already; errno=%d)",
             (long long)have, err);
    if (err == EAGAIN) printerr("runtime: may need to increase max user processes (ulimit -u)");
    stats().threadCreateFailures.fetch_add(1, std::memory_order_relaxed);
    sched.nthreads.fetch_sub(1, std::memory_order_acq_rel);
    if (mp->nextp != nullptr && workerMs(mp) == 0 &&
        !sched.stopping.load(std::memory_order_acquire)) {
        // Work is waiting and no thread can ever run it: as in Go, this
        // is the end.
        fatal("newosproc");
    }
    bool carriedWork = mp->nextp != nullptr;
    freeUnstartedM(mp);
    // The work it was to run went to the global queue, maybe just as the
    // last M went idle: wake one (but do not recurse into thread creation
    // from here: sysmon retries later). A system M (the template thread,
    // sysmon) carried none.
    static thread_local bool inFailure = false;
    if (carriedWork && !inFailure) {
        inFailure = true;
        wakep();
        inFailure = false;
    }
}

void templateThread();

}  // namespace

void allmRemove(M* m) {
    M* prev = nullptr;
    M* cur = sched.allm.load(std::memory_order_relaxed);
    for (; cur != nullptr && cur != m; cur = cur->alllink) prev = cur;
    if (cur == nullptr) fatal("m not found in allm");
    if (prev == nullptr) {
        sched.allm.store(m->alllink, std::memory_order_release);
    } else {
        prev->alllink = m->alllink;
    }
    sched.nmfreed++;
    if (m->isExtra) sched.nextram--;
    // Its counters live on in the totals.
    sched.ncgocallDead.fetch_add(m->ncgocall.load(std::memory_order_relaxed),
                                 std::memory_order_relaxed);
    sched.ncallbackDead.fetch_add(m->ncallback.load(std::memory_order_relaxed),
                                  std::memory_order_relaxed);
}

void msysinit(M* m) {
    LockGuard g(sched.lock);
    sched.nmsys++;
    checkdead();  // it no longer counts as a running M
}

void mcommoninit(M* m) {
    m->gen = runtimeGen.load(std::memory_order_relaxed);
    LockGuard g(sched.lock);
    m->id = sched.mnext++;
    if (m->isExtra) {
        sched.nextram++;
    } else {
        checkmcount();
    }
    m->fastrand = uint64_t(m->id + 1) * 0x9E3779B97F4A7C15ULL ^ uint64_t(nanotime());
    if (m->fastrand == 0) m->fastrand = 1;
    m->alllink = sched.allm.load(std::memory_order_relaxed);
    sched.allm.store(m, std::memory_order_release);
}

M* allocm(P* p, void (*fn)()) {
    M* m = rtnew<M>();
    m->g0 = rtnew<G>();
    m->g0->system = true;
    m->g0->atomicstatus.store(Grunning, std::memory_order_relaxed);
    m->mstartfn = fn;
    m->nextp = p;
    m->sigmask = initSigmask;
    mcommoninit(m);
    return m;
}

void mfree(M* m) {
    // A thread handing m its locked G (startlockedm) may still be looking
    // at m: a few instructions.
    while (m->hostRefs.load(std::memory_order_acquire) != 0) sched_yield();
    mfreeSchedStack(m);
    rtdelete(m->g0);
    rtdelete(m);
}

int newm(void (*fn)(), P* p) {
    M* mp = allocm(p, fn);
    M* cur = getm();
    if (cur != nullptr && (cur->lockedExt != 0 || cur->incgo)) {
        // This thread may be tainted: let the template thread do it.
        auto& h = sched.newmHandoff;
        {
            LockGuard g(h.lock);
            if (h.haveTemplateThread.load(std::memory_order_acquire) != 0) {
                mp->schedlink = h.newm;
                h.newm = mp;
                traceTemplateHandoff(mp);
                if (h.waiting) {
                    h.waiting = false;
                    h.wake.wakeup();
                }
                return 0;
            }
            // The template thread exits only when the runtime stops.
            if (!sched.stopping.load(std::memory_order_acquire)) {
                fatal("on a locked thread with no template thread");
            }
        }
        freeUnstartedM(mp);  // no thread is wanted any more
        return 0;
    }
    return newm1(mp);
}

int newm1(M* mp) {
    sched.nthreads.fetch_add(1, std::memory_order_acq_rel);
    int err;
    M* cur = getm();
    mp->byTemplate = cur != nullptr && cur->isTemplate;
    const int64_t id = mp->id;
    const MOrigin origin = iscgo ? MOrigin::hook : MOrigin::native;
    mp->origin = origin;
    P* ownp = cur != nullptr ? cur->p : nullptr;
    if (ownp != nullptr) ownp->creatingThread.store(true, std::memory_order_relaxed);
    execLock.rlock();
    if (iscgo) {
        if (threadStartHook == nullptr) fatal("_cgo_thread_start missing");
        ThreadStart ts{mstartTrampoline, mp, 0};
        err = withRetry([&] { return threadStartHook(&ts); });
    } else {
        err = newosproc(mp);
    }
    execLock.runlock();
    if (ownp != nullptr) ownp->creatingThread.store(false, std::memory_order_relaxed);
    if (err != 0) {
        newmFailed(mp, err);
        return err;
    }
    traceNewm(id, uint32_t(origin));  // mp may be gone: its thread runs
    auto& counter = iscgo ? stats().msCreatedHook : stats().msCreatedNative;
    counter.fetch_add(1, std::memory_order_relaxed);
    return 0;
}

void mstart(M* m) {
    m->g0sp0 = __builtin_frame_address(0);
    setm(m);
    minit(m);
    traceMStart(m);
    if (m->mstartfn != nullptr) m->mstartfn();
    if (!m->isTemplate && !m->isSysmon) {
        mallocSchedStack(m);  // a worker may run callbacks (C it calls calls back)
        if (P* p = m->nextp) {
            m->nextp = nullptr;
            acquirep(m, p);
        }
        schedule(m);
    }
    mexit(m);
}

void mexit(M* m) {
    // A thread that dies with its locked goroutine is one thread fewer for
    // the goroutines after it: ask the template thread for a replacement
    // now, kept idle (up to kIdleReserve), so that the next one to need an M
    // finds it ready instead of waiting for a thread to be created. Go
    // creates it only on demand, on the critical path.
    traceMExit(m);
    bool replace = false;
    if (m->lockedExt != 0 && !sched.stopping.load(std::memory_order_acquire)) {
        LockGuard g(sched.lock);
        replace = sched.nmidle < kIdleReserve;
    }
    if (m->p != nullptr) handoffp(releasep(m));
    if (replace) newm(nullptr, nullptr);  // through the template thread: we are locked
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, nullptr);
    unminit(m);
    {
        LockGuard g(sched.lock);
        allmRemove(m);
        if (m->isTemplate || m->isSysmon) sched.nmsys--;
        if (m->origin == MOrigin::native || threadStartHookIsDefault) {
            if (sched.nexitedTids == sched.exitedTidsCap) {
                sched.exitedTidsCap = sched.exitedTidsCap == 0 ? 64 : 2 * sched.exitedTidsCap;
                sched.exitedTids = static_cast<pid_t*>(rtrealloc(
                    sched.exitedTids, sched.exitedTidsCap * sizeof(pid_t), "exited thread ids"));
            }
            sched.exitedTids[sched.nexitedTids++] = m->procid;
        }
        checkdead();  // one running M less
    }
    setm(nullptr);
    mfree(m);
    // Last: shutdown waits for this count to reach zero.
    if (sched.nthreads.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        futexwakeup(reinterpret_cast<std::atomic<uint32_t>*>(&sched.nthreads), 1);
    }
}

void minit(M* m) {
    minitSignalStack(m);
    // Open the mask the M should run with, never blocking the signals that
    // report faults.
    sigset_t mask = m->sigmask;
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) sigdelset(&mask, sig);
    pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    minitG0(m);
    // Last: a set procid tells observers the thread is set up.
    __atomic_store_n(&m->procid, pid_t(syscall(SYS_gettid)), __ATOMIC_RELEASE);
}

void minitG0(M* m) {
    mrecordStack(m);
    ctxAdoptThread(&m->g0->ctx);
}

void mrecordStack(M* m) {
    // The thread's stack bounds, for the overflow report (on the main
    // thread glibc reads /proc/self/maps for them).
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* addr = nullptr;
        size_t size = 0;
        pthread_attr_getstack(&attr, &addr, &size);
        m->stackLo = reinterpret_cast<uintptr_t>(addr);
        m->stackHi = m->stackLo + size;
        pthread_attr_destroy(&attr);
    }
}

void unminit(M* m) {
    unminitSignalStack(m);
    freeSignalStack(m);
}

// ---- the template thread ------------------------------------------------------------

namespace {

// templateThread is a thread in a known-good state that exists solely to
// start new threads in known-good states when the calling thread may not be
// in a good state (Go's comment). It never holds a P.
void templateThread() {
    M* m = getm();
    m->isTemplate = true;
    msysinit(m);
    auto& h = sched.newmHandoff;
    h.lock.lock();
    for (;;) {
        while (h.newm != nullptr) {
            M* list = h.newm;
            h.newm = nullptr;
            h.lock.unlock();
            while (list != nullptr) {
                M* next = list->schedlink;
                list->schedlink = nullptr;
                if (newm1(list) == 0) {
                    stats().templateHandoffs.fetch_add(1, std::memory_order_relaxed);
                }
                list = next;
            }
            h.lock.lock();
        }
        if (sched.stopping.load(std::memory_order_acquire)) break;
        h.waiting = true;
        h.wake.clear();
        h.lock.unlock();
        h.wake.sleep();
        h.lock.lock();
    }
    h.haveTemplateThread.store(0, std::memory_order_release);
    h.lock.unlock();
}

}  // namespace

int startTemplateThread() {
    auto& h = sched.newmHandoff;
    uint32_t z = 0;
    if (!h.haveTemplateThread.compare_exchange_strong(z, 1, std::memory_order_acq_rel)) return 0;
    // Created directly, never delegated: it is the delegate. Marked before
    // its thread runs (what the thread reports about itself says so).
    M* mp = allocm(nullptr, templateThread);
    mp->isTemplate = true;
    int err = newm1(mp);
    if (err != 0) h.haveTemplateThread.store(0, std::memory_order_release);
    return err;
}

void wakeTemplateThread() {
    auto& h = sched.newmHandoff;
    LockGuard g(h.lock);
    if (h.waiting) {
        h.waiting = false;
        h.wake.wakeup();
    }
}

}  // namespace gort
