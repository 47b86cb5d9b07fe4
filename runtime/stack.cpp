#include "runtime/stack.h"

#include <errno.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>

#include "runtime/base.h"
#if defined(GORT_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#include "runtime/lock.h"
#include "runtime/rtvec.h"

namespace gort {

namespace {

#ifndef MADV_GUARD_INSTALL
constexpr int MADV_GUARD_INSTALL = 102;
#endif

// kGuardSize is the guard region below each stack. More than one page, so a
// frame of up to 16 KiB that steps over the bottom of the stack still lands
// in it; guard markers cost no memory, only address space.
constexpr size_t kGuardSize = 16 * 1024;

// Above this many pooled stacks of one size, freed stacks give their pages
// back to the kernel (the mapping and its guard stay).
constexpr size_t kPoolKeepDirty = 256;

// An arena is one mapping holding `slots` stacks of one size, each preceded
// by its guard region.
struct Arena {
    uintptr_t base;
    size_t len;
    size_t size;  // usable size of its stacks
};

struct SizePool {
    size_t size;        // usable size of each stack
    RtVec<Stack> free;  // stacks ready for reuse
};

struct StackState {
    Mutex lock;
    RtVec<Arena> arenas;
    RtVec<SizePool> pools;
    uint64_t inUse = 0;
    int guardMode = 0;  // 0 = unknown, 1 = MADV_GUARD_INSTALL, 2 = mprotect
};

StackState* state() {
    static NoDestructor<StackState> s;
    return s.get();
}

std::atomic<size_t> defaultSize{kDefaultStackSize};

SizePool& poolFor(StackState* st, size_t size) {
    for (auto& p : st->pools) {
        if (p.size == size) return p;
    }
    st->pools.push_back(SizePool{size, {}});
    return st->pools.back();
}

// installGuard makes [addr, addr+len) inaccessible.
bool installGuard(StackState* st, uintptr_t addr, size_t len) {
    void* p = reinterpret_cast<void*>(addr);
    if (st->guardMode != 2) {
        if (madvise(p, len, MADV_GUARD_INSTALL) == 0) {
            st->guardMode = 1;
            return true;
        }
        if (st->guardMode == 1) return false;  // it worked before: a real failure
        st->guardMode = 2;
    }
    return mprotect(p, len, PROT_NONE) == 0;
}

// unmapArena gives an arena back to the kernel. Under ASan its shadow is
// cleared first: the frames of goroutines that never returned (parked at
// shutdown, a goroutine's last frame) leave their redzones poisoned, and
// memory mapped there later (a library loaded again) would inherit them.
void unmapArena(const Arena& a) {
#if defined(GORT_ASAN)
    __asan_unpoison_memory_region(reinterpret_cast<void*>(a.base), a.len);
#endif
    munmap(reinterpret_cast<void*>(a.base), a.len);
}

// newArena maps an arena for stacks of `size` and pools its slots.
bool newArena(StackState* st, SizePool& pool) {
    size_t slot = pool.size + kGuardSize;
    size_t slots = std::clamp<size_t>((8u << 20) / slot, 1, 64);
    size_t len = slot * slots;
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return false;
    madvise(p, len, MADV_NOHUGEPAGE);
    auto base = reinterpret_cast<uintptr_t>(p);
    for (size_t i = 0; i < slots; i++) {
        if (!installGuard(st, base + i * slot, kGuardSize)) {
            munmap(p, len);
            return false;
        }
    }
    st->arenas.push_back(Arena{base, len, pool.size});
    // Push in reverse so the lowest slot is handed out first.
    for (size_t i = slots; i-- > 0;) {
        uintptr_t lo = base + i * slot + kGuardSize;
        pool.free.push_back(Stack{lo, lo + pool.size});
    }
    return true;
}

// The largest stack use seen (bytes), by stackTouched and stackHighWater.
std::atomic<size_t> maxTouched{0};

void noteTouched(size_t n) {
    size_t m = maxTouched.load(std::memory_order_relaxed);
    while (n > m && !maxTouched.compare_exchange_weak(m, n, std::memory_order_relaxed)) {
    }
}

// lowestResident returns the lowest resident page in [lo, hi) (page
// aligned), or hi if none is: mincore, a window of pages at a time.
uintptr_t lowestResident(uintptr_t lo, uintptr_t hi) {
    constexpr size_t kWindow = 4096;  // pages per mincore call
    unsigned char vec[kWindow];
    for (uintptr_t a = lo; a < hi;) {
        size_t pages = std::min<size_t>((hi - a) / kPageSize, kWindow);
        if (pages == 0) break;
        if (mincore(reinterpret_cast<void*>(a), pages * kPageSize, vec) != 0) return hi;
        for (size_t i = 0; i < pages; i++) {
            if (vec[i] & 1) return a + i * kPageSize;
        }
        a += pages * kPageSize;
    }
    return hi;
}

}  // namespace

size_t stackRoundSize(size_t size) {
    if (size == 0) size = defaultSize.load(std::memory_order_relaxed);
    size = std::clamp(size, kMinStackSize, kMaxStackSize);
    return (size + kPageSize - 1) & ~(kPageSize - 1);
}

size_t stackDefaultSize() {
    return defaultSize.load(std::memory_order_relaxed);
}

void stackSetDefaultSize(size_t size) {
    defaultSize.store(stackRoundSize(size == 0 ? kDefaultStackSize : size),
                      std::memory_order_relaxed);
}

Stack stackalloc(size_t size) {
    StackState* st = state();
    LockGuard g(st->lock);
    SizePool& pool = poolFor(st, size);
    if (pool.free.empty() && !newArena(st, pool)) return Stack{};
    Stack s = pool.free.back();
    pool.free.pop_back();
    st->inUse++;
    return s;
}

void stackfree(Stack s) {
    StackState* st = state();
    LockGuard g(st->lock);
    SizePool& pool = poolFor(st, s.size());
    if (pool.free.size() >= kPoolKeepDirty) {
        madvise(reinterpret_cast<void*>(s.lo), s.size(), MADV_DONTNEED);
    }
    pool.free.push_back(s);
    st->inUse--;
}

bool stackGuardContains(const Stack& s, uintptr_t addr) {
    return s.lo != 0 && addr < s.lo && addr >= s.lo - kGuardSize;
}

void stackReleaseAll() {
    StackState* st = state();
    LockGuard g(st->lock);
    for (const Arena& a : st->arenas) unmapArena(a);
    st->arenas.reset();
    for (SizePool& p : st->pools) p.free.reset();
    st->pools.reset();
    st->inUse = 0;
    maxTouched.store(0, std::memory_order_relaxed);
}

size_t stackTouched(const Stack& s) {
    if (!s) return 0;
    size_t n = s.hi - lowestResident(s.lo, s.hi);
    noteTouched(n);
    return n;
}

size_t stackHighWater() {
    StackState* st = state();
    LockGuard g(st->lock);
    // One mincore pass per arena covers all of its slots; a slot's use is
    // from its top down to its lowest resident page.
    for (const Arena& a : st->arenas) {
        size_t slot = a.size + kGuardSize;
        for (uintptr_t lo = a.base + kGuardSize; lo + a.size <= a.base + a.len; lo += slot) {
            noteTouched(lo + a.size - lowestResident(lo, lo + a.size));
        }
    }
    return maxTouched.load(std::memory_order_relaxed);
}

StackStats stackStats() {
    StackState* st = state();
    LockGuard g(st->lock);
    StackStats s{st->arenas.size(), 0, 0, st->inUse};
    for (const Arena& a : st->arenas) s.slots += a.len / (a.size + kGuardSize);
    for (const auto& p : st->pools) s.pooled += p.free.size();
    return s;
}

}  // namespace gort
