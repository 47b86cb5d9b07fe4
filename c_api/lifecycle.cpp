// The C ABI: version, errors, init and shutdown, statistics, tracing and
// dumps.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <atomic>

#include <cstddef>

#include "bridge/thread_start.h"
#include "capi.h"
#include "handles.h"
#include "runtime/limits.h"
#include "runtime/observe.h"
#include "runtime/runtime.h"

using namespace gort;

namespace gort::capi {

// The options of a trace of path, from the environment (trace_api.cpp).
TraceOptions traceOptions(const char* path);

// The hook gort_set_thread_start installed (null: the default).
std::atomic<gort_thread_start_fn> userThreadStart{nullptr};

int64_t timeoutDeadline(int64_t timeoutNs) {
    if (timeoutNs < 0) return -1;
    int64_t now = nanotime();
    return timeoutNs > INT64_MAX - now ? INT64_MAX : now + timeoutNs;
}

}  // namespace gort::capi

namespace {

constexpr size_t kConfigV1 = offsetof(gort_config, trace_path) + sizeof(const char*);
constexpr size_t kStatsV1 = offsetof(gort_stats, steals) + sizeof(uint64_t);
constexpr uint32_t kConfigFlags = GORT_CONFIG_QUIET_STALLS | GORT_CONFIG_ABORT_ON_DEADLOCK;

static_assert(sizeof(gort_thread_start) == sizeof(ThreadStart) &&
                  offsetof(gort_thread_start, fn) == offsetof(ThreadStart, fn) &&
                  offsetof(gort_thread_start, arg) == offsetof(ThreadStart, arg) &&
                  offsetof(gort_thread_start, stack_size) == offsetof(ThreadStart, stackSize),
              "gort_thread_start is the runtime's ThreadStart");

// gort_stats has one uint64_t per GORT_STATS_LIST entry, in its order.
enum StatsIndex : size_t {
#define GORT_STATS_FIELD(name, camel, kind) kStat_##name,
    GORT_STATS_LIST(GORT_STATS_FIELD)
#undef GORT_STATS_FIELD
        kNumStats
};
#define GORT_STATS_FIELD(name, camel, kind)                                                    \
    static_assert(offsetof(gort_stats, name) ==                                                \
                      offsetof(gort_stats, goroutines_live) + kStat_##name * sizeof(uint64_t), \
                  "gort_stats." #name " is in GORT_STATS_LIST's place");
GORT_STATS_LIST(GORT_STATS_FIELD)
#undef GORT_STATS_FIELD
static_assert(sizeof(gort_stats) ==
                  offsetof(gort_stats, goroutines_live) + kNumStats * sizeof(uint64_t),
              "every gort_stats counter is in GORT_STATS_LIST");

const char* const kStatsNames[] = {
#define GORT_STATS_FIELD(name, camel, kind) #name,
    GORT_STATS_LIST(GORT_STATS_FIELD)
#undef GORT_STATS_FIELD
        nullptr};

// configError reports a bad configuration value.
int configError(const char* what, const char* value, const char* want) {
    fprintf(stderr, "gort: gort_init: %s=%s: %s\n", what, value, want);
    return GORT_EINVAL;
}

// envInt reads an integer environment variable into *out when the field is
// unset (*out == 0). GORT_OK, or GORT_EINVAL (with a message) when it is not
// an integer in [lo, hi].
int envInt(const char* name, long lo, long hi, const char* want, int32_t* out) {
    if (*out != 0) return GORT_OK;  // an explicit field wins
    const char* s = getenv(name);
    if (s == nullptr || *s == 0) return GORT_OK;
    char* end = nullptr;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != 0 || v < lo || v > hi) return configError(name, s, want);
    *out = int32_t(v);
    return GORT_OK;
}

// fieldInRange checks an explicit field.
int fieldInRange(const char* name, long v, long lo, long hi, const char* want) {
    if (v >= lo && v <= hi) return GORT_OK;
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    return configError(name, buf, want);
}

// resolveConfig turns the caller's configuration (or the defaults) into the
// runtime's, reading the environment for fields left 0.
int resolveConfig(const gort_config* in, Config* rc) {
    gort_config cfg;
    gort_config_init(&cfg);
    if (in != nullptr) {
        if (!capi::structOK(in, kConfigV1)) return GORT_EINVAL;
        memcpy(&cfg, in, in->struct_size < sizeof cfg ? in->struct_size : sizeof cfg);
        cfg.struct_size = sizeof cfg;
    }
    int rc2 = GORT_OK;
    auto check = [&rc2](int r) {
        if (rc2 == GORT_OK) rc2 = r;
    };
    check(fieldInRange("maxprocs", cfg.maxprocs, 0, kMaxProcs, "want 0 or 1..1024"));
    check(fieldInRange("cgo", cfg.cgo, 0, 1, "want 0 or 1"));
    check(fieldInRange("schedtrace_ms", cfg.schedtrace_ms, 0, INT32_MAX, "want >= 0"));
    check(
        fieldInRange("max_lent_procs", cfg.max_lent_procs, -1, kMaxProcs, "want -1, 0 or 1..1024"));
    check(fieldInRange("scheddetail", cfg.scheddetail, 0, 1, "want 0 or 1"));
    if (cfg.stack_size != 0 && (cfg.stack_size < kMinStackSize || cfg.stack_size > kMaxStackSize)) {
        check(fieldInRange("stack_size", long(cfg.stack_size), long(kMinStackSize),
                           long(kMaxStackSize), "want 0 or 16384..1073741824"));
    }
    if ((cfg.flags & ~kConfigFlags) != 0) check(configError("flags", "?", "unknown bits"));
    check(envInt("GORT_MAXPROCS", 1, kMaxProcs, "want an integer in 1..1024", &cfg.maxprocs));
    check(envInt("GORT_SCHEDTRACE", 0, INT32_MAX, "want milliseconds >= 0", &cfg.schedtrace_ms));
    check(envInt("GORT_SCHEDDETAIL", 0, 1, "want 0 or 1", &cfg.scheddetail));
    check(envInt("GORT_MAXLENT", -1, kMaxProcs, "want -1, 0 or 1..1024", &cfg.max_lent_procs));
    int32_t stallReport = 0;
    check(envInt("GORT_STALLREPORT", 0, 1, "want 0 or 1", &stallReport));
    if (const char* s = getenv("GORT_STALLREPORT"); s != nullptr && strcmp(s, "0") == 0) {
        cfg.flags |= GORT_CONFIG_QUIET_STALLS;
    }
    int32_t lendCPU = 0;
    check(envInt("GORT_LENDCPU", 0, 1, "want 0 or 1", &lendCPU));
    if (rc2 != GORT_OK) return rc2;
    rc->tracePath = cfg.trace_path;
    if (rc->tracePath == nullptr) {
        if (const char* t = getenv("GORT_TRACE"); t != nullptr && *t != 0) rc->tracePath = t;
    }
    rc->maxprocs = cfg.maxprocs;
    rc->stackSize = cfg.stack_size;
    rc->cgo = cfg.cgo != 0;
    rc->schedtraceMs = cfg.schedtrace_ms;
    rc->scheddetail = cfg.scheddetail != 0;
    rc->maxLentProcs = cfg.max_lent_procs;
    rc->quietStalls = (cfg.flags & GORT_CONFIG_QUIET_STALLS) != 0;
    rc->lendForCPU = lendCPU != 0;
    rc->abortOnDeadlock = (cfg.flags & GORT_CONFIG_ABORT_ON_DEADLOCK) != 0;
    return GORT_OK;
}

// atShutdown: the runtime is about to stop: free what users did not.
void atShutdown() {
    capi::handlesAtShutdown();
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
            return "busy: goroutines remain, or the thread-start hook is set after init";
        case GORT_ETIMEDOUT:
            return "timed out";
        case GORT_ENOTGOROUTINE:
            return "must be called from a goroutine";
        case GORT_ETHREAD:
            return "a thread could not be created";
        case GORT_ENOTSUP:
            return "not supported (in the child of a fork, or not in this build)";
        case GORT_EDEADLK:
            return "the call would wait for itself (shutdown or run_main from a goroutine)";
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
    if (forkedChild()) return GORT_ENOTSUP;
    Config rc;
    if (int r = resolveConfig(c, &rc); r != GORT_OK) return r;
    if (initialized()) return GORT_EALREADY;
    if (rc.cgo) {
        gort_thread_start_fn user = capi::userThreadStart.load(std::memory_order_acquire);
        rc.threadStart =
            user != nullptr ? reinterpret_cast<ThreadStartHook>(user) : bridge::defaultThreadStart;
        rc.threadStartEnds = user == nullptr;
    }
    rc.beforeTeardown = atShutdown;
    rc.afterTeardown = capi::handlesFreeIfUnused;  // under the runtime's lock: no init races it
    int r = init(rc);
    if (r == GORT_OK && rc.tracePath != nullptr) {
        if (int t = traceStart(capi::traceOptions(rc.tracePath)); t != GORT_OK) {
            fprintf(stderr, "gort: gort_init: trace_path=%s: %s\n", rc.tracePath,
                    t == GORT_EINVAL ? strerror(errno) : gort_strerror(t));
            shutdown(-1);
            return GORT_EINVAL;
        }
    }
    return r;
}

GORT_API int gort_shutdown(int64_t timeout_ns) {
    return shutdown(timeout_ns);
}

GORT_API int gort_get_stats(gort_stats* s, size_t size) {
    if (s == nullptr || size < kStatsV1) return GORT_EINVAL;
    capi::Call call;
    if (!call) return call.status();
    RuntimeStats r;
    readStats(&r);
    gort_stats out{};
    out.struct_size = uint32_t(size < sizeof out ? size : sizeof out);
    out.maxprocs = r.maxprocs;
#define GORT_STATS_FIELD(name, camel, kind) out.name = r.camel;
    GORT_STATS_LIST(GORT_STATS_FIELD)
#undef GORT_STATS_FIELD
    memcpy(s, &out, out.struct_size);
    return GORT_OK;
}

GORT_API const char* const* gort_stats_names(void) {
    return kStatsNames;
}

}  // extern "C"
