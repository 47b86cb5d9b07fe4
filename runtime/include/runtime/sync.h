// Goroutine-aware synchronisation with Go's semantics: WaitGroup, Mutex
// (sync.Mutex with starvation mode), Once and Cond. They park goroutines,
// never OS threads; a plain thread that waits blocks on a note instead.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "runtime/sema.h"

namespace gort {

// A WaitGroup (like a GoMutex) must outlive every call into it. Waking is
// done so that the last done() touches nothing after the waiters run, so a
// waiter may free the group as soon as its wait() returns if no other
// goroutine is still inside wait() or add().
class WaitGroup {
  public:
    // add adds delta to the counter; kEINVAL if it would go negative (the
    // counter is left unchanged).
    int add(int64_t delta);
    int done() { return add(-1); }
    // wait blocks until the counter is zero.
    void wait();
    // waitUntil is wait with a deadline (nanotime): kOK, or kETIMEDOUT if it
    // passed first.
    int waitUntil(int64_t deadline);
    int64_t count() const { return int64_t(state_.load(std::memory_order_acquire) >> 32); }

  private:
    // High 32 bits: counter. Low 32 bits: number of waiters.
    std::atomic<uint64_t> state_{0};
    Sema sema_;
};

class GoMutex {
  public:
    void lock();
    // lockUntil is lock with a deadline (nanotime): true if locked, false if
    // it passed first (then the mutex is not held).
    bool lockUntil(int64_t deadline);
    bool tryLock() {
        int32_t old = state_.load(std::memory_order_relaxed);
        if (old & (kLocked | kStarving)) return false;
        return state_.compare_exchange_strong(old, old | kLocked, std::memory_order_acquire);
    }
    // unlock returns kEINVAL if the mutex is not locked.
    int unlock();
    // tryUnlockFast unlocks a mutex that nobody waits for, and is false
    // (nothing done) otherwise: it never wakes or switches.
    bool tryUnlockFast() {
        int32_t v = kLocked;
        return state_.compare_exchange_strong(v, 0, std::memory_order_release);
    }
    bool locked() const { return (state_.load(std::memory_order_relaxed) & kLocked) != 0; }
    // starving: the mutex is in starvation mode (handoff to the oldest
    // waiter); for tests.
    bool starving() const { return (state_.load(std::memory_order_relaxed) & kStarving) != 0; }

  private:
    static constexpr int32_t kLocked = 1;
    static constexpr int32_t kWoken = 2;
    static constexpr int32_t kStarving = 4;
    static constexpr int32_t kWaiterShift = 3;
    static constexpr int64_t kStarvationThresholdNs = 1000000;

    bool lockSlow(int64_t deadline);
    bool giveUp();
    void unlockSlow(int32_t newState);

    std::atomic<int32_t> state_{0};
    Sema sema_;
};

// Once runs a function exactly once (Go's sync.Once): the first call runs
// it, every concurrent call waits until it has finished, later calls return
// at once. A function that throws still counts as done (as a panic does in
// Go); the exception propagates to its caller.
class Once {
  public:
    void call(void (*fn)(void*), void* arg) {
        if (done_.load(std::memory_order_acquire) != 0) return;
        callSlow(fn, arg);
    }
    template <class F>
    void call(F&& f) {
        if (done_.load(std::memory_order_acquire) != 0) return;
        callSlow([](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); }, &f);
    }
    bool done() const { return done_.load(std::memory_order_acquire) != 0; }

  private:
    void callSlow(void (*fn)(void*), void* arg);
    std::atomic<uint32_t> done_{0};
    GoMutex m_;
};

// NotifyList is Go's notifyList, the ticket-based waiter list under Cond:
// add takes a ticket, wait(t) parks until ticket t is notified (at once if
// it already was), notifyOne notifies the oldest unnotified ticket,
// notifyAll every ticket taken so far. A ticket notified before its holder
// waits is not lost.
class NotifyList {
  public:
    uint32_t add() { return wait_.fetch_add(1, std::memory_order_acq_rel); }
    void wait(uint32_t ticket);
    void notifyOne();
    void notifyAll();

  private:
    std::atomic<uint32_t> wait_{0};    // next ticket
    std::atomic<uint32_t> notify_{0};  // next ticket to notify (under lock_)
    Mutex lock_;
    Sudog* head_ = nullptr;
    Sudog* tail_ = nullptr;
};

// Cond is Go's sync.Cond over a GoMutex.
class Cond {
  public:
    explicit Cond(GoMutex* l) : l_(l) {}
    // wait unlocks L, parks until signalled, and locks L again. kEINVAL if L
    // is not locked (nothing else happens then).
    int wait();
    void signal() { notify_.notifyOne(); }
    void broadcast() { notify_.notifyAll(); }
    GoMutex* locker() const { return l_; }

  private:
    GoMutex* l_;
    NotifyList notify_;
};

}  // namespace gort
