// Runtime counters. Each is a relaxed atomic bumped where the event happens;
// gort_get_stats and the tests read them.
#pragma once

#include <atomic>
#include <cstdint>

namespace gort {

struct Stats {
    std::atomic<uint64_t> msCreatedNative{0};   // Ms whose thread came from newosproc
    std::atomic<uint64_t> msCreatedHook{0};     // Ms whose thread came from the start hook
    std::atomic<uint64_t> templateHandoffs{0};  // of those, created by the template thread
    std::atomic<uint64_t> msExitedLocked{0};    // Ms that exited with their locked G
    std::atomic<uint64_t> threadCreateFailures{0};
    std::atomic<uint64_t> threadCreateRetries{0};
    std::atomic<uint64_t> foreignThreadsBound{0};
    std::atomic<uint64_t> pRetakes{0};
    std::atomic<uint64_t> handoffs{0};
    std::atomic<uint64_t> steals{0};
    std::atomic<uint64_t> exitsyscallFast{0};
    std::atomic<uint64_t> exitsyscallSlow{0};

    void reset();
};

Stats& stats();

}  // namespace gort
