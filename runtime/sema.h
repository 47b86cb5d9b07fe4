// Semaphores for goroutines and threads (Go's sema.go, per object instead
// of a hashed table).
//
// A Sema is a counter with a FIFO (or, on request, LIFO) queue of waiters.
// semacquire takes a unit, parking until one is released; semrelease adds
// one and wakes the first waiter. With handoff, the released unit goes
// straight to the woken waiter and the releaser yields to it, so a waiter
// cannot be overtaken (Mutex starvation mode).
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
    G* g = nullptr;         // waiting goroutine, or null for a thread...
    Note* note = nullptr;   // ...which waits on this note
    Sudog* next = nullptr;
    Sudog* prev = nullptr;
    void* elem = nullptr;   // data element (channels)
    Chan* c = nullptr;      // channel waited on (select)
    Sudog* waitlink = nullptr;  // G's list of sudogs in a select
    int64_t acquiretime = 0;
    uint32_t ticket = 0;    // semaphore handoff
    bool isSelect = false;
    bool success = false;   // channel op completed by a communication
    // select: the waiter's "a case has won" flag and the slot where the
    // winner's waker records the winning sudog (G::selectDone and G::param
    // for a goroutine, locals of the selecting thread otherwise).
    std::atomic<uint32_t>* selectDone = nullptr;
    void** param = nullptr;
};

// readySudog wakes the goroutine or thread of s.
void readySudog(Sudog* s);
// parkSudog blocks the caller (as described by s) until readySudog; lock is
// released once the caller is safely asleep.
void parkSudog(Sudog* s, Mutex* lock, const char* reason);

class Sema {
public:
    explicit Sema(uint32_t n = 0) : count_(n) {}
    void acquire(bool lifo = false);
    bool tryAcquire();
    void release(bool handoff = false);
    // releaseN releases n units at once. The waiters it wakes are handed
    // their unit directly and never touch the Sema again, and neither does
    // releaseN after waking the first: a woken waiter may free the object.
    void releaseN(uint32_t n);

private:
    void enqueue(Sudog* s, bool lifo);
    Sudog* dequeue();

    std::atomic<uint32_t> count_;
    std::atomic<uint32_t> nwait_{0};
    Mutex lock_;
    Sudog* head_ = nullptr;
    Sudog* tail_ = nullptr;
};

// goyield puts the running goroutine at the tail of its P's queue and runs
// something else (Go's goyield).
void goyield();

}  // namespace gort
