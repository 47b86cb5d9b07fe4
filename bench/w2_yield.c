/* W2 yield: two goroutines each call gort_gosched N/2 times while the other
 * is runnable, so every yield is a switch to the other. Run with
 * GOMAXPROCS=1. Reports ns per yield, like ../shared/anchors/go/w2_yield.go,
 * through gort.h.
 * Usage: GOMAXPROCS=1 w2_yield [N]   (default 10000000) */
#include "gortbench.h"

struct yield_run {
    long n;
    gort_waitgroup* wg;
};

static void worker(void* arg) {
    struct yield_run* r = (struct yield_run*)arg;
    for (long i = 0; i < r->n / 2; i++) BENCH_OK(gort_gosched());
    BENCH_OK(gort_waitgroup_done(r->wg));
}

static double run(long n) {
    struct yield_run r = {n, BENCH_PTR(gort_waitgroup_make())};
    BENCH_OK(gort_waitgroup_add(r.wg, 2));
    double t0 = bench_now_ns();
    BENCH_OK(gort_go(worker, &r));
    BENCH_OK(gort_go(worker, &r));
    BENCH_OK(gort_waitgroup_wait(r.wg));
    double d = bench_now_ns() - t0;
    BENCH_OK(gort_waitgroup_release(r.wg));
    return d;
}

struct main_args {
    long n;
    double ns;
};

static void measure(void* p) {
    struct main_args* a = (struct main_args*)p;
    run(a->n / 10); /* warm-up */
    a->ns = run(a->n);
}

int main(int argc, char** argv) {
    struct main_args a = {bench_arg(argc, argv, 1, 10000000), 0};
    int procs = bench_procs();
    bench_init(procs, 1);
    bench_run(BENCH_GOROUTINE, measure, &a);
    printf("W2-yield gort-P%d %.1f ns/yield\n", procs, a.ns / (double)a.n);
    bench_shutdown();
    return 0;
}
