// The C ABI: WaitGroup and Mutex, on runtime/sync.h. What never waits (add,
// done, the uncontended lock and unlock, a wait for a zero counter) runs in
// an op region from goroutine code (handles.h: Unref; the mutex's lock and
// unlock open theirs at entry, kAtEntry, which stands for the call gate
// too, and there a mutex biased to the caller's P needs no locked
// instruction: runtime/sync.cpp); the rest holds a reference.
#include "runtime/sync.h"
#include "capi.h"
#include "handles.h"

using namespace gort;
using capi::Kind;
using capi::Ref;
using capi::Unref;

namespace {

int addTo(WaitGroup* wg, int64_t delta) {
    if (wg == nullptr || delta > INT32_MAX || delta < INT32_MIN) return GORT_EINVAL;
    return wg->add(delta);  // wakes waiters, never waits
}

// lockSlow and unlockSlow are gort_mutex_lock_timeout's and
// gort_mutex_unlock's general paths: a caller without a P (a plain thread,
// C code a goroutine called), a lock to wait for, waiters to wake.
GORT_NOINLINE int lockSlow(gort_mutex* h, int64_t timeout_ns) {
    capi::Call call;
    if (!call) return call.status();
    Ref<GoMutex> mu(h, Kind::mutex);
    if (!mu) return GORT_EINVAL;
    // Another P's bias goes first; a signal handler that interrupted an op
    // region on this thread would wait for itself.
    if (!mu->revokeBias()) return GORT_EDEADLK;
    if (mu->tryLock()) return GORT_OK;
    if (timeout_ns == 0) return GORT_ETIMEDOUT;
    int64_t deadline = capi::timeoutDeadline(timeout_ns);
    return capi::inGoroutine([&] { return mu->lockUntil(deadline) ? int(kOK) : int(kETIMEDOUT); });
}

GORT_NOINLINE int unlockSlow(gort_mutex* h) {
    capi::Call call;
    if (!call) return call.status();
    // Waiters to wake, or a hand-off to a starving one (which switches).
    Ref<GoMutex> mu(h, Kind::mutex);
    if (!mu) return GORT_EINVAL;
    if (!mu->revokeBias()) return GORT_EDEADLK;
    return mu->unlock();
}

}  // namespace

extern "C" {

GORT_API gort_waitgroup* gort_waitgroup_make(void) {
    capi::Call call;
    if (!call) return static_cast<gort_waitgroup*>(capi::ctorFail(call.status()));
    void* h = capi::newHandle<WaitGroup>(Kind::waitgroup);
    return static_cast<gort_waitgroup*>(h != nullptr ? h : capi::ctorFail(kENOMEM));
}

GORT_API int gort_waitgroup_add(gort_waitgroup* h, int64_t delta) {
    capi::Call call;
    if (!call) return call.status();
    if (Unref r; r) return addTo(r.find<WaitGroup>(h, Kind::waitgroup), delta);
    Ref<WaitGroup> wg(h, Kind::waitgroup);
    return addTo(wg.get(), delta);
}

GORT_API int gort_waitgroup_done(gort_waitgroup* h) {
    return gort_waitgroup_add(h, -1);
}

GORT_API int gort_waitgroup_wait(gort_waitgroup* h) {
    return gort_waitgroup_wait_timeout(h, -1);
}

GORT_API int gort_waitgroup_wait_timeout(gort_waitgroup* h, int64_t timeout_ns) {
    capi::Call call;
    if (!call) return call.status();
    if (Unref r; r) {
        auto* wg = r.find<WaitGroup>(h, Kind::waitgroup);
        if (wg == nullptr) return GORT_EINVAL;
        if (wg->count() == 0) return GORT_OK;
        if (timeout_ns == 0) return GORT_ETIMEDOUT;
    }
    Ref<WaitGroup> wg(h, Kind::waitgroup);
    if (!wg) return GORT_EINVAL;
    if (wg->count() == 0) return GORT_OK;
    if (timeout_ns == 0) return GORT_ETIMEDOUT;
    int64_t deadline = capi::timeoutDeadline(timeout_ns);
    return capi::inGoroutine([&] { return wg->waitUntil(deadline); });
}

GORT_API int gort_waitgroup_retain(gort_waitgroup* h) {
    capi::Call call;
    if (!call) return call.status();
    return capi::handleRetain(h, Kind::waitgroup) == 0 ? GORT_OK : GORT_EINVAL;
}

GORT_API int gort_waitgroup_release(gort_waitgroup* h) {
    capi::Call call;
    if (!call) return call.status();
    return capi::handleClose(h, Kind::waitgroup) == 0 ? GORT_OK : GORT_EINVAL;
}

GORT_API gort_mutex* gort_mutex_make(void) {
    capi::Call call;
    if (!call) return static_cast<gort_mutex*>(capi::ctorFail(call.status()));
    void* h = capi::newHandle<GoMutex>(Kind::mutex);
    return static_cast<gort_mutex*>(h != nullptr ? h : capi::ctorFail(kENOMEM));
}

GORT_API int gort_mutex_lock(gort_mutex* h) {
    return gort_mutex_lock_timeout(h, -1);
}

GORT_API int gort_mutex_lock_timeout(gort_mutex* h, int64_t timeout_ns) {
    // Goroutine code holding a P: the gate and the region in one look at
    // the thread's M (kAtEntry), and nothing else when the lock is free.
    if (Unref r(capi::kAtEntry); r) {
        auto* mu = r.find<GoMutex>(h, Kind::mutex);
        if (mu == nullptr) return GORT_EINVAL;
        if (mu->tryLockInRegion(r.word())) return GORT_OK;
        // Held: exact unless the bias is another P's (then revoke first).
        if (timeout_ns == 0 && (!mu->biased() || mu->biasedTo(r.word()))) return GORT_ETIMEDOUT;
    }
    return lockSlow(h, timeout_ns);
}

GORT_API int gort_mutex_unlock(gort_mutex* h) {
    if (Unref r(capi::kAtEntry); r) {
        auto* mu = r.find<GoMutex>(h, Kind::mutex);
        if (mu == nullptr) return GORT_EINVAL;
        if (mu->tryUnlockInRegion(r.word())) return GORT_OK;
    }
    return unlockSlow(h);
}

GORT_API int gort_mutex_retain(gort_mutex* h) {
    capi::Call call;
    if (!call) return call.status();
    return capi::handleRetain(h, Kind::mutex) == 0 ? GORT_OK : GORT_EINVAL;
}

GORT_API int gort_mutex_release(gort_mutex* h) {
    capi::Call call;
    if (!call) return call.status();
    return capi::handleClose(h, Kind::mutex) == 0 ? GORT_OK : GORT_EINVAL;
}

}  // extern "C"
