// The runtime's event counters: one relaxed atomic per `event` entry of
// GORT_STATS_LIST (runtime/statslist.h), bumped where the event happens;
// readStats (stats.cpp) adds the `state` entries, read off the scheduler.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/statslist.h"

namespace gort {

// NOLINTNEXTLINE(bugprone-macro-parentheses): camel is a member name
#define GORT_STATS_EVENT_event(camel) std::atomic<uint64_t> camel{0};
#define GORT_STATS_EVENT_state(camel)
#define GORT_STATS_FIELD(name, camel, kind) GORT_STATS_EVENT_##kind(camel)

struct Stats {
    GORT_STATS_LIST(GORT_STATS_FIELD)
    // Internal, for tests: exitsyscall found neither its P nor an idle one.
    std::atomic<uint64_t> exitsyscallSlow{0};
    // Internal, for tests: a thief's claim of a P in Psyscall found its M
    // coming back (syscall.cpp).
    std::atomic<uint64_t> retakeBackoffs{0};

    void reset();
};

#undef GORT_STATS_FIELD

Stats& stats();

}  // namespace gort
