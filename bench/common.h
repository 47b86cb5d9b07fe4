// Shared helpers for the benchmark programs on the runtime's internal C++
// API (the *_cxx programs; the others use gort.h, see gortbench.h). They
// print `workload impl value unit` lines, the format of
// ../shared/anchors/run.sh, with impl gortcxx-P<N> (N = GOMAXPROCS, from
// $GOMAXPROCS, default 1), so they sit beside the C ABI's gort-P<N> rows:
// the difference is what the C ABI costs. They may include only
// runtime/{runtime,chan,select,sync,sema}.h.
#pragma once

#include <stdio.h>
#include <stdlib.h>
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

inline std::string impl(int procs, const char* prefix = "gortcxx") {
    return std::string(prefix) + "-P" + std::to_string(procs);
}

// start initialises the runtime with procs Ps (native threads); exits on
// failure.
void start(int procs);
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
// prints `workload gortcxx-P<N> <ns per unit> unit`.
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

}  // namespace bench
