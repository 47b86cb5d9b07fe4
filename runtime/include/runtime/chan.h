// Channels (Go's chan), the C++ layer under the C ABI's gort_chan_*.
//
// A channel carries fixed-size elements (elemSize bytes, copied with
// memcpy), is unbuffered (cap 0: a send completes only when a receiver takes
// the value) or buffered (cap elements), and can be closed once. Every
// operation parks goroutines, never OS threads; a thread that runs no
// goroutine may use channels too (it blocks on a note).
//
// Errors instead of Go's panics: a null channel or element, a zero or huge
// size are kEINVAL; a send on a closed channel and a second close are
// kECLOSED; a non-blocking operation that would block is kEAGAIN.
//
// Lifetime: a channel starts with one reference (its creator's). retain adds
// one, release drops one; the channel is freed when no reference is left
// and no operation is blocked on it (a blocked send, receive or select holds
// the channel alive until it has finished with it). So the creator may
// release its reference while goroutines still block on the channel; they
// are woken by whoever else holds a reference (close, send, receive).
//
// TypedChan<T> is the typed C++ face of the same channels.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "runtime/errors.h"
#include "runtime/limits.h"

namespace gort {

struct Chan;  // Go's hchan: runtime/hchan.h

// makechan makes a channel of cap elements of elemSize bytes with one
// reference; elemSize 0 is Go's chan struct{} (elements may be null).
// kEINVAL: out null, elemSize above kMaxChanElemSize, or a buffer above
// kMaxChanBufBytes; kENOMEM. *out is null on failure.
int makechan(size_t elemSize, size_t cap, Chan** out);

// chansend sends the elemSize bytes at elem. block: wait until a receiver
// or buffer space takes it; otherwise kEAGAIN if it cannot complete now.
// kECLOSED if the channel is (or, while waiting, becomes) closed.
int chansend(Chan* c, const void* elem, bool block);

// chanrecv receives into elem (may be null: the value is dropped). *ok (if
// ok is set) is true for a value sent, false when the channel is closed and
// drained: then elem is zeroed and the result is kOK. Not blocking: kEAGAIN
// when nothing is there.
int chanrecv(Chan* c, void* elem, bool block, bool* ok);

// chansendInRegion and chanrecvInRegion are the blocking forms for a caller
// that found c inside the op region `region` (runtime/opregion.h) and holds
// no reference on it. They always close the region: one that waits once it
// is queued on c (which keeps c alive until it is woken and never touched
// after) and before it parks, else before it returns. *ok (if set) is 1 or
// 0 as chanrecv's, set on kOK.
// They are what gort_chan_send/recv tail-call: the switch of a wait is in
// their own frame, one mispredicted return less on every wake-up (see
// cgocallEntry in runtime/cgo.h).
int chansendInRegion(Chan* c, const void* elem, std::atomic<uint32_t>* region);
int chanrecvInRegion(Chan* c, void* elem, int* ok, std::atomic<uint32_t>* region);

// chansendUntil / chanrecvUntil are the blocking forms with a deadline
// (nanotime): kETIMEDOUT if it passed first (nothing was sent or received).
int chansendUntil(Chan* c, const void* elem, int64_t deadline);
int chanrecvUntil(Chan* c, void* elem, int64_t deadline, bool* ok);

// closechan closes c: waiting receivers get ok = false, waiting senders
// kECLOSED, buffered values stay receivable. kECLOSED if already closed.
int closechan(Chan* c);

// chanretain adds a reference; chanrelease drops one (kEINVAL if none is
// left, as far as that can be told).
int chanretain(Chan* c);
int chanrelease(Chan* c);

size_t chanlen(const Chan* c);  // buffered elements (0 for null)
size_t chancap(const Chan* c);  // capacity (0 for null)
size_t chanelemsize(const Chan* c);
bool chanclosed(const Chan* c);

// For tests and dumps: goroutines and threads queued on c (under its lock),
// and channels alive in the process.
size_t chanRecvWaiters(Chan* c);
size_t chanSendWaiters(Chan* c);
int64_t chansLive();

// TypedChan<T> owns one reference to a channel of T (trivially copyable);
// copies share the channel and add a reference each.
template <class T>
class TypedChan {
    static_assert(std::is_trivially_copyable_v<T>, "channel elements are copied bytewise");
    static_assert(sizeof(T) <= kMaxChanElemSize, "channel element type too large (>64kB)");

  public:
    explicit TypedChan(size_t cap = 0) { makechan(sizeof(T), cap, &c_); }
    // Adopts a reference the caller owns (e.g. from after()).
    static TypedChan adopt(Chan* c) { return TypedChan(c, 0); }
    TypedChan(const TypedChan& o) : c_(o.c_) {
        if (c_ != nullptr) chanretain(c_);
    }
    TypedChan(TypedChan&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    TypedChan& operator=(TypedChan o) noexcept {
        std::swap(c_, o.c_);
        return *this;
    }
    ~TypedChan() {
        if (c_ != nullptr) chanrelease(c_);
    }

    bool valid() const { return c_ != nullptr; }  // false if makechan failed
    Chan* get() const { return c_; }

    int send(const T& v) { return chansend(c_, &v, true); }
    int trySend(const T& v) { return chansend(c_, &v, false); }
    int recv(T* out, bool* ok = nullptr) { return chanrecv(c_, out, true, ok); }
    int tryRecv(T* out, bool* ok = nullptr) { return chanrecv(c_, out, false, ok); }
    // recv returning the value (T{} after close and drain).
    T recv() {
        T v{};
        chanrecv(c_, &v, true, nullptr);
        return v;
    }
    int close() { return closechan(c_); }
    size_t len() const { return chanlen(c_); }
    size_t cap() const { return chancap(c_); }

  private:
    TypedChan(Chan* c, int) : c_(c) {}
    Chan* c_ = nullptr;
};

}  // namespace gort
