// Semaphores for goroutines and threads (Go's sema.go, per object instead
// of a hashed table).
//
// A Sema is a counter with a FIFO (or, on request, LIFO) queue of waiters.
// semacquire takes a unit, parking until one is released; semrelease adds
// one and wakes the first waiter. With handoff, the releaser also yields to
// the woken waiter, so it runs at once (Mutex starvation mode).
//
// Units and waiters live in one atomic word and are never both non-zero: an
// acquirer takes a unit if there is one and otherwise registers as a waiter
// (and queues, in the same hold of the lock); a releaser adds a unit if no
// one waits and otherwise claims a registered waiter and hands it the unit
// directly. So a release that finds no waiter touches nothing after the one
// atomic that publishes its unit, and a claimed waiter cannot leave before
// it is readied: an acquirer may free the Sema as soon as its acquire
// returns, if no one else is still inside it. (Go's semaphores live in a
// global table, and its objects are garbage collected; ours are embedded in
// their owner and freed by it.)
//
// A waiter is a Sudog on the waiter's own stack (goroutine stacks do not
// move). A thread that runs no goroutine waits on a Note in its Sudog, so
// every primitive built on Sema also works from plain threads.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/lock.h"

namespace gort {

struct G;
struct Chan;

// Sudog is a goroutine (or thread) in a wait queue.
struct Sudog {
    G* g = nullptr;        // waiting goroutine, or null for a thread...
    Note* note = nullptr;  // ...which waits on this note
    Sudog* next = nullptr;
    Sudog* prev = nullptr;
    void* elem = nullptr;       // data element (channels)
    Chan* c = nullptr;          // channel waited on (select)
    Sudog* waitlink = nullptr;  // G's list of sudogs in a select
    int64_t acquiretime = 0;
    uint32_t ticket = 0;  // semaphore handoff
    bool queued = false;  // on a Sema's queue (under its lock)
    bool isSelect = false;
    bool success = false;  // channel op completed by a communication
    // select: the waiter's "a case has won" flag and the slot where the
    // winner's waker records the winning sudog (G::selectDone and G::param
    // for a goroutine, locals of the selecting thread otherwise).
    std::atomic<uint32_t>* selectDone = nullptr;
    void** param = nullptr;
};

struct DeadlineTimer;

// readySudog wakes the goroutine or thread of s.
void readySudog(Sudog* s);
// parkSudog blocks the caller (as described by s) until readySudog; lock is
// released once the caller is safely asleep, and then dl (if set) is armed
// for deadline `when`.
void parkSudog(Sudog* s, Mutex* lock, const char* reason, DeadlineTimer* dl = nullptr,
               int64_t when = 0);

class Sema {
  public:
    explicit Sema(uint32_t n = 0) : state_(n) {}
    void acquire(bool lifo = false);
    // acquireUntil is acquire with a deadline (nanotime): false if it passed
    // first (then no unit was taken, and the waiter is gone from the queue).
    bool acquireUntil(int64_t deadline, bool lifo = false);
    bool tryAcquire();
    void release(bool handoff = false);
    // releaseN releases n units at once: to waiters first, the rest to the
    // counter. It readies the waiters only after its last touch of the Sema.
    void releaseN(uint32_t n);

  private:
    static constexpr uint64_t kWaiter = uint64_t(1) << 32;
    static uint32_t units(uint64_t s) { return uint32_t(s); }
    static uint32_t waiters(uint64_t s) { return uint32_t(s >> 32); }
    struct Wait;  // sema.cpp
    bool acquireSlow(bool lifo, int64_t deadline);
    void enqueue(Sudog* s, bool lifo);
    Sudog* dequeue();
    void unlink(Sudog* s);
    static void expire(DeadlineTimer* d);

    // Low 32 bits: units available. High 32 bits: waiters registered (each
    // queued, or about to be under lock_, and owed a unit by whoever claims it).
    std::atomic<uint64_t> state_;
    Mutex lock_;
    Sudog* head_ = nullptr;
    Sudog* tail_ = nullptr;
};

// goyield puts the running goroutine at the tail of its P's queue and runs
// something else (Go's goyield).
void goyield();

}  // namespace gort
