// W7 memory: what a parked goroutine costs. N goroutines park (on a
// semaphore, as a goroutine blocked in a channel receive does); reports the
// growth of VmRSS plus VmPTE (page tables) per goroutine. Like
// ../shared/anchors/go/w7_memory.go, which counts VmRSS only; page tables
// are part of the cost of many mapped stacks, so gort counts them too.
// Usage: GOMAXPROCS=1 w7_memory [N]   (default 100000)
#include "bench/common.h"
#include "runtime/sema.h"
#include "runtime/sync.h"

namespace {

struct Run {
    gort::WaitGroup started;
    gort::Sema gate;
};

void parked(void* arg) {
    auto* r = static_cast<Run*>(arg);
    r->started.done();
    r->gate.acquire();  // parked here during the measurement
}

}  // namespace

int main(int argc, char** argv) {
    long n = bench::argOr(argc, argv, 1, 100000);
    int procs = bench::procsFromEnv();
    bench::start(procs);
    double perG = 0;
    bench::runMain([&] {
        Run r;
        long before = bench::procStatusBytes("VmRSS") + bench::procStatusBytes("VmPTE");
        r.started.add(n);
        for (long i = 0; i < n; i++) gort::go(parked, &r);
        r.started.wait();
        for (int i = 0; i < 10; i++) gort::gosched();  // let the last ones reach the gate
        long after = bench::procStatusBytes("VmRSS") + bench::procStatusBytes("VmPTE");
        perG = double(after - before) / double(n);
        r.gate.releaseN(uint32_t(n));
    });
    printf("W7-memory %s %.0f bytes/goroutine\n", bench::impl(procs).c_str(), perG);
    bench::stop();
}
