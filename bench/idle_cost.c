/* W12 idle: what the runtime costs while nothing runs. 10 goroutines park
 * for good on a channel receive; the C main thread sleeps (outside gort) for
 * SECONDS; reports the process's CPU time (user + sys, getrusage) over that
 * interval, scaled to 10 s: sysmon's and any spinning thread's cost.
 * Usage: GOMAXPROCS=<n> idle_cost [SECONDS]   (default 10; fractions allowed) */
#include <sys/resource.h>

#include "gortbench.h"

struct idle_run {
    gort_chan* gate;
    gort_waitgroup* started;
};

static void parked(void* arg) {
    struct idle_run* r = (struct idle_run*)arg;
    BENCH_OK(gort_waitgroup_done(r->started));
    BENCH_OK(gort_chan_recv(r->gate, NULL, NULL));
}

static double cpu_ms(void) {
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0) bench_die("idle_cost: getrusage failed");
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int main(int argc, char** argv) {
    double secs = argc > 1 ? atof(argv[1]) : 10.0;
    if (!(secs > 0)) bench_die("idle_cost: SECONDS must be > 0");
    int procs = bench_procs();
    bench_init(procs, 1);
    struct idle_run r = {BENCH_PTR(gort_chan_make(0, 0)), BENCH_PTR(gort_waitgroup_make())};
    BENCH_OK(gort_waitgroup_add(r.started, 10));
    for (int i = 0; i < 10; i++) BENCH_OK(gort_go(parked, &r));
    BENCH_OK(gort_waitgroup_wait(r.started));
    sleep_s(0.05); /* let them reach the receive and the runtime go idle */
    double c0 = cpu_ms(), t0 = bench_now_ns();
    sleep_s(secs);
    double c1 = cpu_ms(), t1 = bench_now_ns();
    printf("W12-idle gort-P%d %.2f ms-cpu/10s\n", procs, (c1 - c0) * 1e10 / (t1 - t0));
    BENCH_OK(gort_chan_close(r.gate));
    BENCH_OK(gort_chan_release(r.gate));
    BENCH_OK(gort_waitgroup_release(r.started));
    bench_shutdown();
    return 0;
}
