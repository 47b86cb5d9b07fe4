/* C functions and types for the ffi test (tests/c_api/ffi_test.c), compiled
 * in their own translation unit: what gort_ffi_call calls, and the structs
 * it passes by value, as the C compiler lays them out and passes them. */
#ifndef GORT_TEST_FFI_LIB_H
#define GORT_TEST_FFI_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The scalar types: name, C type, type code, two sample values, and how a
 * result comes back: S and U (integers narrower than 64 bits are widened
 * to int64_t / uint64_t, libffi's rule) or T (the type itself). */
#define FFI_LIB_SCALARS(X)                                               \
    X(int8, int8_t, GORT_FFI_INT8, -100, 27, S)                          \
    X(uint8, uint8_t, GORT_FFI_UINT8, 200, 3, U)                         \
    X(int16, int16_t, GORT_FFI_INT16, -30000, 1234, S)                   \
    X(uint16, uint16_t, GORT_FFI_UINT16, 60000, 7, U)                    \
    X(int32, int32_t, GORT_FFI_INT32, -2000000000, 77, S)                \
    X(uint32, uint32_t, GORT_FFI_UINT32, 4000000000u, 9, U)              \
    X(int64, int64_t, GORT_FFI_INT64, -(INT64_C(1) << 40) - 3, 5, S)     \
    X(uint64, uint64_t, GORT_FFI_UINT64, (UINT64_C(1) << 63) + 5, 11, U) \
    X(float, float, GORT_FFI_FLOAT, 1.5f, -0.25f, T)                     \
    X(double, double, GORT_FFI_DOUBLE, -2.25e100, 0.125, T)              \
    X(pointer, void*, GORT_FFI_POINTER, (void*)&ffi_lib_anchor, NULL, T) \
    X(bool, bool, GORT_FFI_BOOL, true, false, U)                         \
    X(longdouble, long double, GORT_FFI_LONGDOUBLE, 1.0L / 3, -7.5L, T)  \
    X(size_t, size_t, GORT_FFI_SIZE_T, SIZE_MAX - 3, 1, U)               \
    X(ssize_t, ssize_t, GORT_FFI_SSIZE_T, -5, 6, S)                      \
    X(intptr, intptr_t, GORT_FFI_INTPTR, -((intptr_t)1 << 40), 2, S)

extern int ffi_lib_anchor;

/* pick_T(a, k, b) returns k ? a : b. */
#define FFI_LIB_DECLARE_PICK(name, ctype, code, va, vb, kind) \
    ctype ffi_lib_pick_##name(ctype a, int32_t k, ctype b);
FFI_LIB_SCALARS(FFI_LIB_DECLARE_PICK)

/* Structs passed by value: small (in one register), mixed float/int (one
 * SSE and one integer eightbyte), two doubles, large (in memory), nested,
 * with a long double, with bools. */
struct ffi_small {
    int8_t a;
    int16_t b;
};
struct ffi_mixed {
    float x;
    int32_t y;
    double z;
};
struct ffi_pair {
    double a, b;
};
struct ffi_large {
    int64_t a, b, c;
    double d;
    int32_t e;
};
struct ffi_inner {
    char c;
    double d;
};
struct ffi_nested {
    struct ffi_inner in;
    int32_t k;
    struct ffi_small s;
    float f;
};
struct ffi_withld {
    long double x;
    int8_t t;
};
struct ffi_bools {
    bool a;
    uint8_t b;
    bool c;
    uint64_t n;
};

/* bump_S(v, k) returns v with k added to every field (bools negated when k
 * is odd). */
#define FFI_LIB_STRUCTS(X) \
    X(small)               \
    X(mixed)               \
    X(pair)                \
    X(large)               \
    X(nested)              \
    X(withld)              \
    X(bools)
#define FFI_LIB_DECLARE_BUMP(name)                                         \
    struct ffi_##name ffi_lib_bump_##name(struct ffi_##name v, int32_t k); \
    void ffi_lib_bump_##name##_in_place(struct ffi_##name* v, int32_t k);
FFI_LIB_STRUCTS(FFI_LIB_DECLARE_BUMP)

/* mix: several structs and scalars in one call (registers run out):
 * returns the sum of every field and argument. */
double ffi_lib_mix(int8_t a, struct ffi_large l, float f, struct ffi_mixed m, struct ffi_nested n,
                   double d, struct ffi_pair p);

/* call_pick_int32(f, a, b) calls f(a, 1, b) + f(a, 0, b) from C. */
int32_t ffi_lib_call_pick_int32(int32_t (*f)(int32_t, int32_t, int32_t), int32_t a, int32_t b);

#define FFI_LIB_64_PARAMS                                                                          \
    int64_t a0, int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5, int64_t a6,            \
        int64_t a7, int64_t a8, int64_t a9, int64_t a10, int64_t a11, int64_t a12, int64_t a13,    \
        int64_t a14, int64_t a15, int64_t a16, int64_t a17, int64_t a18, int64_t a19, int64_t a20, \
        int64_t a21, int64_t a22, int64_t a23, int64_t a24, int64_t a25, int64_t a26, int64_t a27, \
        int64_t a28, int64_t a29, int64_t a30, int64_t a31, int64_t a32, int64_t a33, int64_t a34, \
        int64_t a35, int64_t a36, int64_t a37, int64_t a38, int64_t a39, int64_t a40, int64_t a41, \
        int64_t a42, int64_t a43, int64_t a44, int64_t a45, int64_t a46, int64_t a47, int64_t a48, \
        int64_t a49, int64_t a50, int64_t a51, int64_t a52, int64_t a53, int64_t a54, int64_t a55, \
        int64_t a56, int64_t a57, int64_t a58, int64_t a59, int64_t a60, int64_t a61, int64_t a62, \
        int64_t a63

/* sum64: a function of GORT_FFI_MAX_ARGS arguments, returning
 * sum((i + 1) * a_i). */
int64_t ffi_lib_sum64(FFI_LIB_64_PARAMS);

void ffi_lib_empty(void);

#endif
