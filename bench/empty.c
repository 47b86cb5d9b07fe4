/* The empty C function of W4, in its own translation unit so the caller
 * cannot inline it (like ../shared/anchors/c/empty.c). */
void gort_bench_empty(void* arg) { (void)arg; }
