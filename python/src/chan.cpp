// gort.Chan, gort.select and gort.after: Go's channels of Python objects.
//
// A Chan is a gort_chan whose elements are PyObject pointers (8 bytes). A
// send takes a new reference and hands it over with the pointer: the
// receiver owns it. A send that fails (closed, timed out, interrupted) drops
// the reference again. Values still buffered when the Chan object dies are
// received and released by its destructor (nothing else can receive them:
// every operation in progress holds a reference to the Chan object).
//
// gort.after(seconds) wraps gort_after: a receive-only channel whose one
// element is the fire time, CLOCK_MONOTONIC in nanoseconds, given to Python
// as seconds (comparable with time.monotonic()).
//
// Every operation first tries without blocking (no park, no GIL handoff),
// then waits through waitSelect (wait.cpp).
#include <cstring>
#include <vector>

#include "pyrt.h"

namespace gortpy {

namespace {

struct ChanObject {
    PyObject ob_base;
    gort_chan* ch;
    bool timer;  // gort.after: int64 elements, receive-only
};

PyTypeObject* ChanType = nullptr;

bool isChan(PyObject* o) {
    return PyObject_TypeCheck(o, ChanType);
}

// decode turns a received element into a new reference (nullptr: closed).
PyObject* decode(const ChanObject* c, uint64_t raw, bool ok) {
    if (!ok) return nullptr;
    if (c->timer) return PyFloat_FromDouble(double(int64_t(raw)) / 1e9);
    return reinterpret_cast<PyObject*>(raw);
}

bool receiveOnly(const ChanObject* c, const char* what) {
    if (!c->timer) return false;
    PyErr_Format(PyExc_TypeError, "%s: a gort.after() channel is receive-only", what);
    return true;
}

// ---- send and receive ------------------------------------------------------------------------

// sendValue sends v (blocking up to timeoutNs): GORT_OK, GORT_EAGAIN (a try
// that would block), GORT_ETIMEDOUT, GORT_ECLOSED or kPyErr.
int sendValue(ChanObject* c, PyObject* v, int64_t timeoutNs, bool tryOnly) {
    Py_INCREF(v);
    int rc = gort_chan_try_send(c->ch, &v);
    if (rc == GORT_EAGAIN && !tryOnly) {
        gort_select_case cases[2];
        memset(cases, 0, sizeof cases);
        cases[0] = gort_select_case{c->ch, GORT_SELECT_SEND, &v, 0};
        size_t chosen = 0;
        rc = waitSelect(cases, 1, timeoutNs, &chosen);
    }
    if (rc != GORT_OK) Py_DECREF(v);  // not delivered
    return rc;
}

// recvValue receives (blocking up to timeoutNs): GORT_OK with *out (nullptr
// once closed and drained), GORT_EAGAIN, GORT_ETIMEDOUT or kPyErr.
int recvValue(ChanObject* c, int64_t timeoutNs, bool tryOnly, PyObject** out) {
    uint64_t raw = 0;
    int ok = 0;
    int rc = gort_chan_try_recv(c->ch, &raw, &ok);
    if (rc == GORT_EAGAIN && !tryOnly) {
        gort_select_case cases[2];
        memset(cases, 0, sizeof cases);
        cases[0] = gort_select_case{c->ch, GORT_SELECT_RECV, &raw, 0};
        size_t chosen = 0;
        rc = waitSelect(cases, 1, timeoutNs, &chosen);
        ok = cases[0].ok;
    }
    if (rc != GORT_OK) return rc;
    *out = decode(c, raw, ok != 0);
    if (*out == nullptr && ok != 0) return kPyErr;  // a float could not be made
    return GORT_OK;
}

bool parseTimeout(const char* fname, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                  int64_t* ns) {
    if (nargs == 0 && kwnames == nullptr) {
        *ns = -1;
        return true;
    }
    static const char* const names[] = {"timeout"};
    PyObject* t = nullptr;
    return parseArgs(fname, args, nargs, kwnames, names, 1, 0, &t) &&
           secondsToNs(t, true, ns, fname);
}

PyObject* closedError(const char* what) {
    PyErr_Format(ChanClosed, "%s: the channel is closed", what);
    return nullptr;
}

PyObject* send(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    auto* c = reinterpret_cast<ChanObject*>(self);
    static const char* const names[] = {"value", "timeout"};
    PyObject* a[2];
    if (!parseArgs("send", args, nargs, kwnames, names, 2, 1, a)) return nullptr;
    int64_t ns;
    if (!secondsToNs(a[1], true, &ns, "send()") || receiveOnly(c, "send()")) return nullptr;
    int rc = sendValue(c, a[0], ns, false);
    if (rc == GORT_OK) Py_RETURN_NONE;
    if (rc == GORT_ECLOSED) return closedError("send()");
    return raiseStatus(rc, "send()");
}

PyObject* trySend(PyObject* self, PyObject* v) {
    auto* c = reinterpret_cast<ChanObject*>(self);
    if (receiveOnly(c, "try_send()")) return nullptr;
    int rc = sendValue(c, v, 0, true);
    if (rc == GORT_OK) Py_RETURN_TRUE;
    if (rc == GORT_EAGAIN) Py_RETURN_FALSE;
    if (rc == GORT_ECLOSED) return closedError("try_send()");
    return raiseStatus(rc, "try_send()");
}

PyObject* recv(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    int64_t ns;
    if (!parseTimeout("recv", args, nargs, kwnames, &ns)) return nullptr;
    PyObject* v = nullptr;
    int rc = recvValue(reinterpret_cast<ChanObject*>(self), ns, false, &v);
    if (rc != GORT_OK) return raiseStatus(rc, "recv()");
    return v != nullptr ? v : closedError("recv()");
}

PyObject* recv2(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    int64_t ns;
    if (!parseTimeout("recv2", args, nargs, kwnames, &ns)) return nullptr;
    PyObject* v = nullptr;
    int rc = recvValue(reinterpret_cast<ChanObject*>(self), ns, false, &v);
    if (rc != GORT_OK) return raiseStatus(rc, "recv2()");
    if (v == nullptr) return Py_BuildValue("(OO)", Py_None, Py_False);
    return Py_BuildValue("(NO)", v, Py_True);
}

// try_recv() -> (value, True), or (None, False) when it would block;
// ChanClosed once closed and drained.
PyObject* tryRecv(PyObject* self, PyObject*) {
    PyObject* v = nullptr;
    int rc = recvValue(reinterpret_cast<ChanObject*>(self), 0, true, &v);
    if (rc == GORT_EAGAIN) return Py_BuildValue("(OO)", Py_None, Py_False);
    if (rc != GORT_OK) return raiseStatus(rc, "try_recv()");
    if (v == nullptr) return closedError("try_recv()");
    return Py_BuildValue("(NO)", v, Py_True);
}

PyObject* closeChan(PyObject* self, PyObject*) {
    auto* c = reinterpret_cast<ChanObject*>(self);
    if (receiveOnly(c, "close()")) return nullptr;
    int rc = gort_chan_close(c->ch);
    if (rc == GORT_ECLOSED) {
        PyErr_SetString(ChanClosed, "close(): the channel is already closed");
        return nullptr;
    }
    if (rc != GORT_OK) return raiseStatus(rc, "close()");
    Py_RETURN_NONE;
}

PyObject* iterNext(PyObject* self) {
    PyObject* v = nullptr;
    int rc = recvValue(reinterpret_cast<ChanObject*>(self), -1, false, &v);
    if (rc != GORT_OK) return raiseStatus(rc, "iteration");
    return v;  // nullptr without an exception: StopIteration
}

Py_ssize_t length(PyObject* self) {
    return Py_ssize_t(gort_chan_len(reinterpret_cast<ChanObject*>(self)->ch));
}

PyObject* getCap(PyObject* self, void*) {
    return PyLong_FromSize_t(gort_chan_cap(reinterpret_cast<ChanObject*>(self)->ch));
}

PyObject* repr(PyObject* self) {
    auto* c = reinterpret_cast<ChanObject*>(self);
    return PyUnicode_FromFormat("<gort.Chan%s cap=%zu len=%zu>", c->timer ? " (after)" : "",
                                gort_chan_cap(c->ch), gort_chan_len(c->ch));
}

PyObject* newChan(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
    static const char* kwlist[] = {"capacity", nullptr};
    Py_ssize_t cap = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|n:Chan", const_cast<char**>(kwlist), &cap)) {
        return nullptr;
    }
    if (cap < 0) {
        PyErr_SetString(PyExc_ValueError, "Chan(): the capacity must be >= 0");
        return nullptr;
    }
    if (!readyFast()) return nullptr;
    gort_chan* ch = gort_chan_make(sizeof(PyObject*), size_t(cap));
    if (ch == nullptr) return raiseErrno("Chan()");
    auto* c = reinterpret_cast<ChanObject*>(type->tp_alloc(type, 0));
    if (c == nullptr) {
        gort_chan_release(ch);
        return nullptr;
    }
    c->ch = ch;
    return reinterpret_cast<PyObject*>(c);
}

void dealloc(PyObject* self) {
    auto* c = reinterpret_cast<ChanObject*>(self);
    if (c->ch != nullptr) {
        if (!c->timer) {
            PyObject* v = nullptr;
            uint64_t raw;
            int ok = 0;
            while (gort_chan_try_recv(c->ch, &raw, &ok) == GORT_OK && ok) {
                v = reinterpret_cast<PyObject*>(raw);
                Py_DECREF(v);
            }
        }
        gort_chan_release(c->ch);
    }
    PyTypeObject* tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

PyMethodDef methods[] = {
    {"send", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(send)),
     METH_FASTCALL | METH_KEYWORDS,
     "send(value, timeout=None): block until delivered (ChanClosed, TimeoutError)"},
    {"recv", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(recv)),
     METH_FASTCALL | METH_KEYWORDS,
     "recv(timeout=None) -> value (ChanClosed after close and drain, TimeoutError)"},
    {"recv2", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(recv2)),
     METH_FASTCALL | METH_KEYWORDS,
     "recv2(timeout=None) -> (value, ok): ok is False after close and drain"},
    {"try_send", trySend, METH_O, "try_send(value) -> bool: send if it needs no waiting"},
    {"try_recv", tryRecv, METH_NOARGS,
     "try_recv() -> (value, True), or (None, False) if it would block (ChanClosed)"},
    {"close", closeChan, METH_NOARGS, "close(): wake every waiter (ChanClosed on a second close)"},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef getset[] = {
    {"cap", getCap, nullptr, "the capacity (buffer slots)", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(newChan)},
    {Py_tp_dealloc, reinterpret_cast<void*>(dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(repr)},
    {Py_tp_iter, reinterpret_cast<void*>(PyObject_SelfIter)},
    {Py_tp_iternext, reinterpret_cast<void*>(iterNext)},
    {Py_sq_length, reinterpret_cast<void*>(length)},
    {Py_tp_methods, methods},
    {Py_tp_getset, getset},
    {Py_tp_doc, const_cast<char*>("Chan(capacity=0): a Go channel of Python objects")},
    {0, nullptr},
};

PyType_Spec spec = {"gort.Chan", sizeof(ChanObject), 0, Py_TPFLAGS_DEFAULT, slots};

// ---- select and after ------------------------------------------------------------------------

// SelectArgs holds what a select needs while it waits: the cases, a
// reference to every channel and send value, and receive buffers.
struct SelectArgs {
    std::vector<gort_select_case> cases;
    std::vector<PyObject*> refs;     // channels and values (released at the end)
    std::vector<PyObject*> values;   // send values, one reference each (or nullptr)
    std::vector<uint64_t> buffers;   // receive buffers
    std::vector<ChanObject*> chans;  // per case (nullptr: a None channel)

    ~SelectArgs() {
        for (PyObject* v : values) Py_XDECREF(v);
        for (PyObject* r : refs) Py_DECREF(r);
    }

    bool parse(PyObject* seq) {
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        cases.assign(size_t(n) + 1, gort_select_case{});
        values.assign(size_t(n), nullptr);
        buffers.assign(size_t(n), 0);
        chans.assign(size_t(n), nullptr);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!parseCase(i, PySequence_Fast_GET_ITEM(seq, i))) return false;
        }
        return true;
    }

    bool parseCase(Py_ssize_t i, PyObject* item) {
        Py_ssize_t len = PyTuple_Check(item) ? PyTuple_GET_SIZE(item) : 0;
        if (len < 2 || len > 3) {
            PyErr_Format(PyExc_TypeError,
                         "select(): case %zd must be (chan, \"recv\") or (chan, \"send\", value)",
                         i);
            return false;
        }
        PyObject* ch = PyTuple_GET_ITEM(item, 0);
        PyObject* op = PyTuple_GET_ITEM(item, 1);
        bool isSend = PyUnicode_Check(op) && PyUnicode_CompareWithASCIIString(op, "send") == 0;
        bool isRecv = PyUnicode_Check(op) && PyUnicode_CompareWithASCIIString(op, "recv") == 0;
        if ((!isSend && !isRecv) || (isSend != (len == 3))) {
            PyErr_Format(PyExc_ValueError,
                         "select(): case %zd must be (chan, \"recv\") or (chan, \"send\", value)",
                         i);
            return false;
        }
        if (ch != Py_None && !isChan(ch)) {
            PyErr_Format(PyExc_TypeError, "select(): case %zd: %.100s is not a gort.Chan or None",
                         i, Py_TYPE(ch)->tp_name);
            return false;
        }
        gort_select_case& c = cases[size_t(i)];
        c.dir = isSend ? GORT_SELECT_SEND : GORT_SELECT_RECV;
        if (ch != Py_None) {
            auto* co = reinterpret_cast<ChanObject*>(ch);
            if (isSend && receiveOnly(co, "select()")) return false;
            refs.push_back(Py_NewRef(ch));
            chans[size_t(i)] = co;
            c.ch = co->ch;
        }
        if (isSend) {
            values[size_t(i)] = Py_NewRef(PyTuple_GET_ITEM(item, 2));
            c.elem = &values[size_t(i)];
        } else {
            c.elem = &buffers[size_t(i)];
        }
        return true;
    }

    // result is (index, value, ok) for the case that ran.
    PyObject* result(size_t i) {
        if (cases[i].dir == GORT_SELECT_SEND) {
            values[i] = nullptr;  // delivered: the receiver owns the reference
            return Py_BuildValue("(nOO)", Py_ssize_t(i), Py_None, Py_True);
        }
        bool ok = cases[i].ok != 0;
        PyObject* v = ok ? decode(chans[i], buffers[i], true) : Py_NewRef(Py_None);
        if (v == nullptr) return nullptr;
        return Py_BuildValue("(nNO)", Py_ssize_t(i), v, ok ? Py_True : Py_False);
    }
};

PyObject* selectFn(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    static const char* const names[] = {"cases", "default", "timeout"};
    PyObject* a[3];
    if (!parseArgs("select", args, nargs, kwnames, names, 3, 1, a)) return nullptr;
    int dflt = a[1] != nullptr ? PyObject_IsTrue(a[1]) : 0;
    if (dflt < 0) return nullptr;
    int64_t ns;
    if (!secondsToNs(a[2], true, &ns, "select()")) return nullptr;
    if (!readyFast()) return nullptr;
    PyObject* seq = PySequence_Fast(a[0], "select(): cases must be a sequence");
    if (seq == nullptr) return nullptr;
    SelectArgs sel;
    bool parsed = sel.parse(seq);
    Py_DECREF(seq);
    if (!parsed) return nullptr;
    size_t n = sel.cases.size() - 1;
    size_t chosen = 0;
    int rc;
    if (dflt) {
        rc = n == 0 ? GORT_EAGAIN : gort_select(sel.cases.data(), n, 0, &chosen);
    } else {
        rc = waitSelect(sel.cases.data(), n, ns, &chosen);
    }
    if (rc == GORT_EAGAIN || rc == GORT_ETIMEDOUT) {
        return Py_BuildValue("(iOO)", -1, Py_None, Py_False);
    }
    if (rc == GORT_ECLOSED) return closedError("select()");
    if (rc != GORT_OK) return raiseStatus(rc, "select()");
    return sel.result(chosen);
}

PyObject* after(PyObject*, PyObject* seconds) {
    int64_t ns;
    if (!secondsToNs(seconds, false, &ns, "after()") || !readyFast()) return nullptr;
    gort_chan* ch = gort_after(ns);
    if (ch == nullptr) return raiseErrno("after()");
    auto* c = reinterpret_cast<ChanObject*>(ChanType->tp_alloc(ChanType, 0));
    if (c == nullptr) {
        gort_chan_release(ch);
        return nullptr;
    }
    c->ch = ch;
    c->timer = true;
    return reinterpret_cast<PyObject*>(c);
}

}  // namespace

PyMethodDef chanFunctions[] = {
    {"select", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(selectFn)),
     METH_FASTCALL | METH_KEYWORDS,
     "select(cases, default=False, timeout=None) -> (index, value, ok)\n\n"
     "Go's select over cases (chan, \"recv\") and (chan, \"send\", value); a None chan is "
     "never ready. (-1, None, False) for default or timeout."},
    {"after", after, METH_O,
     "after(seconds) -> Chan: receives the fire time (time.monotonic() seconds) once"},
    {nullptr, nullptr, 0, nullptr},
};

bool initChan(PyObject* module) {
    ChanType = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&spec));
    if (ChanType == nullptr) return false;
    Py_INCREF(ChanType);
    return PyModule_AddObject(module, "Chan", reinterpret_cast<PyObject*>(ChanType)) == 0;
}

}  // namespace gortpy
