// Channels: Go's chan.go (makechan, chansend, chanrecv, closechan) for
// fixed-size elements, plus reference counting for the C ABI.
//
// The structure and its invariants are described in hchan.h. The paths:
//
//   send: closed -> kECLOSED. A receiver waiting -> copy the value straight
//         into its sudog's element and ready it (no buffer involved, even on
//         a buffered channel). Buffer space -> put it in the ring.
//         Otherwise wait in sendq until a receiver takes the value or the
//         channel is closed.
//   recv: a sender waiting -> take its value (unbuffered) or the ring's head
//         while the sender's value goes to the tail (buffered, full ring).
//         A value in the ring -> take it. Closed and drained -> zero the
//         output, ok = false. Otherwise wait in recvq.
//   close: mark closed, then ready every waiter: receivers with a zeroed
//         element and ok = false, senders with kECLOSED.
//
// The direct handoff on an unbuffered channel is what makes a ping-pong
// cheap: the waker copies the value into the parked receiver's stack and
// readies it into its own P's runnext, so when the waker parks next, its M
// switches straight to the receiver (proc.cpp's fastNext).
//
// Waiters are goroutines (they gopark; the channel lock is released only
// once they are off their stack) or plain threads (they sleep on a note in
// their sudog), so every operation works from any thread. A blocked
// operation keeps the channel alive: a queued sudog makes it uncollectable
// (hchan.h), and the woken waiter never touches the channel again.
//
// Non-blocking operations first look without the lock (Go's fast paths):
// "not closed and full" for a send, "empty and not closed" for a receive,
// each a pair of single reads whose order makes the answer true at some
// instant between them.
#include "runtime/chan.h"

#include <stdlib.h>

#include <new>

#include "runtime/deadlock.h"
#include "runtime/hchan.h"
#include "runtime/opregion.h"
#include "runtime/proc.h"
#include "runtime/select.h"

namespace gort {

namespace {

constexpr size_t kChanAlign = 64;
constexpr size_t kHeaderSize = (sizeof(Chan) + kChanAlign - 1) & ~(kChanAlign - 1);

std::atomic<int64_t> nchans{0};

// leaveRegion closes the caller's op region once its sudog is queued (see
// chansendInRegion in chan.h): from here the queue keeps the channel alive.
inline void leaveRegion(std::atomic<uint32_t>** region) {
    if (region != nullptr && *region != nullptr) {
        opEnd(*region);
        *region = nullptr;
    }
}

void zeroElem(const Chan* c, void* ep) {
    if (ep != nullptr) memset(ep, 0, c->elemsize);
}

// initWaiter describes the caller as a waiter: its goroutine, or, on a
// thread without one, the note it will sleep on.
inline void initWaiter(Sudog* s, G* gp, Note* note, Chan* c, void* elem) {
    s->g = gp;
    if (gp == nullptr) s->note = note;
    s->elem = elem;
    s->c = c;
}

}  // namespace

// ---- wait queues ----------------------------------------------------------------

Sudog* WaitQ::dequeue() {
    for (;;) {
        Sudog* s = first.load(std::memory_order_relaxed);
        if (s == nullptr) return nullptr;
        Sudog* y = s->next;
        if (y == nullptr) {
            first.store(nullptr, std::memory_order_relaxed);
            last = nullptr;
        } else {
            y->prev = nullptr;
            first.store(y, std::memory_order_relaxed);
            s->next = nullptr;
        }
        // A select may be between being won by another case and taking its
        // sudogs back (it needs our lock for that): its selectDone says so.
        if (s->isSelect) {
            uint32_t z = 0;
            if (!s->selectDone->compare_exchange_strong(z, 1, std::memory_order_acq_rel)) continue;
        }
        return s;
    }
}

void WaitQ::remove(Sudog* s) {
    Sudog* x = s->prev;
    Sudog* y = s->next;
    if (x != nullptr) {
        if (y != nullptr) {
            x->next = y;
            y->prev = x;
            s->next = nullptr;
        } else {
            x->next = nullptr;
            last = x;
        }
        s->prev = nullptr;
        return;
    }
    if (y != nullptr) {
        y->prev = nullptr;
        first.store(y, std::memory_order_relaxed);
        s->next = nullptr;
        return;
    }
    // No neighbours: s is the only element, or was already dequeued.
    if (first.load(std::memory_order_relaxed) == s) {
        first.store(nullptr, std::memory_order_relaxed);
        last = nullptr;
    }
}

void readyWaiter(Sudog* s, bool success) {
    s->success = success;
    if (s->param != nullptr) *s->param = s;
    readySudog(s);
}

// ---- make, retain, release -----------------------------------------------------------

int makechan(size_t elemSize, size_t cap, Chan** out) {
    if (out == nullptr) return kEINVAL;
    *out = nullptr;
    // elemSize 0 is Go's chan struct{}: values carry no data, no buffer.
    if (elemSize > kMaxChanElemSize) return kEINVAL;
    if (elemSize > 0 && cap > kMaxChanBufBytes / elemSize) return kEINVAL;
    if (cap > kMaxChanBufBytes) return kEINVAL;
    size_t size = kHeaderSize + cap * elemSize;
    size = (size + kChanAlign - 1) & ~(kChanAlign - 1);
    void* mem = aligned_alloc(kChanAlign, size);
    if (mem == nullptr) return kENOMEM;
    Chan* c = new (mem) Chan;
    c->elemsize = elemSize;
    c->dataqsiz = cap;
    c->buf = static_cast<char*>(mem) + kHeaderSize;
    nchans.fetch_add(1, std::memory_order_relaxed);
    *out = c;
    return kOK;
}

void freechan(Chan* c) {
    c->~Chan();
    free(c);
    nchans.fetch_sub(1, std::memory_order_relaxed);
}

int chanretain(Chan* c) {
    if (c == nullptr) return kEINVAL;
    LockGuard g(c->lock);
    if (c->refs <= 0) return kEINVAL;
    c->refs++;
    return kOK;
}

int chanrelease(Chan* c) {
    if (c == nullptr) return kEINVAL;
    c->lock.lock();
    if (c->refs <= 0) {
        c->lock.unlock();
        return kEINVAL;
    }
    c->refs--;
    bool dead = c->collectable();
    c->lock.unlock();
    if (dead) freechan(c);
    return kOK;
}

// ---- send ---------------------------------------------------------------------------------

namespace {

// sendOn and recvOn are chansend's and chanrecv's bodies, inlined into
// each entry so that a wait's switch is in the entry's own frame.
GORT_ALWAYS_INLINE int sendOn(Chan* c, const void* ep, bool block, std::atomic<uint32_t>** region) {
    if (c == nullptr || (ep == nullptr && c->elemsize > 0)) return kEINVAL;
    if (!block && c->closed.load(std::memory_order_seq_cst) == 0 && chanFull(c)) return kEAGAIN;
    G* gp = getg();
    PlainThreadScope plain(gp == nullptr);
    c->lock.lock();
    if (c->closed.load(std::memory_order_relaxed) != 0) {
        c->lock.unlock();
        return kECLOSED;
    }
    if (Sudog* sg = c->recvq.dequeue()) {
        sendToWaiter(c, sg, ep, [c] { c->lock.unlock(); });
        return kOK;
    }
    if (c->qcount.load(std::memory_order_relaxed) < c->dataqsiz) {
        bufPut(c, ep);
        c->lock.unlock();
        return kOK;
    }
    if (!block) {
        c->lock.unlock();
        return kEAGAIN;
    }
    // Wait for a receiver to take the value (or for close).
    Note note;
    Sudog s;
    initWaiter(&s, gp, &note, c, const_cast<void*>(ep));
    c->sendq.enqueue(&s);
    leaveRegion(region);
    parkSudog(&s, &c->lock, "chan send");
    return s.success ? kOK : kECLOSED;
}

}  // namespace

int chansend(Chan* c, const void* ep, bool block) {
    return sendOn(c, ep, block, nullptr);
}

int chansendInRegion(Chan* c, const void* ep, std::atomic<uint32_t>* region) {
    int rc = sendOn(c, ep, true, &region);
    leaveRegion(&region);
    return rc;
}

// ---- receive ---------------------------------------------------------------------------

namespace {

GORT_ALWAYS_INLINE int recvOn(Chan* c, void* ep, bool block, bool* ok,
                              std::atomic<uint32_t>** region) {
    if (ok != nullptr) *ok = false;
    if (c == nullptr) return kEINVAL;
    if (!block && chanEmpty(c)) {
        // Empty, then not closed: at the first read it was both.
        if (c->closed.load(std::memory_order_seq_cst) == 0) return kEAGAIN;
        // Closed for good; a value may have arrived in between.
        if (chanEmpty(c)) {
            zeroElem(c, ep);
            return kOK;
        }
    }
    G* gp = getg();
    PlainThreadScope plain(gp == nullptr);
    c->lock.lock();
    if (c->closed.load(std::memory_order_relaxed) != 0) {
        if (c->qcount.load(std::memory_order_relaxed) == 0) {
            c->lock.unlock();
            zeroElem(c, ep);
            return kOK;
        }
        // Closed, but values remain in the ring: receive them first.
    } else if (Sudog* sg = c->sendq.dequeue()) {
        recvFromWaiter(c, sg, ep, [c] { c->lock.unlock(); });
        if (ok != nullptr) *ok = true;
        return kOK;
    }
    if (c->qcount.load(std::memory_order_relaxed) > 0) {
        bufTake(c, ep);
        c->lock.unlock();
        if (ok != nullptr) *ok = true;
        return kOK;
    }
    if (!block) {
        c->lock.unlock();
        return kEAGAIN;
    }
    // Wait for a sender (or for close, which zeroes *ep).
    Note note;
    Sudog s;
    initWaiter(&s, gp, &note, c, ep);
    c->recvq.enqueue(&s);
    leaveRegion(region);
    parkSudog(&s, &c->lock, "chan receive");
    if (ok != nullptr) *ok = s.success;
    return kOK;
}

}  // namespace

int chanrecv(Chan* c, void* ep, bool block, bool* ok) {
    return recvOn(c, ep, block, ok, nullptr);
}

int chanrecvInRegion(Chan* c, void* ep, int* ok, std::atomic<uint32_t>* region) {
    bool got = false;
    int rc = recvOn(c, ep, true, &got, &region);
    leaveRegion(&region);
    if (ok != nullptr && rc == kOK) *ok = got ? 1 : 0;
    return rc;
}

// ---- with a deadline ----------------------------------------------------------------

// A timed send or receive is a select of one case with a deadline: the
// select machinery already knows how to leave a queue when something else
// (here the deadline) wins.

int chansendUntil(Chan* c, const void* ep, int64_t deadline) {
    if (c == nullptr || (ep == nullptr && c->elemsize > 0)) return kEINVAL;
    SelectCase cs;
    cs.c = c;
    cs.dir = kSelectSend;
    cs.elem = const_cast<void*>(ep);
    int chosen;
    return selectgoUntil(&cs, 1, deadline, &chosen);
}

int chanrecvUntil(Chan* c, void* ep, int64_t deadline, bool* ok) {
    if (ok != nullptr) *ok = false;
    if (c == nullptr) return kEINVAL;
    SelectCase cs;
    cs.c = c;
    cs.dir = kSelectRecv;
    cs.elem = ep;
    int chosen;
    int rc = selectgoUntil(&cs, 1, deadline, &chosen);
    if (rc == kOK && ok != nullptr) *ok = cs.ok;
    return rc;
}

// ---- close ---------------------------------------------------------------------------

int closechan(Chan* c) {
    if (c == nullptr) return kEINVAL;
    PlainThreadScope plain(getg() == nullptr);
    c->lock.lock();
    if (c->closed.load(std::memory_order_relaxed) != 0) {
        c->lock.unlock();
        return kECLOSED;
    }
    c->closed.store(1, std::memory_order_seq_cst);
    // Take every waiter off the queues, then ready them without the lock.
    // Dequeued sudogs are linked through next until readied.
    Sudog* list = nullptr;
    while (Sudog* sg = c->recvq.dequeue()) {
        zeroElem(c, sg->elem);
        sg->elem = nullptr;
        sg->next = list;
        list = sg;
    }
    while (Sudog* sg = c->sendq.dequeue()) {
        sg->elem = nullptr;
        sg->next = list;
        list = sg;
    }
    c->lock.unlock();
    while (list != nullptr) {
        Sudog* sg = list;
        list = sg->next;
        sg->next = nullptr;
        readyWaiter(sg, false);
    }
    return kOK;
}

// ---- queries ---------------------------------------------------------------------------

size_t chanlen(const Chan* c) {
    return c != nullptr ? c->qcount.load(std::memory_order_relaxed) : 0;
}

size_t chancap(const Chan* c) {
    return c != nullptr ? c->dataqsiz : 0;
}

size_t chanelemsize(const Chan* c) {
    return c != nullptr ? c->elemsize : 0;
}

bool chanclosed(const Chan* c) {
    return c != nullptr && c->closed.load(std::memory_order_acquire) != 0;
}

namespace {
size_t countQueue(Chan* c, const WaitQ& q) {
    LockGuard g(c->lock);
    size_t n = 0;
    for (Sudog* s = q.first.load(std::memory_order_relaxed); s != nullptr; s = s->next) n++;
    return n;
}
}  // namespace

size_t chanRecvWaiters(Chan* c) {
    return c != nullptr ? countQueue(c, c->recvq) : 0;
}

size_t chanSendWaiters(Chan* c) {
    return c != nullptr ? countQueue(c, c->sendq) : 0;
}

int64_t chansLive() {
    return nchans.load(std::memory_order_relaxed);
}

}  // namespace gort
