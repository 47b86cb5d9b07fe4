// W11 mutex on the internal C++ API (impl gortcxx-P<N>; w11_mutex.c is the
// C ABI's row): G goroutines each lock one gort::GoMutex, increment a shared
// counter and unlock, N/G times. Checks the count; reports ns per
// lock/unlock pair.
// Usage: GOMAXPROCS=<n> w11_mutex_cxx [N] [G]   (default 4000000 increments, 100 goroutines)
#include "bench/common.h"
#include "runtime/sync.h"

namespace {

struct Run {
    long per;
    long count = 0;
    gort::GoMutex mu;
    gort::WaitGroup wg;
};

void locker(void* arg) {
    auto* r = static_cast<Run*>(arg);
    for (long j = 0; j < r->per; j++) {
        r->mu.lock();
        r->count++;
        if (r->mu.unlock() != gort::kOK) {
            fprintf(stderr, "w11_mutex_cxx: unlock failed\n");
            exit(1);
        }
    }
    r->wg.done();
}

double run(long n, long g, long* countOut) {
    Run r;
    r.per = n / g;
    r.wg.add(g);
    double t0 = bench::nowNs();
    for (long i = 0; i < g; i++) {
        if (gort::go(locker, &r) != gort::kOK) {
            fprintf(stderr, "w11_mutex_cxx: go failed\n");
            exit(1);
        }
    }
    r.wg.wait();
    double d = bench::nowNs() - t0;
    *countOut = r.count;
    return d;
}

}  // namespace

int main(int argc, char** argv) {
    long n = bench::argOr(argc, argv, 1, 4000000);
    long g = bench::argOr(argc, argv, 2, 100);
    int procs = bench::procsFromEnv();
    if (g < 1 || n < 10 * g) {
        fprintf(stderr, "w11_mutex_cxx: want G >= 1 and N >= 10 * G\n");
        return 2;
    }
    bench::start(procs);
    double d = 0;
    long count = 0;
    bench::runMain([&] {
        run(n / 10, g, &count);  // warm-up
        d = run(n, g, &count);
    });
    if (count != n / g * g) {
        fprintf(stderr, "W11: wrong count\n");
        return 1;
    }
    printf("W11-mutex %s %.1f ns/lock\n", bench::impl(procs).c_str(), d / double(count));
    bench::stop();
}
