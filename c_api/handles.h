// Checked handles for the C ABI.
//
// C sees an opaque pointer that is really a handle: a slot index, the kind
// of object, and the slot's generation, packed into 64 bits. Every
// operation looks the handle up (no lock: slots live in chunks that never
// move), takes a reference on the slot for its duration, and drops it at
// the end. The creator's release clears the slot's live bit; whoever drops
// the last reference after that destroys the object and frees the slot,
// whose generation then moves on. So a released, foreign or garbage handle
// gets GORT_EINVAL instead of touching freed memory, and releasing a handle
// while goroutines block on it is safe: they finish with the object, then
// it goes.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>

namespace gort::capi {

enum class Kind : uint8_t { chan = 1, waitgroup = 2, mutex = 3, ffisig = 4, fficlosure = 5 };

// add registers obj (destroyed with destroy(obj)); returns its handle, or
// null if memory ran out.
void* handleAdd(Kind k, void* obj, void (*destroy)(void*));

// newHandle makes a default-constructed T and registers it as a handle of
// kind k; null if memory ran out (nothing is left behind).
template <class T>
void* newHandle(Kind k) {
    auto* obj = new (std::nothrow) T;
    if (obj == nullptr) return nullptr;
    void* h = handleAdd(k, obj, [](void* p) { delete static_cast<T*>(p); });
    if (h == nullptr) delete obj;
    return h;
}

// handleAcquire returns the object of a live handle of kind k with an
// operation reference taken, or null.
void* handleAcquire(const void* h, Kind k);
// handleRelease drops an operation reference.
void handleRelease(const void* h);
// handleClose is the creator's release: 0, or -1 if h is not a live handle
// of kind k (released twice, or never made).
int handleClose(const void* h, Kind k);

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

namespace gort::capi {

// handlesFreeIfUnused frees the table's memory if no handle is live (at
// shutdown, so that an unloaded libgort leaves nothing behind).
void handlesFreeIfUnused();

}  // namespace gort::capi
