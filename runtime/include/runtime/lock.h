// Runtime locks and notes.
//
// Mutex is the runtime's own lock (Go's runtime.mutex): a futex word with
// three states (unlocked, locked, locked with sleepers). It blocks the OS
// thread, so it protects short critical sections of runtime state only;
// goroutine-level blocking goes through gopark.
//
// Note is Go's one-shot sleep/wakeup (runtime.note): notesleep blocks the
// thread until notewakeup; noteclear re-arms it. Exactly one thread sleeps on
// a note, any thread may wake it, and a wakeup before the sleep is not lost.
// Idle Ms park on their m->park note; the template thread and sysmon sleep on
// notes of their own.
#pragma once

#include <atomic>
#include <cstdint>

namespace gort {

class Mutex {
  public:
    void lock();
    void unlock();
    bool tryLock() {
        uint32_t v = 0;
        return key_.compare_exchange_strong(v, kLocked, std::memory_order_acquire);
    }

  private:
    static constexpr uint32_t kUnlocked = 0, kLocked = 1, kSleeping = 2;
    void lockSlow();
    std::atomic<uint32_t> key_{kUnlocked};
};

// LockGuard is a scoped Mutex holder.
class LockGuard {
  public:
    explicit LockGuard(Mutex& mu) : mu_(mu) { mu_.lock(); }
    ~LockGuard() { mu_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

  private:
    Mutex& mu_;
};

// RWMutex is a writer-preferring reader/writer lock built on Mutex and
// notes-style futex words; execLock is one.
class RWMutex {
  public:
    void rlock();
    void runlock();
    void lock();
    void unlock();

  private:
    Mutex w_;                            // held by the writer for its whole section
    std::atomic<int32_t> readers_{0};    // active readers; negative while a writer waits
    std::atomic<int32_t> departing_{0};  // readers the waiting writer still waits for
    std::atomic<uint32_t> writerSem_{0};
    std::atomic<uint32_t> readerSem_{0};
    static constexpr int32_t kMaxReaders = 1 << 30;
};

class Note {
  public:
    void clear() { key_.store(0, std::memory_order_relaxed); }
    void wakeup();
    void sleep();
    // tsleep sleeps at most ns nanoseconds (ns < 0: no limit); it returns
    // true if the note was woken.
    bool tsleep(int64_t ns);
    bool woken() const { return key_.load(std::memory_order_acquire) != 0; }

  private:
    std::atomic<uint32_t> key_{0};
};

}  // namespace gort
