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
        if (old & kBiased) old = unbias();
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

    // tryLockInRegion and tryUnlockInRegion are tryLock and tryUnlockFast
    // for goroutine code inside an op region (runtime/opregion.h), region
    // being its P's word: a mutex biased to that P locks and unlocks there
    // with plain stores (sync.cpp: "Biased mode"). False: nothing done; take
    // the general path (which revokes another P's bias first).
    bool tryLockInRegion(const std::atomic<uint32_t>* region) {
        auto me = reinterpret_cast<uintptr_t>(region);
        int32_t old = state_.load(std::memory_order_acquire);
        if (old == kBiased) {
            if (biasOwner_.load(std::memory_order_relaxed) != me) return false;
            state_.store(kBiased | kLocked, std::memory_order_relaxed);
            return true;
        }
        if (old & (kLocked | kStarving | kBiased)) return false;
        if (!state_.compare_exchange_strong(old, old | kLocked, std::memory_order_acquire)) {
            return false;
        }
        noteLocker(me);
        return true;
    }
    bool tryUnlockInRegion(const std::atomic<uint32_t>* region) {
        if (state_.load(std::memory_order_relaxed) == (kBiased | kLocked)) {
            if (biasOwner_.load(std::memory_order_relaxed) != reinterpret_cast<uintptr_t>(region)) {
                return false;
            }
            state_.store(kBiased, std::memory_order_release);
            return true;
        }
        return tryUnlockFast();
    }
    // revokeBias turns a biased mutex back to the locked instructions of
    // normal use, waiting until no op region can still be using the bias;
    // true at once if it is not biased. False (nothing done) only if the
    // caller's own P is inside an op region (a signal handler interrupted
    // it), which the bias might be in use by: it must not wait for itself.
    bool revokeBias();

    bool locked() const { return (state_.load(std::memory_order_relaxed) & kLocked) != 0; }
    // starving: the mutex is in starvation mode (handoff to the oldest
    // waiter); biased: it is biased to a P. For tests.
    bool starving() const { return (state_.load(std::memory_order_relaxed) & kStarving) != 0; }
    bool biased() const { return (state_.load(std::memory_order_relaxed) & kBiased) != 0; }
    // biasedTo: biased to the P whose op region word this is. Asked inside
    // that region, a true answer makes the state the caller read exact (no
    // revoker can have finished before the region closes).
    bool biasedTo(const std::atomic<uint32_t>* region) const {
        return biased() &&
               biasOwner_.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(region);
    }

    // A P's run of uncontended locks in a row that biases the mutex to it,
    // and how many times a mutex may be biased in its life (each bias that
    // ends costs a membarrier).
    static constexpr uint32_t kBiasAfter = 256;
    static constexpr uint32_t kMaxBiasings = 4;

  private:
    static constexpr int32_t kLocked = 1;
    static constexpr int32_t kWoken = 2;
    static constexpr int32_t kStarving = 4;
    static constexpr int32_t kBiased = 8;
    static constexpr int32_t kWaiterShift = 4;
    static constexpr int64_t kStarvationThresholdNs = 1000000;

    bool lockSlow(int64_t deadline);
    bool giveUp();
    void unlockSlow(int32_t newState);
    // unbias is revokeBias where failing is fatal; returns the state after.
    int32_t unbias();
    // noteLocker counts a P's run of locks (inside its op region) and biases
    // the mutex to it once the run is long enough.
    void noteLocker(uintptr_t me) {
        if (streakOwner_.load(std::memory_order_relaxed) != me) {
            streakOwner_.store(me, std::memory_order_relaxed);
            streak_.store(1, std::memory_order_relaxed);
            return;
        }
        uint32_t n = streak_.load(std::memory_order_relaxed) + 1;
        streak_.store(n, std::memory_order_relaxed);
        if (n >= kBiasAfter) becomeBiased(me);
    }
    void becomeBiased(uintptr_t me);

    std::atomic<int32_t> state_{0};
    // The region word of the P the mutex is biased to (kBiased set), or 0.
    std::atomic<uintptr_t> biasOwner_{0};
    // The last locker's region word and its run of locks (a heuristic: the
    // races between Ps on these only move when a bias happens).
    std::atomic<uintptr_t> streakOwner_{0};
    std::atomic<uint32_t> streak_{0};
    std::atomic<uint32_t> biasings_{0};
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
