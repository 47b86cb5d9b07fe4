// Deadlock detection (deadlock.cpp) and what the rest of the runtime tells
// it.
#pragma once

#include <atomic>
#include <cstdint>

namespace gort {

// checkdead reports "all goroutines are asleep - deadlock!" when nothing can
// ever run again: with a main goroutine it aborts; without one it prints the
// report and the dump once (deadlockAbort: aborts). sched.lock held.
void checkdead();

// Threads that run no goroutine (and have no M) are invisible to the M
// counts checkdead relies on. While such a thread is inside a channel, select
// or semaphore operation (which may wake a goroutine, or wait to be woken by
// one), it counts as a running M, so checkdead never sees the moment between
// its taking a waiter off a queue and readying it as "everyone is asleep".
extern std::atomic<int32_t> nplainActive;

// deadlockSuspect: checkdead found everything asleep but a thread outside
// the runtime that might still resolve it; sysmon keeps checking.
extern std::atomic<bool> deadlockSuspect;

// deadlockAbort: a deadlock without a main goroutine aborts the process
// (Config::abortOnDeadlock) instead of being reported once.
extern std::atomic<bool> deadlockAbort;

class PlainThreadScope {
  public:
    explicit PlainThreadScope(bool plain) : on_(plain) {
        if (on_) nplainActive.fetch_add(1, std::memory_order_seq_cst);
    }
    ~PlainThreadScope() {
        if (on_) nplainActive.fetch_sub(1, std::memory_order_seq_cst);
    }
    PlainThreadScope(const PlainThreadScope&) = delete;
    PlainThreadScope& operator=(const PlainThreadScope&) = delete;

  private:
    bool on_;
};

}  // namespace gort
