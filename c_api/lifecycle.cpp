// The C ABI: version, errors, init and shutdown, statistics.
#include <stdio.h>
#include <stdlib.h>

#include <cstddef>

#include "bridge/thread_start.h"
#include "capi.h"
#include "handles.h"
#include "runtime/runtime.h"

using namespace gort;

namespace gort::capi {
// The hook gort_set_thread_start installed (null: the default).
gort_thread_start_fn userThreadStart = nullptr;
}  // namespace gort::capi

namespace {

constexpr size_t kConfigV1 = offsetof(gort_config, trace_path) + sizeof(const char*);
constexpr size_t kStatsV1 = offsetof(gort_stats, steals) + sizeof(uint64_t);

static_assert(sizeof(gort_thread_start) == sizeof(ThreadStart) &&
                  offsetof(gort_thread_start, fn) == offsetof(ThreadStart, fn) &&
                  offsetof(gort_thread_start, arg) == offsetof(ThreadStart, arg) &&
                  offsetof(gort_thread_start, stack_size) == offsetof(ThreadStart, stackSize),
              "gort_thread_start is the runtime's ThreadStart");

int envInt(const char* name, int dflt) {
    const char* s = getenv(name);
    if (s == nullptr || *s == 0) return dflt;
    char* end = nullptr;
    long v = strtol(s, &end, 10);
    if (*end != 0 || v < 0 || v > 1 << 20) {
        fprintf(stderr, "gort: ignoring %s=%s (not a non-negative integer)\n", name, s);
        return dflt;
    }
    return int(v);
}

}  // namespace

extern "C" {

GORT_API int gort_version(void) {
    return GORT_VERSION;
}

GORT_API const char* gort_strerror(int err) {
    switch (err) {
        case GORT_OK:
            return "success";
        case GORT_EINVAL:
            return "invalid argument";
        case GORT_ENOTINIT:
            return "the gort runtime is not initialised";
        case GORT_EALREADY:
            return "the gort runtime is already initialised";
        case GORT_ENOMEM:
            return "out of memory";
        case GORT_EAGAIN:
            return "the operation would block";
        case GORT_ECLOSED:
            return "the channel is closed";
        case GORT_EOVERFLOW:
            return "a counter would overflow (LockOSThread nesting)";
        case GORT_EBUSY:
            return "busy: goroutines remain, or not allowed at this moment";
        case GORT_ETIMEDOUT:
            return "timed out";
        case GORT_ENOTGOROUTINE:
            return "must be called from a goroutine";
        case GORT_ETHREAD:
            return "a thread could not be created";
        case GORT_ENOTSUP:
            return "not supported";
        default:
            return "unknown gort status code";
    }
}

GORT_API void gort_config_init(gort_config* c) {
    if (c == nullptr) return;
    *c = gort_config{};
    c->struct_size = sizeof(gort_config);
    c->cgo = 1;
}

GORT_API int gort_init(const gort_config* c) {
    gort_config cfg;
    gort_config_init(&cfg);
    if (c == nullptr) {
        cfg.maxprocs = envInt("GORT_MAXPROCS", 0);
        cfg.schedtrace_ms = envInt("GORT_SCHEDTRACE", 0);
        if (const char* t = getenv("GORT_TRACE"); t != nullptr && *t != 0) {
            fprintf(stderr, "gort: GORT_TRACE: tracing is not supported yet; ignored\n");
        }
    } else {
        if (!capi::structOK(c, kConfigV1)) return GORT_EINVAL;
        if (c->maxprocs < 0 || c->maxprocs > 1024 || c->schedtrace_ms < 0 ||
            (c->cgo != 0 && c->cgo != 1) || c->stack_size > (size_t(1) << 30)) {
            return GORT_EINVAL;
        }
        if (c->trace_path != nullptr) return GORT_ENOTSUP;
        cfg = *c;
        cfg.struct_size = sizeof(gort_config);
    }
    if (initialized()) return GORT_EALREADY;
    if (cfg.cgo) {
        if (capi::userThreadStart != nullptr) {
            setThreadStartHook(reinterpret_cast<ThreadStartHook>(capi::userThreadStart), false);
        } else {
            bridge::useDefaultThreadStart();
        }
    }
    Config rc;
    rc.maxprocs = cfg.maxprocs;
    rc.stackSize = cfg.stack_size;
    rc.cgo = cfg.cgo != 0;
    rc.schedtraceMs = cfg.schedtrace_ms;
    return init(rc);
}

GORT_API int gort_shutdown(int64_t timeout_ns) {
    int rc = shutdown(timeout_ns);
    if (rc == kOK) capi::handlesFreeIfUnused();
    return rc;
}

GORT_API int gort_get_stats(gort_stats* s, size_t size) {
    if (s == nullptr || size < kStatsV1) return GORT_EINVAL;
    if (!initialized()) return GORT_ENOTINIT;
    RuntimeStats r;
    readStats(&r);
    gort_stats out{};
    out.struct_size = uint32_t(size < sizeof out ? size : sizeof out);
    out.maxprocs = r.maxprocs;
    out.goroutines_live = r.goroutinesLive;
    out.goroutines_created = r.goroutinesCreated;
    out.ms_total = r.msTotal;
    out.ms_idle = r.msIdle;
    out.ms_created_native = r.msCreatedNative;
    out.ms_created_hook = r.msCreatedHook;
    out.template_handoffs = r.templateHandoffs;
    out.ms_exited_locked = r.msExitedLocked;
    out.thread_create_failures = r.threadCreateFailures;
    out.cgocalls = r.cgocalls;
    out.callbacks = r.callbacks;
    out.foreign_threads_bound = r.foreignThreadsBound;
    out.extra_ms_in_use = r.extraMsInUse;
    out.p_retakes = r.pRetakes;
    out.steals = r.steals;
    out.thread_create_retries = r.threadCreateRetries;
    out.extra_ms_pooled = r.extraMsPooled;
    out.handoffs = r.handoffs;
    memcpy(s, &out, out.struct_size);
    return GORT_OK;
}

}  // extern "C"
