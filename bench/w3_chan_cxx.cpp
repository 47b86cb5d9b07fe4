// W3 chan on the internal C++ API (impl gortcxx-P<N>; w3_chan.c is the C
// ABI's row): ping-pong over two unbuffered channels between the main
// goroutine and an echo goroutine, like ../shared/anchors/go/w3_chan.go. One
// round trip = main sends on ping, echo receives and sends on pong, main
// receives. Reports ns per round trip.
// Usage: GOMAXPROCS=<n> w3_chan_cxx [N]   (default 1000000)
#include "bench/common.h"
#include "runtime/chan.h"

namespace {

struct Pair {
    gort::TypedChan<long> ping, pong;
};

void echo(void* arg) {
    auto* p = static_cast<Pair*>(arg);
    long v;
    bool ok;
    while (p->ping.recv(&v, &ok) == gort::kOK && ok) p->pong.send(v);
    p->pong.close();
}

double run(long n) {
    Pair p;
    gort::go(echo, &p);
    long v = 0;
    double t0 = bench::nowNs();
    for (long i = 0; i < n; i++) {
        p.ping.send(i);
        p.pong.recv(&v);
    }
    double d = bench::nowNs() - t0;
    if (v != n - 1) {
        fprintf(stderr, "w3_chan: last value %ld, want %ld\n", v, n - 1);
        exit(1);
    }
    p.ping.close();
    bool ok = true;
    p.pong.recv(&v, &ok);  // echo has finished with both channels
    return d;
}

}  // namespace

int main(int argc, char** argv) {
    return bench::runWorkload(argc, argv, 1000000, "W3-chan", "ns/roundtrip", run);
}
