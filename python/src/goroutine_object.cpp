// gort.Goroutine: the handle gort.go returns. join() returns the result or
// re-raises the goroutine's exception (with its traceback); done() tells
// whether it finished.
//
// An exception nobody retrieves is never lost: it goes to
// threading.excepthook (args.thread is the Goroutine, whose .name is
// "goroutine N (qualname)") when the Goroutine object dies unjoined (at
// once, if nobody else holds it when the goroutine ends) or, for objects
// still alive then, at interpreter exit. GoroutineExit (the cancellation at
// exit) is not reported. Objects with an exception waiting to be retrieved
// are on a list (GIL) for the exit report.
#include "goroutine.h"

#include <structmember.h>

#include <cstring>

namespace gortpy {

PyTypeObject* GoroutineType = nullptr;

namespace {

GoroutineObject* pendingHead = nullptr;

void pendingAdd(GoroutineObject* o) {
    o->pendPrev = nullptr;
    o->pendNext = pendingHead;
    if (pendingHead != nullptr) pendingHead->pendPrev = o;
    pendingHead = o;
    o->pending = true;
}

void pendingRemove(GoroutineObject* o) {
    if (!o->pending) return;
    if (o->pendPrev != nullptr) o->pendPrev->pendNext = o->pendNext;
    if (o->pendNext != nullptr) o->pendNext->pendPrev = o->pendPrev;
    if (pendingHead == o) pendingHead = o->pendNext;
    o->pendPrev = o->pendNext = nullptr;
    o->pending = false;
}

bool needsReport(GoroutineObject* o) {
    return o->exc != nullptr && !o->retrieved && !o->reported &&
           !PyErr_GivenExceptionMatches(o->exc, GoroutineExit);
}

// report hands the exception to threading.excepthook, as an uncaught
// exception in a threading.Thread is.
void report(GoroutineObject* o) {
    o->reported = true;
    pendingRemove(o);
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
    PyObject* threading = PyImport_ImportModule("threading");
    PyObject* hook = threading ? PyObject_GetAttrString(threading, "excepthook") : nullptr;
    PyObject* argsType = hook ? PyObject_GetAttrString(threading, "ExceptHookArgs") : nullptr;
    PyObject* tb = PyException_GetTraceback(o->exc);
    PyObject* tuple = argsType ? PyTuple_Pack(4, Py_TYPE(o->exc), o->exc, tb ? tb : Py_None,
                                              reinterpret_cast<PyObject*>(o))
                               : nullptr;
    PyObject* hookArgs = tuple ? PyObject_CallOneArg(argsType, tuple) : nullptr;
    PyObject* r = hookArgs ? PyObject_CallOneArg(hook, hookArgs) : nullptr;
    if (r == nullptr) PyErr_WriteUnraisable(hook ? hook : reinterpret_cast<PyObject*>(o));
    Py_XDECREF(r);
    Py_XDECREF(hookArgs);
    Py_XDECREF(tuple);
    Py_XDECREF(tb);
    Py_XDECREF(argsType);
    Py_XDECREF(hook);
    Py_XDECREF(threading);
    PyErr_Restore(et, ev, etb);
}

// ---- the type ------------------------------------------------------------------------------

void finalize(PyObject* self) {
    auto* o = reinterpret_cast<GoroutineObject*>(self);
    if (needsReport(o)) report(o);
    pendingRemove(o);
}

int traverse(PyObject* self, visitproc visit, void* arg) {
    auto* o = reinterpret_cast<GoroutineObject*>(self);
    Py_VISIT(o->name);
    Py_VISIT(o->qualname);
    Py_VISIT(o->fn);
    Py_VISIT(o->args);
    Py_VISIT(o->kwargs);
    Py_VISIT(o->result);
    Py_VISIT(o->exc);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

int clear(PyObject* self) {
    auto* o = reinterpret_cast<GoroutineObject*>(self);
    Py_CLEAR(o->name);
    Py_CLEAR(o->qualname);
    Py_CLEAR(o->fn);
    Py_CLEAR(o->args);
    Py_CLEAR(o->kwargs);
    Py_CLEAR(o->result);
    Py_CLEAR(o->exc);
    return 0;
}

void dealloc(PyObject* self) {
    auto* o = reinterpret_cast<GoroutineObject*>(self);
    PyObject_GC_UnTrack(self);
    if (PyObject_CallFinalizerFromDealloc(self) < 0) return;  // resurrected
    clear(self);
    if (o->done != nullptr) gort_chan_release(o->done);
    PyTypeObject* tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

PyObject* resultOrRaise(GoroutineObject* o) {
    if (o->exc != nullptr) {
        o->retrieved = true;
        pendingRemove(o);
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(o->exc)), o->exc);
        return nullptr;
    }
    return Py_NewRef(o->result != nullptr ? o->result : Py_None);
}

PyObject* join(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    auto* o = reinterpret_cast<GoroutineObject*>(self);
    static const char* const names[] = {"timeout"};
    PyObject* timeout = nullptr;
    if (!parseArgs("join", args, nargs, kwnames, names, 1, 0, &timeout)) return nullptr;
    int64_t ns = -1;
    if (!secondsToNs(timeout, true, &ns, "join()")) return nullptr;
    if (!o->finished) {
        if (isCurrentGoroutine(o)) {
            PyErr_SetString(PyExc_RuntimeError, "join(): a goroutine cannot join itself");
            return nullptr;
        }
        if (o->done == nullptr && (o->done = gort_chan_make(0, 0)) == nullptr) {
            return raiseErrno("join()");
        }
        gort_select_case cases[2];
        memset(cases, 0, sizeof cases);
        cases[0].ch = o->done;
        cases[0].dir = GORT_SELECT_RECV;
        cases[0].elem = noData;
        size_t chosen = 0;
        int rc = waitSelect(cases, 1, ns, &chosen);
        if (rc == GORT_ETIMEDOUT) {
            PyErr_Format(PyExc_TimeoutError, "join(): goroutine %lld still running",
                         (long long)o->id);
            return nullptr;
        }
        if (rc != GORT_OK) return raiseStatus(rc, "join()");
    }
    return resultOrRaise(o);
}

PyObject* done(PyObject* self, PyObject*) {
    return PyBool_FromLong(reinterpret_cast<GoroutineObject*>(self)->finished);
}

PyObject* getName(PyObject* self, void*) {
    auto* o = reinterpret_cast<GoroutineObject*>(self);
    if (o->name == nullptr) {
        o->name = o->qualname != nullptr
                      ? PyUnicode_FromFormat("goroutine %lld (%U)", (long long)o->id, o->qualname)
                      : PyUnicode_FromFormat("goroutine %lld", (long long)o->id);
        if (o->name == nullptr) return nullptr;
    }
    return Py_NewRef(o->name);
}

PyObject* repr(PyObject* self) {
    auto* o = reinterpret_cast<GoroutineObject*>(self);
    PyObject* name = getName(self, nullptr);
    if (name == nullptr) return nullptr;
    const char* what = !o->finished ? "running" : o->exc != nullptr ? "raised" : "finished";
    PyObject* r = PyUnicode_FromFormat("<gort.Goroutine %U %s>", name, what);
    Py_DECREF(name);
    return r;
}

PyMethodDef methods[] = {
    {"join", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(join)),
     METH_FASTCALL | METH_KEYWORDS,
     "join(timeout=None): wait for the goroutine; return its result or re-raise its "
     "exception (TimeoutError on timeout)"},
    {"done", done, METH_NOARGS, "done() -> bool: whether the goroutine has finished"},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef members[] = {
    {"id", T_LONGLONG, offsetof(GoroutineObject, id), READONLY, "the goroutine's id"},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef getset[] = {
    {"name", getName, nullptr, "\"goroutine N (qualname)\"", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc)},
    {Py_tp_finalize, reinterpret_cast<void*>(finalize)},
    {Py_tp_traverse, reinterpret_cast<void*>(traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(clear)},
    {Py_tp_repr, reinterpret_cast<void*>(repr)},
    {Py_tp_methods, methods},
    {Py_tp_members, members},
    {Py_tp_getset, getset},
    {Py_tp_doc, const_cast<char*>("A goroutine started by gort.go()")},
    {0, nullptr},
};

PyType_Spec spec = {
    "gort.Goroutine",
    sizeof(GoroutineObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    slots,
};

}  // namespace

GoroutineObject* newGoroutineObject(PyObject* fn, PyObject* args, PyObject* kwargs) {
    auto* o = PyObject_GC_New(GoroutineObject, GoroutineType);
    if (o == nullptr) {
        Py_DECREF(args);
        Py_XDECREF(kwargs);
        return nullptr;
    }
    char* body = reinterpret_cast<char*>(o) + sizeof(PyObject);
    memset(body, 0, sizeof(GoroutineObject) - sizeof(PyObject));
    o->fn = Py_NewRef(fn);
    o->args = args;
    o->kwargs = kwargs;
    PyObject* qn = PyObject_GetAttrString(fn, "__qualname__");
    if (qn != nullptr && PyUnicode_Check(qn)) {
        o->qualname = qn;
    } else {
        Py_XDECREF(qn);
        PyErr_Clear();
    }
    PyObject_GC_Track(o);
    return o;
}

const char* goroutineName(GoroutineObject* o) {
    if (o->qualname == nullptr) return nullptr;
    const char* s = PyUnicode_AsUTF8(o->qualname);
    if (s == nullptr) PyErr_Clear();
    return s;
}

void goroutineFinished(GoroutineObject* o, PyObject* res) {
    Py_CLEAR(o->fn);
    Py_CLEAR(o->args);
    Py_CLEAR(o->kwargs);
    if (res != nullptr) {
        o->result = res;
    } else {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyErr_NormalizeException(&t, &v, &tb);
        if (tb != nullptr && v != nullptr) PyException_SetTraceback(v, tb);
        Py_XDECREF(t);
        Py_XDECREF(tb);
        o->exc = v;
    }
    o->finished = true;
    if (o->done != nullptr) gort_chan_close(o->done);
    if (needsReport(o)) pendingAdd(o);
}

void reportPendingExceptions() {
    while (pendingHead != nullptr) {
        GoroutineObject* o = pendingHead;
        Py_INCREF(o);
        if (needsReport(o)) {
            report(o);
        } else {
            pendingRemove(o);
        }
        Py_DECREF(o);
    }
}

bool initGoroutineType(PyObject* module) {
    GoroutineType = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&spec));
    if (GoroutineType == nullptr) return false;
    Py_INCREF(GoroutineType);
    return PyModule_AddObject(module, "Goroutine", reinterpret_cast<PyObject*>(GoroutineType)) == 0;
}

}  // namespace gortpy
