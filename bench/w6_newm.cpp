// W6 newm: N goroutines each lock their thread and return still locked, so
// each one's thread exits and the runtime must create a new M to go on:
// with GOMAXPROCS=1, a serial chain of N thread exits and N thread
// creations (through the template thread, as the dying thread is tainted).
// Like ../shared/anchors/go/w6_newm.go. Reports total time / N, after
// checking that at least 90% of the goroutines ran on distinct threads.
// Native mode prints gort-P<N>; with CGO=1 (threads from the thread-start
// hook) gort-P<N>-cgo, like go-P1-cgo.
// Usage: GOMAXPROCS=1 [CGO=1] w6_newm [N]   (default 1000)
#include <sys/syscall.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "bench/common.h"
#include "runtime/sync.h"

namespace {

struct Run {
    std::vector<long> tids;
    gort::WaitGroup wg;
};

struct Arg {
    Run* r;
    long i;
};

void body(void* p) {
    auto* a = static_cast<Arg*>(p);
    gort::lockOSThread();
    a->r->tids[size_t(a->i)] = syscall(SYS_gettid);
    a->r->wg.done();
    // return while locked: this thread exits, a new M is started
}

}  // namespace

int main(int argc, char** argv) {
    long n = bench::argOr(argc, argv, 1, 1000);
    int procs = bench::procsFromEnv();
    const char* cgoEnv = getenv("CGO");
    bool cgo = cgoEnv != nullptr && atoi(cgoEnv) != 0;
    bench::start(procs, cgo);
    Run r;
    r.tids.resize(size_t(n));
    std::vector<Arg> args(static_cast<size_t>(n));
    double d = 0;
    bench::runMain([&] {
        r.wg.add(n);
        double t0 = bench::nowNs();
        for (long i = 0; i < n; i++) {
            args[size_t(i)] = Arg{&r, i};
            gort::go(body, &args[size_t(i)]);
        }
        r.wg.wait();
        d = bench::nowNs() - t0;
    });
    std::set<long> distinct(r.tids.begin(), r.tids.end());
    if (long(distinct.size()) < n * 9 / 10) {
        fprintf(stderr, "w6_newm: only %zu distinct threads for %ld goroutines\n", distinct.size(),
                n);
        return 1;
    }
    printf("W6-newm %s%s %.0f ns/thread\n", bench::impl(procs).c_str(), cgo ? "-cgo" : "",
           d / double(n));
    bench::stop();
}
