// Timers and sleep.
//
// Each P keeps its timers in a 4-ary min-heap ordered by `when`, guarded by
// p->timersLock; p->timer0When mirrors the earliest `when` (0 = none) so the
// scheduler can check for due timers without the lock. A timer lives in the
// heap of the P that added it; t->pp names that heap and changes only under
// its lock, so deltimer can find it.
//
// Timers run on the M that notices they are due (checkTimers from its
// scheduler loop, for its own P or, when idle, for any P). The timer
// function runs without timersLock (it usually readies a goroutine, which
// may take sched.lock). Lock order: sched.lock before timersLock.
//
// Sleeping: the goroutine parks; its timer is added by the park's unlock
// function, after the goroutine is off its stack, so the wakeup cannot
// race the park (Go's resetForSleep). The thread does not sleep: the M runs
// other goroutines, and when every M is idle one of them sleeps until the
// next timer (findRunnable's timer sleeper).
#include <stdlib.h>
#include <time.h>

#include <climits>

#include "runtime/proc.h"

namespace gort {

namespace {

constexpr int kArity = 4;

void siftup(P* p, int32_t i) {
    Timer** t = p->timers;
    Timer* tm = t[i];
    while (i > 0) {
        int32_t parent = (i - 1) / kArity;
        if (tm->when >= t[parent]->when) break;
        t[i] = t[parent];
        t[i]->idx = i;
        i = parent;
    }
    t[i] = tm;
    tm->idx = i;
}

void siftdown(P* p, int32_t i) {
    Timer** t = p->timers;
    int32_t n = p->ntimers;
    Timer* tm = t[i];
    for (;;) {
        int32_t c = i * kArity + 1;
        if (c >= n) break;
        int32_t best = c;
        for (int32_t k = c + 1; k < c + kArity && k < n; k++) {
            if (t[k]->when < t[best]->when) best = k;
        }
        if (t[best]->when >= tm->when) break;
        t[i] = t[best];
        t[i]->idx = i;
        i = best;
    }
    t[i] = tm;
    tm->idx = i;
}

void updateTimer0When(P* p) {
    p->timer0When.store(p->ntimers > 0 ? p->timers[0]->when : 0, std::memory_order_release);
}

// push adds t to p's heap (timersLock held).
void push(P* p, Timer* t) {
    if (p->ntimers == p->timersCap) {
        int32_t cap = p->timersCap == 0 ? 16 : p->timersCap * 2;
        constexpr size_t kSlot = sizeof(Timer*);  // NOLINT(bugprone-sizeof-expression)
        auto** n = static_cast<Timer**>(rtrealloc(p->timers, size_t(cap) * kSlot, "a timer heap"));
        p->timers = n;
        p->timersCap = cap;
    }
    p->timers[p->ntimers] = t;
    siftup(p, p->ntimers++);
    t->pp.store(p, std::memory_order_release);
    updateTimer0When(p);
}

// remove takes t out of p's heap (timersLock held).
void remove(P* p, Timer* t) {
    int32_t i = t->idx;
    int32_t last = --p->ntimers;
    if (i != last) {
        p->timers[i] = p->timers[last];
        p->timers[i]->idx = i;
        siftdown(p, i);
        siftup(p, p->timers[i]->idx);
    }
    t->idx = -1;
    t->pp.store(nullptr, std::memory_order_release);
    updateTimer0When(p);
}

void goroutineReady(void* arg, uintptr_t) {
    goready(static_cast<G*>(arg));
}

bool resetForSleep(G*, void* t) {
    addtimer(static_cast<Timer*>(t));
    return true;
}

}  // namespace

void addtimer(Timer* t) {
    M* m = getm();
    bool noP = m == nullptr || m->p == nullptr;
    P* p = noP ? sched.allp[0].load(std::memory_order_acquire) : m->p;
    // Once t is in the heap it may fire at once on another M, and be reused
    // (sleep) or freed (timer channels): read it before.
    int64_t when = t->when;
    {
        LockGuard g(p->timersLock);
        push(p, t);
    }
    // Sysmon sleeps without a timeout only while every P is idle and no
    // timer is pending; a thread with a P keeps sysmon awake already.
    if (noP) sysmonTimerAdded();
    wakeTimerSleeper(when);
}

bool deltimer(Timer* t) {
    for (;;) {
        P* p = t->pp.load(std::memory_order_acquire);
        if (p == nullptr) return false;
        LockGuard g(p->timersLock);
        if (t->pp.load(std::memory_order_relaxed) == p) {
            remove(p, t);
            return true;
        }
    }
}

int64_t checkTimers(P* p, int64_t now) {
    int64_t next = p->timer0When.load(std::memory_order_acquire);
    if (next == 0) return now;
    if (now == 0) now = nanotime();
    if (now < next) return now;
    p->timersLock.lock();
    while (p->ntimers > 0) {
        Timer* t = p->timers[0];
        if (t->when > now) break;
        remove(p, t);
        auto f = t->f;
        void* arg = t->arg;
        uintptr_t seq = t->seq;
        p->timersLock.unlock();
        f(arg, seq);  // t may be reused from here on
        p->timersLock.lock();
    }
    p->timersLock.unlock();
    return now;
}

int64_t nextTimerAll() {
    int64_t next = 0;
    int32_t n = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < n; i++) {
        int64_t w = sched.allp[i]
                        .load(std::memory_order_acquire)
                        ->timer0When.load(std::memory_order_acquire);
        if (w != 0 && (next == 0 || w < next)) next = w;
    }
    return next;
}

void moveTimers(P* from) {
    P* to = sched.allp[0].load(std::memory_order_acquire);
    if (from == to) return;
    LockGuard g1(from->timersLock);
    LockGuard g2(to->timersLock);
    while (from->ntimers > 0) {
        Timer* t = from->timers[from->ntimers - 1];
        remove(from, t);
        push(to, t);
    }
    free(from->timers);
    from->timers = nullptr;
    from->timersCap = 0;
}

void wakeTimerSleeper(int64_t when) {
    int64_t until = sched.pollUntil.load(std::memory_order_acquire);
    if (until == 0) {
        // No M sleeps on timers: make sure an idle P gets an M that will.
        wakep();
        return;
    }
    if (when >= until) return;
    LockGuard g(sched.lock);
    M* s = sched.timerSleeper;
    if (s != nullptr && when < sched.pollUntil.load(std::memory_order_relaxed)) {
        sched.timerSleeper = nullptr;
        sched.pollUntil.store(0, std::memory_order_relaxed);
        s->park.wakeup();
    }
}

void timeSleep(int64_t ns) {
    if (ns <= 0) return;
    G* gp = getg();
    if (gp == nullptr) {
        timespec ts{time_t(ns / 1000000000), long(ns % 1000000000)};
        while (nanosleep(&ts, &ts) != 0) {
        }
        return;
    }
    if (gp->timer == nullptr) gp->timer = rtnew<Timer>();
    Timer* t = gp->timer;
    int64_t now = nanotime();
    t->when = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    t->f = goroutineReady;
    t->arg = gp;
    gopark(resetForSleep, t, "sleep");
}

}  // namespace gort
