#include "runtime/procfence.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/base.h"

namespace gort {

namespace {

bool registerMembarrier() {
#if defined(GORT_TSAN)
    return false;
#else
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

}  // namespace

namespace detail {

constinit std::atomic<int8_t> fenceState{0};

bool processFenceInit() {
    static const bool on = registerMembarrier();  // once, whoever asks first
    fenceState.store(on ? 1 : -1, std::memory_order_relaxed);
    return on;
}

}  // namespace detail

void processFence() {
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        fatal("membarrier failed after it was registered");
    }
}

}  // namespace gort
