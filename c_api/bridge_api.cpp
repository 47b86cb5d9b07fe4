// The C ABI: cgocall, blocking regions, callbacks, the thread-start hook,
// fork/exec.
#include <atomic>

#include "bridge/fork_exec.h"
#include "capi.h"
#include "runtime/cgo.h"

using namespace gort;

namespace gort::capi {
extern std::atomic<gort_thread_start_fn> userThreadStart;
}

extern "C" {

GORT_API int gort_cgocall(gort_fn fn, void* arg) {
    return gort::cgocallEntry(fn, arg);  // a tail call: see cgo.h
}

GORT_API int gort_blocking_begin(void) {
    return blockingBeginEntry();
}

GORT_API int gort_blocking_end(void) {
    return blockingEndEntry();
}

GORT_API int gort_blocking_end_try(void) {
    capi::Call call;
    if (!call) return call.status();
    return blockingEndTry();
}

GORT_API int gort_callback(gort_fn fn, void* arg) {
    if (fn == nullptr) return GORT_EINVAL;
    capi::Call call;
    if (!call) return call.status();
    return gort::callback(fn, arg);
}

GORT_API int gort_set_thread_start(gort_thread_start_fn fn) {
    if (forkedChild()) return GORT_ENOTSUP;
    if (initialized()) return GORT_EBUSY;
    capi::userThreadStart.store(fn, std::memory_order_release);
    return GORT_OK;
}

GORT_API int gort_fork_exec(const char* path, char* const argv[], char* const envp[], pid_t* pid) {
    if (path == nullptr || argv == nullptr || pid == nullptr) return GORT_EINVAL;
    capi::Call call;
    if (!call) return call.status();
    int err = bridge::forkExec(path, argv, envp, pid);
    if (err == 0) return GORT_OK;
    errno = err;
    return err == ENOMEM ? GORT_ENOMEM : err == EAGAIN ? GORT_EAGAIN : GORT_EINVAL;
}

}  // extern "C"
