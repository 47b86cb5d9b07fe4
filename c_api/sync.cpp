// The C ABI: WaitGroup and Mutex, on runtime/sync.h.
#include "runtime/sync.h"
#include "capi.h"
#include "handles.h"

using namespace gort;
using capi::Kind;
using capi::Ref;

extern "C" {

GORT_API gort_waitgroup* gort_waitgroup_make(void) {
    if (!initialized()) return static_cast<gort_waitgroup*>(capi::ctorFail(kENOTINIT));
    void* h = capi::newHandle<WaitGroup>(Kind::waitgroup);
    return static_cast<gort_waitgroup*>(h != nullptr ? h : capi::ctorFail(kENOMEM));
}

GORT_API int gort_waitgroup_add(gort_waitgroup* h, int64_t delta) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<WaitGroup> wg(h, Kind::waitgroup);
    if (!wg || delta > INT32_MAX || delta < INT32_MIN) return GORT_EINVAL;
    return wg->add(delta);
}

GORT_API int gort_waitgroup_done(gort_waitgroup* h) {
    return gort_waitgroup_add(h, -1);
}

GORT_API int gort_waitgroup_wait(gort_waitgroup* h) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<WaitGroup> wg(h, Kind::waitgroup);
    if (!wg) return GORT_EINVAL;
    return capi::inGoroutine([&] {
        wg->wait();
        return int(kOK);
    });
}

GORT_API int gort_waitgroup_release(gort_waitgroup* h) {
    return capi::handleClose(h, Kind::waitgroup) == 0 ? GORT_OK : GORT_EINVAL;
}

GORT_API gort_mutex* gort_mutex_make(void) {
    if (!initialized()) return static_cast<gort_mutex*>(capi::ctorFail(kENOTINIT));
    void* h = capi::newHandle<GoMutex>(Kind::mutex);
    return static_cast<gort_mutex*>(h != nullptr ? h : capi::ctorFail(kENOMEM));
}

GORT_API int gort_mutex_lock(gort_mutex* h) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<GoMutex> mu(h, Kind::mutex);
    if (!mu) return GORT_EINVAL;
    if (mu->tryLock()) return GORT_OK;
    return capi::inGoroutine([&] {
        mu->lock();
        return int(kOK);
    });
}

GORT_API int gort_mutex_unlock(gort_mutex* h) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<GoMutex> mu(h, Kind::mutex);
    if (!mu) return GORT_EINVAL;
    return mu->unlock();
}

GORT_API int gort_mutex_release(gort_mutex* h) {
    return capi::handleClose(h, Kind::mutex) == 0 ? GORT_OK : GORT_EINVAL;
}

}  // extern "C"
