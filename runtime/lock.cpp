#include "runtime/lock.h"

#include <climits>

#include "runtime/base.h"
#include "runtime/futex.h"

namespace gort {

// Mutex: key_ is kUnlocked, kLocked, or kSleeping (locked, and some thread may
// sleep in the futex). A locker spins briefly before sleeping; an unlocker that
// sees kSleeping wakes one sleeper, which re-takes the lock as kSleeping so the
// remaining sleepers are not forgotten.

void Mutex::lock() {
    uint32_t v = kUnlocked;
    if (GORT_LIKELY(key_.compare_exchange_strong(v, kLocked, std::memory_order_acquire))) return;
    lockSlow();
}

void Mutex::lockSlow() {
    for (int spin = 0; spin < 64; spin++) {
        uint32_t v = key_.load(std::memory_order_relaxed);
        if (v == kUnlocked && key_.compare_exchange_weak(v, kLocked, std::memory_order_acquire)) {
            return;
        }
        __builtin_ia32_pause();
    }
    while (key_.exchange(kSleeping, std::memory_order_acquire) != kUnlocked) {
        futexsleep(&key_, kSleeping, -1);
    }
}

void Mutex::unlock() {
    uint32_t v = key_.exchange(kUnlocked, std::memory_order_release);
    if (GORT_UNLIKELY(v == kUnlocked)) fatal("unlock of unlocked lock");
    if (v == kSleeping) futexwakeup(&key_, 1);
}

// RWMutex follows Go's sync.RWMutex: a writer subtracts kMaxReaders from
// readers_ so new readers see a negative count and wait; it then waits for
// the readers that were already inside (departing_) to leave.

void RWMutex::rlock() {
    for (;;) {
        int32_t r = readers_.load(std::memory_order_acquire);
        if (r >= 0) {
            if (readers_.compare_exchange_weak(r, r + 1, std::memory_order_acquire)) return;
            continue;
        }
        uint32_t gen = readerSem_.load(std::memory_order_acquire);
        if (readers_.load(std::memory_order_acquire) < 0) futexsleep(&readerSem_, gen, -1);
    }
}

void RWMutex::runlock() {
    int32_t r = readers_.fetch_sub(1, std::memory_order_release) - 1;
    if (r < 0) {
        if (r + 1 == 0 || r + 1 == -kMaxReaders) fatal("runlock of unlocked RWMutex");
        // A writer is waiting: the last departing reader wakes it.
        if (departing_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0) {
            writerSem_.store(1, std::memory_order_release);
            futexwakeup(&writerSem_, 1);
        }
    }
}

void RWMutex::lock() {
    w_.lock();
    int32_t r = readers_.fetch_sub(kMaxReaders, std::memory_order_acq_rel);
    if (r != 0 && departing_.fetch_add(r, std::memory_order_acq_rel) + r != 0) {
        while (writerSem_.exchange(0, std::memory_order_acquire) == 0) {
            futexsleep(&writerSem_, 0, -1);
        }
    }
}

void RWMutex::unlock() {
    readers_.fetch_add(kMaxReaders, std::memory_order_release);
    readerSem_.fetch_add(1, std::memory_order_release);
    futexwakeup(&readerSem_, INT_MAX);
    w_.unlock();
}

void Note::wakeup() {
    uint32_t old = key_.exchange(1, std::memory_order_release);
    if (old != 0) fatal("notewakeup - double wakeup");
    futexwakeup(&key_, 1);
}

void Note::sleep() {
    while (key_.load(std::memory_order_acquire) == 0) futexsleep(&key_, 0, -1);
}

bool Note::tsleep(int64_t ns) {
    if (ns < 0) {
        sleep();
        return true;
    }
    int64_t deadline = nanotime() + ns;
    while (key_.load(std::memory_order_acquire) == 0) {
        int64_t left = deadline - nanotime();
        if (left <= 0) return false;
        futexsleep(&key_, 0, left);
    }
    return true;
}

}  // namespace gort
