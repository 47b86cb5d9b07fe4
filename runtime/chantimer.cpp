// Timer channels.
//
// A Block holds a runtime Timer (timers.cpp) and the channel it fires into.
// The timer's function runs on an M with a P, without timersLock: it sends
// the time with a non-blocking send (the channel's one-slot buffer is empty,
// since nothing else sends), then drops the timer's channel reference and
// its reference to the Block.
//
// The Block is reference counted (the pending timer, and a ChanTimer handle
// if there is one) because stop and the firing timer can overlap: deltimer
// reports "not queued" as soon as the timer leaves its heap, while the
// firing M may still be reading it. Whichever drops the last reference frees
// it.
#include "runtime/chantimer.h"

#include <climits>
#include <new>

#include "runtime/proc.h"

namespace gort {

struct ChanTimer::Block {
    Timer t;
    Chan* c = nullptr;
    std::atomic<int32_t> refs{1};

    void unref() {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) rtdelete(this);
    }
};

namespace {

void sendTime(void* arg, uintptr_t) {
    auto* b = static_cast<ChanTimer::Block*>(arg);
    int64_t now = nanotime();
    chansend(b->c, &now, false);
    chanrelease(b->c);
    b->unref();
}

// dropTimer: the runtime shut down before the timer fired.
void dropTimer(void* arg) {
    auto* b = static_cast<ChanTimer::Block*>(arg);
    chanrelease(b->c);
    b->unref();
}

// start makes a Block whose channel has refs = 2 (the caller's and the
// timer's), stores the channel in *c, and queues its timer; handle adds the
// handle's reference. Without a handle the Block may be gone (fired and
// freed) by the time start returns.
ChanTimer::Block* start(int64_t ns, bool handle, Chan** c) {
    auto* b = tryNew<ChanTimer::Block>();
    if (b == nullptr) return nullptr;
    if (makechan(sizeof(int64_t), 1, &b->c) != kOK) {
        rtdelete(b);
        return nullptr;
    }
    chanretain(b->c);
    if (handle) b->refs.fetch_add(1, std::memory_order_relaxed);
    int64_t now = nanotime();
    if (ns < 0) ns = 0;
    b->t.when = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    b->t.f = sendTime;
    b->t.drop = dropTimer;
    b->t.arg = b;
    *c = b->c;
    addtimer(&b->t);
    return b;
}

}  // namespace

Chan* after(int64_t ns) {
    Chan* c = nullptr;
    start(ns, false, &c);
    return c;
}

ChanTimer* ChanTimer::make(int64_t ns) {
    auto* t = new (std::nothrow) ChanTimer;
    if (t == nullptr) return nullptr;
    Chan* c = nullptr;
    t->b_ = start(ns, true, &c);
    if (t->b_ == nullptr) {
        delete t;
        return nullptr;
    }
    return t;
}

Chan* ChanTimer::chan() const {
    return b_->c;
}

bool ChanTimer::stop() {
    if (!deltimer(&b_->t)) return false;
    // It will never fire: drop what the timer held.
    chanrelease(b_->c);
    b_->unref();
    return true;
}

void ChanTimer::destroy() {
    stop();
    chanrelease(b_->c);
    b_->unref();
    delete this;
}

}  // namespace gort
