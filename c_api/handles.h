// Checked handles for the C ABI.
//
// C sees an opaque pointer that is really a handle: a slot index, the kind
// of object, and the slot's generation, packed into 64 bits. Every
// operation looks the handle up (no lock: slots live in chunks that never
// move), takes an operation reference on the slot for its duration, and
// drops it at the end. Users hold references of their own: one from the
// constructor, one more per retain; the release that drops the last clears
// the slot's live bit, and whoever drops the last operation reference after
// that destroys the object and frees the slot, whose generation then moves
// on. So a released, foreign or garbage handle gets GORT_EINVAL instead of
// touching freed memory, and releasing a handle while goroutines block on it
// is safe: they finish with the object, then it goes.
//
// Runtime objects (channels, wait groups, mutexes) belong to one runtime:
// handlesAtShutdown destroys the ones still alive and moves their slots'
// generations on, so a handle from before a shutdown is invalid after the
// next init. ffi signatures and closures live on.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>

#include "runtime/base.h"

namespace gort::capi {

enum class Kind : uint8_t { chan = 1, waitgroup = 2, mutex = 3, ffisig = 4, fficlosure = 5 };

// Destroy destroys a handle's object; aux is what handleAdd was given.
using Destroy = void (*)(void* obj, void* aux);

// handleAdd registers obj (destroyed with destroy(obj, aux)) with one user
// reference; returns its handle, or null if memory ran out.
void* handleAdd(Kind k, void* obj, Destroy destroy, void* aux = nullptr);

// newHandle makes a default-constructed T and registers it as a handle of
// kind k; null if memory ran out (nothing is left behind).
template <class T>
void* newHandle(Kind k) {
    auto* obj = tryNew<T>();
    if (obj == nullptr) return nullptr;
    void* h = handleAdd(k, obj, [](void* p, void*) { rtdelete(static_cast<T*>(p)); });
    if (h == nullptr) rtdelete(obj);
    return h;
}

// handleAcquire returns the object of a live handle of kind k with an
// operation reference taken, or null.
void* handleAcquire(const void* h, Kind k);
// handleRelease drops an operation reference.
void handleRelease(const void* h);
// handleRetain adds a user reference; handleClose drops one (the last makes
// the handle dead). 0, or -1 if h is not a live handle of kind k.
int handleRetain(const void* h, Kind k);
int handleClose(const void* h, Kind k);

// handlesAtShutdown destroys every live channel, wait group and mutex (no
// operation can be in progress: the runtime has no goroutine left and turns
// calls away). handlesFreeIfUnused frees the table itself if no handle at
// all is live (so that an unloaded libgort leaves nothing behind).
void handlesAtShutdown();
void handlesFreeIfUnused();

// Ref holds an operation reference for its scope.
template <class T>
class Ref {
  public:
    Ref(const void* h, Kind k) : h_(h), obj_(static_cast<T*>(handleAcquire(h, k))) {}
    ~Ref() {
        if (obj_ != nullptr) handleRelease(h_);
    }
    Ref(const Ref&) = delete;
    Ref& operator=(const Ref&) = delete;
    T* get() const { return obj_; }
    T* operator->() const { return obj_; }
    explicit operator bool() const { return obj_ != nullptr; }

  private:
    const void* h_;
    T* obj_;
};

}  // namespace gort::capi
