// The runtime's limits, named once: the C ABI checks its arguments against
// these.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gort {

// GOMAXPROCS: at most this many Ps (lent ones included).
constexpr int32_t kMaxProcs = 1024;

// Ps lent while goroutines stall in the kernel: at most this many, or
// GOMAXPROCS if larger, unless configured (max_lent_procs, $GORT_MAXLENT).
constexpr int32_t kDefaultMaxLent = 16;

// Goroutine stacks: requested sizes are rounded to whole pages within
// [kMinStackSize, kMaxStackSize]; 0 asks for the default.
constexpr size_t kMinStackSize = 16 * 1024;
constexpr size_t kMaxStackSize = size_t(1) << 30;
constexpr size_t kDefaultStackSize = 128 * 1024;

// Channels: the largest element and the largest buffer a channel accepts
// (Go: 64 KiB elements; buffers are bounded so that a bad size is an error,
// not an attempt to allocate it).
constexpr size_t kMaxChanElemSize = size_t(1) << 16;
constexpr size_t kMaxChanBufBytes = size_t(1) << 35;

// select: the most cases one select takes.
constexpr size_t kMaxSelectCases = 65536;

// The thread limit (Go's default SetMaxThreads); Ms bound to C threads do
// not count (golang/go#60004).
constexpr int64_t kMaxMCount = 10000;

}  // namespace gort
