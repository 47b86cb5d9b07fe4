// W8 handoff: with GOMAXPROCS=1, a goroutine blocks 200 ms in C (usleep,
// through cgocall) while a second goroutine is runnable. That goroutine can
// only run once sysmon takes the P from the blocked M and hands it to
// another. Reports, per trial, the delay from just before the C call to the
// moment the second goroutine first runs, in us; the first trial of the
// process is labelled gort-P1-fresh (like ../shared/anchors/go/w8_handoff.go).
// Usage: GOMAXPROCS=1 w8_handoff [TRIALS] [SLEEP_MS]   (defaults 5, 200)
#include <unistd.h>

#include <atomic>

#include "bench/common.h"
#include "bridge/cgocall.h"
#include "runtime/sema.h"

namespace {

struct Trial {
    std::atomic<bool> stop{false};
    std::atomic<double> firstRun{0};
    gort::Sema done;
    long sleepMs;
};

void counter(void* arg) {
    auto* t = static_cast<Trial*>(arg);
    t->firstRun.store(bench::nowNs());
    for (long c = 1; !t->stop.load(std::memory_order_relaxed); c++) {
        if (c % 1024 == 0) gort::gosched();
    }
    t->done.release();
}

void blockInC(void* arg) {
    usleep(useconds_t(*static_cast<long*>(arg) * 1000));
}

double trial(long sleepMs) {
    Trial t;
    t.sleepMs = sleepMs;
    gort::go(counter, &t);
    // The counter goroutine is now runnable but cannot run: this goroutine
    // holds the only P until it blocks inside C.
    double start = bench::nowNs();
    gort::bridge::cgocall(blockInC, &sleepMs);
    t.stop.store(true);
    t.done.acquire();
    return t.firstRun.load() - start;
}

}  // namespace

int main(int argc, char** argv) {
    long trials = bench::argOr(argc, argv, 1, 5);
    long sleepMs = bench::argOr(argc, argv, 2, 200);
    int procs = bench::procsFromEnv();
    if (procs != 1) {
        fprintf(stderr, "w8_handoff: run with GOMAXPROCS=1\n");
        return 2;
    }
    bench::start(procs);
    bench::runMain([&] {
        for (long i = 0; i < trials; i++) {
            double d = trial(sleepMs);
            printf("W8-handoff %s %.1f us\n", i == 0 ? "gort-P1-fresh" : "gort-P1", d / 1e3);
            fflush(stdout);
        }
    });
    bench::stop();
}
