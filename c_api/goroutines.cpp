// The C ABI: goroutines, LockOSThread, GOMAXPROCS.
#include "capi.h"
#include "runtime/limits.h"

using namespace gort;

namespace {

constexpr size_t kGoOptsV1 = offsetof(gort_go_opts, name) + sizeof(const char*);
constexpr uint32_t kGoFlags = GORT_GO_RESUME_AFFINITY;

// goOptions converts and checks gort_go_opts.
int goOptions(const gort_go_opts* o, GoOptions* opts) {
    if (o == nullptr) return GORT_OK;
    if (!capi::structOK(o, kGoOptsV1) || o->stack_size > kMaxStackSize) return GORT_EINVAL;
    opts->stackSize = o->stack_size;
    opts->name = o->name;
    if (o->struct_size >= offsetof(gort_go_opts, hook_arg) + sizeof(void*)) {
        if ((o->flags & ~kGoFlags) != 0) return GORT_EINVAL;
        opts->resumeAffinity = (o->flags & GORT_GO_RESUME_AFFINITY) != 0;
        opts->onPark = o->on_park;
        opts->onResume = o->on_resume;
        opts->hookArg = o->hook_arg;
    }
    return GORT_OK;
}

}  // namespace

extern "C" {

GORT_API int gort_go(gort_fn fn, void* arg) {
    if (fn == nullptr) return GORT_EINVAL;
    capi::Call call;
    if (!call) return call.status();
    return go(fn, arg);
}

GORT_API int gort_go_ex(const gort_go_opts* o, gort_fn fn, void* arg, int64_t* goid_out) {
    if (fn == nullptr) return GORT_EINVAL;
    GoOptions opts;
    if (int rc = goOptions(o, &opts); rc != GORT_OK) return rc;
    capi::Call call;
    if (!call) return call.status();
    return go(fn, arg, opts, goid_out);
}

GORT_API int64_t gort_goid(void) {
    return goid();
}

GORT_API int gort_gosched(void) {
    return goschedEntry();  // a tail call: see runtime.h
}

GORT_API int gort_sleep(int64_t ns) {
    capi::Call call;
    if (!call) return call.status();
    if (ns <= 0) return GORT_OK;
    return capi::inGoroutine([ns] {
        sleep(ns);
        return int(kOK);
    });
}

GORT_API int gort_run_main(gort_fn fn, void* arg) {
    if (fn == nullptr) return GORT_EINVAL;
    capi::Call call;
    if (!call) return call.status();
    if (onGoroutine()) return GORT_EDEADLK;  // it would wait for itself
    RunOpts o;
    o.main = true;
    return runOnThisThread(fn, arg, o);
}

GORT_API int gort_lock_os_thread(void) {
    capi::Call call;
    if (!call) return call.status();
    return capi::inGoroutine([] { return lockOSThread(); });
}

GORT_API int gort_unlock_os_thread(void) {
    capi::Call call;
    if (!call) return call.status();
    return capi::inGoroutine([] { return unlockOSThread(); });
}

GORT_API int gort_gomaxprocs(int n) {
    capi::Call call;
    if (!call) return call.status();
    if (n > kMaxProcs) return GORT_EINVAL;
    return gomaxprocs(n);
}

GORT_API int gort_num_goroutine(void) {
    capi::Call call;
    if (!call) return call.status();
    return int(numGoroutine());
}

}  // extern "C"
