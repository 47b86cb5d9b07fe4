// Stall detection: sysmon's watch over goroutines that hold their P without
// reaching a scheduling point.
//
// Goroutines are cooperative. A goroutine that blocks in the kernel without
// telling the runtime (a plain read or usleep, a C library that waits,
// Python's time.sleep with the GIL released) keeps its P, and whatever is
// queued there waits for it. Go never has this problem because every Go
// system call goes through entersyscall; C code does not. So sysmon looks:
//
//   - Watch. Every sysmon tick, for each running P: if its scheduling and
//     syscall ticks have moved since the last look, the P is making progress
//     (a new watch begins: when, which thread, that thread's CPU clock).
//     Otherwise the same goroutine has been running since the watch began.
//   - Classify. Once a watch is kStallNs old, the thread's CPU time over the
//     last window (at least kWindowNs) tells blocked (under a quarter of the
//     wall time, and its state in /proc/self/task/<tid>/stat is S or D: it
//     sleeps in the kernel, not merely waits for a CPU) from computing. A
//     thread found asleep stays so while it barely runs, without its state
//     read again, and once compensated its clock is read once a
//     kRunningTickNs rather than once a tick. The CPU clock is the kernel's
//     per-thread clock, read by thread id (the encoding glibc's
//     pthread_getcpuclockid uses), so sysmon never touches the M: a thread
//     that has gone just fails the read. Where that clock is unavailable,
//     the thread's state alone decides.
//   - Lend. A blocked goroutine counts as a stall: sysmon lends the
//     scheduler an extra P (lendp grows the live P set by one; wakep starts
//     an M that steals the stalled P's queue and runs its timers). So only
//     goroutines that really run count against GOMAXPROCS, as in Go, where a
//     goroutine in a system call does not. A goroutine that computes without
//     yielding gets the same after kCPUStallNs when lendForCPU is set
//     (GORT_LENDCPU; off by default, see the guide: a cooperative runtime's
//     GOMAXPROCS stays a bound on parallel computation unless asked).
//     Lending is bounded by sched.maxLent (GOMAXPROCS by default).
//   - Storms. While Ps were found blocked at the last look and work waits,
//     more goroutines are likely to block the same way (a hundred ctypes
//     calls, a pool of readers): sysmon then looks every kStormTickNs and
//     classifies after kStormStallNs over a kStormWindowNs CPU window, so
//     each wave of stalls is compensated within ~150 us instead of ~1.5 ms.
//     The verdict is the same CPU-clock and thread-state test; only the
//     patience is shorter, and only while the storm lasts.
//   - Return. When the watched P's ticks move (its goroutine reached a
//     scheduling point), or it leaves the running state, or a blocked
//     thread is seen computing again (unless lendForCPU), sysmon returns the
//     P (unlendp): the top P of the live set is retired by its M at its next
//     scheduling point, exactly as when GOMAXPROCS shrinks.
//   - Report. A goroutine that has held its P for kLongRunNs without a
//     scheduling point is reported once on stderr (unless quietStalls),
//     with its stack where its thread blocks in a system call (dump.cpp),
//     and counted in long_runners.
//
// Cost: nothing while every P is idle (sysmon sleeps), one CPU-clock read
// per running P per look otherwise. While a goroutine runs and is not yet
// known to be blocked, sysmon looks at least every kRunningTickNs (every
// kTickNs if work waits behind it), so a stall with work behind it is
// compensated within about kRunningTickNs + kStallNs; a goroutine known to
// be blocked (and compensated) costs nothing more, except during a storm
// while work is queued and Ps can still be lent (a look every
// kStormTickNs).
//
// Which G is running: the P's owner publishes it in p->runningG and clears
// it before that G can be freed (gdestroy, releasep); sysmon reads it, and
// the G's id and name, under allglock, which G deletion and the freeing of
// a G's name take. Only sysmon reads or writes a P's StallWatch.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/dump.h"
#include "runtime/proc.h"
#include "runtime/stats.h"

namespace gort {

namespace {

constexpr int64_t kStallNs = 500'000;        // held this long: look at the thread
constexpr int64_t kWindowNs = 250'000;       // shortest CPU-clock window
constexpr int64_t kTickNs = 500'000;         // sysmon's longest tick with work waiting
constexpr int64_t kCPUStallNs = 10'000'000;  // lendForCPU: computing this long
constexpr int64_t kLongRunNs = 1'000'000'000;
constexpr int64_t kStormStallNs = 100'000;  // storms: held this long
constexpr int64_t kStormWindowNs = 50'000;
constexpr int64_t kStormTickNs = 50'000;
constexpr int32_t kStartsPerLend = 8;  // Ms lendFor starts itself

// threadCPUClock is the kernel's per-thread CPU clock of thread tid:
// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) of the kernel's posix-timers
// ABI, what pthread_getcpuclockid returns for a pthread.
clockid_t threadCPUClock(pid_t tid) {
    return clockid_t((~unsigned(tid)) << 3) | 6;
}

// threadCPUNs reads thread tid's CPU time (-1 if the thread is gone).
int64_t threadCPUNs(pid_t tid) {
    timespec ts;
    if (clock_gettime(threadCPUClock(tid), &ts) != 0) return -1;
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The per-thread clock works here (probed once per process: it does under
// Linux; a sandbox may refuse it).
enum class Probe : int { unknown, clock, procfs };
std::atomic<Probe> probe{Probe::unknown};

Probe probeClock() {
    Probe p = probe.load(std::memory_order_relaxed);
    if (p != Probe::unknown) return p;
    auto self = pid_t(syscall(SYS_gettid));
    timespec own;
    int64_t viaTid = threadCPUNs(self);
    bool ok = viaTid >= 0 && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &own) == 0 &&
              int64_t(own.tv_sec) * 1'000'000'000 + own.tv_nsec >= viaTid;
    p = ok ? Probe::clock : Probe::procfs;
    probe.store(p, std::memory_order_relaxed);
    return p;
}

// threadBlocked reads /proc/self/task/<tid>/stat: true if the thread
// sleeps (S) or waits uninterruptibly (D).
bool threadBlocked(pid_t tid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", int(tid));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    // "tid (comm) S ...": comm may hold spaces and parentheses; the state
    // follows the last ')'.
    const char* close = nullptr;
    for (const char* s = buf; *s != 0; s++) {
        if (*s == ')') close = s;
    }
    return close != nullptr && close[1] == ' ' && (close[2] == 'S' || close[2] == 'D');
}

// workWaiting: something could run if p's goroutine let it.
bool workWaiting(P* p) {
    return !runqempty(p) || sched.runqsize.load(std::memory_order_relaxed) > 0 ||
           p->timer0When.load(std::memory_order_relaxed) != 0;
}

// Ps seen blocked at sysmon's last look (sysmon's alone).
int32_t blockedPs = 0;

// Patience: how long a P is held before sysmon looks at its thread, the
// shortest CPU-clock window, and sysmon's tick with work waiting. Short
// during a storm (Ps found blocked at the last look).
struct Patience {
    int64_t stallNs, windowNs, tickNs;
};

Patience patience() {
    if (blockedPs > 0) return {kStormStallNs, kStormWindowNs, kStormTickNs};
    return {kStallNs, kWindowNs, kTickNs};
}

// queuedGs counts, roughly, the goroutines waiting to run: the global
// queue and the local queues of running Ps.
int32_t queuedGs() {
    int64_t n = sched.runqsize.load(std::memory_order_relaxed);
    int32_t nallp = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < nallp; i++) {
        P* p = sched.allp[i].load(std::memory_order_acquire);
        uint32_t h = p->runqhead.load(std::memory_order_acquire);
        uint32_t t = p->runqtail.load(std::memory_order_acquire);
        n += int32_t(t - h) + (p->runnext.load(std::memory_order_relaxed) != nullptr ? 1 : 0);
    }
    return int32_t(std::min<int64_t>(n, INT32_MAX));
}

// lendRoom: lendp could lend another P now (read without the lock: a hint).
bool lendRoom() {
    if (sched.maxLent < 0) return false;
    int32_t maxprocs = sched.gomaxprocs.load(std::memory_order_relaxed);
    int32_t nlent = sched.nlent.load(std::memory_order_relaxed);
    return nlent < lendCap(maxprocs) && maxprocs + nlent < kMaxProcs;
}

// lendFor lends the Ps a newly blocked stall gets: one, or, when other Ps
// were blocked too at the last look, as many as there were (at most one per
// queued goroutine). Goroutines that block one after another (a hundred
// blocking ctypes calls) are then compensated in a doubling number of Ps per
// look, not one per look, while one goroutine blocking with computing work
// behind it still gets one P.
void lendFor(StallWatch& w) {
    if (w.lent > 0 || sched.maxLent < 0) return;
    int32_t want = std::max(1, std::min(blockedPs, queuedGs()));
    w.lent = lendp(want);
    // lendp woke one spinning M; it would wake the next only once it has
    // found work, a chain that costs a thread start per link (~190 us per
    // goroutine when a hundred ctypes calls block at once). The other lent
    // Ps get their Ms now, a few per look (each may be a new thread), as
    // spinners: the work is on other Ps' queues, and a spinner may steal it
    // whatever the bound on spinning Ms (findBySteal).
    for (int32_t i = 1; i < std::min(w.lent, kStartsPerLend); i++) {
        sched.nmspinning.fetch_add(1, std::memory_order_acq_rel);
        startm(nullptr, true);
    }
}

void returnFor(StallWatch& w) {
    if (w.lent == 0) return;
    unlendp(w.lent);
    w.lent = 0;
}

// reportLongRun counts, and reports once on stderr, the goroutine running on
// p, if it is still the one the watch began with.
void reportLongRun(P* p, const StallWatch& w, int64_t now) {
    LockGuard g(sched.allglock);  // gp's name lives while it is held
    G* gp = p->runningG.load(std::memory_order_relaxed);
    if (gp == nullptr || p->tick() != w.schedtick) return;
    stats().longRunners.fetch_add(1, std::memory_order_relaxed);
    if (sched.quietStalls) return;
    char name[64] = "";
    if (const char* n = gname(gp)) snprintf(name, sizeof name, " (%s)", n);
    printerr(
        "gort: goroutine %lld%s has run for %.1fs without yielding; wrap blocking C code in "
        "gort_cgocall",
        (long long)gp->goid, name, double(now - w.since) / 1e9);
    // Where it is: its thread's stack at the system call it blocks in.
    dumpBlockedGoroutine(2, gp, w.tid);
}

// classify updates w.blocked from the thread's CPU time over the last
// window; false if the thread is gone.
bool classify(StallWatch& w, int64_t now, int64_t windowNs) {
    if (probeClock() != Probe::clock) {
        w.blocked = threadBlocked(w.tid);
        return true;
    }
    if (now - w.cpuWhen < windowNs) return true;  // keep the last verdict
    int64_t cpu = threadCPUNs(w.tid);
    if (cpu < 0) return false;
    // Barely ran: asleep in the kernel, or runnable but not given a CPU (an
    // overloaded machine, where one more thread would not help). The
    // thread's state tells them apart, once: a thread already found asleep
    // that still barely runs is still asleep (reading its state costs
    // sysmon ~10 us, and a hundred blocked ctypes calls made that half of
    // its time while it had threads to create for them).
    if (w.cpuNs >= 0) {
        bool idle = (cpu - w.cpuNs) * 4 < now - w.cpuWhen;
        w.blocked = idle && (w.blocked || threadBlocked(w.tid));
    }
    w.cpuNs = cpu;
    w.cpuWhen = now;
    return true;
}

// watch looks at one running P. Returns how soon sysmon should look again
// for it (-1: no hurry).
int64_t watch(P* p, int64_t now) {
    StallWatch& w = p->stall;
    Patience pt = patience();
    uint32_t tick = p->tick();
    uint32_t stick = p->syscalltick.load(std::memory_order_relaxed);
    pid_t tid = p->mtid.load(std::memory_order_relaxed);
    if (w.since == 0 || tick != w.schedtick || stick != w.syscalltick || tid != w.tid) {
        // Progress since the last look (or a first look): a new run.
        returnFor(w);
        w = StallWatch{};
        w.schedtick = tick;
        w.syscalltick = stick;
        w.tid = tid;
        w.since = now;
        return workWaiting(p) ? pt.tickNs : kRunningTickNs;
    }
    if (w.cpuNs < 0 && tid != 0 && probeClock() == Probe::clock) {
        // Seen twice without progress: start the thread's CPU-clock window
        // (not at first sight: a busy P moves on between looks, and reading
        // a running thread's clock has a cost for that thread).
        w.cpuNs = threadCPUNs(tid);
        w.cpuWhen = now;
    }
    int64_t held = now - w.since;
    if (held >= kLongRunNs && !w.reported) {
        w.reported = true;
        reportLongRun(p, w, now);
    }
    if (held < pt.stallNs) return workWaiting(p) ? pt.tickNs : kRunningTickNs;
    if (p->creatingThread.load(std::memory_order_relaxed)) return pt.tickNs;  // newm1's own wait
    // A compensated stall is re-read only to see its thread compute again
    // (its P then goes back), which need not be seen within a storm's tick.
    bool settled = w.blocked && w.lent > 0;
    if (tid == 0 || !classify(w, now, settled ? kRunningTickNs : pt.windowNs)) return -1;
    if (w.blocked) {
        if (!w.counted) {
            w.counted = true;
            stats().stalls.fetch_add(1, std::memory_order_relaxed);
        }
        lendFor(w);
        return -1;  // compensated, or at the limit: nothing more to do
    }
    if (sched.lendForCPU && held >= kCPUStallNs) {
        lendFor(w);
        return -1;
    }
    returnFor(w);  // computing: it runs on its own P (it may block later)
    bool soon = sched.lendForCPU && workWaiting(p);
    return soon ? pt.tickNs : kRunningTickNs;
}

}  // namespace

int64_t checkStalls(int64_t now) {
    int64_t soonest = -1;
    int32_t blocked = 0;
    int32_t nallp = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < nallp; i++) {
        P* p = sched.allp[i].load(std::memory_order_acquire);
        if (p->status.load(std::memory_order_acquire) != Prunning) {
            returnFor(p->stall);
            p->stall = StallWatch{};
            continue;
        }
        int64_t next = watch(p, now);
        if (next >= 0 && (soonest < 0 || next < soonest)) soonest = next;
        if (p->stall.blocked && p->stall.counted) blocked++;
    }
    blockedPs = blocked;
    // A storm with work still queued: the Ps just lent start goroutines
    // that may block in turn; look again soon (the watches above said "no
    // hurry" for the Ps already compensated).
    if (blocked > 0 && (soonest < 0 || soonest > kStormTickNs) && lendRoom() && queuedGs() > 0) {
        soonest = kStormTickNs;
    }
    return soonest;
}

}  // namespace gort
