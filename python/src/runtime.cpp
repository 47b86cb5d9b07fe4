// The runtime as Python sees it: gort.init (explicit or on first use), the
// start-up self-test, interpreter exit, and the scheduler calls that may
// park (gosched, sleep, lock_os_thread, gomaxprocs), all plain C-API
// functions.
//
// Initialisation. gort.init(maxprocs, stack_size, cgo, max_lent_procs)
// starts the runtime (gort_init) unless C code in the process already did
// (then the module uses that runtime: one per process). Goroutine stacks that
// run Python reserve at least 1 MiB (committed lazily): CPython 3.11 does not
// check the C stack, and recursion through C code (map, __init__) overflows
// 256 KiB below the default recursion limit. When the module starts the
// runtime it makes that the default stack size (pooled stacks); on a runtime
// started by C code it asks for 1 MiB per goroutine. It also lets the
// runtime lend up to 128 Ps to goroutines stalled in the kernel (kPyMaxLent)
// unless max_lent_procs or $GORT_MAXLENT says otherwise. The first init runs a
// goroutine that checks the gilstate binding (PyGILState_Check inside it,
// across switches); a failure makes every later call raise.
//
// Exit (the atexit hook registered at import, which runs after
// threading._shutdown has joined the non-daemon threads): Go abandons its
// goroutines when main returns; gort cancels them. exiting is set and
// cancelChan closed, so every Python goroutine waiting in gort (or waiting
// later) gets GoroutineExit and unwinds (finally blocks and with blocks
// run); goroutines not yet started never run. The hook waits up to
// gort._exit_timeout seconds (default 1) for them, then abandons the rest:
// parked ones lose their thread states (their frames are not finalized) and
// never run Python again; ones inside C code (a ctypes call) are left
// alone. Unretrieved goroutine exceptions are reported. If the module
// started the runtime and no goroutine is left, the runtime is shut down.
// The exit status of the interpreter is untouched.
#include <stdlib.h>
#include <unistd.h>

#include <cstring>

#include "gilstate_shim.h"
#include "goroutine.h"

namespace gortpy {

namespace {

constexpr size_t kPyStack = 1 << 20;
// Python code blocks in the kernel all the time (time.sleep, sockets, ctypes,
// C extensions that release the GIL): each such call stalls its P until the
// runtime lends another one. The GIL bounds what runs anyway, so Python
// gets many lent Ps unless told otherwise (max_lent_procs, $GORT_MAXLENT).
constexpr int32_t kPyMaxLent = 128;
bool ownRuntime = false;  // gort_init was ours
bool broken = false;      // the self-test failed
bool shutDown = false;    // the runtime was shut down at exit

PyObject* notRunning() {
    PyErr_SetString(PyExc_RuntimeError,
                    shutDown ? "gort: the runtime was shut down at interpreter exit"
                    : broken ? "gort: the start-up self-test failed (see the first error)"
                             : "gort: the interpreter is exiting");
    return nullptr;
}

// selfTestProbe runs in a goroutine: the gilstate slot names the
// goroutine's thread state, before and after switches.
PyObject* selfTestProbe(PyObject*, PyObject*) {
    bool ok = gort_goid() != 0;
    for (int i = 0; i < 3 && ok; i++) {
        ok = PyGILState_Check() == 1 && PyGILState_GetThisThreadState() == PyThreadState_Get();
        if (ok) {
            PyGILState_STATE s = PyGILState_Ensure();  // must not deadlock
            PyGILState_Release(s);
        }
        gort_gosched();
    }
    return PyBool_FromLong(ok);
}

PyMethodDef probeDef = {"_selftest_probe", selfTestProbe, METH_NOARGS, nullptr};

bool selfTest() {
    PyObject* probe = PyCFunction_New(&probeDef, nullptr);
    if (probe == nullptr) return false;
    PyObject* gort = PyImport_ImportModule("gort._gort");
    PyObject* goFn = gort ? PyObject_GetAttrString(gort, "go") : nullptr;
    PyObject* g = goFn ? PyObject_CallOneArg(goFn, probe) : nullptr;
    PyObject* r = g ? PyObject_CallMethod(g, "join", "(d)", 10.0) : nullptr;
    bool ok = r == Py_True;
    if (r != nullptr && !ok) {
        PyErr_SetString(PyExc_ImportError,
                        "gort: start-up self-test failed: the gilstate slot does not follow "
                        "goroutines on this CPython (the shim is for 3.11 only)");
    }
    Py_XDECREF(r);
    Py_XDECREF(g);
    Py_XDECREF(goFn);
    Py_XDECREF(gort);
    Py_DECREF(probe);
    return ok;
}

// start makes what the module needs once the runtime runs.
bool start(bool own) {
    ownRuntime = own;
    pyStackSize = own ? 0 : kPyStack;
    cancelChan = gort_chan_make(0, 0);
    if (cancelChan == nullptr) {
        raiseErrno("gort.init()");
        return false;
    }
    initDone.store(true, std::memory_order_release);
    if (!selfTest()) {
        initDone.store(false, std::memory_order_release);
        broken = true;
        return false;
    }
    return true;
}

// initWith starts or adopts the runtime; explicit: gort.init was called (a
// runtime started elsewhere is then an error: its configuration cannot be
// applied).
bool initWith(gort_config* c, bool explicitCall) {
    if (broken || shutDown || exiting.load(std::memory_order_acquire)) {
        notRunning();
        return false;
    }
    if (c->stack_size < kPyStack) c->stack_size = kPyStack;
    if (c->max_lent_procs == 0 && getenv("GORT_MAXLENT") == nullptr) {
        c->max_lent_procs = kPyMaxLent;
    }
    int rc = gort_init(c);
    if (rc == GORT_EALREADY && !explicitCall) return start(false);
    if (rc != GORT_OK) {
        raiseStatus(rc, rc == GORT_EALREADY
                            ? "gort.init(): the runtime was started already (by C code in this "
                              "process)"
                            : "gort.init()");
        return false;
    }
    return start(true);
}

bool optionalInt(PyObject* o, long lo, long hi, const char* what, long* out) {
    if (o == nullptr || o == Py_None) return true;
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) return false;
    if (v < lo || v > hi) {
        PyErr_Format(PyExc_ValueError, "gort.init(): %s must be in %ld..%ld", what, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

PyObject* init(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static const char* const names[] = {"maxprocs", "stack_size", "cgo", "max_lent_procs"};
    PyObject* a[4];
    if (!parseArgs("init", args, nargs, kwnames, names, 4, 0, a)) return nullptr;
    if (initDone.load(std::memory_order_acquire)) {
        return raiseStatus(GORT_EALREADY, "gort.init()");
    }
    gort_config c;
    gort_config_init(&c);
    long maxprocs = 0, stack = 0, lent = 0;
    if (!optionalInt(a[0], 1, 1024, "maxprocs", &maxprocs) ||
        !optionalInt(a[1], 1, 1L << 30, "stack_size", &stack) ||
        !optionalInt(a[3], -1, 1024, "max_lent_procs", &lent)) {
        return nullptr;
    }
    int cgo = a[2] != nullptr ? PyObject_IsTrue(a[2]) : 1;
    if (cgo < 0) return nullptr;
    c.maxprocs = int32_t(maxprocs);
    c.stack_size = size_t(stack);
    c.cgo = cgo;
    c.max_lent_procs = int32_t(lent);
    if (!initWith(&c, true)) return nullptr;
    Py_RETURN_NONE;
}

// ---- scheduler calls -------------------------------------------------------------------------

PyObject* gosched(PyObject*, PyObject*) {
    if (!readyFast()) return nullptr;
    bool ok;
    GoCtx* g = currentGoroutine(&ok);
    if (!ok || !checkCancel(g)) return nullptr;
    if (g != nullptr) {
        parkable(g, [] { return gort_gosched(); });  // the switch hooks hand the GIL over
    } else {
        Py_BEGIN_ALLOW_THREADS gort_gosched();
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

PyObject* sleepFn(PyObject*, PyObject* seconds) {
    int64_t ns;
    if (!secondsToNs(seconds, false, &ns, "sleep()") || !readyFast()) return nullptr;
    int rc = waitSleep(ns);
    if (rc != GORT_OK) return raiseStatus(rc, "sleep()");
    Py_RETURN_NONE;
}

// lock_os_thread on a thread that runs no goroutine does nothing: code there
// always runs on that thread.
PyObject* lockOSThread(PyObject*, PyObject*) {
    if (!readyFast()) return nullptr;
    if (gort_goid() == 0) Py_RETURN_NONE;
    int rc = gort_lock_os_thread();
    if (rc != GORT_OK) return raiseStatus(rc, "lock_os_thread()");
    Py_RETURN_NONE;
}

PyObject* unlockOSThread(PyObject*, PyObject*) {
    if (!readyFast()) return nullptr;
    if (gort_goid() == 0) Py_RETURN_NONE;
    int rc = gort_unlock_os_thread();
    if (rc != GORT_OK) return raiseStatus(rc, "unlock_os_thread()");
    Py_RETURN_NONE;
}

// gomaxprocs(n=None) -> the previous value (Go's runtime.GOMAXPROCS).
PyObject* gomaxprocs(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static const char* const names[] = {"n"};
    PyObject* a[1];
    if (!parseArgs("gomaxprocs", args, nargs, kwnames, names, 1, 0, a) || !readyFast()) {
        return nullptr;
    }
    long n = 0;
    if (a[0] != nullptr && a[0] != Py_None) {
        n = PyLong_AsLong(a[0]);
        if (n == -1 && PyErr_Occurred()) return nullptr;
        if (n < 1 || n > 1024) {
            PyErr_SetString(PyExc_ValueError, "gomaxprocs(): n must be in 1..1024");
            return nullptr;
        }
    }
    int rc;
    if (n == 0) {
        rc = gort_gomaxprocs(0);
    } else {
        bool ok;
        GoCtx* g = currentGoroutine(&ok);
        if (!ok) return nullptr;
        if (g != nullptr) {
            releaseGil(g);
            rc = gort_gomaxprocs(int(n));
            reacquireGil(g);
        } else {
            Py_BEGIN_ALLOW_THREADS rc = gort_gomaxprocs(int(n));
            Py_END_ALLOW_THREADS
        }
    }
    if (rc < 0) return raiseStatus(rc, "gomaxprocs()");
    return PyLong_FromLong(rc);
}

// waitForGoroutines polls liveCount for up to ns with the GIL released.
bool waitForGoroutines(int64_t ns) {
    bool done = false;
    Py_BEGIN_ALLOW_THREADS for (int64_t waited = 0;; waited += 1'000'000) {
        if ((done = liveCount.load(std::memory_order_acquire) == 0) || waited >= ns) break;
        usleep(1000);
    }
    Py_END_ALLOW_THREADS return done;
}

}  // namespace

bool ready() {
    if (initDone.load(std::memory_order_acquire)) return true;
    gort_config c;
    gort_config_init(&c);
    return initWith(&c, false);
}

bool isMainThread() {
    return _PyOS_IsMainThread() != 0;
}

PyObject* atexitHook(PyObject*, PyObject* timeoutArg) {
    if (!initDone.load(std::memory_order_acquire) || exiting.load()) Py_RETURN_NONE;
    int64_t ns = 1'000'000'000;
    if (timeoutArg != Py_None && !secondsToNs(timeoutArg, true, &ns, "exit")) return nullptr;
    exiting.store(true, std::memory_order_release);
    gort_chan_close(cancelChan);
    bool allDone = waitForGoroutines(ns);
    int inC = abandonGoroutines();
    reportPendingExceptions();
    if (ownRuntime && (allDone || liveCount.load() == 0) && inC == 0) {
        int rc;
        Py_BEGIN_ALLOW_THREADS rc = gort_shutdown(100'000'000);
        Py_END_ALLOW_THREADS if (rc == GORT_OK) {
            shutDown = true;
            initDone.store(false, std::memory_order_release);
        }
    }
    Py_RETURN_NONE;
}

PyMethodDef runtimeFunctions[] = {
    {"init", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(init)),
     METH_FASTCALL | METH_KEYWORDS,
     "init(maxprocs=None, stack_size=None, cgo=True, max_lent_procs=None)\n\n"
     "Start the runtime (optional: the first use starts it with the defaults)."},
    {"gosched", gosched, METH_NOARGS, "gosched(): yield the processor"},
    {"sleep", sleepFn, METH_O, "sleep(seconds): park for at least that long"},
    {"lock_os_thread", lockOSThread, METH_NOARGS,
     "lock_os_thread(): wire the calling goroutine to its OS thread (nests)"},
    {"unlock_os_thread", unlockOSThread, METH_NOARGS,
     "unlock_os_thread(): undo one lock_os_thread()"},
    {"gomaxprocs", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(gomaxprocs)),
     METH_FASTCALL | METH_KEYWORDS, "gomaxprocs(n=None) -> the previous value"},
    {"_atexit", atexitHook, METH_O, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace gortpy
