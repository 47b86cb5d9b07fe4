/* W5 callback: C code calls into the runtime through gort_callback N times
 *   gort-cthread: from a thread C created with pthread_create (it binds an
 *                 extra M at its first call and keeps it)
 *   gort-gthread: from C code that a goroutine called through gort_cgocall
 *                 (the callback runs on that goroutine; the anchors' name
 *                 for it is go-gothread)
 * Reports ns per callback, like ../shared/anchors/go/w5_callback, through
 * gort.h. The outer call and pthread_create/join are included but amortised
 * over N.
 * Usage: GOMAXPROCS=2 w5_callback [N]   (default 1000000) */
#include <pthread.h>

#include "gortbench.h"

static long calls = 0;

static void go_callback(void* arg) {
    (void)arg;
    calls++;
}

/* The C side: n calls into the runtime. */
static void call_n(long n) {
    for (long i = 0; i < n; i++) BENCH_OK(gort_callback(go_callback, NULL));
}

static void* cthread_main(void* arg) {
    call_n(*(long*)arg);
    return NULL;
}

static void from_cthread(long n) {
    pthread_t t;
    if (pthread_create(&t, NULL, cthread_main, &n) != 0) bench_die("w5: pthread_create failed");
    pthread_join(t, NULL);
}

static void in_c(void* arg) {
    call_n(*(long*)arg);
}

static void from_gthread(long n) {
    BENCH_OK(gort_cgocall(in_c, &n));
}

static double measure(long n, void (*f)(long)) {
    f(n / 10); /* warm-up */
    calls = 0;
    double t0 = bench_now_ns();
    f(n);
    double d = bench_now_ns() - t0;
    if (calls != n) bench_die("w5_callback: wrong number of callbacks");
    return d / (double)n;
}

struct main_args {
    long n;
    double ns;
};

static void measure_gthread(void* p) {
    struct main_args* a = (struct main_args*)p;
    a->ns = measure(a->n, from_gthread);
}

int main(int argc, char** argv) {
    long n = bench_arg(argc, argv, 1, 1000000);
    int procs = bench_procs();
    bench_init(procs, 1);
    double cthread = measure(n, from_cthread);
    struct main_args g = {n, 0};
    bench_run(BENCH_GOROUTINE, measure_gthread, &g);
    printf("W5-callback gort-cthread-P%d %.1f ns/call\n", procs, cthread);
    printf("W5-callback gort-gthread-P%d %.1f ns/call\n", procs, g.ns);
    bench_shutdown();
    return 0;
}
