// The C ABI of issue 15: the execution trace and goroutine dumps.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi.h"
#include "runtime/observe.h"
#include "runtime/runtime.h"

using namespace gort;

namespace gort::capi {

namespace {

// traceBufferBytes reads $GORT_TRACE_BUFFER (bytes, or with a K or M
// suffix); 0 (the default, 64 MiB) when unset or unreadable.
size_t traceBufferBytes() {
    const char* s = getenv("GORT_TRACE_BUFFER");
    if (s == nullptr || *s == 0) return 0;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s) return 0;
    if (*end == 'K' || *end == 'k') {
        v <<= 10;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v <<= 20;
        end++;
    }
    return *end == 0 ? size_t(v) : 0;
}

// traceClock reads $GORT_TRACE_CLOCK: "monotonic" stamps events with
// clock_gettime even where the TSC would do; anything else is automatic.
TraceClockChoice traceClock() {
    const char* s = getenv("GORT_TRACE_CLOCK");
    return s != nullptr && strcmp(s, "monotonic") == 0 ? TraceClockChoice::monotonic
                                                       : TraceClockChoice::automatic;
}

}  // namespace

TraceOptions traceOptions(const char* path) {
    TraceOptions o;
    o.path = path;
    o.bufferBytes = traceBufferBytes();
    o.clock = traceClock();
    return o;
}

}  // namespace gort::capi

extern "C" {

GORT_API int gort_trace_start(const char* path) {
    capi::Call call;
    if (!call) return call.status();
    if (path == nullptr || path[0] == 0) return GORT_EINVAL;
    return traceStart(capi::traceOptions(path));
}

GORT_API int gort_trace_stop(void) {
    capi::Call call;
    if (!call) return call.status();
    return traceStop();
}

GORT_API int gort_dump_goroutines(int fd) {
    capi::Call call;
    if (!call) return call.status();
    if (fd < 0 || fcntl(fd, F_GETFL) < 0) return GORT_EINVAL;
    dumpGoroutines(fd);
    return GORT_OK;
}

}  // extern "C"
