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
// Goroutine code holding a P skips the reference for an operation that
// neither parks nor switches (Unref: an op region, runtime/opregion.h; the
// uncontended lock and unlock, wait group add and done, every operation
// that never waits), and for a blocking channel send or receive, which
// closes its region once it is queued on the channel (the queue keeps the
// channel alive while it waits). Objects of those kinds are therefore not
// destroyed the moment their last reference goes: they are retired, and
// destroyed in batches once opQuiesce has seen every region that might
// still use them close.
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
#include "runtime/lock.h"
#include "runtime/opregion.h"

namespace gort::capi {

enum class Kind : uint8_t { chan = 1, waitgroup = 2, mutex = 3, ffisig = 4, fficlosure = 5 };

// Destroy destroys a handle's object; aux is what handleAdd was given.
using Destroy = void (*)(void* obj, void* aux);

// handleAdd registers obj (destroyed with destroy(obj, aux)) with one user
// reference; returns its handle, or null if memory ran out. bulky: obj holds
// much memory, so it is destroyed as soon as it may be, never batched.
void* handleAdd(Kind k, void* obj, Destroy destroy, void* aux = nullptr, bool bulky = false);

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
// handlePeek returns the object of a live handle of kind k without a
// reference, or null: only inside an op region (Unref). Inline (below): it
// is most of what an uncontended C ABI operation does besides its own work.
inline void* handlePeek(const void* h, Kind k);
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

// Unref is an op region for its scope (runtime/opregion.h): inside it, find
// looks a handle up without counting a reference. The scope must neither
// park nor switch (no blocking operation, no hook; chansendInRegion in
// runtime/chan.h is how a wait takes a region over). False where a region
// cannot open (not goroutine code holding a P): use Ref.
//
// Made with kAtEntry, it is also the call's admission (opBeginCall: what
// the call gate admits uncounted), for a C ABI function that opens it
// before any capi::Call; it is false as well when the gate is closed.
struct AtEntry {};
inline constexpr AtEntry kAtEntry{};

class Unref {
  public:
    Unref() : word_(opBegin()) {}
    explicit Unref(AtEntry) : word_(opBeginCall()) {}
    ~Unref() {
        if (word_ != nullptr) opEnd(word_);
    }
    Unref(const Unref&) = delete;
    Unref& operator=(const Unref&) = delete;
    explicit operator bool() const { return word_ != nullptr; }
    // word is the region's word (its P's): what a mutex is biased to.
    const std::atomic<uint32_t>* word() const { return word_; }
    template <class T>
    T* find(const void* h, Kind k) const {
        return static_cast<T*>(handlePeek(h, k));
    }

  private:
    std::atomic<uint32_t>* word_;
};

// ---- the table's layout, for handlePeek inline (the rest is handles.cpp) ----

namespace slots {

// A handle: [63..32] generation, [31..28] kind, [27..0] slot index + 1.
constexpr uint64_t kIndexBits = 28;
constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1;
constexpr uint32_t kChunkSlots = 4096;
constexpr uint32_t kMaxChunks = uint32_t((kIndexMask + 1) / kChunkSlots);

// Slot state: [63..32] generation, [31] live, [30..0] operation references.
constexpr uint64_t kLive = uint64_t(1) << 31;
constexpr uint64_t kRefMask = kLive - 1;

struct Slot {
    std::atomic<uint64_t> state{0};
    std::atomic<void*> obj{nullptr};
    std::atomic<uint32_t> userRefs{0};  // references users hold (retain, release)
    Destroy destroy = nullptr;
    void* aux = nullptr;
    Kind kind{};
    bool bulky = false;     // its object holds much memory: freed without delay
    uint32_t nextFree = 0;  // index + 1 of the next free or retired slot (under a lock)
};

struct Table {
    Mutex lock;
    std::atomic<Slot*> chunks[kMaxChunks] = {};
    uint32_t nchunks = 0;
    uint32_t freeHead = 0;  // index + 1
    // First generation of new slots: moves on each time the table is freed,
    // so handles from before never match slots made after.
    uint64_t genBase = 0;
};

extern constinit Table theTable;  // handles.cpp

GORT_ALWAYS_INLINE Table& table() {
    return theTable;
}

GORT_ALWAYS_INLINE Slot* slotAt(uint64_t index) {
    Slot* chunk = table().chunks[index / kChunkSlots].load(std::memory_order_acquire);
    return chunk != nullptr ? &chunk[index % kChunkSlots] : nullptr;
}

GORT_ALWAYS_INLINE bool decode(const void* h, Kind k, uint64_t* index, uint32_t* gen) {
    auto v = reinterpret_cast<uintptr_t>(h);
    uint64_t i = v & kIndexMask;
    if (i == 0 || uint8_t((v >> kIndexBits) & 0xF) != uint8_t(k)) return false;
    *index = i - 1;
    *gen = uint32_t(v >> 32);
    return *index / kChunkSlots < kMaxChunks;
}

}  // namespace slots

inline void* handlePeek(const void* h, Kind k) {
    uint64_t index;
    uint32_t gen;
    if (!slots::decode(h, k, &index, &gen)) return nullptr;
    slots::Slot* s = slots::slotAt(index);
    if (s == nullptr) return nullptr;
    uint64_t st = s->state.load(std::memory_order_acquire);
    if (uint32_t(st >> 32) != gen || !(st & slots::kLive)) return nullptr;
    // Live when looked at, so not retired before our region opened: the
    // object stays until the region closes (retire waits for it).
    return s->obj.load(std::memory_order_acquire);
}

}  // namespace gort::capi
