/* The empty C functions of W4, in their own translation unit so the caller
 * cannot inline them (like ../shared/anchors/c/empty.c): one with
 * gort_fn's signature for gort_cgocall, one void(void) for gort_ffi_call. */
void gort_bench_empty(void* arg) {
    (void)arg;
}
void gort_bench_empty_void(void) {}
