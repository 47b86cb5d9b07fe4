/* W4 cgocall: one goroutine calls an empty C function N times
 *   gort-P1      through gort_cgocall (enter the syscall state, switch to
 *                the thread's stack, call, switch back, leave it)
 *   gort-ffi-P1  through gort_ffi_call with a gort_ffi_sig made once
 *                (libffi's ffi_call inside the same cgocall)
 *   gort-region-P1  the call inside gort_blocking_begin/end: the same two
 *                transitions, C on the goroutine's own stack (what
 *                gort.ffi does on a Python goroutine)
 * Reports ns per call, like ../shared/anchors/go/w4_cgocall.go (and the
 * c-libffi row of ../shared/anchors/c/w4_ccall.c), through gort.h.
 * Usage: GOMAXPROCS=1 w4_cgocall [N]   (default 10000000) */
#include "gortbench.h"

void gort_bench_empty(void* arg);
void gort_bench_empty_void(void);

static double run_cgocall(long n) {
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) BENCH_OK(gort_cgocall(gort_bench_empty, NULL));
    return bench_now_ns() - t0;
}

static double run_ffi(gort_ffi_sig* sig, long n) {
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) BENCH_OK(gort_ffi_call(sig, gort_bench_empty_void, NULL, NULL));
    return bench_now_ns() - t0;
}

static double run_region(long n) {
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        BENCH_OK(gort_blocking_begin());
        gort_bench_empty(NULL);
        BENCH_OK(gort_blocking_end());
    }
    return bench_now_ns() - t0;
}

struct main_args {
    long n;
    double cgocall_ns, ffi_ns, region_ns;
};

static void measure(void* p) {
    struct main_args* a = (struct main_args*)p;
    run_cgocall(a->n / 10); /* warm-up */
    a->cgocall_ns = run_cgocall(a->n);
    gort_ffi_sig* sig = BENCH_PTR(gort_ffi_sig_make(GORT_FFI_VOID, NULL, 0));
    run_ffi(sig, a->n / 10);
    a->ffi_ns = run_ffi(sig, a->n);
    BENCH_OK(gort_ffi_sig_release(sig));
    run_region(a->n / 10);
    a->region_ns = run_region(a->n);
}

int main(int argc, char** argv) {
    struct main_args a = {bench_arg(argc, argv, 1, 10000000), 0, 0, 0};
    int procs = bench_procs();
    bench_init(procs, 1);
    bench_run(BENCH_GOROUTINE, measure, &a);
    printf("W4-cgocall gort-P%d %.1f ns/call\n", procs, a.cgocall_ns / (double)a.n);
    printf("W4-cgocall gort-ffi-P%d %.1f ns/call\n", procs, a.ffi_ns / (double)a.n);
    printf("W4-cgocall gort-region-P%d %.1f ns/call\n", procs, a.region_ns / (double)a.n);
    bench_shutdown();
    return 0;
}
