// W10 fan-out/fan-in on the internal C++ API (impl gortcxx-P<N>;
// w10_fanout.c is the C ABI's row, and says what the workload is). Checks
// the sum; reports ns per item.
// Usage: GOMAXPROCS=<n> w10_fanout_cxx [N] [W]   (default 1000000 items, 1000 workers)
#include <cstdint>

#include "bench/common.h"
#include "runtime/chan.h"
#include "runtime/sema.h"
#include "runtime/sync.h"

namespace {

uint64_t work(uint64_t v) {
    for (int i = 0; i < 64; i++) {
        v ^= v << 13;
        v ^= v >> 7;
        v ^= v << 17;
    }
    return v;
}

struct Fan {
    long n;
    gort::TypedChan<uint64_t> in{128}, out{128};
    gort::WaitGroup wg;
    gort::Sema closed;  // the closer has left out.close()
};

void check(int rc, const char* what) {
    if (rc != gort::kOK) {
        fprintf(stderr, "w10_fanout_cxx: %s failed (%d)\n", what, rc);
        exit(1);
    }
}

void worker(void* arg) {
    auto* f = static_cast<Fan*>(arg);
    uint64_t v;
    bool ok;
    while (f->in.recv(&v, &ok) == gort::kOK && ok) check(f->out.send(work(v)), "send");
    f->wg.done();
}

void producer(void* arg) {
    auto* f = static_cast<Fan*>(arg);
    for (long i = 0; i < f->n; i++) check(f->in.send(uint64_t(i + 1)), "send");
    check(f->in.close(), "close");
}

void closer(void* arg) {
    auto* f = static_cast<Fan*>(arg);
    f->wg.wait();
    check(f->out.close(), "close");
    f->closed.release();
}

double run(long n, long w, uint64_t* sumOut) {
    Fan f;
    f.n = n;
    if (!f.in.valid() || !f.out.valid()) check(gort::kENOMEM, "makechan");
    f.wg.add(w);
    double t0 = bench::nowNs();
    for (long i = 0; i < w; i++) check(gort::go(worker, &f), "go");
    check(gort::go(producer, &f), "go");
    check(gort::go(closer, &f), "go");
    uint64_t sum = 0, v;
    bool ok;
    while (f.out.recv(&v, &ok) == gort::kOK && ok) sum += v;
    double d = bench::nowNs() - t0;
    f.closed.acquire();  // the closer may still be inside out.close()
    *sumOut = sum;
    return d;
}

}  // namespace

int main(int argc, char** argv) {
    long n = bench::argOr(argc, argv, 1, 1000000);
    long w = bench::argOr(argc, argv, 2, 1000);
    int procs = bench::procsFromEnv();
    if (n < 10 || w < 1) {
        fprintf(stderr, "w10_fanout_cxx: want N >= 10 and W >= 1\n");
        return 2;
    }
    bench::start(procs);
    double d = 0;
    uint64_t sum = 0;
    bench::runMain([&] {
        run(n / 10, w, &sum);  // warm-up
        d = run(n, w, &sum);
    });
    uint64_t want = 0;
    for (long i = 0; i < n; i++) want += work(uint64_t(i + 1));
    if (sum != want) {
        fprintf(stderr, "W10: wrong sum\n");
        return 1;
    }
    printf("W10-fanout %s %.1f ns/item\n", bench::impl(procs).c_str(), d / double(n));
    bench::stop();
}
