#include "handles.h"

#include <new>
#include <type_traits>

#include "runtime/base.h"
#include "runtime/lock.h"
#include "runtime/opregion.h"

namespace gort::capi {

namespace slots {
// In static storage from the start (no guard to test on every lookup), and
// trivially destructible: nothing runs at exit.
constinit Table theTable;
static_assert(std::is_trivially_destructible_v<Table>);
}  // namespace slots

using namespace slots;

namespace {

// Retired slots: dead, unreferenced, their objects not yet destroyed,
// because an op region (runtime/opregion.h) may still use them. One
// opQuiesce serves a batch: kRetiredMax of them, or whatever is there when
// a handle is made more than kRetiredNs after the first was retired, or at
// shutdown. A bulky object (a channel with a large buffer) is freed at once.
constexpr uint32_t kRetiredMax = 64;
constexpr int64_t kRetiredNs = 1'000'000;

struct Retired {
    Mutex lock;
    uint32_t head = 0;  // index + 1, linked through nextFree
    std::atomic<uint32_t> count{0};
    int64_t since = 0;  // when the oldest was retired
};

Retired& retired() {
    static NoDestructor<Retired> r;
    return *r;
}

// lookup finds the slot a handle of kind k names (whatever its state), and
// the generation the handle expects there.
GORT_ALWAYS_INLINE Slot* lookup(const void* h, Kind k, uint32_t* gen) {
    uint64_t index;
    return decode(h, k, &index, gen) ? slotAt(index) : nullptr;
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

// inRegions: objects of this kind are used in op regions (sync.cpp,
// chan.cpp use Unref for them).
bool inRegions(Kind k) {
    return k == Kind::chan || k == Kind::waitgroup || k == Kind::mutex;
}

// flushRetired destroys the retired objects, once no region can use them.
// quiesce false: no region can exist (shutdown).
void flushRetired(bool quiesce) {
    Retired& r = retired();
    uint32_t list;
    {
        LockGuard g(r.lock);
        list = r.head;
        r.head = 0;
        r.count.store(0, std::memory_order_relaxed);
    }
    if (list == 0) return;
    if (quiesce && !opQuiesce()) {
        // Inside a region ourselves (a signal handler's call): put them back
        // for the next flush.
        LockGuard g(r.lock);
        uint32_t n = 0, last = list;
        for (uint32_t i = list; i != 0; i = slotAt(i - 1)->nextFree) n++, last = i;
        slotAt(last - 1)->nextFree = r.head;
        r.head = list;
        r.count.fetch_add(n, std::memory_order_relaxed);
        return;
    }
    while (list != 0) {
        Slot* s = slotAt(list - 1);
        uint32_t next = s->nextFree;
        freeSlot(list - 1, s);
        list = next;
    }
}

// retire frees a dead slot nobody counts a reference on any more: at once
// if no region can be using its object, else after a quiesce.
void retire(uint64_t index, Slot* s) {
    if (!inRegions(s->kind) || !opRegionsOn()) {
        freeSlot(index, s);
        return;
    }
    if (s->bulky && opQuiesce()) {
        freeSlot(index, s);
        return;
    }
    Retired& r = retired();
    bool flush;
    {
        LockGuard g(r.lock);
        if (r.head == 0) r.since = nanotime();
        s->nextFree = r.head;
        r.head = uint32_t(index + 1);
        flush = r.count.fetch_add(1, std::memory_order_relaxed) + 1 >= kRetiredMax;
    }
    if (flush) flushRetired(true);
}

// flushRetiredIfOld flushes a batch whose oldest has waited kRetiredNs.
void flushRetiredIfOld() {
    Retired& r = retired();
    if (r.count.load(std::memory_order_relaxed) == 0) return;
    int64_t since;
    {
        LockGuard g(r.lock);
        since = r.since;
    }
    if (nanotime() - since >= kRetiredNs) flushRetired(true);
}

}  // namespace

void* handleAdd(Kind k, void* obj, Destroy destroy, void* aux, bool bulky) {
    // (Only runtime objects are made inside the call gate, which keeps the
    // Ps that opQuiesce reads alive.)
    if (inRegions(k)) flushRetiredIfOld();
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
    s->bulky = bulky;
    s->userRefs.store(1, std::memory_order_relaxed);
    uint64_t gen = s->state.load(std::memory_order_relaxed) >> 32;
    s->state.store((gen << 32) | kLive, std::memory_order_release);
    uint64_t h = (gen << 32) | (uint64_t(k) << kIndexBits) | (index + 1);
    return reinterpret_cast<void*>(uintptr_t(h));
}

void* handleAcquire(const void* h, Kind k) {
    uint32_t gen;
    Slot* s = lookup(h, k, &gen);
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
    if (!(st & kLive) && (st & kRefMask) == 0) retire(index, s);
}

namespace {

// kill clears a slot's live bit (the last user reference is gone), and
// frees it if no operation holds it.
void kill(uint64_t index, Slot* s) {
    uint64_t st = s->state.load(std::memory_order_acquire);
    while (!s->state.compare_exchange_weak(st, st & ~kLive, std::memory_order_acq_rel)) {
    }
    if ((st & kRefMask) == 0) freeSlot(index, s);  // (shutdown: no region can exist)
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
    flushRetired(false);  // no goroutine is left, so no region
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
