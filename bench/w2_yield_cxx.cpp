// W2 yield on the internal C++ API (impl gortcxx-P<N>; w2_yield.c is the C
// ABI's row): two goroutines each call gosched N/2 times while the other is
// runnable, so every yield is a switch to the other. Run with GOMAXPROCS=1.
// Reports ns per yield, like ../shared/anchors/go/w2_yield.go.
// Usage: GOMAXPROCS=1 w2_yield_cxx [N]   (default 10000000)
#include "bench/common.h"
#include "runtime/sync.h"

namespace {

struct Run {
    long n;
    gort::WaitGroup wg;
};

void worker(void* arg) {
    auto* r = static_cast<Run*>(arg);
    for (long i = 0; i < r->n / 2; i++) gort::gosched();
    r->wg.done();
}

double run(long n) {
    Run r;
    r.n = n;
    r.wg.add(2);
    double t0 = bench::nowNs();
    gort::go(worker, &r);
    gort::go(worker, &r);
    r.wg.wait();
    return bench::nowNs() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    return bench::runWorkload(argc, argv, 10000000, "W2-yield", "ns/yield", run);
}
