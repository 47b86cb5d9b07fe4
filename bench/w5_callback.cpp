// W5 callback: C code calls into the runtime N times
//   gort-cthread: from a thread C created with pthread_create (it binds an
//                 extra M at its first call and keeps it)
//   gort-gthread: from C code that a goroutine called through cgocall (the
//                 callback runs on that goroutine)
// Reports ns per callback, like ../shared/anchors/go/w5_callback. The outer
// cgocall and pthread_create/join are included but amortised over N.
// Usage: GOMAXPROCS=2 w5_callback [N]   (default 1000000)
#include <pthread.h>

#include "bench/common.h"
#include "bridge/callback.h"
#include "bridge/cgocall.h"

namespace {

long calls = 0;

void goCallback(void*) {
    calls++;
}

// The C side: n calls into the runtime.
void* callFromCThread(void* arg) {
    long n = *static_cast<long*>(arg);
    for (long i = 0; i < n; i++) gort::bridge::callback(goCallback, nullptr);
    return nullptr;
}

void callFromGoThread(void* arg) {
    callFromCThread(arg);
}

template <class F>
double measure(long n, F f) {
    long warm = n / 10;
    f(warm);
    calls = 0;
    double t0 = bench::nowNs();
    f(n);
    double d = bench::nowNs() - t0;
    if (calls != n) {
        fprintf(stderr, "w5_callback: %ld callbacks, want %ld\n", calls, n);
        exit(1);
    }
    return d / double(n);
}

}  // namespace

int main(int argc, char** argv) {
    long n = bench::argOr(argc, argv, 1, 1000000);
    int procs = bench::procsFromEnv();
    bench::start(procs);
    double cthread = measure(n, [](long k) {
        pthread_t t;
        if (pthread_create(&t, nullptr, callFromCThread, &k) != 0) abort();
        pthread_join(t, nullptr);
    });
    double gthread = 0;
    bench::runMain(
        [&] { gthread = measure(n, [](long k) { gort::bridge::cgocall(callFromGoThread, &k); }); });
    printf("W5-callback %s %.1f ns/call\n", bench::impl(procs, "gort-cthread").c_str(), cthread);
    printf("W5-callback %s %.1f ns/call\n", bench::impl(procs, "gort-gthread").c_str(), gthread);
    bench::stop();
}
