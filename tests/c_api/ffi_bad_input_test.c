/* Bad input to every ffi entry point of gort.h, like bad_input_test.c: each
 * row is one call, the status it must return, and a piece of the line it
 * must print on stderr naming what is wrong (the row's stderr is captured).
 * Constructors must also set errno. The rows run with the runtime running;
 * a second table runs before gort_init and after gort_shutdown, where only
 * gort_ffi_call needs the runtime. Nothing may crash, hang or leak (the
 * sanitizer builds run this too). Compiled as C. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

typedef void (*vfn)(void);

static gort_ffi_sig* live_sig;     /* int32(int32, int32) */
static gort_ffi_sig* dead_sig;     /* made and released */
static gort_ffi_sig* variadic_sig; /* int32(pointer, ...int32) */
static gort_ffi_closure* live_cl;  /* on live_sig */
static gort_ffi_closure* dead_cl;  /* made and released */
static gort_chan* live_chan;       /* another kind of handle */
static void* garbage = (void*)(uintptr_t)0x12345678;

static void handler(void* ret, void** args, void* ud) {
    (void)args, (void)ud;
    *(int64_t*)ret = 0;
}
static int32_t add2(int32_t a, int32_t b) {
    return a + b;
}

/* A constructor's result as a status: GORT_EINVAL if it failed with errno
 * EINVAL, GORT_ENOMEM for ENOMEM, GORT_OK if it made something (released
 * again here). */
static int sig_status(gort_ffi_sig* s) {
    if (s != NULL) return gort_ffi_sig_release(s);
    return errno == EINVAL ? GORT_EINVAL : errno == ENOMEM ? GORT_ENOMEM : -100;
}
static int struct_status(int code) {
    if (code > 0) return GORT_OK;
    return errno == EINVAL ? code : -100;
}
static int closure_status(gort_ffi_closure* c) {
    if (c != NULL) return gort_ffi_closure_release(c);
    return errno == EINVAL ? GORT_EINVAL : -100;
}

/* ---- gort_ffi_struct_make ------------------------------------------------------- */

static int st_null(void) {
    return struct_status(gort_ffi_struct_make(NULL, 2));
}
static int st_zero(void) {
    int f[1] = {GORT_FFI_INT32};
    return struct_status(gort_ffi_struct_make(f, 0));
}
static int st_too_many(void) {
    int f[GORT_FFI_MAX_FIELDS + 1];
    for (int i = 0; i <= GORT_FFI_MAX_FIELDS; i++) f[i] = GORT_FFI_INT8;
    return struct_status(gort_ffi_struct_make(f, GORT_FFI_MAX_FIELDS + 1));
}
static int st_max_fields(void) {
    int f[GORT_FFI_MAX_FIELDS];
    for (int i = 0; i < GORT_FFI_MAX_FIELDS; i++) f[i] = GORT_FFI_INT8;
    return struct_status(gort_ffi_struct_make(f, GORT_FFI_MAX_FIELDS));
}
static int st_bad_code(void) {
    int f[2] = {GORT_FFI_INT32, 99};
    return struct_status(gort_ffi_struct_make(f, 2));
}
static int st_negative_code(void) {
    int f[1] = {-7};
    return struct_status(gort_ffi_struct_make(f, 1));
}
static int st_unmade_struct(void) {
    int f[1] = {1 << 24}; /* in the struct range, never made */
    return struct_status(gort_ffi_struct_make(f, 1));
}
static int st_void(void) {
    int f[2] = {GORT_FFI_VOID, GORT_FFI_INT32};
    return struct_status(gort_ffi_struct_make(f, 2));
}
static int st_too_big(void) {
    /* 256 int64 = 2 KiB; 256 of those = 512 KiB: too big to pass by value. */
    int f[GORT_FFI_MAX_FIELDS];
    for (int i = 0; i < GORT_FFI_MAX_FIELDS; i++) f[i] = GORT_FFI_INT64;
    int inner = gort_ffi_struct_make(f, GORT_FFI_MAX_FIELDS);
    if (inner <= 0) return -100;
    for (int i = 0; i < GORT_FFI_MAX_FIELDS; i++) f[i] = inner;
    return struct_status(gort_ffi_struct_make(f, GORT_FFI_MAX_FIELDS));
}

/* ---- gort_ffi_sig_make -------------------------------------------------------------- */

static int sm_bad_rtype(void) {
    return sig_status(gort_ffi_sig_make(99, NULL, 0));
}
static int sm_bad_arg(void) {
    int a[4] = {GORT_FFI_INT32, GORT_FFI_INT32, GORT_FFI_INT32, 99};
    return sig_status(gort_ffi_sig_make(GORT_FFI_INT32, a, 4));
}
static int sm_negative_arg(void) {
    int a[1] = {-1};
    return sig_status(gort_ffi_sig_make(GORT_FFI_INT32, a, 1));
}
static int sm_void_arg(void) {
    int a[2] = {GORT_FFI_INT32, GORT_FFI_VOID};
    return sig_status(gort_ffi_sig_make(GORT_FFI_INT32, a, 2));
}
static int sm_null_args(void) {
    return sig_status(gort_ffi_sig_make(GORT_FFI_INT32, NULL, 2));
}
static int sm_too_many(void) {
    int a[GORT_FFI_MAX_ARGS + 1];
    for (int i = 0; i <= GORT_FFI_MAX_ARGS; i++) a[i] = GORT_FFI_INT32;
    return sig_status(gort_ffi_sig_make(GORT_FFI_VOID, a, GORT_FFI_MAX_ARGS + 1));
}
static int sm_huge_nargs(void) {
    int a[1] = {GORT_FFI_INT32};
    return sig_status(gort_ffi_sig_make(GORT_FFI_VOID, a, SIZE_MAX));
}
static int sm_unmade_struct(void) {
    return sig_status(gort_ffi_sig_make(1 << 24, NULL, 0));
}

/* ---- gort_ffi_sig_make_variadic ------------------------------------------------------ */

static int sv_nfixed_zero(void) {
    int a[2] = {GORT_FFI_POINTER, GORT_FFI_INT32};
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_INT32, a, 0, 2));
}
static int sv_nfixed_big(void) {
    int a[2] = {GORT_FFI_POINTER, GORT_FFI_INT32};
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_INT32, a, 3, 2));
}
static int sv_float(void) {
    int a[3] = {GORT_FFI_POINTER, GORT_FFI_INT32, GORT_FFI_FLOAT};
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_INT32, a, 1, 3));
}
static int sv_int16(void) {
    int a[2] = {GORT_FFI_POINTER, GORT_FFI_INT16};
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_INT32, a, 1, 2));
}
static int sv_bool(void) {
    int a[2] = {GORT_FFI_POINTER, GORT_FFI_BOOL};
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_INT32, a, 1, 2));
}
static int sv_fixed_float(void) {
    /* A float among the fixed arguments is fine. */
    int a[2] = {GORT_FFI_FLOAT, GORT_FFI_DOUBLE};
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_INT32, a, 1, 2));
}
static int sv_too_many(void) {
    int a[GORT_FFI_MAX_ARGS + 1];
    for (int i = 0; i <= GORT_FFI_MAX_ARGS; i++) a[i] = GORT_FFI_INT32;
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_VOID, a, 1, GORT_FFI_MAX_ARGS + 1));
}
static int sv_null_args(void) {
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_INT32, NULL, 1, 2));
}
static int sv_bad_arg(void) {
    int a[2] = {GORT_FFI_POINTER, 1000};
    return sig_status(gort_ffi_sig_make_variadic(GORT_FFI_INT32, a, 1, 2));
}

/* ---- gort_ffi_sig_release ------------------------------------------------------------ */

static int sr_null(void) {
    return gort_ffi_sig_release(NULL);
}
static int sr_garbage(void) {
    return gort_ffi_sig_release((gort_ffi_sig*)garbage);
}
static int sr_dead(void) {
    return gort_ffi_sig_release(dead_sig);
}
static int sr_closure(void) {
    return gort_ffi_sig_release((gort_ffi_sig*)live_cl);
}
static int sr_chan(void) {
    return gort_ffi_sig_release((gort_ffi_sig*)live_chan);
}
static int sr_twice(void) {
    gort_ffi_sig* s = gort_ffi_sig_make(GORT_FFI_VOID, NULL, 0);
    int first = gort_ffi_sig_release(s);
    int second = gort_ffi_sig_release(s);
    return first == GORT_OK ? second : -100;
}

/* ---- gort_ffi_call -------------------------------------------------------------------- */

static int32_t a1 = 1, a2 = 2;
static void* two_args[2] = {&a1, &a2};

static int fc_null_sig(void) {
    int64_t r;
    return gort_ffi_call(NULL, (vfn)add2, &r, two_args);
}
static int fc_garbage(void) {
    int64_t r;
    return gort_ffi_call((gort_ffi_sig*)garbage, (vfn)add2, &r, two_args);
}
static int fc_dead(void) {
    int64_t r;
    return gort_ffi_call(dead_sig, (vfn)add2, &r, two_args);
}
static int fc_closure_as_sig(void) {
    int64_t r;
    return gort_ffi_call((gort_ffi_sig*)live_cl, (vfn)add2, &r, two_args);
}
static int fc_null_fn(void) {
    int64_t r;
    return gort_ffi_call(live_sig, NULL, &r, two_args);
}
static int fc_null_ret(void) {
    return gort_ffi_call(live_sig, (vfn)add2, NULL, two_args);
}
static int fc_null_args(void) {
    int64_t r;
    return gort_ffi_call(live_sig, (vfn)add2, &r, NULL);
}
static int fc_null_arg(void) {
    int64_t r;
    void* args[2] = {&a1, NULL};
    return gort_ffi_call(live_sig, (vfn)add2, &r, args);
}
static int fc_good(void) {
    int64_t r = 0;
    int rc = gort_ffi_call(live_sig, (vfn)add2, &r, two_args);
    return rc == GORT_OK && r != 3 ? -100 : rc;
}

/* ---- gort_ffi_closure_make / release ------------------------------------------------- */

static int cm_null_sig(void) {
    vfn code;
    return closure_status(gort_ffi_closure_make(NULL, handler, NULL, &code));
}
static int cm_dead_sig(void) {
    vfn code;
    return closure_status(gort_ffi_closure_make(dead_sig, handler, NULL, &code));
}
static int cm_garbage_sig(void) {
    vfn code;
    return closure_status(gort_ffi_closure_make((gort_ffi_sig*)garbage, handler, NULL, &code));
}
static int cm_null_handler(void) {
    vfn code;
    return closure_status(gort_ffi_closure_make(live_sig, NULL, NULL, &code));
}
static int cm_null_code(void) {
    return closure_status(gort_ffi_closure_make(live_sig, handler, NULL, NULL));
}
static int cm_variadic(void) {
    vfn code;
    return closure_status(gort_ffi_closure_make(variadic_sig, handler, NULL, &code));
}
static int cm_good(void) {
    vfn code = NULL;
    gort_ffi_closure* c = gort_ffi_closure_make(live_sig, handler, NULL, &code);
    return c != NULL && code == NULL ? -100 : closure_status(c);
}
static int cr_null(void) {
    return gort_ffi_closure_release(NULL);
}
static int cr_garbage(void) {
    return gort_ffi_closure_release((gort_ffi_closure*)garbage);
}
static int cr_dead(void) {
    return gort_ffi_closure_release(dead_cl);
}
static int cr_sig(void) {
    return gort_ffi_closure_release((gort_ffi_closure*)live_sig);
}
static int cr_chan(void) {
    return gort_ffi_closure_release((gort_ffi_closure*)live_chan);
}

/* ---- the tables ------------------------------------------------------------------------- */

struct row {
    const char* name;
    int (*call)(void);
    int want;
    const char* msg; /* in the stderr line; NULL: nothing printed */
};

static const struct row bad[] = {
    {"struct_make(NULL)", st_null, GORT_EINVAL, "gort_ffi_struct_make: field_types is NULL"},
    {"struct_make(n = 0)", st_zero, GORT_EINVAL, "n = 0: a struct has 1 to 256 fields"},
    {"struct_make(n = 257)", st_too_many, GORT_EINVAL, "n = 257"},
    {"struct_make(256 fields)", st_max_fields, GORT_OK, NULL},
    {"struct_make(bad code)", st_bad_code, GORT_EINVAL, "field_types[1] = 99 is not a type code"},
    {"struct_make(negative code)", st_negative_code, GORT_EINVAL,
     "field_types[0] = -7 is not a type code"},
    {"struct_make(unmade struct)", st_unmade_struct, GORT_EINVAL,
     "field_types[0] = 16777216 is not a type code"},
    {"struct_make(void field)", st_void, GORT_EINVAL, "field_types[0] is GORT_FFI_VOID"},
    {"struct_make(512 KiB)", st_too_big, GORT_EINVAL, "bytes, more than 65536"},
    {"sig_make(bad rtype)", sm_bad_rtype, GORT_EINVAL,
     "gort_ffi_sig_make: rtype = 99 is not a type code"},
    {"sig_make(bad argtypes[3])", sm_bad_arg, GORT_EINVAL,
     "gort: gort_ffi_sig_make: argtypes[3] = 99 is not a type code"},
    {"sig_make(negative code)", sm_negative_arg, GORT_EINVAL, "argtypes[0] = -1 is not"},
    {"sig_make(void argument)", sm_void_arg, GORT_EINVAL,
     "argtypes[1] is GORT_FFI_VOID: void is a return type only"},
    {"sig_make(NULL argtypes)", sm_null_args, GORT_EINVAL, "argtypes is NULL with nargs = 2"},
    {"sig_make(65 args)", sm_too_many, GORT_EINVAL,
     "nargs = 65 is more than GORT_FFI_MAX_ARGS (64)"},
    {"sig_make(SIZE_MAX args)", sm_huge_nargs, GORT_EINVAL, "is more than GORT_FFI_MAX_ARGS"},
    {"sig_make(unmade struct rtype)", sm_unmade_struct, GORT_EINVAL, "rtype = 16777216"},
    {"sig_make_variadic(nfixed 0)", sv_nfixed_zero, GORT_EINVAL,
     "gort_ffi_sig_make_variadic: nfixed = 0"},
    {"sig_make_variadic(nfixed > nargs)", sv_nfixed_big, GORT_EINVAL, "nfixed = 3"},
    {"sig_make_variadic(variadic float)", sv_float, GORT_EINVAL,
     "argtypes[2] = GORT_FFI_FLOAT is variadic"},
    {"sig_make_variadic(variadic int16)", sv_int16, GORT_EINVAL,
     "argtypes[1] = GORT_FFI_INT16 is variadic"},
    {"sig_make_variadic(variadic bool)", sv_bool, GORT_EINVAL, "GORT_FFI_BOOL is variadic"},
    {"sig_make_variadic(fixed float)", sv_fixed_float, GORT_OK, NULL},
    {"sig_make_variadic(65 args)", sv_too_many, GORT_EINVAL, "nargs = 65"},
    {"sig_make_variadic(NULL argtypes)", sv_null_args, GORT_EINVAL, "argtypes is NULL"},
    {"sig_make_variadic(bad code)", sv_bad_arg, GORT_EINVAL,
     "argtypes[1] = 1000 is not a type code"},
    {"sig_release(NULL)", sr_null, GORT_EINVAL, "gort_ffi_sig_release: sig is not a live"},
    {"sig_release(garbage)", sr_garbage, GORT_EINVAL, "sig is not a live signature"},
    {"sig_release(released)", sr_dead, GORT_EINVAL, "sig is not a live signature"},
    {"sig_release(a closure)", sr_closure, GORT_EINVAL, "sig is not a live signature"},
    {"sig_release(a channel)", sr_chan, GORT_EINVAL, "sig is not a live signature"},
    {"sig_release twice", sr_twice, GORT_EINVAL, "sig is not a live signature"},
    {"ffi_call(NULL sig)", fc_null_sig, GORT_EINVAL, "gort_ffi_call: sig is not a live"},
    {"ffi_call(garbage sig)", fc_garbage, GORT_EINVAL, "sig is not a live signature"},
    {"ffi_call(released sig)", fc_dead, GORT_EINVAL, "sig is not a live signature"},
    {"ffi_call(a closure as sig)", fc_closure_as_sig, GORT_EINVAL, "sig is not a live"},
    {"ffi_call(NULL fn)", fc_null_fn, GORT_EINVAL, "gort_ffi_call: fn is NULL"},
    {"ffi_call(NULL ret)", fc_null_ret, GORT_EINVAL,
     "ret is NULL but the return type is GORT_FFI_INT32"},
    {"ffi_call(NULL args)", fc_null_args, GORT_EINVAL,
     "args is NULL but the signature has 2 arguments"},
    {"ffi_call(NULL args[1])", fc_null_arg, GORT_EINVAL, "gort_ffi_call: args[1] is NULL"},
    {"ffi_call(good)", fc_good, GORT_OK, NULL},
    {"closure_make(NULL sig)", cm_null_sig, GORT_EINVAL,
     "gort_ffi_closure_make: sig is not a live signature"},
    {"closure_make(released sig)", cm_dead_sig, GORT_EINVAL, "sig is not a live signature"},
    {"closure_make(garbage sig)", cm_garbage_sig, GORT_EINVAL, "sig is not a live signature"},
    {"closure_make(NULL handler)", cm_null_handler, GORT_EINVAL,
     "gort_ffi_closure_make: handler is NULL"},
    {"closure_make(NULL code)", cm_null_code, GORT_EINVAL, "gort_ffi_closure_make: code is NULL"},
    {"closure_make(variadic sig)", cm_variadic, GORT_EINVAL, "sig is variadic"},
    {"closure_make(good)", cm_good, GORT_OK, NULL},
    {"closure_release(NULL)", cr_null, GORT_EINVAL,
     "gort_ffi_closure_release: c is not a live closure"},
    {"closure_release(garbage)", cr_garbage, GORT_EINVAL, "c is not a live closure"},
    {"closure_release(released)", cr_dead, GORT_EINVAL, "c is not a live closure"},
    {"closure_release(a sig)", cr_sig, GORT_EINVAL, "c is not a live closure"},
    {"closure_release(a channel)", cr_chan, GORT_EINVAL, "c is not a live closure"},
};

/* Before init and after shutdown: only gort_ffi_call needs the runtime. */
static const struct row not_running[] = {
    {"ffi_call(good) without a runtime", fc_good, GORT_ENOTINIT, NULL},
    {"ffi_call(released sig) without a runtime", fc_dead, GORT_ENOTINIT, NULL},
    {"struct_make(256 fields) without a runtime", st_max_fields, GORT_OK, NULL},
    {"struct_make(bad code) without a runtime", st_bad_code, GORT_EINVAL, "is not a type code"},
    {"sig_make(bad argtypes[3]) without a runtime", sm_bad_arg, GORT_EINVAL,
     "argtypes[3] = 99 is not a type code"},
    {"sig_make_variadic(fixed float) without a runtime", sv_fixed_float, GORT_OK, NULL},
    {"sig_release twice without a runtime", sr_twice, GORT_EINVAL, "sig is not a live"},
    {"closure_make(good) without a runtime", cm_good, GORT_OK, NULL},
    {"closure_make(variadic sig) without a runtime", cm_variadic, GORT_EINVAL, "sig is variadic"},
    {"closure_release(released) without a runtime", cr_dead, GORT_EINVAL, "not a live closure"},
};

/* run_row runs one row with stderr captured in a file. */
static void run_row(const struct row* r) {
    char path[] = "/tmp/gort-ffi-bad-input-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    errno = 0;
    int got = r->call();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[1024];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    bool msg_ok = r->msg != NULL ? strstr(text, r->msg) != NULL : text[0] == 0;
    if (got != r->want || !msg_ok) {
        fprintf(stderr, "FAIL %s: got %d (%s), want %d (%s)\n", r->name, got, gort_strerror(got),
                r->want, gort_strerror(r->want));
        fprintf(stderr, "     stderr: \"%s\", want it to contain \"%s\"\n", text,
                r->msg != NULL ? r->msg : "(nothing)");
        check_failures++;
    }
}

static void run_table(const struct row* rows, size_t n) {
    for (size_t i = 0; i < n; i++) run_row(&rows[i]);
}

static void make_objects(void) {
    int a[2] = {GORT_FFI_INT32, GORT_FFI_INT32};
    live_sig = gort_ffi_sig_make(GORT_FFI_INT32, a, 2);
    dead_sig = gort_ffi_sig_make(GORT_FFI_INT32, a, 2);
    CHECK_OK(gort_ffi_sig_release(dead_sig));
    int v[2] = {GORT_FFI_POINTER, GORT_FFI_INT32};
    variadic_sig = gort_ffi_sig_make_variadic(GORT_FFI_INT32, v, 1, 2);
    vfn code;
    live_cl = gort_ffi_closure_make(live_sig, handler, NULL, &code);
    dead_cl = gort_ffi_closure_make(live_sig, handler, NULL, &code);
    CHECK_OK(gort_ffi_closure_release(dead_cl));
    CHECK(live_sig != NULL && variadic_sig != NULL && live_cl != NULL && dead_cl != NULL);
}

int main(void) {
    make_objects();
    run_table(not_running, sizeof not_running / sizeof not_running[0]);
    fprintf(stderr, "%s before init\n", check_failures == 0 ? "ok  " : "FAIL");

    gort_config c;
    gort_config_init(&c);
    c.maxprocs = 2;
    CHECK_OK(gort_init(&c));
    live_chan = gort_chan_make(sizeof(int), 1);
    CHECK(live_chan != NULL);
    int before = check_failures;
    run_table(bad, sizeof bad / sizeof bad[0]);
    fprintf(stderr, "%s %zu rows while running\n", check_failures == before ? "ok  " : "FAIL",
            sizeof bad / sizeof bad[0]);
    CHECK_OK(gort_chan_release(live_chan));
    CHECK_OK(gort_shutdown(-1));

    before = check_failures;
    run_table(not_running, sizeof not_running / sizeof not_running[0]);
    fprintf(stderr, "%s after shutdown\n", check_failures == before ? "ok  " : "FAIL");

    CHECK_OK(gort_ffi_closure_release(live_cl));
    CHECK_OK(gort_ffi_sig_release(variadic_sig));
    CHECK_OK(gort_ffi_sig_release(live_sig));
    return check_failures == 0 ? 0 : 1;
}
