/* W3 chan: ping-pong over two unbuffered channels between a driver and an
 * echo goroutine, like ../shared/anchors/go/w3_chan.go, through gort.h. One
 * round trip = the driver sends on ping, echo receives and sends on pong,
 * the driver receives. Reports ns per round trip.
 *
 * $FROM (gortbench.h) says where the driver runs: an ordinary goroutine
 * (impl gort-P<N>), the gort_run_main goroutine (gort-runmain-P<N>) or the
 * plain C main thread (gort-mainthread-P<N>). The last two are what a C
 * program's main thread pays: while it waits, the main thread runs the echo
 * goroutine itself (hosting, docs/guide.md "Locked threads"), so no thread
 * hand-off is involved.
 *
 * With $TRACE set to a file, the execution tracer records the run there
 * (gort_trace_start before the warm-up, gort_trace_stop after the
 * measurement; impl gort-trace-P<N>): the cost of tracing on.
 *
 * With PAIRS (the second argument), PAIRS drivers each ping-pong with their
 * own echo goroutine, N round trips in all, at once; reports the total
 * round trips per second (the scale run, bench/scale.sh).
 *
 * Usage: GOMAXPROCS=<n> [FROM=goroutine|runmain|mainthread] [TRACE=file] w3_chan [N]
 *        GOMAXPROCS=<n> w3_chan N PAIRS
 *        (default N 1000000) */
#include "gortbench.h"

struct pair {
    gort_chan* ping;
    gort_chan* pong;
    long n;             /* round trips this pair's driver makes */
    gort_waitgroup* wg; /* pairs mode: the drivers' group */
};

static void echo(void* arg) {
    struct pair* p = (struct pair*)arg;
    long v;
    int ok;
    for (;;) {
        BENCH_OK(gort_chan_recv(p->ping, &v, &ok));
        if (!ok) break;
        BENCH_OK(gort_chan_send(p->pong, &v));
    }
    BENCH_OK(gort_chan_close(p->pong));
}

static void pair_open(struct pair* p, long n) {
    p->ping = BENCH_PTR(gort_chan_make(sizeof(long), 0));
    p->pong = BENCH_PTR(gort_chan_make(sizeof(long), 0));
    p->n = n;
    p->wg = NULL;
    BENCH_OK(gort_go(echo, p));
}

/* pair_drive makes p->n round trips and checks the values. */
static void pair_drive(struct pair* p) {
    long v = -1;
    int ok = 0;
    for (long i = 0; i < p->n; i++) {
        BENCH_OK(gort_chan_send(p->ping, &i));
        BENCH_OK(gort_chan_recv(p->pong, &v, &ok));
        if (!ok || v != i) bench_die("w3_chan: wrong value echoed");
    }
}

/* pair_close stops the echo goroutine and waits until it is done with both
 * channels. */
static void pair_close(struct pair* p) {
    long v;
    int ok = 1;
    BENCH_OK(gort_chan_close(p->ping));
    BENCH_OK(gort_chan_recv(p->pong, &v, &ok));
    if (ok) bench_die("w3_chan: echo sent after close");
    BENCH_OK(gort_chan_release(p->ping));
    BENCH_OK(gort_chan_release(p->pong));
}

static double run(long n) {
    struct pair p;
    pair_open(&p, n);
    double t0 = bench_now_ns();
    pair_drive(&p);
    double d = bench_now_ns() - t0;
    pair_close(&p);
    return d;
}

static void driver(void* arg) {
    struct pair* p = (struct pair*)arg;
    pair_drive(p);
    BENCH_OK(gort_waitgroup_done(p->wg));
}

/* run_pairs: k pairs at once, n round trips in all. */
static double run_pairs(long n, long k) {
    struct pair* ps = (struct pair*)BENCH_PTR(calloc((size_t)k, sizeof *ps));
    gort_waitgroup* wg = BENCH_PTR(gort_waitgroup_make());
    for (long i = 0; i < k; i++) {
        pair_open(&ps[i], n / k);
        ps[i].wg = wg;
    }
    BENCH_OK(gort_waitgroup_add(wg, k));
    double t0 = bench_now_ns();
    for (long i = 0; i < k; i++) BENCH_OK(gort_go(driver, &ps[i]));
    BENCH_OK(gort_waitgroup_wait(wg));
    double d = bench_now_ns() - t0;
    for (long i = 0; i < k; i++) pair_close(&ps[i]);
    BENCH_OK(gort_waitgroup_release(wg));
    free(ps);
    return d;
}

struct main_args {
    long n, pairs;
    double ns;
};

static void measure(void* p) {
    struct main_args* a = (struct main_args*)p;
    if (a->pairs > 0) {
        run_pairs(a->n / 10, a->pairs); /* warm-up */
        a->ns = run_pairs(a->n, a->pairs);
    } else {
        run(a->n / 10); /* warm-up */
        a->ns = run(a->n);
    }
}

int main(int argc, char** argv) {
    enum bench_from from = bench_from_env();
    struct main_args a = {bench_arg(argc, argv, 1, 1000000), bench_arg(argc, argv, 2, 0), 0};
    int procs = bench_procs();
    if (a.pairs > 0 && (from != BENCH_GOROUTINE || a.n < a.pairs * 10)) {
        bench_die("w3_chan: PAIRS runs from goroutines, with N >= 10 * PAIRS");
    }
    const char* trace = getenv("TRACE");
    if (trace != NULL && (trace[0] == '\0' || a.pairs > 0 || from != BENCH_GOROUTINE)) {
        bench_die("w3_chan: TRACE=file runs one pair from a goroutine");
    }
    bench_init(procs, 1);
    if (trace != NULL) BENCH_OK(gort_trace_start(trace));
    bench_run(from, measure, &a);
    if (trace != NULL) BENCH_OK(gort_trace_stop());
    if (a.pairs > 0) {
        long done = a.n / a.pairs * a.pairs;
        printf("W3-chan gort-P%d %.0f roundtrips/s\n", procs, (double)done / (a.ns / 1e9));
    } else {
        printf("W3-chan gort%s-P%d %.1f ns/roundtrip\n",
               trace != NULL ? "-trace" : bench_variant(from), procs, a.ns / (double)a.n);
    }
    bench_shutdown();
    return 0;
}
