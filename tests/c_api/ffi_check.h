/* Helpers shared by the ffi tests (ffi_test.c, ffi_lifetime_test.c): where
 * handlers run (goroutine code while the runtime runs, plain C while it does
 * not), running code on a goroutine, a qsort comparator closure, and a
 * closure computing 2x + 1. */
#ifndef GORT_TEST_FFI_CHECK_H
#define GORT_TEST_FFI_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "gort.h"

typedef void (*vfn)(void);

static inline int init_runtime(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    return gort_init(&c);
}

/* ---- where handlers run -------------------------------------------------------- */

/* Handlers count calls that ran where they should not: as goroutine code
 * while the runtime runs, as plain C (no goroutine) while it does not. */
static atomic_int want_goroutine;
static atomic_int wrong_context;
static bool running; /* the runtime runs (the tests' own view) */

static inline void note_context(void) {
    if ((gort_goid() > 0) != (atomic_load(&want_goroutine) != 0)) {
        atomic_fetch_add(&wrong_context, 1);
    }
}

static inline void set_running(bool on) {
    running = on;
    atomic_store(&want_goroutine, on);
}

/* run_in_goroutine runs fn(arg) on a goroutine and waits for it. */
struct in_g {
    void (*fn)(void);
    gort_waitgroup* wg;
};
static inline void in_g_body(void* p) {
    struct in_g* g = p;
    g->fn();
    CHECK_OK(gort_waitgroup_done(g->wg));
}
static inline void run_in_goroutine(void (*fn)(void)) {
    struct in_g g = {fn, gort_waitgroup_make()};
    CHECK(g.wg != NULL);
    CHECK_OK(gort_waitgroup_add(g.wg, 1));
    CHECK_OK(gort_go(in_g_body, &g));
    CHECK_OK(gort_waitgroup_wait(g.wg));
    CHECK_OK(gort_waitgroup_release(g.wg));
}

/* ---- qsort with a closure comparator ------------------------------------------------- */

static atomic_long cmp_calls;

static inline void h_cmp(void* ret, void** args, void* ud) {
    (void)ud;
    note_context();
    int32_t a = **(const int32_t**)args[0];
    int32_t b = **(const int32_t**)args[1];
    *(int64_t*)ret = (a > b) - (a < b);
    atomic_fetch_add(&cmp_calls, 1);
}

static gort_ffi_sig* cmp_sig;
static gort_ffi_closure* cmp_closure;
static void (*cmp_code)(void);

static inline void make_comparator(void) {
    int at[2] = {GORT_FFI_POINTER, GORT_FFI_POINTER};
    cmp_sig = gort_ffi_sig_make(GORT_FFI_INT32, at, 2);
    cmp_closure = gort_ffi_closure_make(cmp_sig, h_cmp, NULL, &cmp_code);
    CHECK(cmp_sig != NULL && cmp_closure != NULL);
}

static inline void fill(int32_t* v, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (int32_t)(seed >> 8) - (1 << 22);
    }
}

static inline bool sorted(const int32_t* v, size_t n) {
    for (size_t i = 1; i < n; i++) {
        if (v[i - 1] > v[i]) return false;
    }
    return true;
}

/* qsort_via_ffi sorts through gort_ffi_call(qsort) when the runtime runs,
 * else by calling qsort directly; either way with the closure. */
static inline void qsort_with_closure(uint32_t seed) {
    enum { n = 2000 };
    static int32_t v[n];
    fill(v, n, seed);
    long before = atomic_load(&cmp_calls);
    if (running) {
        int at[4] = {GORT_FFI_POINTER, GORT_FFI_SIZE_T, GORT_FFI_SIZE_T, GORT_FFI_POINTER};
        gort_ffi_sig* qs = gort_ffi_sig_make(GORT_FFI_VOID, at, 4);
        CHECK(qs != NULL);
        void* base = v;
        size_t count = n, size = sizeof v[0];
        void* args[4] = {&base, &count, &size, &cmp_code};
        CHECK_OK(gort_ffi_call(qs, (vfn)qsort, NULL, args));
        CHECK_OK(gort_ffi_sig_release(qs));
    } else {
        qsort(v, n, sizeof v[0], (int (*)(const void*, const void*))cmp_code);
    }
    CHECK(sorted(v, n));
    CHECK(atomic_load(&cmp_calls) - before >= n - 1);
}

/* ---- a closure computing 2x + 1 --------------------------------------------------- */

static atomic_long twice_calls;

static inline void h_twice_plus_one(void* ret, void** args, void* ud) {
    (void)ud;
    note_context();
    *(int64_t*)ret = 2 * *(int64_t*)args[0] + 1;
    atomic_fetch_add(&twice_calls, 1);
}

#endif
