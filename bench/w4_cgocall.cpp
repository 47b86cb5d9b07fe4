// W4 cgocall: one goroutine calls an empty C function N times through
// cgocall (entersyscall, switch to the g0 stack, call, switch back,
// exitsyscall). Reports ns per call, like ../shared/anchors/go/w4_cgocall.go.
// Usage: GOMAXPROCS=1 w4_cgocall [N]   (default 10000000)
#include "bench/common.h"
#include "bridge/cgocall.h"

extern "C" void gort_bench_empty(void* arg);

namespace {

double run(long n) {
    double t0 = bench::nowNs();
    for (long i = 0; i < n; i++) gort::bridge::cgocall(gort_bench_empty, nullptr);
    return bench::nowNs() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    return bench::runWorkload(argc, argv, 10000000, "W4-cgocall", "ns/call", run);
}
