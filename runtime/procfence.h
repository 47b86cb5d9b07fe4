// The process-wide fence: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which
// makes every running thread of the process execute a full memory barrier
// (and a thread that is not running passes through the kernel's). A hot path
// that would need a fence against a rare one stores without it, and the rare
// side calls processFence instead (the call gate, init.cpp; op regions,
// opregion.cpp; the tracer's buffer hand-over, trace.cpp).
#pragma once

#include <atomic>
#include <cstdint>

namespace gort {

// processFenceOn registers the process for membarrier once, and reports
// whether processFence works. Always false under TSan, which cannot see the
// kernel's barrier: its users then fence on the hot path as before.
namespace detail {
// 1 on, -1 off, 0 not yet known (processFenceOn registers then).
extern constinit std::atomic<int8_t> fenceState;
bool processFenceInit();
}  // namespace detail
inline bool processFenceOn() {
    int8_t s = detail::fenceState.load(std::memory_order_relaxed);
    return s != 0 ? s > 0 : detail::processFenceInit();
}

// processFence runs the fence; fatal if it fails after registration.
void processFence();

}  // namespace gort
