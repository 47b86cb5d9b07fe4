/* W7 memory: what a parked goroutine costs. N goroutines park in a
 * gort_chan_recv on one unbuffered channel, like
 * ../shared/anchors/go/w7_memory.go, through gort.h; reports the growth of
 * VmRSS plus VmPTE (page tables) per goroutine. Go's row counts VmRSS
 * only; page tables are part of the cost of many mapped stacks, so gort
 * counts them too. With RSS=1 (the second argument) it also prints the
 * whole process's VmRSS while they are parked, as `W7-rss gort-P<N> <MiB>
 * MiB` (the scale run).
 * Usage: GOMAXPROCS=1 w7_memory [N] [RSS]   (default 100000, 0) */
#include "gortbench.h"

struct park_run {
    gort_waitgroup* started;
    gort_waitgroup* exited;
    gort_chan* gate;
};

static void parked(void* arg) {
    struct park_run* r = (struct park_run*)arg;
    int ok = 1;
    BENCH_OK(gort_waitgroup_done(r->started));
    BENCH_OK(gort_chan_recv(r->gate, NULL, &ok)); /* parked here during the measurement */
    if (ok) bench_die("w7_memory: a value on the gate");
    BENCH_OK(gort_waitgroup_done(r->exited));
}

struct main_args {
    long n;
    double per_g, rss;
};

static void measure(void* p) {
    struct main_args* a = (struct main_args*)p;
    struct park_run r = {BENCH_PTR(gort_waitgroup_make()), BENCH_PTR(gort_waitgroup_make()),
                         BENCH_PTR(gort_chan_make(0, 0))};
    long before = bench_proc_status_bytes("VmRSS") + bench_proc_status_bytes("VmPTE");
    BENCH_OK(gort_waitgroup_add(r.started, a->n));
    BENCH_OK(gort_waitgroup_add(r.exited, a->n));
    for (long i = 0; i < a->n; i++) BENCH_OK(gort_go(parked, &r));
    BENCH_OK(gort_waitgroup_wait(r.started));
    BENCH_OK(gort_sleep(20 * 1000000)); /* let the last ones reach the receive (as Go's does) */
    long after = bench_proc_status_bytes("VmRSS") + bench_proc_status_bytes("VmPTE");
    a->per_g = (double)(after - before) / (double)a->n;
    a->rss = (double)bench_proc_status_bytes("VmRSS");
    BENCH_OK(gort_chan_close(r.gate));
    BENCH_OK(gort_waitgroup_wait(r.exited));
    BENCH_OK(gort_chan_release(r.gate));
    BENCH_OK(gort_waitgroup_release(r.started));
    BENCH_OK(gort_waitgroup_release(r.exited));
}

int main(int argc, char** argv) {
    struct main_args a = {bench_arg(argc, argv, 1, 100000), 0, 0};
    int rss = bench_arg(argc, argv, 2, 0) != 0;
    int procs = bench_procs();
    bench_init(procs, 1);
    bench_run(BENCH_GOROUTINE, measure, &a);
    printf("W7-memory gort-P%d %.0f bytes/goroutine\n", procs, a.per_g);
    if (rss) printf("W7-rss gort-P%d %.0f MiB\n", procs, a.rss / (1024.0 * 1024.0));
    bench_shutdown();
    return 0;
}
