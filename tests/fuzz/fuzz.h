/* The C API fuzzer's interpreter (tests/fuzz): shared declarations.
 *
 * An input is a program: a sequence of operations, each an opcode byte and
 * its argument bytes, run by the C main thread; some operations start
 * actors that run a slice of the input as their own program: goroutines
 * (gort_go, gort_go_ex), plain threads, C code inside a gort_cgocall, a
 * blocking region, a callback, gort_run_main's goroutine. Operations act on
 * handle slots:
 *   - shared slots, used by every actor at once: any result the call may
 *     return per gort.h is accepted, anything else aborts (a finding);
 *   - private slots, used only by the main thread, with an exact model of
 *     what each call must return (channel contents in FIFO order, wait
 *     group counters, mutex state, references, released and stale
 *     handles): a mismatch aborts.
 * By construction nothing can block for good: every wait has a timeout,
 * except receiving from a gort_after that is certain to fire; so a hang is
 * a runtime bug (libFuzzer's -timeout turns it into a failure). At the end
 * of an input every actor has finished, every handle is released and the
 * runtime is running again (gort_init/gort_shutdown are operations too). */
#ifndef GORT_FUZZ_H
#define GORT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "gort.h"

/* A program: the bytes left to run. Reading past the end gives zeros. */
typedef struct {
    const uint8_t* p;
    size_t n;
} Prog;

static inline uint8_t take(Prog* pr) {
    if (pr->n == 0) return 0;
    pr->n--;
    return *pr->p++;
}

/* sub: the next len bytes as a program of their own (skipped here). */
static inline Prog sub(Prog* pr, size_t len) {
    if (len > pr->n) len = pr->n;
    Prog s = {pr->p, len};
    pr->p += len;
    pr->n -= len;
    return s;
}

/* fuzz_fail: an outcome gort.h does not allow: report and abort (libFuzzer
 * records the input). */
void fuzz_fail(const char* what, long long got, long long want);

/* fuzz_expect: rc must be one of the codes in allowed (GORT_OK is 0:
 * list it explicitly); returns rc. */
int fuzz_expect(const char* call, int rc, const int* allowed, int n);
#define EXPECT(call, rc, ...)                         \
    fuzz_expect(call, rc, (const int[]){__VA_ARGS__}, \
                (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)))

/* Whether the runtime is up, as the main thread's model knows it. */
extern int fuzz_running;

/* The exact model of the main thread's private slots (fuzz_model.c). */
void model_op(Prog* pr);
void model_after_shutdown(void); /* every private handle is stale now */
void model_release_all(void);

#endif
