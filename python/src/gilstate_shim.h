/* The gilstate shim: the one thing gort needs from CPython that has no
 * public call (see gilstate_shim.c). Plain C declarations, usable from C++.
 */
#ifndef GORTPY_GILSTATE_SHIM_H
#define GORTPY_GILSTATE_SHIM_H

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The interpreter's per-OS-thread gilstate slot, the TSS key that
 * PyGILState_Ensure, PyGILState_Check and PyGILState_GetThisThreadState
 * read (_PyRuntime.gilstate.autoTSSkey). */
Py_tss_t* gortpy_gilstate_key(void);
/* Whether some thread holds the GIL now (_PyRuntime.ceval.gil.locked): a
 * hint, read without a lock, for deciding how to wait for it. */
int gortpy_gil_locked(void);
/* The major and minor version of the CPython the shim was compiled against
 * (PY_VERSION_HEX >> 16), for the start-up self-test. */
int gortpy_shim_version(void);

#ifdef __cplusplus
}
#endif

#endif
