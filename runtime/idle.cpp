// Idle Ms and Ps, and handing Ps between Ms (Go's mput/mget, pidleput/
// pidleget, stopm/startm, handoffp, wakep).
//
// Invariants:
//   - An idle M sleeps in stopm on m->park, is on sched.midle, and holds no
//     P. Whoever wakes it (startm, startlockedm) first sets m->nextp; the
//     woken M attaches that P.
//   - An idle P is on sched.pidle with status Pidle and an empty run queue.
//     A P beyond GOMAXPROCS is never put there: it is retired instead.
//   - sched.nmspinning counts Ms looking for work. wakep starts a spinning M
//     only when there is an idle P and nobody spins: the CAS 0->1 reserves the
//     spinning slot for the M it starts (startm passes it on, or undoes it).
#include "runtime/proc.h"
#include "runtime/stats.h"
#include "runtime/trace.h"

namespace gort {

void checkdead();

void mput(M* m) {
    m->schedlink = sched.midle;
    sched.midle = m;
    sched.nmidle++;
    traceCountIdle(sched.npidle.load(std::memory_order_relaxed), sched.nmidle);
    checkdead();
}

M* mget() {
    M* m = sched.midle;
    if (m != nullptr) {
        sched.midle = m->schedlink;
        sched.nmidle--;
        traceCountIdle(sched.npidle.load(std::memory_order_relaxed), sched.nmidle);
    }
    return m;
}

void pidleput(P* p) {
    if (p->id >= sched.nprocs.load(std::memory_order_relaxed)) {
        void pretire(P * p);
        pretire(p);
        return;
    }
    if (!runqempty(p)) fatal("pidleput: P has non-empty run queue");
    p->link = sched.pidle;
    sched.pidle = p;
    int32_t n = sched.npidle.fetch_add(1, std::memory_order_acq_rel) + 1;
    traceCountIdle(n, sched.nmidle);
}

P* pidleget() {
    P* p = sched.pidle;
    if (p != nullptr) {
        sched.pidle = p->link;
        int32_t n = sched.npidle.fetch_sub(1, std::memory_order_seq_cst) - 1;
        traceCountIdle(n, sched.nmidle);
    }
    return p;
}

void acquirep(M* m, P* p) {
    if (m->p != nullptr || p->m != nullptr) fatal("acquirep: already in go");
    uint32_t st = Pidle;
    if (!p->status.compare_exchange_strong(st, Prunning, std::memory_order_acq_rel)) {
        fatalf("acquirep: invalid p state (status %u)", st);
    }
    m->p = p;
    p->m = m;
    p->mtid.store(m->procid, std::memory_order_relaxed);
    p->runningG.store(m->curg, std::memory_order_relaxed);
    // sysmon sleeps without a timeout while every P is idle; a running P
    // needs it watching again (a goroutine may stall on it: stall.cpp).
    // Dekker with sysmon's sysmonwait store and allIdle re-check: the P
    // left the idle list (npidle, seq_cst) before this load.
    if (GORT_UNLIKELY(sched.sysmonwait.load(std::memory_order_seq_cst)) &&
        sched.sysmonwait.exchange(false, std::memory_order_seq_cst)) {
        wakeSysmon();
    } else {
        watchRunning();
    }
}

P* releasep(M* m) {
    P* p = m->p;
    if (p == nullptr || p->m != m || p->status.load(std::memory_order_relaxed) != Prunning) {
        fatal("releasep: invalid arg");
    }
    p->m = nullptr;
    m->p = nullptr;
    p->runningG.store(nullptr, std::memory_order_relaxed);
    p->status.store(Pidle, std::memory_order_release);
    return p;
}

void stopm(M* m) {
    if (m->p != nullptr) fatal("stopm holding p");
    if (m->spinning) fatal("stopm spinning");
    {
        LockGuard g(sched.lock);
        if (sched.stopping.load(std::memory_order_relaxed)) {
            m->exitThread = true;
            return;
        }
        mput(m);
    }
    traceIdle(m, TraceIdle::stopm, true);
    m->park.sleep();
    m->park.clear();
    traceIdle(m, TraceIdle::stopm, false);
    if (m->exitThread) return;
    acquirep(m, m->nextp);
    m->nextp = nullptr;
}

void mspinning() {
    getm()->spinning = true;
}

void startm(P* p, bool spinning) {
    sched.lock.lock();
    if (sched.stopping.load(std::memory_order_relaxed)) {
        // Shutting down: no goroutine is left and no thread may start (the
        // Ms are being stopped). A P we were given goes back idle.
        if (p != nullptr) pidleput(p);
        sched.lock.unlock();
        if (spinning) sched.nmspinning.fetch_sub(1, std::memory_order_acq_rel);
        return;
    }
    if (p == nullptr) {
        p = pidleget();
        if (p == nullptr) {
            sched.lock.unlock();
            if (spinning && sched.nmspinning.fetch_sub(1, std::memory_order_acq_rel) - 1 < 0) {
                fatal("startm: negative nmspinning");
            }
            return;
        }
    }
    M* nm = mget();
    sched.lock.unlock();
    if (nm == nullptr) {
        // If no thread can be created, newm puts p back and undoes spinning:
        // the work stays queued for the Ms that exist.
        newm(spinning ? mspinning : nullptr, p);
        return;
    }
    if (nm->spinning) fatal("startm: m is spinning");
    if (nm->nextp != nullptr) fatal("startm: m has p");
    if (spinning && !runqempty(p)) fatal("startm: p has runnable gs");
    nm->spinning = spinning;
    nm->nextp = p;
    nm->park.wakeup();
}

void handoffp(P* p) {
    if (sched.stopping.load(std::memory_order_relaxed)) {
        // Shutting down: no goroutine is left, and no new thread may start.
        LockGuard g(sched.lock);
        pidleput(p);
        return;
    }
    stats().handoffs.fetch_add(1, std::memory_order_relaxed);
    // Work here or globally: start an M for it.
    if (!runqempty(p) || sched.runqsize.load(std::memory_order_relaxed) > 0) {
        traceHandoff(p, TraceHandoff::startm);
        startm(p, false);
        return;
    }
    // No spinning or idle Ms: someone must look for work.
    int32_t z = 0;
    if (sched.nmspinning.load(std::memory_order_relaxed) +
                sched.npidle.load(std::memory_order_relaxed) ==
            0 &&
        sched.nmspinning.compare_exchange_strong(z, 1, std::memory_order_acq_rel)) {
        traceHandoff(p, TraceHandoff::spinning);
        startm(p, true);
        return;
    }
    sched.lock.lock();
    if (sched.runqsize.load(std::memory_order_relaxed) > 0) {
        sched.lock.unlock();
        traceHandoff(p, TraceHandoff::startm);
        startm(p, false);
        return;
    }
    int64_t when = p->timer0When.load(std::memory_order_relaxed);
    traceHandoff(p, TraceHandoff::idle);
    pidleput(p);
    sched.lock.unlock();
    if (when != 0) wakeTimerSleeper(when);
}

void wakep() {
    if (sched.npidle.load(std::memory_order_acquire) == 0) return;
    if (sched.nmspinning.load(std::memory_order_acquire) != 0) return;
    int32_t z = 0;
    if (!sched.nmspinning.compare_exchange_strong(z, 1, std::memory_order_acq_rel)) return;
    startm(nullptr, true);
}

void incidlelocked(int32_t v) {
    LockGuard g(sched.lock);
    sched.nmidlelocked += v;
    if (v > 0) checkdead();
}

}  // namespace gort
