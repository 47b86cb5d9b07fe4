// Shared helpers for gort's benchmark programs. Each program prints
// `workload impl value unit` lines, the format of ../shared/anchors/run.sh,
// with impl gort-P<N> (N = GOMAXPROCS, from $GOMAXPROCS, default 1).
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <string>

#include "runtime/runtime.h"
#include "runtime/sema.h"

namespace bench {

inline double nowNs() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

inline long argOr(int argc, char** argv, int i, long dflt) {
    return argc > i ? atol(argv[i]) : dflt;
}

inline int procsFromEnv() {
    const char* s = getenv("GOMAXPROCS");
    int n = s != nullptr ? atoi(s) : 1;
    return n > 0 ? n : 1;
}

inline std::string impl(int procs, const char* prefix = "gort") {
    return std::string(prefix) + "-P" + std::to_string(procs);
}

// start initialises the runtime with $GOMAXPROCS Ps (cgo mode with the
// default hook when cgo is set); exits on failure.
void start(int procs, bool cgo = false);
void stop();

// runMain runs f as an ordinary goroutine (not locked to a thread, like
// Go's main goroutine) and waits for it on this thread.
template <class F>
void runMain(F f) {
    struct Ctx {
        explicit Ctx(F* fn) : f(fn) {}
        F* f;
        gort::Sema done;
    } ctx(&f);
    gort::go(
        [](void* a) {
            auto* c = static_cast<Ctx*>(a);
            (*c->f)();
            c->done.release();
        },
        &ctx);
    ctx.done.acquire();
}

// runWorkload is the main() of a benchmark whose run(n) returns the
// nanoseconds n units took: it starts the runtime with $GOMAXPROCS Ps, runs
// n/10 units as a warm-up and then n units on an ordinary goroutine, and
// prints `workload gort-P<N> <ns per unit> unit`.
template <class F>
int runWorkload(int argc, char** argv, long defaultN, const char* workload, const char* unit,
                F run) {
    long n = argOr(argc, argv, 1, defaultN);
    int procs = procsFromEnv();
    start(procs);
    double d = 0;
    runMain([&] {
        run(n / 10);
        d = run(n);
    });
    printf("%s %s %.1f %s\n", workload, impl(procs).c_str(), d / double(n), unit);
    stop();
    return 0;
}

// statusKB reads a "Name:   N kB" field of /proc/self/status, in bytes.
inline long procStatusBytes(const char* field) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (f != nullptr && fgets(line, sizeof line, f) != nullptr) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') kb = atol(line + n + 1);
    }
    if (f != nullptr) fclose(f);
    return kb * 1024;
}

}  // namespace bench
