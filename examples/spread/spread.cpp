// Goroutines spreading over Ms (C++ through gort.h): spawn 10,000
// goroutines that each do a little work, and count how many ran on each OS
// thread.
#include <gort.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>

namespace {

constexpr int kGoroutines = 10000;

struct Tally {
    std::mutex mu;
    std::map<long, int> perThread;
    gort_waitgroup* wg = nullptr;
};

void work(void* arg) {
    auto* t = static_cast<Tally*>(arg);
    volatile double x = 1;
    for (int i = 0; i < 20000; i++) x = x * 1.0000001 + 1e-9;
    {
        std::lock_guard<std::mutex> l(t->mu);
        t->perThread[syscall(SYS_gettid)]++;
    }
    gort_waitgroup_done(t->wg);
}

void mainGoroutine(void* arg) {
    auto* t = static_cast<Tally*>(arg);
    gort_waitgroup_add(t->wg, kGoroutines);
    for (int i = 0; i < kGoroutines; i++) gort_go(work, t);
    gort_waitgroup_wait(t->wg);
}

}  // namespace

int main() {
    if (gort_init(nullptr) != GORT_OK) return 1;  // GOMAXPROCS = number of CPUs
    Tally t;
    t.wg = gort_waitgroup_make();
    gort_run_main(mainGoroutine, &t);
    std::printf("%d goroutines on GOMAXPROCS=%d:\n", kGoroutines, gort_gomaxprocs(0));
    int total = 0;
    for (auto& [tid, n] : t.perThread) {
        std::printf("  thread %ld ran %d\n", tid, n);
        total += n;
    }
    gort_stats s{};
    gort_get_stats(&s, sizeof s);
    std::printf("total %d, Ms created %llu, work steals %llu\n", total,
                static_cast<unsigned long long>(s.ms_created_native + s.ms_created_hook),
                static_cast<unsigned long long>(s.steals));
    gort_waitgroup_release(t.wg);
    return gort_shutdown(1'000'000'000) == GORT_OK && total == kGoroutines ? 0 : 1;
}
