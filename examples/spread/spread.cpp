// Goroutines spreading over Ms: spawn 10,000 goroutines that each do a
// little work, and count how many ran on each OS thread.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

#include "runtime/proc.h"
#include "runtime/runtime.h"
#include "runtime/sync.h"

namespace {

constexpr int kGoroutines = 10000;

struct Tally {
    std::mutex mu;
    std::map<long, int> perThread;
    gort::WaitGroup wg;
};

void work(void* arg) {
    auto* t = static_cast<Tally*>(arg);
    volatile double x = 1;
    for (int i = 0; i < 20000; i++) x = x * 1.0000001 + 1e-9;
    {
        std::lock_guard<std::mutex> l(t->mu);
        t->perThread[syscall(SYS_gettid)]++;
    }
    t->wg.done();
}

void mainGoroutine(void* arg) {
    auto* t = static_cast<Tally*>(arg);
    t->wg.add(kGoroutines);
    for (int i = 0; i < kGoroutines; i++) gort::go(work, t);
    t->wg.wait();
}

}  // namespace

int main() {
    gort::Config c;  // GOMAXPROCS = number of CPUs
    if (gort::init(c) != gort::kOK) return 1;
    Tally t;
    gort::runOnThisThread(mainGoroutine, &t);
    std::printf("%d goroutines on GOMAXPROCS=%d:\n", kGoroutines, gort::gomaxprocs(0));
    int total = 0;
    for (auto& [tid, n] : t.perThread) {
        std::printf("  thread %ld ran %d\n", tid, n);
        total += n;
    }
    gort::RuntimeStats s;
    gort::readStats(&s);
    std::printf("total %d, Ms created %llu, work steals %llu\n", total,
                static_cast<unsigned long long>(s.msCreatedNative) + s.msCreatedHook,
                (unsigned long long)s.steals);
    return gort::shutdown(1'000'000'000) == gort::kOK && total == kGoroutines ? 0 : 1;
}
