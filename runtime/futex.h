// Thin wrappers over the Linux futex system call (private futexes).
#pragma once

#include <atomic>
#include <cstdint>

namespace gort {

// futexsleep blocks while *addr == val, for at most ns nanoseconds (ns < 0:
// no limit). It may return spuriously.
void futexsleep(std::atomic<uint32_t>* addr, uint32_t val, int64_t ns);

// futexwakeup wakes up to cnt threads sleeping on addr.
void futexwakeup(std::atomic<uint32_t>* addr, int32_t cnt);

}  // namespace gort
