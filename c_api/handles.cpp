#include "handles.h"

#include <new>

#include "runtime/base.h"
#include "runtime/lock.h"

namespace gort::capi {

namespace {

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
    uint32_t nextFree = 0;  // index + 1 of the next free slot (under the lock)
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

Table& table() {
    static NoDestructor<Table> t;
    return *t;
}

Slot* slotAt(uint64_t index) {
    Slot* chunk = table().chunks[index / kChunkSlots].load(std::memory_order_acquire);
    return chunk != nullptr ? &chunk[index % kChunkSlots] : nullptr;
}

bool decode(const void* h, Kind k, uint64_t* index, uint32_t* gen) {
    auto v = reinterpret_cast<uintptr_t>(h);
    uint64_t i = v & kIndexMask;
    if (i == 0 || uint8_t((v >> kIndexBits) & 0xF) != uint8_t(k)) return false;
    *index = i - 1;
    *gen = uint32_t(v >> 32);
    return *index / kChunkSlots < kMaxChunks;
}

void freeSlot(uint64_t index, Slot* s) {
    void* obj = s->obj.exchange(nullptr, std::memory_order_acq_rel);
    s->destroy(obj, s->aux);
    Table& t = table();
    LockGuard g(t.lock);
    // The next generation: stale handles to this slot stop matching.
    uint64_t gen = (s->state.load(std::memory_order_relaxed) >> 32) + 1;
    s->state.store(gen << 32, std::memory_order_release);
    s->nextFree = t.freeHead;
    t.freeHead = uint32_t(index + 1);
}

}  // namespace

void* handleAdd(Kind k, void* obj, Destroy destroy, void* aux) {
    Table& t = table();
    uint64_t index;
    Slot* s;
    {
        LockGuard g(t.lock);
        if (t.freeHead == 0) {
            if (t.nchunks == kMaxChunks) return nullptr;
            auto* chunk = new (std::nothrow) Slot[kChunkSlots];
            if (chunk == nullptr) return nullptr;
            uint32_t base = t.nchunks * kChunkSlots;
            for (uint32_t i = kChunkSlots; i-- > 0;) {
                chunk[i].state.store(t.genBase << 32, std::memory_order_relaxed);
                chunk[i].nextFree = t.freeHead;
                t.freeHead = base + i + 1;
            }
            t.chunks[t.nchunks++].store(chunk, std::memory_order_release);
        }
        index = t.freeHead - 1;
        s = slotAt(index);
        t.freeHead = s->nextFree;
    }
    s->obj.store(obj, std::memory_order_relaxed);
    s->destroy = destroy;
    s->aux = aux;
    s->kind = k;
    s->userRefs.store(1, std::memory_order_relaxed);
    uint64_t gen = s->state.load(std::memory_order_relaxed) >> 32;
    s->state.store((gen << 32) | kLive, std::memory_order_release);
    uint64_t h = (gen << 32) | (uint64_t(k) << kIndexBits) | (index + 1);
    return reinterpret_cast<void*>(uintptr_t(h));
}

void* handleAcquire(const void* h, Kind k) {
    uint64_t index;
    uint32_t gen;
    if (!decode(h, k, &index, &gen)) return nullptr;
    Slot* s = slotAt(index);
    if (s == nullptr) return nullptr;
    uint64_t st = s->state.load(std::memory_order_acquire);
    for (;;) {
        if (uint32_t(st >> 32) != gen || !(st & kLive) || (st & kRefMask) == kRefMask) {
            return nullptr;
        }
        if (s->state.compare_exchange_weak(st, st + 1, std::memory_order_acq_rel)) break;
    }
    return s->obj.load(std::memory_order_acquire);
}

void handleRelease(const void* h) {
    auto v = reinterpret_cast<uintptr_t>(h);
    uint64_t index = (v & kIndexMask) - 1;
    Slot* s = slotAt(index);
    uint64_t st = s->state.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (!(st & kLive) && (st & kRefMask) == 0) freeSlot(index, s);
}

namespace {

// kill clears a slot's live bit (the last user reference is gone), and
// frees it if no operation holds it.
void kill(uint64_t index, Slot* s) {
    uint64_t st = s->state.load(std::memory_order_acquire);
    while (!s->state.compare_exchange_weak(st, st & ~kLive, std::memory_order_acq_rel)) {
    }
    if ((st & kRefMask) == 0) freeSlot(index, s);
}

}  // namespace

int handleRetain(const void* h, Kind k) {
    if (handleAcquire(h, k) == nullptr) return -1;
    Slot* s = slotAt((reinterpret_cast<uintptr_t>(h) & kIndexMask) - 1);
    uint32_t n = s->userRefs.load(std::memory_order_relaxed);
    int rc = 0;
    for (;;) {
        if (n == 0 || n == UINT32_MAX) {
            rc = -1;  // being released by its last holder, or saturated
            break;
        }
        if (s->userRefs.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) break;
    }
    handleRelease(h);
    return rc;
}

int handleClose(const void* h, Kind k) {
    if (handleAcquire(h, k) == nullptr) return -1;
    uint64_t index = (reinterpret_cast<uintptr_t>(h) & kIndexMask) - 1;
    Slot* s = slotAt(index);
    uint32_t n = s->userRefs.load(std::memory_order_relaxed);
    for (;;) {
        if (n == 0) {
            handleRelease(h);
            return -1;
        }
        if (s->userRefs.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) break;
    }
    if (n == 1) {
        // The last user reference: the handle dies; our operation reference
        // (dropped next) or the last one in progress frees it.
        uint64_t st = s->state.load(std::memory_order_acquire);
        while (!s->state.compare_exchange_weak(st, st & ~kLive, std::memory_order_acq_rel)) {
        }
    }
    handleRelease(h);
    return 0;
}

void handlesAtShutdown() {
    Table& t = table();
    uint32_t nchunks;
    {
        LockGuard g(t.lock);
        nchunks = t.nchunks;
    }
    for (uint64_t i = 0; i < uint64_t(nchunks) * kChunkSlots; i++) {
        Slot* s = slotAt(i);
        if (s == nullptr) continue;  // (freed chunks: only under the init lock, held here too)
        uint64_t st = s->state.load(std::memory_order_acquire);
        if (!(st & kLive) ||
            (s->kind != Kind::chan && s->kind != Kind::waitgroup && s->kind != Kind::mutex)) {
            continue;
        }
        s->userRefs.store(0, std::memory_order_relaxed);
        kill(i, s);
    }
}

void handlesFreeIfUnused() {
    Table& t = table();
    LockGuard g(t.lock);
    uint32_t free = 0;
    for (uint32_t i = t.freeHead; i != 0; i = slotAt(i - 1)->nextFree) free++;
    if (free != t.nchunks * kChunkSlots) return;  // some handle is live
    for (uint32_t c = 0; c < t.nchunks; c++) {
        delete[] t.chunks[c].load(std::memory_order_relaxed);
        t.chunks[c].store(nullptr, std::memory_order_relaxed);
    }
    t.nchunks = 0;
    t.freeHead = 0;
    t.genBase += uint64_t(1) << 20;
}

}  // namespace gort::capi
