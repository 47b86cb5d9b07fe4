/* What bad_input_test.c and bad_input_rows.c share: a table row (one call
 * and the status it must return) and the objects the rows use. */
#ifndef GORT_TESTS_BAD_INPUT_H
#define GORT_TESTS_BAD_INPUT_H

#include <stddef.h>

#include "gort.h"

struct row {
    const char* name;
    int (*call)(void);
    int want;
};

extern gort_chan* live_chan;    /* a live channel (cap 1, int elements) */
extern gort_chan* dead_chan;    /* made and released */
extern gort_waitgroup* dead_wg; /* made and released */
extern gort_mutex* dead_mu;     /* made and released */
extern gort_ffi_sig* dead_sig;  /* made and released */
extern gort_chan* garbage;      /* never a handle */

void noop(void* arg);
void handler(void* ret, void** args, void* ud);

/* The rows run while the runtime runs (bad_input_rows.c). */
extern const struct row bad_input_rows[];
extern const size_t n_bad_input_rows;

#endif
