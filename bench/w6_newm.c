/* W6 newm: N goroutines each call gort_lock_os_thread and return still
 * locked, so each one's thread exits and the runtime must create a new M to
 * go on: with GOMAXPROCS=1, a serial chain of N thread exits and N thread
 * creations (through the template thread, as the dying thread is tainted).
 * Like ../shared/anchors/go/w6_newm.go, through gort.h. Reports total time
 * / N, after checking that at least 90% of the goroutines ran on distinct
 * threads. Default: native thread creation (cgo = 0), impl gort-P<N>; with
 * CGO=1, threads come from the thread-start hook: gort-P<N>-cgo, like
 * go-P1-cgo.
 * Usage: GOMAXPROCS=1 [CGO=1] w6_newm [N]   (default 1000) */
#include <sys/syscall.h>
#include <unistd.h>

#include "gortbench.h"

struct newm_run {
    long* tids;
    gort_waitgroup* wg;
};

struct newm_arg {
    struct newm_run* r;
    long i;
};

static void body(void* p) {
    struct newm_arg* a = (struct newm_arg*)p;
    BENCH_OK(gort_lock_os_thread());
    a->r->tids[a->i] = syscall(SYS_gettid);
    BENCH_OK(gort_waitgroup_done(a->r->wg));
    /* return while locked: this thread exits, a new M is started */
}

static int cmp_long(const void* a, const void* b) {
    long x = *(const long*)a, y = *(const long*)b;
    return (x > y) - (x < y);
}

struct main_args {
    long n;
    double ns;
    struct newm_run r;
    struct newm_arg* args;
};

static void measure(void* p) {
    struct main_args* a = (struct main_args*)p;
    BENCH_OK(gort_waitgroup_add(a->r.wg, a->n));
    double t0 = bench_now_ns();
    for (long i = 0; i < a->n; i++) {
        a->args[i].r = &a->r;
        a->args[i].i = i;
        BENCH_OK(gort_go(body, &a->args[i]));
    }
    BENCH_OK(gort_waitgroup_wait(a->r.wg));
    a->ns = bench_now_ns() - t0;
}

int main(int argc, char** argv) {
    struct main_args a;
    a.n = bench_arg(argc, argv, 1, 1000);
    int procs = bench_procs();
    int cgo = atoi(bench_env("CGO", "0")) != 0;
    bench_init(procs, cgo);
    a.r.tids = (long*)BENCH_PTR(calloc((size_t)a.n, sizeof(long)));
    a.r.wg = BENCH_PTR(gort_waitgroup_make());
    a.args = (struct newm_arg*)BENCH_PTR(calloc((size_t)a.n, sizeof *a.args));
    bench_run(BENCH_GOROUTINE, measure, &a);
    qsort(a.r.tids, (size_t)a.n, sizeof(long), cmp_long);
    long distinct = a.n > 0 ? 1 : 0;
    for (long i = 1; i < a.n; i++) distinct += a.r.tids[i] != a.r.tids[i - 1];
    if (distinct < a.n * 9 / 10) {
        fprintf(stderr, "w6_newm: only %ld distinct threads for %ld goroutines\n", distinct, a.n);
        return 1;
    }
    printf("W6-newm gort-P%d%s %.0f ns/thread\n", procs, cgo ? "-cgo" : "", a.ns / (double)a.n);
    BENCH_OK(gort_waitgroup_release(a.r.wg));
    bench_shutdown();
    free(a.r.tids);
    free(a.args);
    return 0;
}
