// The C ABI: goroutines, LockOSThread, GOMAXPROCS.
#include "capi.h"
#include "runtime/limits.h"

using namespace gort;

namespace {
constexpr size_t kGoOptsV1 = offsetof(gort_go_opts, name) + sizeof(const char*);
}

extern "C" {

GORT_API int gort_go(gort_fn fn, void* arg) {
    if (fn == nullptr) return GORT_EINVAL;
    if (!initialized()) return GORT_ENOTINIT;
    return go(fn, arg);
}

GORT_API int gort_go_ex(const gort_go_opts* o, gort_fn fn, void* arg, int64_t* goid_out) {
    if (fn == nullptr) return GORT_EINVAL;
    GoOptions opts;
    if (o != nullptr) {
        if (!capi::structOK(o, kGoOptsV1) || o->stack_size > kMaxStackSize) return GORT_EINVAL;
        opts.stackSize = o->stack_size;
        opts.name = o->name;
    }
    if (!initialized()) return GORT_ENOTINIT;
    return go(fn, arg, opts, goid_out);
}

GORT_API int64_t gort_goid(void) {
    return goid();
}

GORT_API int gort_gosched(void) {
    if (!initialized()) return GORT_ENOTINIT;
    gosched();
    return GORT_OK;
}

GORT_API int gort_sleep(int64_t ns) {
    if (!initialized()) return GORT_ENOTINIT;
    if (ns <= 0) return GORT_OK;
    return capi::inGoroutine([ns] {
        sleep(ns);
        return int(kOK);
    });
}

GORT_API int gort_run_main(gort_fn fn, void* arg) {
    if (fn == nullptr) return GORT_EINVAL;
    if (!initialized()) return GORT_ENOTINIT;
    if (onGoroutine()) return GORT_EBUSY;  // this thread is already running one
    RunOpts o;
    o.main = true;
    return runOnThisThread(fn, arg, o);
}

GORT_API int gort_lock_os_thread(void) {
    if (!initialized()) return GORT_ENOTINIT;
    return capi::inGoroutine([] { return lockOSThread(); });
}

GORT_API int gort_unlock_os_thread(void) {
    if (!initialized()) return GORT_ENOTINIT;
    return capi::inGoroutine([] { return unlockOSThread(); });
}

GORT_API int gort_gomaxprocs(int n) {
    if (!initialized()) return GORT_ENOTINIT;
    if (n > 1024) return GORT_EINVAL;
    return gomaxprocs(n);
}

GORT_API int gort_num_goroutine(void) {
    if (!initialized()) return GORT_ENOTINIT;
    return int(numGoroutine());
}

}  // extern "C"
