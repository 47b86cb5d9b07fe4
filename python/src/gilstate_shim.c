/* The gilstate shim (CPython 3.11 only).
 *
 * A Python goroutine owns a PyThreadState and runs on whatever M (OS thread)
 * the scheduler gives it. PyEval_RestoreThread works on any thread (in 3.11
 * the current thread state is a process-global atomic), but the
 * PyGILState_* calls (ctypes callbacks, pybind11's gil_scoped_acquire,
 * Cython's `with gil`, the debug allocator of PYTHONDEVMODE) look the
 * thread state up in a per-OS-thread slot, the TSS key
 * _PyRuntime.gilstate.autoTSSkey. The module points that slot at the
 * goroutine's thread state while the goroutine is on an M (goroutine.cpp:
 * bind/unbind); without it those calls deadlock or abort.
 *
 * CPython has no public setter for the slot; PyThread_tss_set is public, but
 * the key's address is not: it needs Py_BUILD_CORE and the internal headers
 * (Debian's python3.11-dev ships them). Py_BUILD_CORE is confined to this
 * one C translation unit. The layout of _PyRuntime is specific to the minor
 * version: the build refuses anything but 3.11 (here and in CMake), and the
 * module's start-up self-test (runtime.cpp: selfTestSlot) checks that
 * writing the slot through this key is what PyGILState_GetThisThreadState
 * reads back. 3.12 moved the key and 3.13 made the slot a C thread-local:
 * each new minor version needs this file redone and re-verified.
 */
#define Py_BUILD_CORE 1
#include <Python.h>

#if PY_MAJOR_VERSION != 3 || PY_MINOR_VERSION != 11
#error "gort's gilstate shim is written for CPython 3.11 only"
#endif

#include <internal/pycore_runtime.h> /* CPython's own header (Py_BUILD_CORE) */

#include "gilstate_shim.h"

Py_tss_t* gortpy_gilstate_key(void) {
    return &_PyRuntime.gilstate.autoTSSkey;
}

int gortpy_gil_locked(void) {
    return _Py_atomic_load_relaxed(&_PyRuntime.ceval.gil.locked);
}

int gortpy_shim_version(void) {
    return PY_VERSION_HEX >> 16;
}
