#include "runtime/sema.h"

#include "runtime/deadline.h"
#include "runtime/deadlock.h"
#include "runtime/proc.h"

namespace gort {

void readySudog(Sudog* s) {
    if (s->g != nullptr) {
        goready(s->g);
    } else {
        s->note->wakeup();
    }
}

namespace {

struct ParkCommit {
    Mutex* lock;
    DeadlineTimer* dl;
    int64_t when;
};

// parkCommit runs once the goroutine is off its stack: the deadline is
// armed while the lock is still held (after the unlock a waker may resume
// the goroutine, and pc, on its stack, may be gone).
bool parkCommit(G*, void* arg) {
    auto* pc = static_cast<ParkCommit*>(arg);
    Mutex* lock = pc->lock;
    if (pc->dl != nullptr) pc->dl->arm(pc->when);
    lock->unlock();
    return true;
}

}  // namespace

void parkSudog(Sudog* s, Mutex* lock, const char* reason, DeadlineTimer* dl, int64_t when) {
    if (s->g != nullptr) {
        if (dl == nullptr) {
            goparkunlock(lock, reason);
            return;
        }
        ParkCommit pc{lock, dl, when};
        gopark(parkCommit, &pc, reason);
    } else {
        if (dl != nullptr) dl->arm(when);
        lock->unlock();
        s->note->sleep();
    }
}

// A timed acquire: the deadline timer and what its expiry needs.
struct Sema::Wait : DeadlineTimer {
    Sema* sema;
    Sudog* sg;
    bool timedOut = false;
};

// expire runs when a timed acquire's deadline passes. Under the Sema's lock,
// the waiter leaves if it is still queued and not yet claimed: it takes its
// registration back from the state word (a releaser that claimed "a waiter"
// before will dequeue another one). If every registered waiter is claimed,
// a releaser is on its way to the queue and will dequeue this one too: the
// wait ends with a unit, as if the deadline had not passed.
void Sema::expire(DeadlineTimer* d) {
    auto* w = static_cast<Wait*>(d);
    Sema* s = w->sema;
    s->lock_.lock();
    if (w->sg->queued) {
        uint64_t old = s->state_.load(std::memory_order_relaxed);
        while (waiters(old) > 0) {
            if (s->state_.compare_exchange_weak(old, old - kWaiter, std::memory_order_acq_rel,
                                                std::memory_order_relaxed)) {
                s->unlink(w->sg);
                w->timedOut = true;
                break;
            }
        }
    }
    s->lock_.unlock();
    if (w->timedOut) readySudog(w->sg);
}

bool Sema::tryAcquire() {
    uint64_t v = state_.load(std::memory_order_relaxed);
    while (units(v) > 0) {
        if (state_.compare_exchange_weak(v, v - 1, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
            return true;
        }
    }
    return false;
}

void Sema::enqueue(Sudog* s, bool lifo) {
    s->next = s->prev = nullptr;
    s->queued = true;
    if (head_ == nullptr) {
        head_ = tail_ = s;
    } else if (lifo) {
        s->next = head_;
        head_->prev = s;
        head_ = s;
    } else {
        s->prev = tail_;
        tail_->next = s;
        tail_ = s;
    }
}

Sudog* Sema::dequeue() {
    Sudog* s = head_;
    if (s != nullptr) {
        head_ = s->next;
        if (head_ != nullptr) {
            head_->prev = nullptr;
        } else {
            tail_ = nullptr;
        }
        s->next = nullptr;
        s->queued = false;
    }
    return s;
}

void Sema::unlink(Sudog* s) {
    if (s->prev != nullptr) {
        s->prev->next = s->next;
    } else {
        head_ = s->next;
    }
    if (s->next != nullptr) {
        s->next->prev = s->prev;
    } else {
        tail_ = s->prev;
    }
    s->next = s->prev = nullptr;
    s->queued = false;
}

void Sema::acquire(bool lifo) {
    if (tryAcquire()) return;
    acquireSlow(lifo, -1);
}

bool Sema::acquireUntil(int64_t deadline, bool lifo) {
    if (tryAcquire()) return true;
    if (deadline >= 0 && nanotime() >= deadline) return false;
    return acquireSlow(lifo, deadline);
}

bool Sema::acquireSlow(bool lifo, int64_t deadline) {
    Note note;
    Sudog s;
    s.g = getg();
    if (s.g == nullptr) s.note = &note;
    PlainThreadScope plain(s.g == nullptr);  // visible to checkdead
    lock_.lock();
    // Take a unit, or register as a waiter and queue in this same hold of
    // the lock, so a releaser that claims us finds us queued.
    uint64_t old = state_.load(std::memory_order_relaxed);
    for (;;) {
        if (units(old) > 0) {
            if (state_.compare_exchange_weak(old, old - 1, std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
                lock_.unlock();
                return true;
            }
        } else if (state_.compare_exchange_weak(old, old + kWaiter, std::memory_order_acq_rel,
                                                std::memory_order_relaxed)) {
            break;
        }
    }
    s.ticket = 0;
    enqueue(&s, lifo);
    if (deadline < 0) {
        parkSudog(&s, &lock_, "semacquire");
    } else {
        Wait w;
        w.expire = expire;
        w.sema = this;
        w.sg = &s;
        parkSudog(&s, &lock_, "semacquire", &w, deadline);
        w.disarm();
        if (w.timedOut) return false;
    }
    // Only a release that claimed us wakes us, handing us its unit.
    if (s.ticket != 1) fatal("semacquire: woken without a unit");
    return true;
}

void Sema::release(bool handoff) {
    G* gp = getg();
    PlainThreadScope plain(gp == nullptr);  // visible to checkdead
    uint64_t old = state_.load(std::memory_order_relaxed);
    for (;;) {
        if (waiters(old) == 0) {
            // Publish the unit: from here on the Sema may be gone.
            if (state_.compare_exchange_weak(old, old + 1, std::memory_order_release,
                                             std::memory_order_relaxed)) {
                return;
            }
        } else if (state_.compare_exchange_weak(old, old - kWaiter, std::memory_order_acq_rel,
                                                std::memory_order_relaxed)) {
            break;  // claimed a waiter: the unit is its
        }
    }
    lock_.lock();
    Sudog* s = dequeue();
    lock_.unlock();
    if (s == nullptr) fatal("semrelease: claimed waiter is not queued");
    s->ticket = 1;
    readySudog(s);
    if (handoff && gp != nullptr) goyield();  // let it run now, on this P
}

void Sema::releaseN(uint32_t n) {
    if (n == 0) return;
    PlainThreadScope plain(getg() == nullptr);  // visible to checkdead
    Sudog* woken = nullptr;                     // claimed and dequeued, readied at the end
    uint64_t old = state_.load(std::memory_order_relaxed);
    while (n > 0) {
        uint32_t w = waiters(old);
        if (w == 0) {
            if (state_.compare_exchange_weak(old, old + n, std::memory_order_release,
                                             std::memory_order_relaxed)) {
                break;  // the last touch of the Sema
            }
            continue;
        }
        uint32_t k = w < n ? w : n;
        if (!state_.compare_exchange_weak(old, old - k * kWaiter, std::memory_order_acq_rel,
                                          std::memory_order_relaxed)) {
            continue;
        }
        lock_.lock();
        for (uint32_t i = 0; i < k; i++) {
            Sudog* s = dequeue();
            if (s == nullptr) fatal("semrelease: claimed waiter is not queued");
            s->ticket = 1;
            s->next = woken;
            woken = s;
        }
        lock_.unlock();
        n -= k;
        // The waiters claimed so far are not readied yet, so the Sema is
        // still in use: it may be read again.
        if (n > 0) old = state_.load(std::memory_order_relaxed);
    }
    while (woken != nullptr) {
        Sudog* s = woken;
        woken = s->next;  // read before s's owner can run
        s->next = nullptr;
        readySudog(s);
    }
}

}  // namespace gort
