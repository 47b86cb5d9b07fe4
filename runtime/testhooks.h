// Hooks for tests of the runtime's failure paths (Go's export_test.go). Not
// for production use.
#pragma once

#include <atomic>
#include <cstdint>

namespace gort {

// The next newosprocFaults native thread creations fail with
// newosprocFaultErrno, as if pthread_create had (each retry counts).
extern std::atomic<int32_t> newosprocFaults;
extern std::atomic<int32_t> newosprocFaultErrno;

// The thread limit (Go's debug.SetMaxThreads); kMaxMCount by default.
extern std::atomic<int64_t> maxMCount;

}  // namespace gort
