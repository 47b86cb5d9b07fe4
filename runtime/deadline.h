// Deadlines for blocking operations (the timed forms of channel operations,
// select, semaphores, wait groups and mutexes).
//
// A DeadlineTimer is a runtime timer (timers.cpp) armed for one wait. It
// lives on the waiter's stack. When the deadline passes, expire(this) runs
// on whatever M notices it: it decides, under the lock of whatever the
// waiter waits on, whether the wait is still in progress, and if so ends it
// and wakes the waiter. Otherwise (the wait has already been won by a
// normal wakeup) it does nothing.
//
// Lifetime: the waiter arms the timer once it is safely asleep (in park's
// unlock function, as sleep does), and disarms it after it wakes, whatever
// woke it. disarm removes the timer if it is still queued; if it is not,
// expire has run or is running on another thread, and disarm waits until
// it has returned (`finished`, its last touch of the timer), so the waiter
// may return and free its stack.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>

#include "runtime/proc.h"

namespace gort {

struct DeadlineTimer {
    Timer t;
    void (*expire)(DeadlineTimer* d) = nullptr;
    std::atomic<uint32_t> finished{0};
    bool armed = false;

    // arm queues the timer for the absolute time `when` (nanotime).
    void arm(int64_t when);
    // disarm makes sure expire is not running and will not run.
    void disarm();
};

// deadlineAfter turns a relative timeout (ns > 0) into an absolute deadline.
inline int64_t deadlineAfter(int64_t ns) {
    int64_t now = nanotime();
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

}  // namespace gort
