// W1 spawn on the internal C++ API (impl gortcxx-P<N>; w1_spawn.c is the C
// ABI's row): start N goroutines, each increments an atomic counter; the
// last one to finish wakes main. Reports ns per goroutine (spawn + run +
// exit), like ../shared/anchors/go/w1_spawn.go.
// Usage: GOMAXPROCS=<n> w1_spawn_cxx [N]   (default 1000000)
#include <atomic>

#include "bench/common.h"
#include "runtime/sema.h"

namespace {

struct Run {
    long n;
    std::atomic<long> count{0};
    gort::Sema done;
};

void body(void* arg) {
    auto* r = static_cast<Run*>(arg);
    if (r->count.fetch_add(1, std::memory_order_relaxed) + 1 == r->n) r->done.release();
}

double spawn(long n) {
    Run r;
    r.n = n;
    double t0 = bench::nowNs();
    for (long i = 0; i < n; i++) gort::go(body, &r);
    r.done.acquire();
    return bench::nowNs() - t0;
}

}  // namespace

int main(int argc, char** argv) {
    long n = bench::argOr(argc, argv, 1, 1000000);
    int procs = bench::procsFromEnv();
    bench::start(procs);
    double d = 0;
    bench::runMain([&] {
        spawn(n / 10);  // warm-up: fills the free-G and stack caches
        d = spawn(n);
    });
    printf("W1-spawn %s %.1f ns/goroutine\n", bench::impl(procs).c_str(), d / double(n));
    bench::stop();
}
