// The C ABI: cgocall, callbacks, the thread-start hook, fork/exec.
#include "bridge/fork_exec.h"
#include "capi.h"
#include "runtime/cgo.h"

using namespace gort;

namespace gort::capi {
extern gort_thread_start_fn userThreadStart;
}

extern "C" {

GORT_API int gort_cgocall(gort_fn fn, void* arg) {
    if (fn == nullptr) return GORT_EINVAL;
    if (!initialized()) return GORT_ENOTINIT;
    return gort::cgocall(fn, arg);
}

GORT_API int gort_callback(gort_fn fn, void* arg) {
    if (fn == nullptr) return GORT_EINVAL;
    if (!initialized()) return GORT_ENOTINIT;
    return gort::callback(fn, arg);
}

GORT_API int gort_set_thread_start(gort_thread_start_fn fn) {
    if (initialized()) return GORT_EBUSY;
    capi::userThreadStart = fn;
    return GORT_OK;
}

GORT_API int gort_fork_exec(const char* path, char* const argv[], char* const envp[], pid_t* pid) {
    if (path == nullptr || argv == nullptr || pid == nullptr) return GORT_EINVAL;
    if (!initialized()) return GORT_ENOTINIT;
    int err = bridge::forkExec(path, argv, envp, pid);
    if (err == 0) return GORT_OK;
    errno = err;
    return err == ENOMEM ? GORT_ENOMEM : err == EAGAIN ? GORT_EAGAIN : GORT_EINVAL;
}

}  // extern "C"
