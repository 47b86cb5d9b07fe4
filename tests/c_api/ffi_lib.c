/* The C side of the ffi test: see ffi_lib.h. */
#include "ffi_lib.h"

int ffi_lib_anchor;

#define FFI_LIB_DEFINE_PICK(name, ctype, code, va, vb, kind) \
    ctype ffi_lib_pick_##name(ctype a, int32_t k, ctype b) { \
        return k ? a : b;                                    \
    }
FFI_LIB_SCALARS(FFI_LIB_DEFINE_PICK)

void ffi_lib_bump_small_in_place(struct ffi_small* v, int32_t k) {
    v->a = (int8_t)(v->a + k);
    v->b = (int16_t)(v->b + k);
}
void ffi_lib_bump_mixed_in_place(struct ffi_mixed* v, int32_t k) {
    v->x += (float)k;
    v->y += k;
    v->z += k;
}
void ffi_lib_bump_pair_in_place(struct ffi_pair* v, int32_t k) {
    v->a += k;
    v->b -= k;
}
void ffi_lib_bump_large_in_place(struct ffi_large* v, int32_t k) {
    v->a += k;
    v->b += 2 * k;
    v->c += 3 * k;
    v->d += 4 * k;
    v->e += 5 * k;
}
void ffi_lib_bump_nested_in_place(struct ffi_nested* v, int32_t k) {
    v->in.c = (char)(v->in.c + k);
    v->in.d += k;
    v->k += k;
    ffi_lib_bump_small_in_place(&v->s, k);
    v->f += (float)k;
}
void ffi_lib_bump_withld_in_place(struct ffi_withld* v, int32_t k) {
    v->x += k;
    v->t = (int8_t)(v->t + k);
}
void ffi_lib_bump_bools_in_place(struct ffi_bools* v, int32_t k) {
    if (k % 2 != 0) {
        v->a = !v->a;
        v->c = !v->c;
    }
    v->b = (uint8_t)(v->b + k);
    v->n += (uint64_t)k;
}

#define FFI_LIB_DEFINE_BUMP(name)                                           \
    struct ffi_##name ffi_lib_bump_##name(struct ffi_##name v, int32_t k) { \
        ffi_lib_bump_##name##_in_place(&v, k);                              \
        return v;                                                           \
    }
FFI_LIB_STRUCTS(FFI_LIB_DEFINE_BUMP)

double ffi_lib_mix(int8_t a, struct ffi_large l, float f, struct ffi_mixed m, struct ffi_nested n,
                   double d, struct ffi_pair p) {
    double s = a + (double)l.a + (double)l.b + (double)l.c + l.d + l.e + f;
    s += m.x + m.y + m.z;
    s += n.in.c + n.in.d + n.k + n.s.a + n.s.b + n.f;
    return s + d + p.a + p.b;
}

int32_t ffi_lib_call_pick_int32(int32_t (*f)(int32_t, int32_t, int32_t), int32_t a, int32_t b) {
    return f(a, 1, b) + f(a, 0, b);
}

int64_t ffi_lib_sum64(FFI_LIB_64_PARAMS) {
    return 1 * a0 + 2 * a1 + 3 * a2 + 4 * a3 + 5 * a4 + 6 * a5 + 7 * a6 + 8 * a7 + 9 * a8 +
           10 * a9 + 11 * a10 + 12 * a11 + 13 * a12 + 14 * a13 + 15 * a14 + 16 * a15 + 17 * a16 +
           18 * a17 + 19 * a18 + 20 * a19 + 21 * a20 + 22 * a21 + 23 * a22 + 24 * a23 + 25 * a24 +
           26 * a25 + 27 * a26 + 28 * a27 + 29 * a28 + 30 * a29 + 31 * a30 + 32 * a31 + 33 * a32 +
           34 * a33 + 35 * a34 + 36 * a35 + 37 * a36 + 38 * a37 + 39 * a38 + 40 * a39 + 41 * a40 +
           42 * a41 + 43 * a42 + 44 * a43 + 45 * a44 + 46 * a45 + 47 * a46 + 48 * a47 + 49 * a48 +
           50 * a49 + 51 * a50 + 52 * a51 + 53 * a52 + 54 * a53 + 55 * a54 + 56 * a55 + 57 * a56 +
           58 * a57 + 59 * a58 + 60 * a59 + 61 * a60 + 62 * a61 + 63 * a62 + 64 * a63;
}

void ffi_lib_empty(void) {}
