// Python goroutines: the runtime-side context (goroutine.cpp) and the
// Python-side object gort.Goroutine (goroutine_object.cpp).
#pragma once

#include "pyrt.h"

namespace gortpy {

// gort.Goroutine: what gort.go returns. Fields are read and written with
// the GIL held.
struct GoroutineObject {
    PyObject ob_base;
    int64_t id;
    PyObject* name;  // "goroutine N (qualname)", made on first use
    PyObject* qualname;
    PyObject *fn, *args, *kwargs;  // until it runs
    PyObject* result;              // after it finished
    PyObject* exc;                 // the exception it raised (with __traceback__)
    gort_chan* done;               // made by the first join that waits; closed when it finishes
    bool finished;
    bool retrieved;                        // join() raised exc
    bool reported;                         // exc went to threading.excepthook
    GoroutineObject *pendPrev, *pendNext;  // unretrieved exceptions (for exit)
    bool pending;
};

// GoCtx: a live Python goroutine (see goroutine.cpp for the states).
struct GoCtx {
    PyThreadState* ts = nullptr;
    GoroutineObject* obj = nullptr;      // strong reference until it finishes
    PyThreadState* savedSlot = nullptr;  // the M's slot value before bind
    GoCtx* savedCur = nullptr;
    bool bound = false;
    bool held = false;           // it held the GIL when it last parked
    bool lazy = false;           // inside parkable(): onResume leaves the GIL to it
    bool needGil = false;        // onResume left the GIL to parkable()
    bool asyncExitSent = false;  // the exit hook sent it GoroutineExit
    std::atomic<int> state{0};
    GoCtx *prev = nullptr, *next = nullptr;  // the registry
};

bool initGoroutineType(PyObject* module);
GoroutineObject* newGoroutineObject(PyObject* fn, PyObject* args, PyObject* kwargs);
// goroutineName is the name given to the runtime (the callable's
// __qualname__), or nullptr.
const char* goroutineName(GoroutineObject* o);
// goroutineFinished stores the result (res, or the exception set when res is
// nullptr), wakes joiners and drops the callable.
void goroutineFinished(GoroutineObject* o, PyObject* res);
bool isCurrentGoroutine(GoroutineObject* o);

// parkable runs a gort call that may park the goroutine g (GIL held). The
// switch hooks then do not take the GIL back themselves: acquireGil does it
// after the call, outside the hook (see goroutine.cpp).
void acquireGil(GoCtx* g);
// callbackEnter / callbackLeave bracket Python code that C code runs on a
// goroutine's thread with the GIL taken by PyGILState_Ensure (an ffi
// callback): a Python goroutine in C code counts as running Python
// meanwhile. The token is the goroutine (or nullptr).
void* callbackEnter();
PyInterpreterState* mainInterpreter();
void callbackLeave(void* token);
template <class F>
int parkable(GoCtx* g, F&& f) {
    g->lazy = true;
    int rc = f();
    g->lazy = false;
    if (g->needGil) {
        g->needGil = false;
        acquireGil(g);
    }
    return rc;
}

}  // namespace gortpy
