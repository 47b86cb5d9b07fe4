/* W11 mutex: G goroutines each lock one gort_mutex, increment a shared
 * counter and unlock, N/G times, like ../shared/anchors/go/w11_mutex.go,
 * through gort.h. The critical section is tiny, so this measures contended
 * hand-over between goroutines. Checks the count; reports ns per
 * lock/unlock pair.
 * Usage: GOMAXPROCS=<n> w11_mutex [N] [G]   (default 4000000 increments, 100 goroutines) */
#include "gortbench.h"

struct mutex_run {
    long per;
    long count;
    gort_mutex* mu;
    gort_waitgroup* wg;
};

static void locker(void* arg) {
    struct mutex_run* r = (struct mutex_run*)arg;
    for (long j = 0; j < r->per; j++) {
        BENCH_OK(gort_mutex_lock(r->mu));
        r->count++;
        BENCH_OK(gort_mutex_unlock(r->mu));
    }
    BENCH_OK(gort_waitgroup_done(r->wg));
}

static double run(long n, long g, long* count_out) {
    struct mutex_run r = {n / g, 0, BENCH_PTR(gort_mutex_make()), BENCH_PTR(gort_waitgroup_make())};
    BENCH_OK(gort_waitgroup_add(r.wg, g));
    double t0 = bench_now_ns();
    for (long i = 0; i < g; i++) BENCH_OK(gort_go(locker, &r));
    BENCH_OK(gort_waitgroup_wait(r.wg));
    double d = bench_now_ns() - t0;
    BENCH_OK(gort_mutex_release(r.mu));
    BENCH_OK(gort_waitgroup_release(r.wg));
    *count_out = r.count;
    return d;
}

struct main_args {
    long n, g, count;
    double ns;
};

static void measure(void* p) {
    struct main_args* a = (struct main_args*)p;
    run(a->n / 10, a->g, &a->count); /* warm-up */
    a->ns = run(a->n, a->g, &a->count);
}

int main(int argc, char** argv) {
    struct main_args a = {bench_arg(argc, argv, 1, 4000000), bench_arg(argc, argv, 2, 100), 0, 0};
    int procs = bench_procs();
    if (a.g < 1 || a.n < 10 * a.g) bench_die("w11_mutex: want G >= 1 and N >= 10 * G");
    bench_init(procs, 1);
    bench_run(BENCH_GOROUTINE, measure, &a);
    if (a.count != a.n / a.g * a.g) bench_die("W11: wrong count");
    printf("W11-mutex gort-P%d %.1f ns/lock\n", procs, a.ns / (double)a.count);
    bench_shutdown();
    return 0;
}
