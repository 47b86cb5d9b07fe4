// The channel structure (Go's hchan) and the steps chan.cpp and select.cpp
// share: wait queues, the buffer ring, and the direct handoff to a waiter.
//
// Invariants (all under c->lock unless said otherwise):
//   - qcount elements sit in the ring buf[recvx .. recvx+qcount) (mod
//     dataqsiz). An unbuffered channel has dataqsiz 0 and no ring.
//   - recvq holds only receivers and sendq only senders. A receiver waits
//     only if the ring is empty and no sender waits; a sender waits only if
//     the ring is full and no receiver waits (a select's sudogs may be stale:
//     dequeue skips those whose select another case has already won).
//   - closed goes 0 -> 1 once; after that no sudog is queued.
//   - A waiter's sudog lives on the waiter's stack (goroutine stacks never
//     move). Once a waker has dequeued it (and, for a select, won its
//     selectDone), only the waker touches it until the waiter is readied.
//   - refs counts references; nselect counts select sudogs that were
//     enqueued and not yet taken back by their select. The channel is freed
//     when refs, nselect and both queues are all empty (collectable): a
//     queued single send/receive never touches the channel after it is
//     woken, a select relocks every channel it waited on.
//   - qcount, closed and the queue heads are atomics only so that the
//     lock-free "would block" checks of non-blocking operations can read them.
#pragma once

#include <string.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/chan.h"
#include "runtime/lock.h"
#include "runtime/sema.h"

namespace gort {

// WaitQ is a FIFO of sudogs (Go's waitq).
struct WaitQ {
    std::atomic<Sudog*> first{nullptr};
    Sudog* last = nullptr;

    void enqueue(Sudog* s) {
        s->next = nullptr;
        s->prev = last;
        if (last == nullptr) {
            first.store(s, std::memory_order_relaxed);
        } else {
            last->next = s;
        }
        last = s;
    }

    // dequeue pops the first sudog that can still complete: a select's sudog
    // is skipped (and dropped) if its select has been won by another case.
    Sudog* dequeue();
    // remove takes s out of the queue if it is still there (Go's
    // dequeueSudoG); a dequeued sudog has null prev and next.
    void remove(Sudog* s);
    bool empty() const { return first.load(std::memory_order_relaxed) == nullptr; }
};

struct Chan {
    Mutex lock;
    std::atomic<uint32_t> closed{0};
    std::atomic<size_t> qcount{0};  // elements in the ring
    size_t dataqsiz = 0;            // ring size (capacity)
    size_t elemsize = 0;
    char* buf = nullptr;
    size_t sendx = 0;  // next slot to fill
    size_t recvx = 0;  // next slot to take
    WaitQ recvq;
    WaitQ sendq;
    int64_t refs = 1;
    int64_t nselect = 0;

    char* slot(size_t i) const { return buf + i * elemsize; }
    bool collectable() const { return refs == 0 && nselect == 0 && recvq.empty() && sendq.empty(); }
};

// freechan frees c's memory (collectable, lock not held).
void freechan(Chan* c);

// copyElem copies one element; the common sizes avoid a libc call.
inline void copyElem(void* dst, const void* src, size_t n) {
    switch (n) {
        case 0:
            return;  // chan struct{}: the pointers may be null (memcpy would be UB)
        case 1:
            memcpy(dst, src, 1);
            return;
        case 2:
            memcpy(dst, src, 2);
            return;
        case 4:
            memcpy(dst, src, 4);
            return;
        case 8:
            memcpy(dst, src, 8);
            return;
        case 16:
            memcpy(dst, src, 16);
            return;
        default:
            memcpy(dst, src, n);
            return;
    }
}

// full reports whether a send would block; empty whether a receive would
// (Go's full/empty: single reads, usable without the lock).
inline bool chanFull(const Chan* c) {
    if (c->dataqsiz == 0) return c->recvq.first.load(std::memory_order_seq_cst) == nullptr;
    return c->qcount.load(std::memory_order_seq_cst) == c->dataqsiz;
}
inline bool chanEmpty(const Chan* c) {
    if (c->dataqsiz == 0) return c->sendq.first.load(std::memory_order_seq_cst) == nullptr;
    return c->qcount.load(std::memory_order_seq_cst) == 0;
}

// Ring operations (lock held).
inline void bufPut(Chan* c, const void* src) {
    copyElem(c->slot(c->sendx), src, c->elemsize);
    if (++c->sendx == c->dataqsiz) c->sendx = 0;
    c->qcount.store(c->qcount.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}
inline void bufTake(Chan* c, void* dst) {
    char* qp = c->slot(c->recvx);
    if (dst != nullptr) copyElem(dst, qp, c->elemsize);
    if (++c->recvx == c->dataqsiz) c->recvx = 0;
    c->qcount.store(c->qcount.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

// readyWaiter completes a dequeued sudog: records the outcome where its
// waiter will look, then wakes the goroutine or thread. No lock held; s
// must not be touched afterwards.
void readyWaiter(Sudog* s, bool success);

// sendToWaiter is Go's send: c is locked and the receiver sg dequeued. The
// value goes straight into the receiver's element; unlock() releases the
// lock(s), then the receiver is woken.
template <class Unlock>
inline void sendToWaiter(Chan* c, Sudog* sg, const void* ep, Unlock unlock) {
    if (sg->elem != nullptr) {
        copyElem(sg->elem, ep, c->elemsize);
        sg->elem = nullptr;
    }
    unlock();
    readyWaiter(sg, true);
}

// recvFromWaiter is Go's recv: c is locked and the sender sg dequeued.
// Unbuffered: take the sender's value directly. Buffered (so the ring is
// full): take the head of the ring and put the sender's value at its tail,
// which is the same slot.
template <class Unlock>
inline void recvFromWaiter(Chan* c, Sudog* sg, void* ep, Unlock unlock) {
    if (c->dataqsiz == 0) {
        if (ep != nullptr) copyElem(ep, sg->elem, c->elemsize);
    } else {
        char* qp = c->slot(c->recvx);
        if (ep != nullptr) copyElem(ep, qp, c->elemsize);
        copyElem(qp, sg->elem, c->elemsize);
        if (++c->recvx == c->dataqsiz) c->recvx = 0;
        c->sendx = c->recvx;
    }
    sg->elem = nullptr;
    unlock();
    readyWaiter(sg, true);
}

}  // namespace gort
