// Waiting: every blocking call of the module (channel operations, select,
// join, WaitGroup.wait, Mutex.lock, sleep) ends in waitSelect.
//
// * On a Python goroutine the select runs as it is, holding the GIL: if it
//   parks, the switch hooks release the GIL and take it back on resume
//   (goroutine.cpp). The select also waits on cancelChan, which the atexit
//   hook closes: the goroutine then gets GoroutineExit. Once exit has begun
//   a goroutine's waits raise GoroutineExit at once.
// * Off a goroutine (the main thread, a threading.Thread, a goroutine of C
//   code that called into Python) the GIL is released for the wait, which
//   enters goroutine context through the callback path (gort.h). The main
//   thread waits in slices of at most 50 ms and runs the signal handlers
//   between them, so Ctrl-C raises KeyboardInterrupt within 100 ms; nothing
//   has happened on a slice that timed out, so the select is simply made
//   again.
#include <time.h>

#include <algorithm>

#include "goroutine.h"

namespace gortpy {

namespace {

constexpr int64_t kSliceNs = 50'000'000;                // the main thread's signal checks
constexpr int64_t kForeverSliceNs = 3'600'000'000'000;  // an empty select off a goroutine

int64_t monotonicNs() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

int goroutineWait(GoCtx* g, gort_select_case* cases, size_t n, int64_t timeoutNs, size_t* chosen) {
    if (!checkCancel(g)) return kPyErr;
    cases[n] = gort_select_case{cancelChan, GORT_SELECT_RECV, noData, 0};
    int rc = parkable(g, [&] { return gort_select_timeout(cases, n + 1, timeoutNs, chosen); });
    if (rc == GORT_OK && *chosen == n) {
        PyErr_SetNone(GoroutineExit);
        return kPyErr;
    }
    return rc;
}

int threadWait(gort_select_case* cases, size_t n, int64_t timeoutNs, size_t* chosen) {
    bool main = _PyOS_IsMainThread();
    int64_t deadline = -1;
    if (timeoutNs >= 0) {
        int64_t t = monotonicNs();
        deadline = timeoutNs > INT64_MAX - t ? INT64_MAX : t + timeoutNs;
    }
    for (;;) {
        int64_t slice = deadline < 0 ? -1 : std::max<int64_t>(0, deadline - monotonicNs());
        if (main && (slice < 0 || slice > kSliceNs)) slice = kSliceNs;
        if (n == 0 && slice < 0) slice = kForeverSliceNs;  // select {} needs a timeout here
        int rc;
        Py_BEGIN_ALLOW_THREADS rc = gort_select_timeout(cases, n, slice, chosen);
        Py_END_ALLOW_THREADS if (rc != GORT_ETIMEDOUT) return rc;
        if (deadline >= 0 && monotonicNs() >= deadline) return GORT_ETIMEDOUT;
        if (main && PyErr_CheckSignals() < 0) return kPyErr;
    }
}

}  // namespace

int waitSelect(gort_select_case* cases, size_t n, int64_t timeoutNs, size_t* chosen) {
    bool ok;
    GoCtx* g = currentGoroutine(&ok);
    if (!ok) return kPyErr;
    return g != nullptr ? goroutineWait(g, cases, n, timeoutNs, chosen)
                        : threadWait(cases, n, timeoutNs, chosen);
}

int waitSleep(int64_t ns) {
    gort_select_case cancel[1];
    size_t chosen = 0;
    int rc = waitSelect(cancel, 0, ns, &chosen);
    return rc == GORT_ETIMEDOUT ? GORT_OK : rc;
}

bool checkCancel(GoCtx* g) {
    if (g != nullptr && exiting.load(std::memory_order_acquire)) {
        abandonIfExiting(g);
        PyErr_SetNone(GoroutineExit);
        return false;
    }
    return true;
}

}  // namespace gortpy
