// Errors and argument helpers: gort status codes become Python exceptions
// (EINVAL ValueError, ENOMEM MemoryError, ETIMEDOUT TimeoutError, ECLOSED
// gort.ChanClosed, the rest gort.GortError with .code), and timeouts in
// seconds become nanoseconds.
#include <errno.h>

#include <cmath>
#include <cstring>

#include "pyrt.h"

namespace gortpy {

PyObject* ChanClosed = nullptr;
PyObject* GoroutineExit = nullptr;
PyObject* GortError = nullptr;

bool initErrors(PyObject* module) {
    ChanClosed = PyErr_NewExceptionWithDoc(
        "gort.ChanClosed", "The channel is closed (recv after close and drain, send after close).",
        nullptr, nullptr);
    GoroutineExit = PyErr_NewExceptionWithDoc(
        "gort.GoroutineExit",
        "Raised in a goroutine's waits once the interpreter exits: the goroutine is cancelled "
        "(its finally blocks run).",
        PyExc_BaseException, nullptr);
    GortError = PyErr_NewExceptionWithDoc("gort.GortError",
                                          "A gort status code; .code is the GORT_E* value.",
                                          PyExc_RuntimeError, nullptr);
    if (ChanClosed == nullptr || GoroutineExit == nullptr || GortError == nullptr) return false;
    for (auto [name, obj] :
         {std::pair{"ChanClosed", ChanClosed}, std::pair{"GoroutineExit", GoroutineExit},
          std::pair{"GortError", GortError}}) {
        Py_INCREF(obj);
        if (PyModule_AddObject(module, name, obj) < 0) return false;
    }
    return true;
}

PyObject* raiseStatus(int rc, const char* what) {
    if (rc == kPyErr) return nullptr;
    const char* msg = gort_strerror(rc);
    switch (rc) {
        case GORT_EINVAL:
            PyErr_Format(PyExc_ValueError, "%s: %s", what, msg);
            return nullptr;
        case GORT_ENOMEM:
            return PyErr_NoMemory();
        case GORT_ETIMEDOUT:
            PyErr_Format(PyExc_TimeoutError, "%s: %s", what, msg);
            return nullptr;
        case GORT_ECLOSED:
            PyErr_Format(ChanClosed, "%s: %s", what, msg);
            return nullptr;
        default:
            break;
    }
    PyObject* text = PyUnicode_FromFormat("%s: %s", what, msg);
    if (text == nullptr) return nullptr;
    PyObject* exc = PyObject_CallOneArg(GortError, text);
    Py_DECREF(text);
    if (exc == nullptr) return nullptr;
    PyObject* code = PyLong_FromLong(rc);
    if (code == nullptr || PyObject_SetAttrString(exc, "code", code) < 0) {
        Py_XDECREF(code);
        Py_DECREF(exc);
        return nullptr;
    }
    Py_DECREF(code);
    PyErr_SetObject(GortError, exc);
    Py_DECREF(exc);
    return nullptr;
}

PyObject* raiseErrno(const char* what) {
    switch (errno) {
        case ENOMEM:
            return PyErr_NoMemory();
        case EPERM:
            return raiseStatus(GORT_ENOTINIT, what);
        case ENOTSUP:
            return raiseStatus(GORT_ENOTSUP, what);
        default:
            return raiseStatus(GORT_EINVAL, what);
    }
}

bool secondsToNs(PyObject* seconds, bool noneOK, int64_t* out, const char* what) {
    if (seconds == nullptr || seconds == Py_None) {
        if (noneOK) {
            *out = -1;
            return true;
        }
        PyErr_Format(PyExc_TypeError, "%s: a number of seconds is required", what);
        return false;
    }
    double s = PyFloat_AsDouble(seconds);
    if (s == -1.0 && PyErr_Occurred()) return false;
    if (std::isnan(s) || s < 0) {
        PyErr_Format(PyExc_ValueError, "%s: the time must be a non-negative number of seconds",
                     what);
        return false;
    }
    *out = s >= 9.2e9 ? INT64_MAX : static_cast<int64_t>(s * 1e9);
    return true;
}

bool parseArgs(const char* fname, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
               const char* const* names, size_t nnames, size_t nrequired, PyObject** out) {
    for (size_t i = 0; i < nnames; i++) out[i] = nullptr;
    if (static_cast<size_t>(nargs) > nnames) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zu arguments (%zd given)", fname, nnames,
                     nargs);
        return false;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) out[i] = args[i];
    Py_ssize_t nkw = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        const char* key = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, k));
        if (key == nullptr) return false;
        size_t i = 0;
        while (i < nnames && strcmp(key, names[i]) != 0) i++;
        if (i == nnames) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%s'", fname,
                         key);
            return false;
        }
        if (out[i] != nullptr) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname, key);
            return false;
        }
        out[i] = args[nargs + k];
    }
    for (size_t i = 0; i < nrequired; i++) {
        if (out[i] == nullptr) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname, names[i]);
            return false;
        }
    }
    return true;
}

}  // namespace gortpy
