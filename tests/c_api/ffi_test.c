/* The ffi C ABI (gort_ffi_*), as a C program uses it: every type code in
 * both directions (gort_ffi_call of C functions, closures called from C and
 * through libffi), structs by value in and out (small, mixed float/int,
 * large, nested, with long double and bools), the argument limit, snprintf
 * through a variadic signature, a qsort comparator, and a closure called
 * 100,000 times from each of 4 C threads at once. Each runs before
 * gort_init, from the main thread and from a goroutine while the runtime
 * runs, and after gort_shutdown. Lifetimes: ffi_lifetime_test.c; bad input:
 * ffi_bad_input_test.c. Compiled as C; the sanitizer builds run it too. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ffi_check.h"
#include "ffi_lib.h"
#include "gort.h"

/* ---- scalars --------------------------------------------------------------------- */

/* What a handler writes and what gort_ffi_call stores: integers narrower
 * than 64 bits widened (S signed, U unsigned), other types as themselves. */
#define STORE_S(ctype, ret, v) (*(int64_t*)(ret) = (int64_t)(v))
#define STORE_U(ctype, ret, v) (*(uint64_t*)(ret) = (uint64_t)(v))
#define STORE_T(ctype, ret, v) (*(ctype*)(ret) = (v))
#define SAME_S(ctype, ret, v) (*(const int64_t*)(ret) == (int64_t)(v))
#define SAME_U(ctype, ret, v) (*(const uint64_t*)(ret) == (uint64_t)(v))
#define SAME_T(ctype, ret, v) (*(const ctype*)(ret) == (v))

union result {
    int64_t i;
    uint64_t u;
    long double ld;
    void* p;
    unsigned char bytes[128];
};

#define SCALAR_HANDLER(name, ctype, code, va, vb, kind)      \
    static void h_##name(void* ret, void** args, void* ud) { \
        (void)ud;                                            \
        note_context();                                      \
        ctype a = *(ctype*)args[0];                          \
        int32_t k = *(int32_t*)args[1];                      \
        ctype b = *(ctype*)args[2];                          \
        STORE_##kind(ctype, ret, k ? a : b);                 \
    }
FFI_LIB_SCALARS(SCALAR_HANDLER)

/* check_scalar_T: pick_T through gort_ffi_call (GORT_ENOTINIT without a
 * runtime); a closure of the same signature called from C directly, and
 * called by libffi through gort_ffi_call. */
#define SCALAR_CHECK(name, ctype, code, va, vb, kind)                                    \
    static void check_scalar_##name(void) {                                              \
        int at[3] = {code, GORT_FFI_INT32, code};                                        \
        gort_ffi_sig* sig = gort_ffi_sig_make(code, at, 3);                              \
        CHECK(sig != NULL);                                                              \
        if (sig == NULL) return;                                                         \
        ctype a = va;                                                                    \
        ctype b = vb;                                                                    \
        void (*cl_code)(void) = NULL;                                                    \
        gort_ffi_closure* cl = gort_ffi_closure_make(sig, h_##name, NULL, &cl_code);     \
        CHECK(cl != NULL && cl_code != NULL);                                            \
        ctype (*f)(ctype, int32_t, ctype) = (ctype(*)(ctype, int32_t, ctype))cl_code;    \
        for (int32_t k = 0; k < 2; k++) {                                                \
            void* args[3] = {&a, &k, &b};                                                \
            vfn targets[2] = {(vfn)ffi_lib_pick_##name, cl_code};                        \
            for (int t = 0; t < 2; t++) {                                                \
                union result r;                                                          \
                memset(&r, 0xA5, sizeof r);                                              \
                int rc = gort_ffi_call(sig, targets[t], &r, args);                       \
                CHECK_EQ(rc, running ? GORT_OK : GORT_ENOTINIT);                         \
                if (running && !SAME_##kind(ctype, &r, k ? a : b)) {                     \
                    fprintf(stderr, "  %s: gort_ffi_call of %s, k = %d\n", #name,        \
                            t == 0 ? "pick" : "the closure", (int)k);                    \
                    CHECK(0);                                                            \
                }                                                                        \
            }                                                                            \
            ctype got = f(a, k, b);                                                      \
            if (!(got == (k ? a : b))) {                                                 \
                fprintf(stderr, "  %s: closure called from C, k = %d\n", #name, (int)k); \
                CHECK(0);                                                                \
            }                                                                            \
        }                                                                                \
        CHECK_OK(gort_ffi_closure_release(cl));                                          \
        CHECK_OK(gort_ffi_sig_release(sig));                                             \
    }
FFI_LIB_SCALARS(SCALAR_CHECK)

static void test_scalars(void) {
#define SCALAR_RUN(name, ctype, code, va, vb, kind) check_scalar_##name();
    FFI_LIB_SCALARS(SCALAR_RUN)
    CHECK_EQ(atomic_load(&wrong_context), 0);
}

/* ---- structs -------------------------------------------------------------------- */

static int t_small, t_mixed, t_pair, t_large, t_inner, t_nested, t_withld, t_bools;

static void make_struct_types(void) {
    int small[] = {GORT_FFI_INT8, GORT_FFI_INT16};
    int mixed[] = {GORT_FFI_FLOAT, GORT_FFI_INT32, GORT_FFI_DOUBLE};
    int pair[] = {GORT_FFI_DOUBLE, GORT_FFI_DOUBLE};
    int large[] = {GORT_FFI_INT64, GORT_FFI_INT64, GORT_FFI_INT64, GORT_FFI_DOUBLE, GORT_FFI_INT32};
    int inner[] = {GORT_FFI_INT8, GORT_FFI_DOUBLE};
    int withld[] = {GORT_FFI_LONGDOUBLE, GORT_FFI_INT8};
    int bools[] = {GORT_FFI_BOOL, GORT_FFI_UINT8, GORT_FFI_BOOL, GORT_FFI_UINT64};
    t_small = gort_ffi_struct_make(small, 2);
    t_mixed = gort_ffi_struct_make(mixed, 3);
    t_pair = gort_ffi_struct_make(pair, 2);
    t_large = gort_ffi_struct_make(large, 5);
    t_inner = gort_ffi_struct_make(inner, 2);
    int nested[] = {t_inner, GORT_FFI_INT32, t_small, GORT_FFI_FLOAT};
    t_nested = gort_ffi_struct_make(nested, 4);
    t_withld = gort_ffi_struct_make(withld, 2);
    t_bools = gort_ffi_struct_make(bools, 4);
    int codes[] = {t_small, t_mixed, t_pair, t_large, t_inner, t_nested, t_withld, t_bools};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) CHECK(codes[i] > GORT_FFI_INTPTR);
    /* The same field list twice: two codes. */
    int again = gort_ffi_struct_make(small, 2);
    CHECK(again > 0 && again != t_small);
}

static void dump(const char* what, const void* p, size_t n) {
    fprintf(stderr, "    %s:", what);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %02x", ((const unsigned char*)p)[i]);
    fprintf(stderr, "\n");
}

static const struct ffi_small v_small = {-5, 3000};
static const struct ffi_mixed v_mixed = {2.5f, -7, 1e300};
static const struct ffi_pair v_pair = {0.5, -1.25};
static const struct ffi_large v_large = {INT64_C(1) << 50, -3, 7, 2.75, -9};
static const struct ffi_nested v_nested = {{'A', -0.5}, 40000, {100, -200}, 8.5f};
static const struct ffi_withld v_withld = {2.0L / 7, -3};
static const struct ffi_bools v_bools = {true, 250, false, UINT64_C(1) << 60};

static bool eq_small(struct ffi_small x, struct ffi_small y) {
    return x.a == y.a && x.b == y.b;
}
static bool eq_mixed(struct ffi_mixed x, struct ffi_mixed y) {
    return x.x == y.x && x.y == y.y && x.z == y.z;
}
static bool eq_pair(struct ffi_pair x, struct ffi_pair y) {
    return x.a == y.a && x.b == y.b;
}
static bool eq_large(struct ffi_large x, struct ffi_large y) {
    return x.a == y.a && x.b == y.b && x.c == y.c && x.d == y.d && x.e == y.e;
}
static bool eq_nested(struct ffi_nested x, struct ffi_nested y) {
    return x.in.c == y.in.c && x.in.d == y.in.d && x.k == y.k && eq_small(x.s, y.s) && x.f == y.f;
}
static bool eq_withld(struct ffi_withld x, struct ffi_withld y) {
    return x.x == y.x && x.t == y.t;
}
static bool eq_bools(struct ffi_bools x, struct ffi_bools y) {
    return x.a == y.a && x.b == y.b && x.c == y.c && x.n == y.n;
}

#define STRUCT_HANDLER(name)                                          \
    static void hs_##name(void* ret, void** args, void* ud) {         \
        (void)ud;                                                     \
        note_context();                                               \
        struct ffi_##name v = *(const struct ffi_##name*)args[0];     \
        ffi_lib_bump_##name##_in_place(&v, *(const int32_t*)args[1]); \
        *(struct ffi_##name*)ret = v;                                 \
    }
FFI_LIB_STRUCTS(STRUCT_HANDLER)

/* check_struct_S: bump_S(v, k) by value in and out, through gort_ffi_call
 * of the C function and of a closure, and the closure called from C. */
#define STRUCT_CHECK(name)                                                                      \
    static void check_struct_##name(void) {                                                     \
        int at[2] = {t_##name, GORT_FFI_INT32};                                                 \
        gort_ffi_sig* sig = gort_ffi_sig_make(t_##name, at, 2);                                 \
        CHECK(sig != NULL);                                                                     \
        if (sig == NULL) return;                                                                \
        void (*cl_code)(void) = NULL;                                                           \
        gort_ffi_closure* cl = gort_ffi_closure_make(sig, hs_##name, NULL, &cl_code);           \
        CHECK(cl != NULL);                                                                      \
        struct ffi_##name v = v_##name;                                                         \
        for (int32_t k = 1; k <= 3; k++) {                                                      \
            struct ffi_##name want = ffi_lib_bump_##name(v, k);                                 \
            void* args[2] = {&v, &k};                                                           \
            vfn targets[2] = {(vfn)ffi_lib_bump_##name, cl_code};                               \
            for (int t = 0; running && t < 2; t++) {                                            \
                union result r;                                                                 \
                memset(&r, 0xA5, sizeof r);                                                     \
                CHECK_OK(gort_ffi_call(sig, targets[t], &r, args));                             \
                CHECK(args[0] == &v && args[1] == &k); /* the array is the caller's */          \
                struct ffi_##name got;                                                          \
                memcpy(&got, &r, sizeof got);                                                   \
                if (!eq_##name(got, want)) {                                                    \
                    fprintf(stderr, "  struct %s: gort_ffi_call of %s, k = %d\n", #name,        \
                            t == 0 ? "bump" : "the closure", (int)k);                           \
                    dump("got", &got, sizeof got);                                              \
                    dump("want", &want, sizeof want);                                           \
                    CHECK(0);                                                                   \
                }                                                                               \
            }                                                                                   \
            struct ffi_##name (*f)(struct ffi_##name, int32_t) =                                \
                (struct ffi_##name(*)(struct ffi_##name, int32_t))cl_code;                      \
            if (!eq_##name(f(v, k), want)) {                                                    \
                fprintf(stderr, "  struct %s: closure called from C, k = %d\n", #name, (int)k); \
                CHECK(0);                                                                       \
            }                                                                                   \
        }                                                                                       \
        CHECK_OK(gort_ffi_closure_release(cl));                                                 \
        CHECK_OK(gort_ffi_sig_release(sig));                                                    \
    }
FFI_LIB_STRUCTS(STRUCT_CHECK)

/* Several structs and scalars in one call: the registers run out. */
static void hs_mix(void* ret, void** args, void* ud) {
    (void)ud;
    note_context();
    *(double*)ret = ffi_lib_mix(*(int8_t*)args[0], *(struct ffi_large*)args[1], *(float*)args[2],
                                *(struct ffi_mixed*)args[3], *(struct ffi_nested*)args[4],
                                *(double*)args[5], *(struct ffi_pair*)args[6]);
}

static void check_mix(void) {
    int at[7] = {GORT_FFI_INT8, t_large,         GORT_FFI_FLOAT, t_mixed,
                 t_nested,      GORT_FFI_DOUBLE, t_pair};
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_DOUBLE, at, 7);
    CHECK(sig != NULL);
    int8_t a = -4;
    struct ffi_large l = v_large;
    float f = 0.25f;
    struct ffi_mixed m = v_mixed;
    struct ffi_nested n = v_nested;
    double d = 1e-3;
    struct ffi_pair p = v_pair;
    double want = ffi_lib_mix(a, l, f, m, n, d, p);
    void* args[7] = {&a, &l, &f, &m, &n, &d, &p};
    void (*cl_code)(void) = NULL;
    gort_ffi_closure* cl = gort_ffi_closure_make(sig, hs_mix, NULL, &cl_code);
    CHECK(cl != NULL);
    if (running) {
        double got = 0;
        CHECK_OK(gort_ffi_call(sig, (vfn)ffi_lib_mix, &got, args));
        CHECK(args[1] == &l && args[3] == &m && args[4] == &n && args[6] == &p);
        CHECK(got == want);
        got = 0;
        CHECK_OK(gort_ffi_call(sig, cl_code, &got, args));
        CHECK(got == want);
    }
    double (*fc)(int8_t, struct ffi_large, float, struct ffi_mixed, struct ffi_nested, double,
                 struct ffi_pair) = (double (*)(int8_t, struct ffi_large, float, struct ffi_mixed,
                                                struct ffi_nested, double, struct ffi_pair))cl_code;
    CHECK(fc(a, l, f, m, n, d, p) == want);
    CHECK_OK(gort_ffi_closure_release(cl));
    CHECK_OK(gort_ffi_sig_release(sig));
}

static void test_structs(void) {
#define STRUCT_RUN(name) check_struct_##name();
    FFI_LIB_STRUCTS(STRUCT_RUN)
    check_mix();
    CHECK_EQ(atomic_load(&wrong_context), 0);
}

/* ---- the argument limit --------------------------------------------------------- */

static void h_sum64(void* ret, void** args, void* ud) {
    (void)ud;
    note_context();
    int64_t s = 0;
    for (int i = 0; i < GORT_FFI_MAX_ARGS; i++) s += (i + 1) * *(int64_t*)args[i];
    *(int64_t*)ret = s;
}

static void test_max_args(void) {
    int at[GORT_FFI_MAX_ARGS + 1];
    int64_t v[GORT_FFI_MAX_ARGS];
    void* args[GORT_FFI_MAX_ARGS];
    int64_t want = 0;
    for (int i = 0; i < GORT_FFI_MAX_ARGS; i++) {
        at[i] = GORT_FFI_INT64;
        v[i] = (i % 2 ? -1 : 1) * (int64_t)(i * i + 3);
        args[i] = &v[i];
        want += (i + 1) * v[i];
    }
    at[GORT_FFI_MAX_ARGS] = GORT_FFI_INT64;
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_INT64, at, GORT_FFI_MAX_ARGS);
    CHECK(sig != NULL);
    int64_t got = 0;
    CHECK_OK(gort_ffi_call(sig, (vfn)ffi_lib_sum64, &got, args));
    CHECK_EQ(got, want);
    void (*cl_code)(void) = NULL;
    gort_ffi_closure* cl = gort_ffi_closure_make(sig, h_sum64, NULL, &cl_code);
    CHECK(cl != NULL);
    got = 0;
    CHECK_OK(gort_ffi_call(sig, cl_code, &got, args));
    CHECK_EQ(got, want);
    CHECK_OK(gort_ffi_closure_release(cl));
    CHECK_OK(gort_ffi_sig_release(sig));
    errno = 0;
    CHECK(gort_ffi_sig_make(GORT_FFI_INT64, at, GORT_FFI_MAX_ARGS + 1) == NULL && errno == EINVAL);
}

/* ---- variadic: snprintf -------------------------------------------------------------- */

static void test_snprintf(void) {
    /* snprintf(buf, size, fmt, int, double, char *, long long) */
    int at[7] = {GORT_FFI_POINTER, GORT_FFI_SIZE_T,  GORT_FFI_POINTER, GORT_FFI_INT32,
                 GORT_FFI_DOUBLE,  GORT_FFI_POINTER, GORT_FFI_INT64};
    gort_ffi_sig* sig = gort_ffi_sig_make_variadic(GORT_FFI_INT32, at, 3, 7);
    CHECK(sig != NULL);
    char buf[64];
    char* bp = buf;
    size_t size = sizeof buf;
    const char* fmt = "%d %.2f %s %lld";
    int32_t i = -42;
    double d = 3.14159;
    const char* s = "hi";
    int64_t ll = INT64_C(1) << 40;
    void* args[7] = {&bp, &size, &fmt, &i, &d, &s, &ll};
    int64_t n = 0;
    CHECK_OK(gort_ffi_call(sig, (vfn)snprintf, &n, args));
    CHECK(strcmp(buf, "-42 3.14 hi 1099511627776") == 0);
    CHECK_EQ(n, (int64_t)strlen("-42 3.14 hi 1099511627776"));
    /* Truncation: the return value is what would have been written. */
    size = 4;
    CHECK_OK(gort_ffi_call(sig, (vfn)snprintf, &n, args));
    CHECK(strcmp(buf, "-42") == 0);
    CHECK_EQ(n, (int64_t)strlen("-42 3.14 hi 1099511627776"));
    CHECK_OK(gort_ffi_sig_release(sig));

    /* Another shape: a long double and a promoted char. */
    int at2[5] = {GORT_FFI_POINTER, GORT_FFI_SIZE_T, GORT_FFI_POINTER, GORT_FFI_LONGDOUBLE,
                  GORT_FFI_INT32};
    sig = gort_ffi_sig_make_variadic(GORT_FFI_INT32, at2, 3, 5);
    CHECK(sig != NULL);
    size = sizeof buf;
    fmt = "%.3Lf|%c";
    long double ld = 2.0L / 3;
    int32_t c = 'x';
    void* args2[5] = {&bp, &size, &fmt, &ld, &c};
    CHECK_OK(gort_ffi_call(sig, (vfn)snprintf, &n, args2));
    CHECK(strcmp(buf, "0.667|x") == 0);
    CHECK_EQ(n, 7);
    CHECK_OK(gort_ffi_sig_release(sig));
}

/* Signatures of one shape are shared: releasing one handle leaves the
 * other working. */
static void test_shared_shapes(void) {
    int at[3] = {GORT_FFI_INT32, GORT_FFI_INT32, GORT_FFI_INT32};
    gort_ffi_sig* a = gort_ffi_sig_make(GORT_FFI_INT32, at, 3);
    gort_ffi_sig* b = gort_ffi_sig_make(GORT_FFI_INT32, at, 3);
    CHECK(a != NULL && b != NULL && a != b);
    CHECK_OK(gort_ffi_sig_release(a));
    int32_t x = 5, k = 0, y = 6;
    void* args[3] = {&x, &k, &y};
    int64_t r = 0;
    CHECK_OK(gort_ffi_call(b, (vfn)ffi_lib_pick_int32, &r, args));
    CHECK_EQ(r, 6);
    CHECK_EQ(gort_ffi_call(a, (vfn)ffi_lib_pick_int32, &r, args), GORT_EINVAL);
    CHECK_OK(gort_ffi_sig_release(b));
}

static void test_qsort(void) {
    qsort_with_closure(1);
    CHECK_EQ(atomic_load(&wrong_context), 0);
}

/* ---- 4 C threads, 100,000 calls each ------------------------------------------------ */

enum { kThreads = 4, kCallsPerThread = 100000 };

static void* call_many(void* code) {
    int64_t (*f)(int64_t) = (int64_t(*)(int64_t))code;
    int64_t sum = 0;
    for (int64_t i = 0; i < kCallsPerThread; i++) sum += f(i);
    return (void*)(intptr_t)(sum == (int64_t)kCallsPerThread * kCallsPerThread);
}

static void test_threads(void) {
    int at = GORT_FFI_INT64;
    gort_ffi_sig* sig = gort_ffi_sig_make(GORT_FFI_INT64, &at, 1);
    void (*code)(void) = NULL;
    gort_ffi_closure* cl = gort_ffi_closure_make(sig, h_twice_plus_one, NULL, &code);
    CHECK(cl != NULL);
    CHECK_OK(gort_ffi_sig_release(sig)); /* the closure keeps what it needs */
    atomic_store(&twice_calls, 0);
    pthread_t t[kThreads];
    for (int i = 0; i < kThreads; i++) CHECK_EQ(pthread_create(&t[i], NULL, call_many, code), 0);
    for (int i = 0; i < kThreads; i++) {
        void* exact = NULL;
        pthread_join(t[i], &exact);
        CHECK(exact != NULL); /* that thread's sum was exact */
    }
    CHECK_EQ(atomic_load(&twice_calls), (long)kThreads * kCallsPerThread);
    CHECK_OK(gort_ffi_closure_release(cl));
    CHECK_EQ(atomic_load(&wrong_context), 0);
}

/* ---- main ------------------------------------------------------------------------- */

static void in_goroutine_all(void) {
    test_scalars();
    test_structs();
    test_max_args();
    test_snprintf();
    test_qsort();
}

int main(void) {
    /* Before gort_init: types, signatures and closures work; handlers run as
     * plain C; gort_ffi_call returns GORT_ENOTINIT. */
    set_running(false);
    make_struct_types();
    make_comparator();
    RUN(test_scalars);
    RUN(test_structs);
    RUN(test_qsort);

    CHECK_OK(init_runtime(2));
    set_running(true);
    /* From the main thread (a C thread: handlers run through the callback
     * path), then from a goroutine. */
    RUN(test_scalars);
    RUN(test_structs);
    RUN(test_max_args);
    RUN(test_snprintf);
    RUN(test_shared_shapes);
    RUN(test_qsort);
    RUN(test_threads);
    run_in_goroutine(in_goroutine_all);
    fprintf(stderr, "%s in_goroutine_all\n", atomic_load(&wrong_context) == 0 ? "ok  " : "FAIL");
    CHECK_OK(gort_shutdown(-1));

    /* After gort_shutdown: as before init. */
    set_running(false);
    RUN(test_scalars);
    RUN(test_structs);
    RUN(test_qsort);
    RUN(test_threads); /* plain C on 4 threads at once */
    CHECK_OK(gort_ffi_closure_release(cmp_closure));
    CHECK_OK(gort_ffi_sig_release(cmp_sig));
    return check_failures == 0 ? 0 : 1;
}
