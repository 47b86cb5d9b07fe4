/* W10 fan-out/fan-in: a producer sends N items into a buffered channel
 * (capacity 128), W workers each receive, mix the item (the same 64 rounds
 * of xorshift as ../shared/anchors/go/w10_fanout.go) and send the result
 * into a second buffered channel (capacity 128); the collector (the main
 * goroutine) sums them. Many goroutines contending on two channels, the
 * shape of a real pipeline. Through gort.h; checks the sum; reports ns per
 * item.
 * Usage: GOMAXPROCS=<n> w10_fanout [N] [W]   (default 1000000 items, 1000 workers) */
#include <stdint.h>

#include "gortbench.h"

static uint64_t work(uint64_t v) {
    for (int i = 0; i < 64; i++) {
        v ^= v << 13;
        v ^= v >> 7;
        v ^= v << 17;
    }
    return v;
}

struct fan {
    long n;
    gort_chan* in;
    gort_chan* out;
    gort_waitgroup* wg;
};

static void worker(void* arg) {
    struct fan* f = (struct fan*)arg;
    uint64_t v;
    int ok;
    for (;;) {
        BENCH_OK(gort_chan_recv(f->in, &v, &ok));
        if (!ok) break;
        uint64_t r = work(v);
        BENCH_OK(gort_chan_send(f->out, &r));
    }
    BENCH_OK(gort_waitgroup_done(f->wg));
}

static void producer(void* arg) {
    struct fan* f = (struct fan*)arg;
    for (long i = 0; i < f->n; i++) {
        uint64_t v = (uint64_t)(i + 1);
        BENCH_OK(gort_chan_send(f->in, &v));
    }
    BENCH_OK(gort_chan_close(f->in));
}

static void closer(void* arg) {
    struct fan* f = (struct fan*)arg;
    BENCH_OK(gort_waitgroup_wait(f->wg));
    BENCH_OK(gort_chan_close(f->out));
}

static double run(long n, long w, uint64_t* sum_out) {
    struct fan f = {n, BENCH_PTR(gort_chan_make(sizeof(uint64_t), 128)),
                    BENCH_PTR(gort_chan_make(sizeof(uint64_t), 128)),
                    BENCH_PTR(gort_waitgroup_make())};
    BENCH_OK(gort_waitgroup_add(f.wg, w));
    double t0 = bench_now_ns();
    for (long i = 0; i < w; i++) BENCH_OK(gort_go(worker, &f));
    BENCH_OK(gort_go(producer, &f));
    BENCH_OK(gort_go(closer, &f));
    uint64_t sum = 0, v;
    int ok;
    for (;;) {
        BENCH_OK(gort_chan_recv(f.out, &v, &ok));
        if (!ok) break;
        sum += v;
    }
    double d = bench_now_ns() - t0;
    BENCH_OK(gort_chan_release(f.in));
    BENCH_OK(gort_chan_release(f.out));
    BENCH_OK(gort_waitgroup_release(f.wg));
    *sum_out = sum;
    return d;
}

struct main_args {
    long n, w;
    double ns;
    uint64_t sum;
};

static void measure(void* p) {
    struct main_args* a = (struct main_args*)p;
    run(a->n / 10, a->w, &a->sum); /* warm-up */
    a->ns = run(a->n, a->w, &a->sum);
}

int main(int argc, char** argv) {
    struct main_args a = {bench_arg(argc, argv, 1, 1000000), bench_arg(argc, argv, 2, 1000), 0, 0};
    int procs = bench_procs();
    if (a.n < 10 || a.w < 1) bench_die("w10_fanout: want N >= 10 and W >= 1");
    bench_init(procs, 1);
    bench_run(BENCH_GOROUTINE, measure, &a);
    uint64_t want = 0;
    for (long i = 0; i < a.n; i++) want += work((uint64_t)(i + 1));
    if (a.sum != want) bench_die("W10: wrong sum");
    printf("W10-fanout gort-P%d %.1f ns/item\n", procs, a.ns / (double)a.n);
    bench_shutdown();
    return 0;
}
