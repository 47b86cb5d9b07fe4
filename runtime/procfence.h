// The process-wide fence: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which
// makes every running thread of the process execute a full memory barrier
// (and a thread that is not running passes through the kernel's). A hot path
// that would need a fence against a rare one stores without it, and the rare
// side calls processFence instead (the call gate, init.cpp; op regions,
// opregion.cpp; the tracer's buffer hand-over, trace.cpp).
#pragma once

namespace gort {

// processFenceOn registers the process for membarrier once, and reports
// whether processFence works. Always false under TSan, which cannot see the
// kernel's barrier: its users then fence on the hot path as before.
bool processFenceOn();

// processFence runs the fence; fatal if it fails after registration.
void processFence();

}  // namespace gort
