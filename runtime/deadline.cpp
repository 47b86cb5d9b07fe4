#include "runtime/deadline.h"

#include <sched.h>

namespace gort {

namespace {

void fire(void* arg, uintptr_t) {
    auto* d = static_cast<DeadlineTimer*>(arg);
    d->expire(d);
    d->finished.store(1, std::memory_order_release);  // last touch: the waiter may go
}

}  // namespace

void DeadlineTimer::arm(int64_t when) {
    armed = true;
    finished.store(0, std::memory_order_relaxed);
    t.when = when;
    t.f = fire;
    t.arg = this;
    addtimer(&t);
}

void DeadlineTimer::disarm() {
    if (!armed) return;
    armed = false;
    if (deltimer(&t)) return;  // never fired
    // Fired, or firing on another M right now: wait until it is done with us.
    while (finished.load(std::memory_order_acquire) == 0) sched_yield();
}

}  // namespace gort
