// Shared declarations of the gort._gort extension (not installed).
//
// The extension is a client of libgort.so: it uses gort.h and nothing else
// of the project. Every function that can park a goroutine is a plain
// CPython C-API function (a PyCFunction or a type slot), never a
// pybind11-bound one: pybind11 keeps a per-OS-thread stack of call frames,
// and a goroutine that switched with one of its frames on the stack would
// corrupt it (python-goroutines.md, §1.2). module.cpp uses pybind11 for the
// module object and the calls that never park.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <gort.h>

#include <atomic>
#include <cstdint>

namespace gortpy {

// A Python exception is set (a status next to the GORT_* codes).
constexpr int kPyErr = -1000;

// ---- errors (errors.cpp) ------------------------------------------------------
extern PyObject* ChanClosed;     // gort.ChanClosed(Exception)
extern PyObject* GoroutineExit;  // gort.GoroutineExit(BaseException)
extern PyObject* GortError;      // gort.GortError(RuntimeError), .code
bool initErrors(PyObject* module);
// raiseStatus raises the exception for a gort status code (what names the
// operation) and returns nullptr. kPyErr: the exception is already set.
PyObject* raiseStatus(int rc, const char* what);
// secondsToNs converts a timeout or duration in seconds: None gives -1
// (forever) when noneOK; negative or NaN raises ValueError.
bool secondsToNs(PyObject* seconds, bool noneOK, int64_t* out, const char* what);
// raiseErrno raises for a NULL from a gort constructor (errno set).
PyObject* raiseErrno(const char* what);
// parseArgs takes a METH_FASTCALL | METH_KEYWORDS call apart: out[i] gets
// the argument named names[i] (nullptr when absent); the first nrequired
// are required.
bool parseArgs(const char* fname, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
               const char* const* names, size_t nnames, size_t nrequired, PyObject** out);

// ---- the runtime (runtime.cpp) ------------------------------------------------
// ready initialises the runtime with the defaults on first use (false with
// an exception set when that fails or the interpreter is exiting).
bool ready();
inline std::atomic<bool> initDone{false};
inline bool readyFast() {
    return initDone.load(std::memory_order_acquire) || ready();
}
// exiting is set by the atexit hook: goroutines are being cancelled.
inline std::atomic<bool> exiting{false};
// abandonAll is set once the exit hook stops waiting for cancelled
// goroutines: a goroutine that comes into gort after that is parked for good.
inline std::atomic<bool> abandonAll{false};
// cancelChan is closed at exit: every wait of a Python goroutine selects on it.
inline gort_chan* cancelChan = nullptr;
// liveCount counts live Python goroutines (the atexit hook waits for it by
// polling: a wait through gort would need a P, and goroutines busy in
// Python may hold them all).
inline std::atomic<int64_t> liveCount{0};
// pyStackSize is the stack size Python goroutines ask for (0: the runtime's
// default, when gort.init made it at least 1 MiB).
inline size_t pyStackSize = 0;
inline Py_tss_t* slotKey = nullptr;  // the gilstate slot (gilstate_shim.c)
bool isMainThread();
PyObject* atexitHook(PyObject* self, PyObject* unused);

// ---- goroutines (goroutine.cpp) -------------------------------------------------
struct GoCtx;
extern PyTypeObject* GoroutineType;
bool initGoroutines(PyObject* module);
// currentGoroutine is the Python goroutine running this code, or nullptr on
// a thread that runs none (the main thread, a threading.Thread, a goroutine
// of C code that called into Python). A goroutine whose current thread
// state is not its own (C code swapped in another one) raises RuntimeError:
// *ok is false.
GoCtx* currentGoroutine(bool* ok);
// releaseGil / reacquireGil bracket C code that runs without the GIL on a
// goroutine (ffi calls, calls that may wait on other threads); the goroutine
// may resume on another M.
void releaseGil(GoCtx* g);
void reacquireGil(GoCtx* g);
int64_t goroutineId(const GoCtx* g);
// Exit (runtime.cpp's atexit hook): abandon the goroutines that did not
// finish; they never run Python again. Returns how many remain in C code.
int abandonGoroutines();
// Unjoined exceptions still unreported at exit.
void reportPendingExceptions();
PyObject* pythonStacks(PyObject* self, PyObject* unused);

// noData is the element pointer for channels of size-0 elements: gort.h
// allows NULL there, but the runtime then passes NULL to memcpy for 0 bytes
// (undefined behaviour that UBSan reports), so the module never does.
inline char noData[8];

// ---- waiting (wait.cpp) -------------------------------------------------------------
// waitSelect runs a blocking gort_select over cases[0..n) until one runs or
// timeoutNs passes (< 0: forever). cases must have room for n + 1: a
// goroutine also waits on cancelChan (GoroutineExit at exit). Off a
// goroutine the GIL is released while it waits, and the main thread wakes
// every 50 ms to run signal handlers (KeyboardInterrupt). Returns GORT_OK
// with *chosen, GORT_ETIMEDOUT, another gort status, or kPyErr.
int waitSelect(gort_select_case* cases, size_t n, int64_t timeoutNs, size_t* chosen);
// waitSleep parks for ns (same rules).
int waitSleep(int64_t ns);
// checkCancel raises GoroutineExit on a goroutine once exit has begun (and
// parks it for good once the exit hook gave up waiting).
bool checkCancel(GoCtx* g);
// abandonIfExiting parks the goroutine g (GIL held or not) for good once the
// exit hook gave up on it: it never runs Python again.
void abandonIfExiting(GoCtx* g);

// ---- channels and sync (chan.cpp, sync.cpp) -----------------------------------------
bool initChan(PyObject* module);
bool initSync(PyObject* module);
bool initFfi(PyObject* module);
extern PyMethodDef chanFunctions[];
extern PyMethodDef goroutineFunctions[];
extern PyMethodDef runtimeFunctions[];

}  // namespace gortpy
