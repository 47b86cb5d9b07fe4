// sysmon: the runtime's monitor, a thread of its own that never holds a P.
//
// Its main job is retake: a P whose M has been inside one system call or C
// call for at least one sysmon tick (20 us) is taken away (takePsyscall:
// Psyscall -> Pidle, syscall.cpp) and handed off (handoffp), so goroutines queued on it run on
// another M, newly created if none is idle. Like Go, it leaves a P alone
// when the call is young, nothing is queued on it, and other Ps are idle or
// spinning.
//
// Ticks: 20 us while it finds work, doubling after 50 idle ticks (1 ms) up
// to 10 ms. Go's sysmon stops there, which is why a handoff takes Go 10-20
// ms in a steady state. Here entersyscall wakes sysmon back to 20 us ticks
// whenever the calling goroutine's P has work queued (wakeSysmon), so a
// queued goroutine waits about two ticks, whatever sysmon was doing. And a
// P that starts running while sysmon sleeps past a running tick (its last
// look found nothing running) makes it look at once (watchRunning): the
// goroutine may block in the kernel without telling, and stall detection
// promises to see that within kRunningTickNs + kStallNs.
//
// Stall detection (stall.cpp) runs every tick too, and may shorten the next
// sleep while a goroutine runs without a scheduling point.
//
// When every P has been idle, with nothing queued, for as long as it takes
// the ticks to back off fully (about 20 ms), sysmon sleeps until a P runs
// again (acquirep) or enters a call (entersyscall) and wakes it, or until
// 1 ms past the earliest pending timer (a timer added by a thread without a
// P wakes it to look again): an idle runtime without timers costs no
// wakeups, one with timers none but the timer sleeper's, and a runtime that
// goes idle and busy quickly costs no wakeup per transition. It also nudges
// an idle M when a timer is overdue and no M sleeps until it, or when work
// sits on the global queue with Ps idle (safety nets for the timer sleeper
// protocol in findRunnable, and for thread-creation failures).
#include <stdio.h>
#include <sys/prctl.h>

#include <algorithm>

#include "runtime/deadlock.h"
#include "runtime/dump.h"
#include "runtime/futex.h"
#include "runtime/proc.h"
#include "runtime/stats.h"
#include "runtime/trace.h"

namespace gort {

namespace {

constexpr int64_t kMaxDelayUs = 10000;
constexpr int64_t kForceRetakeNs = 10'000'000;  // Go: a call older than 10 ms
// The timer safety net acts on a timer this overdue (the timer sleeper in
// findRunnable should have run it by then).
constexpr int64_t kTimerNetSlackNs = 1'000'000;

// retake takes Ps from Ms that have been in one system call for a full tick
// and hands them off. Returns how many it took.
int retake(int64_t now) {
    int n = 0;
    int32_t procs = sched.nprocs.load(std::memory_order_acquire);
    int32_t nallp = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < nallp; i++) {
        P* p = sched.allp[i].load(std::memory_order_acquire);
        if (p->status.load(std::memory_order_acquire) != Psyscall) continue;
        if (i >= procs) {
            // Beyond the live set: retire it now, whatever its call's age
            // (its run queue and timers move to where Ms can find them).
            if (retireSyscallP(p)) n++;
            continue;
        }
        SysmonTick& pd = p->sysmontick;
        uint32_t t = p->syscalltick.load(std::memory_order_acquire);
        if (pd.syscalltick != t) {
            // A call we have not seen before: give it one tick, counted
            // from its start if it woke us (we slept meanwhile).
            pd.syscalltick = t;
            pd.syscallwhen = now;
            if (p->wakeTick.load(std::memory_order_acquire) != t) continue;
            pd.syscallwhen = std::min(now, p->wakeWhen.load(std::memory_order_relaxed));
            if (now - pd.syscallwhen < kSysmonTickUs * 1000) continue;
        }
        if (runqempty(p) && sched.runqsize.load(std::memory_order_relaxed) == 0 &&
            sched.nmspinning.load(std::memory_order_relaxed) +
                    sched.npidle.load(std::memory_order_relaxed) >
                0 &&
            pd.syscallwhen + kForceRetakeNs > now) {
            continue;  // nothing waits for this P
        }
        // Count as running while handing off, so checkdead does not see
        // every M idle in between (Go's incidlelocked dance).
        incidlelocked(-1);
        if (takePsyscall(p, Pidle)) {
            stats().pRetakes.fetch_add(1, std::memory_order_relaxed);
            traceRetake(p);
            n++;
            handoffp(p);
        }
        incidlelocked(1);
    }
    return n;
}

// allIdle reports whether nothing at all is going on: every P idle, no
// queued work.
bool allIdle() {
    int32_t procs = sched.nprocs.load(std::memory_order_seq_cst);
    if (sched.npidle.load(std::memory_order_seq_cst) != procs ||
        sched.runqsize.load(std::memory_order_seq_cst) != 0) {
        return false;
    }
    // A P beyond the live set not yet retired still runs, or sits in a call.
    int32_t nallp = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = procs; i < nallp; i++) {
        if (sched.allp[i].load(std::memory_order_acquire)->status.load(std::memory_order_acquire) !=
            Pdead) {
            return false;
        }
    }
    return true;
}

// unstrand wakes an M for work left on the global queue with Ps idle (after
// a thread could not be created, the work waits for an M that goes idle a
// moment later; this is the safety net that finds it).
void unstrand() {
    if (sched.runqsize.load(std::memory_order_relaxed) > 0 &&
        sched.npidle.load(std::memory_order_relaxed) > 0 &&
        sched.nmspinning.load(std::memory_order_relaxed) == 0) {
        wakep();
    }
}

// timerNet: the safety net for timers: one is overdue, a P is idle, nobody
// sleeps until it: start an M. Returns whether it tried.
bool timerNet(int64_t now) {
    int64_t next = nextTimerAll();
    if (next != 0 && next <= now - kTimerNetSlackNs &&
        sched.npidle.load(std::memory_order_relaxed) > 0 &&
        sched.pollUntil.load(std::memory_order_relaxed) == 0) {
        wakep();
        return true;
    }
    return false;
}

// idleSleepNs bounds the all-idle sleep by the earliest pending timer (plus
// the net's slack), so the net can look once it is due: with every P idle
// nothing else wakes sysmon, and a lost timer wakeup would hang its goroutine
// for good (F5). Sets *timerBound when the timer is what bounds it.
int64_t idleSleepNs(int64_t sleepNs, bool* timerBound) {
    *timerBound = false;
    int64_t next = nextTimerAll();
    if (next == 0) return sleepNs;
    int64_t now = nanotime();
    int64_t ns = next > now ? next - now : 0;
    ns = ns > INT64_MAX - kTimerNetSlackNs ? INT64_MAX : ns + kTimerNetSlackNs;
    if (sleepNs >= 0 && sleepNs <= ns) return sleepNs;
    *timerBound = true;
    return ns;
}

// sysmonSleepFrom sleeps ns nanoseconds (ns < 0: until woken) unless woken
// since the sysmonGen value gen was read.
void sysmonSleepFrom(uint32_t gen, int64_t ns) {
    if (sched.sysmonFast.load(std::memory_order_acquire) ||
        sched.stopping.load(std::memory_order_acquire)) {
        return;
    }
    futexsleep(&sched.sysmonGen, gen, ns);
}

}  // namespace

void sysmon() {
    M* m = getm();
    m->isSysmon = true;
    msysinit(m);
    // Ticks of 20 us need a timer slack below the kernel's default 50 us,
    // which stretched every tick to ~70 us: a goroutine queued behind a
    // blocked call waited ~115 us for its P instead of ~40 (W8).
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    int idle = 0;
    int64_t suspectNs = 0;  // the deadlock re-check's current interval
    int64_t delay = kSysmonTickUs;
    int64_t stallLimitUs = -1;  // the stall watch's limit on the next sleep
    int64_t start = nanotime(), lastTrace = start;
    int64_t traceNs = int64_t(sched.schedtraceMs) * 1000000;
    int64_t untilTraceNs = -1;  // to the next schedtrace line (-1: none)
    while (!sched.stopping.load(std::memory_order_acquire)) {
        if (traceNs > 0) {
            int64_t now = nanotime();
            if (now - lastTrace >= traceNs) {
                printSchedtrace(now - start);  // dump.cpp
                lastTrace = now;
            }
            untilTraceNs = lastTrace + traceNs - now;
        }
        if (sched.sysmonFast.exchange(false, std::memory_order_acq_rel)) idle = 0;
        extramReplenish();  // a spare for the next C thread (needm took the last)
        if (idle == 0) {
            delay = kSysmonTickUs;
        } else if (idle > 50 && delay < kMaxDelayUs) {
            delay = delay * 2 > kMaxDelayUs ? kMaxDelayUs : delay * 2;
        }
        if (delay >= kMaxDelayUs && allIdle()) {
            // Idle for a while (backed off fully): nothing can need us until
            // a P runs again (acquirep wakes us) or enters a call, unless a
            // deadlock is suspected: then look again, less and less often;
            // and never past a pending timer's deadline (timerNet).
            checkStalls(nanotime());  // lent Ps go back first
            int64_t sleepNs = untilTraceNs;
            if (deadlockSuspect.load(std::memory_order_acquire)) {
                suspectNs =
                    suspectNs == 0 ? 10'000'000 : std::min<int64_t>(2 * suspectNs, 1'000'000'000);
                if (sleepNs < 0 || suspectNs < sleepNs) sleepNs = suspectNs;
            }
            // (sysmonwait, not sysmonLapsed, gets this sleep ended: with
            // every P idle, a P can start running only through acquirep,
            // which looks at sysmonwait first.)
            sched.sysmonwait.store(true, std::memory_order_seq_cst);
            // gen before the timers are read: a timer added without a P
            // from now on wakes us (sysmonTimerAdded) to read them again.
            uint32_t gen = sched.sysmonGen.load(std::memory_order_acquire);
            bool timerBound = false;
            if (allIdle()) sysmonSleepFrom(gen, idleSleepNs(sleepNs, &timerBound));
            sched.sysmonwait.store(false, std::memory_order_relaxed);
            if (deadlockSuspect.exchange(false, std::memory_order_acq_rel)) {
                LockGuard g(sched.lock);
                checkdead();  // sets it again if the thread is still there
            } else {
                suspectNs = 0;
            }
            // Woken for a timer's deadline, or for a timer added, and the net
            // not needed: stay backed off (the next look sleeps again).
            if (!timerNet(nanotime()) && (timerBound || gen != sched.sysmonGen.load())) continue;
            idle = 0;
            continue;
        }
        int64_t sleepUs = stallLimitUs >= 0 ? std::min(delay, stallLimitUs) : delay;
        if (untilTraceNs >= 0) sleepUs = std::min(sleepUs, untilTraceNs / 1000);  // lines on time
        sched.sysmonDelayUs.store(sleepUs, std::memory_order_relaxed);
        // gen before the flag: a nudge that finds the flag set bumps gen
        // after this read, so the sleep below cannot miss it.
        uint32_t gen = sched.sysmonGen.load(std::memory_order_acquire);
        sched.sysmonLapsed.store(sleepUs * 1000 > kRunningTickNs, std::memory_order_release);
        sysmonSleepFrom(gen, sleepUs * 1000);
        int64_t now = nanotime();
        if (retake(now) > 0) {
            idle = 0;
        } else {
            idle++;
        }
        int64_t limitNs = checkStalls(now);
        stallLimitUs = limitNs >= 0 ? limitNs / 1000 : -1;
        unstrand();
        timerNet(now);
    }
}

void sysmonTimerAdded() {
    // Dekker with sysmon's sysmonwait store, gen load and timer reads: the
    // timer was pushed (timer0When) before this load. The full barrier is a
    // locked read-modify-write (ThreadSanitizer models no fences, and
    // warns about them, which -Werror turns into a failed build).
    sched.sysmonGen.fetch_add(0, std::memory_order_seq_cst);
    if (GORT_UNLIKELY(sched.sysmonwait.load(std::memory_order_seq_cst))) {
        sched.sysmonGen.fetch_add(1, std::memory_order_acq_rel);
        futexwakeup(&sched.sysmonGen, 1);
    }
}

void wakeSysmonFor(P* p) {
    // (The call's syscalltick is the one its exit will bump.)
    p->wakeWhen.store(nanotime(), std::memory_order_relaxed);
    p->wakeTick.store(p->syscalltick.load(std::memory_order_relaxed), std::memory_order_release);
    wakeSysmon();
}

void wakeSysmon() {
    sched.sysmonFast.store(true, std::memory_order_release);
    nudgeSysmon();
}

void nudgeSysmon() {
    sched.sysmonGen.fetch_add(1, std::memory_order_acq_rel);
    futexwakeup(&sched.sysmonGen, 1);
}

}  // namespace gort
