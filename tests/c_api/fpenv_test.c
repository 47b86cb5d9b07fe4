/* The floating-point environment across gort_cgocall: the C function runs
 * with the goroutine's rounding mode and exception flags, and the goroutine
 * sees the flags the C function raised, as with a plain function call (the
 * call switches to another context, which has an SSE control/status word of
 * its own), and a rounding mode C sets is the goroutine's afterwards, for
 * double and long double arithmetic. Many calls, on one P and two, across a change of thread. */
#include <fenv.h>
#include <stdatomic.h>
#include <xmmintrin.h>

#include "check.h"
#include "gort.h"

static volatile double third = 3.0;

struct seen {
    int round;
    int inexact, divbyzero;
};

/* The SSE exception flags (MXCSR), which the runtime carries across the
 * call. (fetestexcept also reads the x87 status word, which belongs to the
 * thread, not to the goroutine: a goroutine that moves to another thread
 * sees that thread's x87 flags, raised by whatever long double arithmetic
 * ran there. Only the x87 control word travels, as Boost's switch does.) */
static int sse_flag(int flag) {
    return (_mm_getcsr() & (unsigned)flag) != 0;
}

static void look_and_raise(void* arg) {
    struct seen* s = arg;
    s->round = fegetround();
    s->inexact = sse_flag(FE_INEXACT);
    s->divbyzero = sse_flag(FE_DIVBYZERO);
    feraiseexcept(FE_DIVBYZERO);
}

static void clear_and_look(void* arg) {
    feclearexcept(FE_ALL_EXCEPT);
    look_and_raise(arg);
}

static void round_down(void* arg) {
    (void)arg;
    fesetround(FE_DOWNWARD);
}

static volatile long double lthird = 3.0L;

static atomic_int failures;

static void goroutine(void* arg) {
    gort_waitgroup* wg = arg;
    for (int i = 0; i < 2000; i++) {
        int mode = i % 2 == 0 ? FE_UPWARD : FE_TONEAREST;
        fesetround(mode);
        feclearexcept(FE_ALL_EXCEPT);
        volatile double x = 1.0 / third; /* raises inexact */
        (void)x;
        struct seen s = {0, 0, 0};
        CHECK_OK(gort_cgocall(look_and_raise, &s));
        int ok = s.round == mode && s.inexact && !s.divbyzero && sse_flag(FE_DIVBYZERO) &&
                 sse_flag(FE_INEXACT) && fegetround() == mode;
        /* C clearing the flags clears them for the goroutine too. */
        CHECK_OK(gort_cgocall(clear_and_look, &s));
        ok = ok && !s.inexact && sse_flag(FE_DIVBYZERO) && !sse_flag(FE_INEXACT);
        /* A rounding mode C sets is the goroutine's afterwards, for double
         * (MXCSR) and long double (x87) arithmetic alike. */
        CHECK_OK(gort_cgocall(round_down, NULL));
        volatile double d = 1.0 / third;
        volatile long double ld = 1.0L / lthird;
        fesetround(FE_UPWARD);
        volatile double du = 1.0 / third;
        volatile long double ldu = 1.0L / lthird;
        ok = ok && d < du && ld < ldu;
        if (!ok) atomic_fetch_add(&failures, 1);
        if (i % 100 == 0) CHECK_OK(gort_gosched()); /* may move to another thread */
    }
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
    CHECK_OK(gort_waitgroup_done(wg));
}

static void test_fpenv_across_cgocall(void) {
    for (int procs = 1; procs <= 2; procs++) {
        gort_config c;
        gort_config_init(&c);
        c.maxprocs = procs;
        CHECK_OK(gort_init(&c));
        gort_waitgroup* wg = gort_waitgroup_make();
        CHECK_OK(gort_waitgroup_add(wg, 4));
        for (int i = 0; i < 4; i++) CHECK_OK(gort_go(goroutine, wg));
        CHECK_OK(gort_waitgroup_wait(wg));
        CHECK_OK(gort_waitgroup_release(wg));
        CHECK_OK(gort_shutdown(-1));
    }
    CHECK_EQ(atomic_load(&failures), 0);
}

int main(void) {
    RUN(test_fpenv_across_cgocall);
    return check_failures != 0;
}
