#include "runtime/sema.h"

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

void parkSudog(Sudog* s, Mutex* lock, const char* reason) {
    if (s->g != nullptr) {
        goparkunlock(lock, reason);
    } else {
        lock->unlock();
        s->note->sleep();
    }
}

bool Sema::tryAcquire() {
    uint32_t v = count_.load(std::memory_order_relaxed);
    while (v > 0) {
        if (count_.compare_exchange_weak(v, v - 1, std::memory_order_acquire)) return true;
    }
    return false;
}

void Sema::enqueue(Sudog* s, bool lifo) {
    s->next = s->prev = nullptr;
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
    }
    return s;
}

void Sema::acquire(bool lifo) {
    if (tryAcquire()) return;
    Note note;
    Sudog s;
    s.g = getg();
    if (s.g == nullptr) s.note = &note;
    PlainThreadScope plain(s.g == nullptr);  // visible to checkdead
    for (;;) {
        lock_.lock();
        // Count ourselves as a waiter before the last check, so a release in
        // between sees us (it looks at nwait_ after adding to count_).
        nwait_.fetch_add(1, std::memory_order_seq_cst);
        if (tryAcquire()) {
            nwait_.fetch_sub(1, std::memory_order_relaxed);
            lock_.unlock();
            return;
        }
        s.ticket = 0;
        enqueue(&s, lifo);
        parkSudog(&s, &lock_, "semacquire");
        if (s.ticket != 0 || tryAcquire()) return;  // handed the unit, or took it
        note.clear();
    }
}

void Sema::release(bool handoff) {
    count_.fetch_add(1, std::memory_order_seq_cst);
    if (nwait_.load(std::memory_order_seq_cst) == 0) return;
    PlainThreadScope plain(getg() == nullptr);  // visible to checkdead
    lock_.lock();
    if (nwait_.load(std::memory_order_relaxed) == 0) {
        lock_.unlock();
        return;
    }
    Sudog* s = dequeue();
    if (s != nullptr) nwait_.fetch_sub(1, std::memory_order_relaxed);
    lock_.unlock();
    if (s == nullptr) return;
    // s lives on the waiter's stack: decide everything before waking it.
    bool handed = handoff && tryAcquire();
    if (handed) s->ticket = 1;
    readySudog(s);
    if (handed && getg() != nullptr) {
        // Direct handoff: let the waiter run now, on this P.
        goyield();
    }
}

void Sema::releaseN(uint32_t n) {
    if (n == 0) return;
    PlainThreadScope plain(getg() == nullptr);  // visible to checkdead
    Sudog* woken = nullptr;
    lock_.lock();
    uint32_t handed = 0;
    while (handed < n) {
        Sudog* s = dequeue();
        if (s == nullptr) break;
        nwait_.fetch_sub(1, std::memory_order_relaxed);
        s->ticket = 1;
        s->next = woken;
        woken = s;
        handed++;
    }
    // Units for waiters that have not queued yet.
    if (handed < n) count_.fetch_add(n - handed, std::memory_order_seq_cst);
    lock_.unlock();
    while (woken != nullptr) {
        Sudog* s = woken;
        woken = s->next;  // read before s's owner can run
        readySudog(s);
    }
}

}  // namespace gort
