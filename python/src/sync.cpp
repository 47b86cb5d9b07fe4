// gort.WaitGroup and gort.Mutex, Go's sync.WaitGroup and sync.Mutex.
//
// Both are built on channels so that every wait goes through waitSelect
// (wait.cpp) and behaves alike everywhere: parking a goroutine (the GIL is
// released by the switch hooks), releasing the GIL on other threads, seeing
// Ctrl-C on the main thread, GoroutineExit at interpreter exit.
//
// WaitGroup: the counter is a plain integer guarded by the GIL. A waiter
// finding it above zero waits on `zero`, a channel the add() that brings the
// counter to zero closes (and forgets; the next waiter makes a new one).
//
// Mutex: a channel of capacity 1 (elements of size 0) used as a semaphore:
// lock sends, unlock receives. As in Go, any goroutine may unlock it; an
// unlock of an unlocked mutex raises RuntimeError (Go: a fatal error).
#include <cstring>

#include "pyrt.h"

namespace gortpy {

namespace {

PyObject* newType(PyObject* module, PyType_Spec* spec, const char* name) {
    PyObject* t = PyType_FromSpec(spec);
    if (t == nullptr) return nullptr;
    Py_INCREF(t);
    if (PyModule_AddObject(module, name, t) < 0) {
        Py_DECREF(t);
        Py_DECREF(t);
        return nullptr;
    }
    return t;
}

void deallocWith(PyObject* self, gort_chan* ch) {
    if (ch != nullptr) gort_chan_release(ch);
    PyTypeObject* tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

// waitRecv waits until ch yields a value or is closed.
int waitRecv(gort_chan* ch, int64_t ns) {
    gort_select_case cases[2];
    memset(cases, 0, sizeof cases);
    cases[0] = gort_select_case{ch, GORT_SELECT_RECV, noData, 0};
    size_t chosen = 0;
    return waitSelect(cases, 1, ns, &chosen);
}

bool timeoutArg(const char* fname, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                int64_t* ns) {
    static const char* const names[] = {"timeout"};
    PyObject* t = nullptr;
    return parseArgs(fname, args, nargs, kwnames, names, 1, 0, &t) &&
           secondsToNs(t, true, ns, fname);
}

// ---- WaitGroup ------------------------------------------------------------------------------

struct WaitGroupObject {
    PyObject ob_base;
    int64_t count;
    gort_chan* zero;
};

PyObject* wgNew(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
    if (!PyArg_ParseTuple(args, ":WaitGroup") || (kwargs != nullptr && PyDict_Size(kwargs) > 0)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "WaitGroup() takes no arguments");
        return nullptr;
    }
    if (!readyFast()) return nullptr;
    return type->tp_alloc(type, 0);
}

void wgDealloc(PyObject* self) {
    deallocWith(self, reinterpret_cast<WaitGroupObject*>(self)->zero);
}

PyObject* wgAddDelta(WaitGroupObject* w, long long delta) {
    if ((delta < 0 && w->count < -delta) || (delta > 0 && w->count > INT64_MAX - delta)) {
        PyErr_SetString(PyExc_ValueError,
                        delta < 0 ? "WaitGroup: negative counter" : "WaitGroup: counter overflow");
        return nullptr;
    }
    w->count += delta;
    if (w->count == 0 && w->zero != nullptr) {
        gort_chan_close(w->zero);  // wakes every waiter (they hold their own reference)
        gort_chan_release(w->zero);
        w->zero = nullptr;
    }
    Py_RETURN_NONE;
}

PyObject* wgAdd(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "add() takes at most 1 argument");
        return nullptr;
    }
    long long delta = 1;
    if (nargs == 1) {
        delta = PyLong_AsLongLong(args[0]);
        if (delta == -1 && PyErr_Occurred()) return nullptr;
    }
    return wgAddDelta(reinterpret_cast<WaitGroupObject*>(self), delta);
}

PyObject* wgDone(PyObject* self, PyObject*) {
    return wgAddDelta(reinterpret_cast<WaitGroupObject*>(self), -1);
}

PyObject* wgWait(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    auto* w = reinterpret_cast<WaitGroupObject*>(self);
    int64_t ns;
    if (!timeoutArg("wait", args, nargs, kwnames, &ns)) return nullptr;
    if (w->count == 0) Py_RETURN_NONE;
    if (w->zero == nullptr && (w->zero = gort_chan_make(0, 0)) == nullptr) {
        return raiseErrno("WaitGroup.wait()");
    }
    gort_chan* ch = w->zero;
    gort_chan_retain(ch);
    int rc = waitRecv(ch, ns);
    gort_chan_release(ch);
    if (rc == GORT_ETIMEDOUT) {
        PyErr_SetString(PyExc_TimeoutError, "WaitGroup.wait(): timed out");
        return nullptr;
    }
    if (rc != GORT_OK) return raiseStatus(rc, "WaitGroup.wait()");
    Py_RETURN_NONE;
}

PyObject* wgCount(PyObject* self, void*) {
    return PyLong_FromLongLong(reinterpret_cast<WaitGroupObject*>(self)->count);
}

PyMethodDef wgMethods[] = {
    {"add", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(wgAdd)), METH_FASTCALL,
     "add(delta=1): change the counter (ValueError if it would go below zero)"},
    {"done", wgDone, METH_NOARGS, "done(): add(-1)"},
    {"wait", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(wgWait)),
     METH_FASTCALL | METH_KEYWORDS, "wait(timeout=None): block until the counter is zero"},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef wgGetset[] = {
    {"count", wgCount, nullptr, "the counter", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot wgSlots[] = {
    {Py_tp_new, reinterpret_cast<void*>(wgNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(wgDealloc)},
    {Py_tp_methods, wgMethods},
    {Py_tp_getset, wgGetset},
    {Py_tp_doc, const_cast<char*>("Go's sync.WaitGroup")},
    {0, nullptr},
};

PyType_Spec wgSpec = {"gort.WaitGroup", sizeof(WaitGroupObject), 0, Py_TPFLAGS_DEFAULT, wgSlots};

// ---- Mutex ------------------------------------------------------------------------------------

struct MutexObject {
    PyObject ob_base;
    gort_chan* sem;
};

PyObject* muNew(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
    if (!PyArg_ParseTuple(args, ":Mutex") || (kwargs != nullptr && PyDict_Size(kwargs) > 0)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Mutex() takes no arguments");
        return nullptr;
    }
    if (!readyFast()) return nullptr;
    gort_chan* sem = gort_chan_make(0, 1);
    if (sem == nullptr) return raiseErrno("Mutex()");
    auto* m = reinterpret_cast<MutexObject*>(type->tp_alloc(type, 0));
    if (m == nullptr) {
        gort_chan_release(sem);
        return nullptr;
    }
    m->sem = sem;
    return reinterpret_cast<PyObject*>(m);
}

void muDealloc(PyObject* self) {
    deallocWith(self, reinterpret_cast<MutexObject*>(self)->sem);
}

// lockFor: GORT_OK, GORT_ETIMEDOUT or an error.
int lockFor(MutexObject* m, int64_t ns) {
    int rc = gort_chan_try_send(m->sem, noData);
    if (rc != GORT_EAGAIN || ns == 0) return rc == GORT_EAGAIN ? GORT_ETIMEDOUT : rc;
    gort_select_case cases[2];
    memset(cases, 0, sizeof cases);
    cases[0] = gort_select_case{m->sem, GORT_SELECT_SEND, noData, 0};
    size_t chosen = 0;
    return waitSelect(cases, 1, ns, &chosen);
}

PyObject* muLock(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    int64_t ns;
    if (!timeoutArg("lock", args, nargs, kwnames, &ns)) return nullptr;
    int rc = lockFor(reinterpret_cast<MutexObject*>(self), ns);
    if (rc == GORT_ETIMEDOUT) {
        PyErr_SetString(PyExc_TimeoutError, "Mutex.lock(): timed out");
        return nullptr;
    }
    if (rc != GORT_OK) return raiseStatus(rc, "Mutex.lock()");
    Py_RETURN_NONE;
}

PyObject* muTryLock(PyObject* self, PyObject*) {
    int rc = lockFor(reinterpret_cast<MutexObject*>(self), 0);
    if (rc == GORT_OK) Py_RETURN_TRUE;
    if (rc == GORT_ETIMEDOUT) Py_RETURN_FALSE;
    return raiseStatus(rc, "Mutex.try_lock()");
}

PyObject* muUnlock(PyObject* self, PyObject*) {
    int ok = 0;
    int rc = gort_chan_try_recv(reinterpret_cast<MutexObject*>(self)->sem, noData, &ok);
    if (rc == GORT_EAGAIN) {
        PyErr_SetString(PyExc_RuntimeError, "Mutex.unlock(): unlock of unlocked mutex");
        return nullptr;
    }
    if (rc != GORT_OK) return raiseStatus(rc, "Mutex.unlock()");
    Py_RETURN_NONE;
}

PyObject* muLocked(PyObject* self, PyObject*) {
    return PyBool_FromLong(gort_chan_len(reinterpret_cast<MutexObject*>(self)->sem) != 0);
}

PyObject* muEnter(PyObject* self, PyObject*) {
    int rc = lockFor(reinterpret_cast<MutexObject*>(self), -1);
    if (rc != GORT_OK) return raiseStatus(rc, "Mutex.lock()");
    return Py_NewRef(self);
}

PyObject* muExit(PyObject* self, PyObject* const*, Py_ssize_t) {
    PyObject* r = muUnlock(self, nullptr);
    if (r == nullptr) return nullptr;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

PyMethodDef muMethods[] = {
    {"lock", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(muLock)),
     METH_FASTCALL | METH_KEYWORDS, "lock(timeout=None): block until locked (TimeoutError)"},
    {"try_lock", muTryLock, METH_NOARGS, "try_lock() -> bool: lock if it is free"},
    {"unlock", muUnlock, METH_NOARGS, "unlock() (RuntimeError when not locked)"},
    {"locked", muLocked, METH_NOARGS, "locked() -> bool"},
    {"__enter__", muEnter, METH_NOARGS, nullptr},
    {"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(muExit)), METH_FASTCALL,
     nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot muSlots[] = {
    {Py_tp_new, reinterpret_cast<void*>(muNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(muDealloc)},
    {Py_tp_methods, muMethods},
    {Py_tp_doc, const_cast<char*>("Go's sync.Mutex (a context manager)")},
    {0, nullptr},
};

PyType_Spec muSpec = {"gort.Mutex", sizeof(MutexObject), 0, Py_TPFLAGS_DEFAULT, muSlots};

}  // namespace

bool initSync(PyObject* module) {
    PyObject* wg = newType(module, &wgSpec, "WaitGroup");
    PyObject* mu = wg != nullptr ? newType(module, &muSpec, "Mutex") : nullptr;
    Py_XDECREF(wg);
    Py_XDECREF(mu);
    return mu != nullptr;
}

}  // namespace gortpy
