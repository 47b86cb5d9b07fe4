// gort._gort, the extension module behind the `gort` package.
//
// pybind11 makes the module and serves the calls that never park
// (num_goroutine, stats, goid, strerror, version, the status codes). Every
// call that can switch goroutines is a plain CPython C-API function added
// from the tables of the other files (see pyrt.h for why).
//
// Import-time self-test: the module refuses to load unless it runs on the
// CPython minor version it was compiled for and the gilstate shim's key is
// the slot PyGILState_GetThisThreadState reads (a write through the key is
// read back). The first gort.init runs the goroutine half of the test
// (runtime.cpp).
#include <sys/mman.h>
#include <unistd.h>

#include <pybind11/pybind11.h>

#include <string>

#include "gilstate_shim.h"
#include "pyrt.h"

namespace py = pybind11;

namespace gortpy {

namespace {

void checkInterpreter() {
    unsigned long built = PY_VERSION_HEX >> 16;
    unsigned long running = Py_Version >> 16;
    if (running != built || static_cast<unsigned long>(gortpy_shim_version()) != built) {
        throw py::import_error(
            "gort was built for CPython " + std::to_string(built >> 8) + "." +
            std::to_string(built & 0xff) + " and cannot run on " + std::to_string(running >> 8) +
            "." + std::to_string(running & 0xff) +
            " (its gilstate shim is specific to one minor version): rebuild it for this "
            "interpreter");
    }
    Py_tss_t* key = gortpy_gilstate_key();
    if (!PyThread_tss_is_created(key)) {
        throw py::import_error("gort: start-up self-test failed: the gilstate key is not created");
    }
    void* old = PyThread_tss_get(key);
    static int marker;
    bool ok = PyThread_tss_set(key, &marker) == 0 &&
              static_cast<void*>(PyGILState_GetThisThreadState()) == &marker;
    PyThread_tss_set(key, old);
    if (!ok) {
        throw py::import_error(
            "gort: start-up self-test failed: the gilstate shim does not reach the slot "
            "PyGILState_* use on this CPython build");
    }
    slotKey = key;
}

void ensureReady() {
    if (!readyFast()) throw py::error_already_set();
}

py::dict stats() {
    ensureReady();
    gort_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    int rc = gort_get_stats(&s, sizeof s);
    if (rc != GORT_OK) {
        raiseStatus(rc, "stats()");
        throw py::error_already_set();
    }
    py::dict d;
    d["maxprocs"] = s.maxprocs;
    const char* const* names = gort_stats_names();
    const auto* base = reinterpret_cast<const unsigned char*>(&s.goroutines_live);
    size_t filled = s.struct_size;
    size_t first = offsetof(gort_stats, goroutines_live);
    for (size_t i = 0; names[i] != nullptr && first + 8 * (i + 1) <= filled; i++) {
        uint64_t v;
        memcpy(&v, base + 8 * i, sizeof v);
        d[names[i]] = v;
    }
    return d;
}

// _dump_runtime() -> str: gort_dump_goroutines into a memory file.
PyObject* dumpRuntime(PyObject*, PyObject*) {
    if (!readyFast()) return nullptr;
    int fd = memfd_create("gort-dump", MFD_CLOEXEC);
    if (fd < 0) return PyErr_SetFromErrno(PyExc_OSError);
    bool ok;
    GoCtx* g = currentGoroutine(&ok);
    int rc = GORT_OK;
    if (ok) {
        if (g != nullptr) releaseGil(g);
        PyThreadState* ts = g == nullptr ? PyEval_SaveThread() : nullptr;
        rc = gort_dump_goroutines(fd);
        if (ts != nullptr) PyEval_RestoreThread(ts);
        if (g != nullptr) reacquireGil(g);
    }
    std::string text;
    if (ok && rc == GORT_OK) {
        char buf[8192];
        off_t off = 0;
        ssize_t n;
        while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
            text.append(buf, size_t(n));
            off += n;
        }
    }
    close(fd);
    if (!ok) return nullptr;
    if (rc != GORT_OK) return raiseStatus(rc, "dump()");
    return PyUnicode_DecodeUTF8(text.data(), Py_ssize_t(text.size()), "replace");
}

PyObject* traceStart(PyObject*, PyObject* path) {
    PyObject* bytes = nullptr;
    if (!PyUnicode_FSConverter(path, &bytes) || !readyFast()) {
        Py_XDECREF(bytes);
        return nullptr;
    }
    int rc = gort_trace_start(PyBytes_AS_STRING(bytes));
    Py_DECREF(bytes);
    if (rc != GORT_OK) return raiseStatus(rc, "trace.start()");
    Py_RETURN_NONE;
}

PyObject* traceStop(PyObject*, PyObject*) {
    if (!readyFast()) return nullptr;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = gort_trace_stop();
    Py_END_ALLOW_THREADS if (rc != GORT_OK) return raiseStatus(rc, "trace.stop()");
    Py_RETURN_NONE;
}

PyMethodDef observeFunctions[] = {
    {"_dump_runtime", dumpRuntime, METH_NOARGS, nullptr},
    {"_trace_start", traceStart, METH_O, nullptr},
    {"_trace_stop", traceStop, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace

}  // namespace gortpy

PYBIND11_MODULE(_gort, m) {
    using namespace gortpy;
    checkInterpreter();
    PyObject* mod = m.ptr();
    if (!initErrors(mod) || !initGoroutines(mod) || !initChan(mod) || !initSync(mod) ||
        !initFfi(mod) || PyModule_AddFunctions(mod, goroutineFunctions) < 0 ||
        PyModule_AddFunctions(mod, chanFunctions) < 0 ||
        PyModule_AddFunctions(mod, runtimeFunctions) < 0 ||
        PyModule_AddFunctions(mod, observeFunctions) < 0) {
        throw py::error_already_set();
    }

    m.def(
        "num_goroutine",
        [] {
            ensureReady();
            return gort_num_goroutine();
        },
        "num_goroutine() -> the number of live goroutines (all of them, C ones included)");
    m.def("stats", &stats, "stats() -> dict of the runtime's counters (gort_stats' field names)");
    m.def(
        "goid", [] { return gort_goid(); },
        "goid() -> the running goroutine's id, 0 off a goroutine");
    m.def(
        "strerror", [](int code) { return std::string(gort_strerror(code)); },
        "strerror(code) -> the message for a GORT_E* status code");
    m.def(
        "runtime_version", [] { return gort_version(); },
        "runtime_version() -> GORT_VERSION of the libgort.so in use");
    m.attr("HEADER_VERSION") = GORT_VERSION;
    m.attr("__version__") = GORTPY_VERSION;
    m.attr("PYTHON_BUILT_FOR") = py::make_tuple(PY_MAJOR_VERSION, PY_MINOR_VERSION);

    py::dict ffiCodes;
    for (auto [name, code] :
         {std::pair{"void", GORT_FFI_VOID}, std::pair{"int8", GORT_FFI_INT8},
          std::pair{"uint8", GORT_FFI_UINT8}, std::pair{"int16", GORT_FFI_INT16},
          std::pair{"uint16", GORT_FFI_UINT16}, std::pair{"int32", GORT_FFI_INT32},
          std::pair{"uint32", GORT_FFI_UINT32}, std::pair{"int64", GORT_FFI_INT64},
          std::pair{"uint64", GORT_FFI_UINT64}, std::pair{"float", GORT_FFI_FLOAT},
          std::pair{"double", GORT_FFI_DOUBLE}, std::pair{"pointer", GORT_FFI_POINTER},
          std::pair{"bool", GORT_FFI_BOOL}, std::pair{"size_t", GORT_FFI_SIZE_T},
          std::pair{"ssize_t", GORT_FFI_SSIZE_T}, std::pair{"intptr_t", GORT_FFI_INTPTR}}) {
        ffiCodes[name] = code;
    }
    m.attr("_FFI_CODES") = ffiCodes;
    m.attr("_FFI_MAX_ARGS") = GORT_FFI_MAX_ARGS;

    struct Code {
        const char* name;
        int value;
    };
    for (Code c :
         {Code{"OK", GORT_OK}, Code{"EINVAL", GORT_EINVAL}, Code{"ENOTINIT", GORT_ENOTINIT},
          Code{"EALREADY", GORT_EALREADY}, Code{"ENOMEM", GORT_ENOMEM}, Code{"EAGAIN", GORT_EAGAIN},
          Code{"ECLOSED", GORT_ECLOSED}, Code{"EOVERFLOW", GORT_EOVERFLOW},
          Code{"EBUSY", GORT_EBUSY}, Code{"ETIMEDOUT", GORT_ETIMEDOUT},
          Code{"ENOTGOROUTINE", GORT_ENOTGOROUTINE}, Code{"ETHREAD", GORT_ETHREAD},
          Code{"ENOTSUP", GORT_ENOTSUP}, Code{"EDEADLK", GORT_EDEADLK}}) {
        m.attr(c.name) = c.value;
    }
}
