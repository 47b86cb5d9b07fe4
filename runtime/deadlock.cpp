// Deadlock detection (Go's checkdead).
//
// checkdead runs under sched.lock whenever an M goes idle (mput) or parks
// for its locked goroutine (incidlelocked). It reports Go's
//   fatal error: all goroutines are asleep - deadlock!
// when the program can never make progress again:
//   - there is a main goroutine (sched.maing, set by runOnThisThread with
//     RunOpts::main, as gort_run_main does). Without one the runtime is
//     embedded: the application's own threads may still send, release or
//     call in at any time, so nothing is ever reported;
//   - no M is running (Go counts Ms first): every M is idle (nmidle), parked
//     for its locked goroutine (nmidlelocked), a system M (nmsys: sysmon,
//     template thread) or a spare extra M in the pool. An M that is between
//     states (woken but not yet running, about to sleep until a timer,
//     being created) counts as running, so a goroutine readied but whose M
//     is not yet awake is never taken for asleep: startm and startlockedm
//     take their M off the idle counts before waking it, and newm counts a
//     new M (mnext) before its thread exists;
//   - no thread without an M is inside a channel/semaphore operation
//     (nplainActive: such a thread may be about to ready a goroutine);
//   - no foreign thread is bound to the runtime besides the main
//     goroutine's own (extraMInUse counts threads holding an extra M; any
//     other may call back in, and a callback may wake anyone);
//   - no timer is pending on any P (a sleeping goroutine or a timer channel
//     will wake someone);
//   - no goroutine is runnable, running or in a system call, and the main
//     goroutine is waiting;
//   - and last, no thread of the process is unknown to the runtime: a plain
//     pthread the program made (it has no M yet) may still call in (send,
//     close, gort_waitgroup_done), as Go under cgo does not report a
//     deadlock a C thread could resolve. The threads are read off
//     /proc/self/task and compared with the runtime's own (every M's
//     thread, exited ones included) only when everything else says
//     deadlock. While such a thread exists, sysmon keeps looking again
//     (deadlockSuspect), backing off up to a second, so a deadlock that
//     stays once the thread is gone is still reported.
//
// Without a main goroutine (the runtime embedded in a C program, which
// blocks in gort calls from its own threads), the same state is reported
// too, once per runtime, on stderr with the goroutine dump, when also every
// thread bound to the runtime is blocked inside it (each extra M's
// goroutine is waiting inside a callback: none is out in C, free to call
// in again). The process goes on unless Config::abortOnDeadlock.
//
// Lock order: checkdead holds sched.lock and takes only sched.allglock,
// which is never held while taking sched.lock. Everything else it reads is
// written under sched.lock or is atomic.
//
#include "runtime/deadlock.h"

#include <dirent.h>
#include <stdlib.h>

#include "runtime/dump.h"
#include "runtime/proc.h"
#include "runtime/trace.h"

namespace gort {

std::atomic<int32_t> nplainActive{0};

std::atomic<bool> deadlockSuspect{false};

std::atomic<bool> deadlockAbort{false};

namespace {
// The runtime generation whose embedded deadlock was reported.
uint64_t reportedGen = 0;
}  // namespace

namespace {

// knownTid reports whether tid is a thread of the runtime (sched.lock held).
bool knownTid(pid_t tid) {
    if (tid == traceWriterTid()) return true;  // the tracer's writer
    for (M* m = sched.allm.load(std::memory_order_relaxed); m != nullptr; m = m->alllink) {
        if (__atomic_load_n(&m->procid, __ATOMIC_ACQUIRE) == tid) return true;
    }
    for (uint32_t i = 0; i < sched.nexitedTids; i++) {
        if (sched.exitedTids[i] == tid) return true;
    }
    return false;
}

// foreignThreadExists reports whether the process has a thread the runtime
// does not know (sched.lock held).
bool foreignThreadExists() {
    DIR* d = opendir("/proc/self/task");
    if (d == nullptr) return true;  // cannot tell: assume one
#if defined(GORT_TSAN)
    int allowance = 1;  // ThreadSanitizer's own background thread
#else
    int allowance = 0;
#endif
    bool found = false;
    while (struct dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        if (!knownTid(pid_t(atoi(e->d_name))) && --allowance < 0) {
            found = true;
            break;
        }
    }
    closedir(d);
    return found;
}

// mRunning counts the Ms that may be running code (sched.lock held).
int64_t mRunning() {
    int64_t mcount = sched.mnext - sched.nmfreed;
    return mcount - sched.nmidle - sched.nmidlelocked - sched.nmsys -
           sched.extraMCount.load(std::memory_order_acquire);
}

bool timersPending() {
    int32_t n = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < n; i++) {
        P* p = sched.allp[i].load(std::memory_order_acquire);
        if (p != nullptr && p->timer0When.load(std::memory_order_acquire) != 0) return true;
    }
    return false;
}

// allAsleep reports whether every user goroutine is waiting (and there is
// at least one).
bool allAsleep() {
    LockGuard g(sched.allglock);
    int64_t waiting = 0;
    for (int64_t i = 0; i < sched.allglen; i++) {
        G* gp = sched.allgs[i];
        if (gp->system) continue;
        switch (gp->status()) {
            case Gwaiting:
                waiting++;
                break;
            case Grunnable:
            case Grunning:
            case Gsyscall:
                return false;
            default:
                break;  // Gidle, Gdead
        }
    }
    return waiting > 0;
}

// boundThreadsBlocked reports whether every thread holding an extra M is
// blocked inside the runtime: its goroutine waits inside a callback
// (sched.lock held). It reads other threads' M fields (lockedg) that they
// write without sched.lock: a racy read by design, and checkdeadEmbedded
// looks twice, around its /proc scan, before it reports.
GORT_RACY_READER bool boundThreadsBlocked() {
    for (M* m = sched.allm.load(std::memory_order_relaxed); m != nullptr; m = m->alllink) {
        if (!m->isExtra || __atomic_load_n(&m->procid, __ATOMIC_ACQUIRE) == 0) continue;
        // Between callbacks the thread runs C and may call in any time. In
        // one, its goroutine is locked to the M (and off m->curg when parked).
        if (m->cbdepth.load(std::memory_order_relaxed) == 0) return false;
        G* gp = m->lockedg;
        if (gp == nullptr || gp->status() != Gwaiting) return false;
    }
    return true;
}

// checkdeadEmbedded is checkdead without a main goroutine: report once.
void checkdeadEmbedded() {
    uint64_t gen = runtimeGen.load(std::memory_order_relaxed);
    if (reportedGen == gen || mRunning() != 0) return;
    if (nplainActive.load(std::memory_order_seq_cst) > 0) return;
    if (timersPending() || !boundThreadsBlocked() || !allAsleep()) return;
    if (foreignThreadExists()) {
        deadlockSuspect.store(true, std::memory_order_release);
        return;
    }
    // A thread unknown when boundThreadsBlocked looked may have bound an
    // extra M since (needm sets its procid without sched.lock) and so looked
    // known in /proc: it is in C, about to call in. Look again.
    if (!boundThreadsBlocked()) return;
    if (deadlockAbort.load(std::memory_order_relaxed))
        fatal("all goroutines are asleep - deadlock!");
    reportedGen = gen;
    printerr(
        "gort: all goroutines are asleep - deadlock! (no gort_run_main goroutine: reported "
        "once, the process goes on)");
    printerr("%s", "");
    dumpAll(2, nullptr, 64);
}

}  // namespace

void checkdead() {
    G* maing = sched.maing.load(std::memory_order_acquire);
    if (sched.stopping.load(std::memory_order_relaxed)) return;
    if (maing == nullptr) {
        checkdeadEmbedded();
        return;
    }
    int64_t run = mRunning();
    if (run > 0) return;
    if (run < 0) {
        printerr("runtime: checkdead: nmidle=%d nmidlelocked=%d mcount=%lld nmsys=%d extram=%d",
                 sched.nmidle, sched.nmidlelocked, (long long)(sched.mnext - sched.nmfreed),
                 sched.nmsys, sched.extraMCount.load(std::memory_order_relaxed));
        fatal("checkdead: inconsistent counts");
    }
    if (nplainActive.load(std::memory_order_seq_cst) > 0) return;
    if (sched.extraMInUse.load(std::memory_order_acquire) > 1) return;
    if (timersPending()) return;
    if (maing->status() != Gwaiting || !allAsleep()) return;
    if (foreignThreadExists()) {
        // It may still resolve this: look again later (sysmon).
        deadlockSuspect.store(true, std::memory_order_release);
        return;
    }
    // As in checkdeadEmbedded: a thread that bound an extra M while /proc
    // was read looked known there.
    if (sched.extraMInUse.load(std::memory_order_seq_cst) > 1) return;
    fatal("all goroutines are asleep - deadlock!");
}

}  // namespace gort
