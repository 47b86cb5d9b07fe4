// Goroutine stacks.
//
// A goroutine runs on its own stack: a slot of reserved address space with a
// guard page below it. Pages are committed lazily by the kernel on first
// touch, so a goroutine that parks early costs one or two pages of memory
// however large its stack is. Stacks of the default size are carved from
// arenas of many slots (one mapping per arena, not two per stack: the
// process has a limited number of mappings, vm.max_map_count); other sizes
// get a mapping of their own.
//
// Guard pages use MADV_GUARD_INSTALL where the kernel has it (Linux 6.13+:
// guard markers live in the page tables and do not split the mapping) and
// fall back to mprotect(PROT_NONE) otherwise.
//
// Free stacks are pooled: the per-P G free lists keep their stacks attached
// (proc.cpp), and this file keeps a global pool per size.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/limits.h"

namespace gort {

// Stack is the usable region [lo, hi); the guard page is just below lo.
struct Stack {
    uintptr_t lo = 0;
    uintptr_t hi = 0;
    size_t size() const { return hi - lo; }
    explicit operator bool() const { return hi != 0; }
};

constexpr size_t kPageSize = 4096;

// stackRoundSize rounds a requested size (0 = the default) to whole pages
// within [kMinStackSize, kMaxStackSize].
size_t stackRoundSize(size_t size);

// stackDefaultSize is the current default usable size; stackSetDefaultSize
// changes it (before init or at init).
size_t stackDefaultSize();
void stackSetDefaultSize(size_t size);

// stackalloc returns a stack of the given rounded size, or an empty Stack if
// the memory could not be mapped.
Stack stackalloc(size_t size);

// stackfree returns a stack to the global pool.
void stackfree(Stack s);

// stackGuardContains reports whether addr lies in the guard region of s
// (the guard page, or a little further below it for frames that skip it).
bool stackGuardContains(const Stack& s, uintptr_t addr);

// stackTouched is how much of s has been used: from its top down to its
// lowest resident page (mincore; a reused stack keeps the pages its earlier
// goroutines touched). stackHighWater is the largest use of any stack seen
// so far (every arena scanned, one mincore pass each), reset at shutdown.
size_t stackTouched(const Stack& s);
size_t stackHighWater();

// stackReleaseAll unmaps every pooled stack and arena (shutdown; no stack may
// be in use).
void stackReleaseAll();

// stackStats reports reserved and pooled stacks (for tests and stats):
// arenas mapped, the stack slots they hold, stacks in the global pool and
// stacks handed out (a free G's stack counts as handed out).
struct StackStats {
    uint64_t arenas;
    uint64_t slots;
    uint64_t pooled;
    uint64_t inUse;
};
StackStats stackStats();

}  // namespace gort
