/* W1 spawn: start N goroutines, each increments an atomic counter; the last
 * one to finish closes a channel the spawner waits on. Reports ns per
 * goroutine (spawn + run + exit), like ../shared/anchors/go/w1_spawn.go,
 * through gort.h.
 * $FROM (gortbench.h) says where the spawner runs: an ordinary goroutine
 * (impl gort-P<N>), the gort_run_main goroutine (gort-runmain-P<N>) or the
 * plain C main thread (gort-mainthread-P<N>).
 * Usage: GOMAXPROCS=<n> [FROM=goroutine|runmain|mainthread] w1_spawn [N]
 *        (default 1000000) */
#include <stdatomic.h>

#include "gortbench.h"

struct spawn_run {
    long n;
    atomic_long count;
    gort_chan* done;
};

static void body(void* arg) {
    struct spawn_run* r = (struct spawn_run*)arg;
    if (atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed) + 1 == r->n) {
        BENCH_OK(gort_chan_close(r->done));
    }
}

static double spawn(long n) {
    struct spawn_run r;
    r.n = n;
    atomic_init(&r.count, 0);
    r.done = BENCH_PTR(gort_chan_make(0, 0));
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) BENCH_OK(gort_go(body, &r));
    int ok = 1;
    BENCH_OK(gort_chan_recv(r.done, NULL, &ok));
    double d = bench_now_ns() - t0;
    if (ok != 0 || atomic_load(&r.count) != n) bench_die("w1_spawn: wrong count");
    BENCH_OK(gort_chan_release(r.done));
    return d;
}

struct main_args {
    long n;
    double ns;
};

static void spawner(void* p) {
    struct main_args* a = (struct main_args*)p;
    spawn(a->n / 10); /* warm-up: fills the free-G and stack caches */
    a->ns = spawn(a->n);
}

int main(int argc, char** argv) {
    struct main_args a = {bench_arg(argc, argv, 1, 1000000), 0};
    int procs = bench_procs();
    enum bench_from from = bench_from_env();
    bench_init(procs, 1);
    bench_run(from, spawner, &a);
    printf("W1-spawn gort%s-P%d %.1f ns/goroutine\n", bench_variant(from), procs,
           a.ns / (double)a.n);
    bench_shutdown();
    return 0;
}
