// Goroutine-aware synchronisation: WaitGroup and Mutex with Go's semantics
// (sync.WaitGroup, sync.Mutex with starvation mode). They park goroutines,
// never OS threads; a plain thread that waits blocks on a note instead.
#pragma once

#include <atomic>
#include <cstdint>

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
    int64_t count() const { return int64_t(state_.load(std::memory_order_acquire) >> 32); }

  private:
    // High 32 bits: counter. Low 32 bits: number of waiters.
    std::atomic<uint64_t> state_{0};
    Sema sema_;
};

class GoMutex {
  public:
    void lock();
    bool tryLock();
    // unlock returns kEINVAL if the mutex is not locked.
    int unlock();
    bool locked() const { return (state_.load(std::memory_order_relaxed) & kLocked) != 0; }

  private:
    static constexpr int32_t kLocked = 1;
    static constexpr int32_t kWoken = 2;
    static constexpr int32_t kStarving = 4;
    static constexpr int32_t kWaiterShift = 3;
    static constexpr int64_t kStarvationThresholdNs = 1000000;

    void lockSlow();
    void unlockSlow(int32_t newState);

    std::atomic<int32_t> state_{0};
    Sema sema_;
};

}  // namespace gort
