// gort.ffi's C half: calls through gort_ffi_call and closures through
// gort_ffi_closure_make. gort/ffi.py turns type names and Struct classes
// into descriptors, tuples (code, kind, size, struct class or None):
//
//   kind  'v' void, 'b' bool, 'i' signed integer, 'u' unsigned integer,
//         'f' float, 'd' double, 'p' pointer, 's' struct (by value)
//
// A call (_FfiFunction.__call__, vectorcall) converts the arguments into
// 8-byte slots (a struct argument points into its instance's buffer),
// releases the GIL (on a goroutine through releaseGil, so the switch hooks
// and the exit code know it runs C) and calls gort_ffi_call. On a goroutine
// that call is made inside a blocking region, where gort_ffi_call calls C
// directly: C runs on the goroutine's own stack (1 MiB at least, as ctypes
// code there does) and the P can be handed off while it runs, with no
// switch to the thread's stack (a cgocall's two context switches were a
// third of the cost of a call from Python). Off a goroutine it is a plain
// call on the thread's stack. Pointer arguments take an int, None, bytes,
// any object with the buffer protocol (kept for the call) and ctypes
// objects (their address, or a pointer's value).
//
// A callback (_FfiCallback) is a gort closure whose handler takes the GIL
// with PyGILState_Ensure: on a Python goroutine's thread (C called from an
// ffi call) that finds the goroutine's own thread state (the gilstate slot
// is bound), elsewhere CPython makes one. An exception in the callable is
// reported as unraisable and the declared error value is returned. The
// callable and descriptors live in CbData, freed with the last of the
// Python object and the calls in flight (counted under the GIL); a call
// after release() is the C side's to refuse.
#include "goroutine.h"

#include <structmember.h>

#include <pthread.h>

#include <cstring>
#include <vector>

namespace gortpy {

namespace {

struct Desc {
    int code = GORT_FFI_VOID;
    char kind = 'v';
    size_t size = 0;
    PyObject* pytype = nullptr;  // the Struct class (borrowed from the owner's tuple)
};

bool parseDesc(PyObject* t, Desc* d, const char* what) {
    const char* kind = nullptr;
    Py_ssize_t size = 0;
    PyObject* pytype = nullptr;
    if (!PyTuple_Check(t) || !PyArg_ParseTuple(t, "isnO", &d->code, &kind, &size, &pytype)) {
        PyErr_Format(PyExc_TypeError, "%s: a bad type descriptor", what);
        return false;
    }
    d->kind = kind[0];
    d->size = size_t(size);
    d->pytype = pytype == Py_None ? nullptr : pytype;
    return true;
}

// ---- Python value <-> C value ---------------------------------------------------------------

struct CallbackObject {
    PyObject ob_base;
    gort_ffi_closure* closure;
    void (*code)(void);
    struct CbData* data;
};
PyTypeObject* CallbackType = nullptr;

// The ctypes objects pointer arguments are checked against, looked up once
// ctypes is imported (a process that never imports it never pays).
struct Ctypes {
    PyObject* voidp = nullptr;    // c_void_p
    PyObject* charp = nullptr;    // c_char_p
    PyObject* pointer = nullptr;  // _Pointer
    PyObject* cast = nullptr;
    PyObject* addressof = nullptr;
} ctypesRefs;

bool loadCtypes() {
    if (ctypesRefs.voidp != nullptr) return true;
    PyObject* name = PyUnicode_FromString("ctypes");
    PyObject* mod = name ? PyImport_GetModule(name) : nullptr;
    Py_XDECREF(name);
    if (mod == nullptr) {
        PyErr_Clear();
        return false;
    }
    Ctypes c;
    c.voidp = PyObject_GetAttrString(mod, "c_void_p");
    c.charp = PyObject_GetAttrString(mod, "c_char_p");
    c.pointer = PyObject_GetAttrString(mod, "_Pointer");
    c.cast = PyObject_GetAttrString(mod, "cast");
    c.addressof = PyObject_GetAttrString(mod, "addressof");
    Py_DECREF(mod);
    if (!c.voidp || !c.charp || !c.pointer || !c.cast || !c.addressof) {
        PyErr_Clear();
        return false;
    }
    ctypesRefs = c;
    return true;
}

// ctypesAddress: for a ctypes object, the address it stands for (a
// pointer's value, else the object's own storage) with *isCtypes set.
bool ctypesAddress(PyObject* o, uintptr_t* out, bool* isCtypes) {
    *isCtypes = false;
    if (!loadCtypes()) return true;
    const Ctypes& c = ctypesRefs;
    bool isPtr = PyObject_IsInstance(o, c.pointer) == 1 || PyObject_IsInstance(o, c.voidp) == 1 ||
                 PyObject_IsInstance(o, c.charp) == 1;
    PyObject* r;
    if (isPtr) {
        PyObject* v = PyObject_CallFunctionObjArgs(c.cast, o, c.voidp, nullptr);
        r = v ? PyObject_GetAttrString(v, "value") : nullptr;
        Py_XDECREF(v);
        if (r == nullptr) return false;
    } else {
        r = PyObject_CallOneArg(c.addressof, o);
        if (r == nullptr) {  // TypeError: not a ctypes instance
            PyErr_Clear();
            return true;
        }
    }
    *isCtypes = true;
    *out = r == Py_None ? 0 : uintptr_t(PyLong_AsVoidPtr(r));
    Py_DECREF(r);
    return !PyErr_Occurred();
}

// Buffers holds the buffers that pointer and struct arguments lend a call.
struct Buffers {
    std::vector<Py_buffer> views;
    ~Buffers() {
        for (Py_buffer& v : views) PyBuffer_Release(&v);
    }
    void* add(PyObject* o, bool* ok) {
        Py_buffer v;
        if (PyObject_GetBuffer(o, &v, PyBUF_WRITABLE) < 0) {
            PyErr_Clear();
            if (PyObject_GetBuffer(o, &v, PyBUF_SIMPLE) < 0) {
                PyErr_Clear();
                *ok = false;
                return nullptr;
            }
        }
        views.push_back(v);
        *ok = true;
        return v.buf;
    }
};

PyObject* argError(PyObject* exc, const char* fname, size_t i, const char* msg, PyObject* o) {
    PyErr_Format(exc, "%s: argument %zu: %s, not %.100s", fname, i + 1, msg, Py_TYPE(o)->tp_name);
    return nullptr;
}

// toC stores Python value o of type d at slot (8 bytes, or a pointer into a
// struct buffer in *where).
bool toC(const Desc& d, PyObject* o, uint64_t* slot, void** where, Buffers& bufs, const char* fname,
         size_t i) {
    *where = slot;
    switch (d.kind) {
        case 'b': {
            int t = PyObject_IsTrue(o);
            if (t < 0) return false;
            *reinterpret_cast<uint8_t*>(slot) = uint8_t(t);
            return true;
        }
        case 'i': {
            if (!PyLong_Check(o) && !PyIndex_Check(o)) {
                return argError(PyExc_TypeError, fname, i, "an int is required", o) != nullptr;
            }
            long long v = PyLong_AsLongLong(o);
            if (v == -1 && PyErr_Occurred()) return false;
            if (d.size < 8) {
                long long lim = 1LL << (8 * d.size - 1);
                if (v < -lim || v >= lim) {
                    PyErr_Format(PyExc_ValueError, "%s: argument %zu: %lld out of range", fname,
                                 i + 1, v);
                    return false;
                }
            }
            *reinterpret_cast<int64_t*>(slot) = v;
            return true;
        }
        case 'u': {
            if (!PyLong_Check(o) && !PyIndex_Check(o)) {
                return argError(PyExc_TypeError, fname, i, "an int is required", o) != nullptr;
            }
            unsigned long long v = PyLong_AsUnsignedLongLong(o);
            if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError,
                             "%s: argument %zu: out of range for an unsigned "
                             "integer",
                             fname, i + 1);
                return false;
            }
            if (d.size < 8 && v >= (1ULL << (8 * d.size))) {
                PyErr_Format(PyExc_ValueError, "%s: argument %zu: %llu out of range", fname, i + 1,
                             v);
                return false;
            }
            *slot = v;
            return true;
        }
        case 'f':
        case 'd': {
            double v = PyFloat_AsDouble(o);
            if (v == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                return argError(PyExc_TypeError, fname, i, "a float is required", o) != nullptr;
            }
            if (d.kind == 'f') {
                *reinterpret_cast<float*>(slot) = float(v);
            } else {
                *reinterpret_cast<double*>(slot) = v;
            }
            return true;
        }
        case 'p': {
            if (o == Py_None) {
                *slot = 0;
                return true;
            }
            if (PyLong_Check(o)) {
                *slot = uint64_t(uintptr_t(PyLong_AsVoidPtr(o)));
                return !PyErr_Occurred();
            }
            if (Py_TYPE(o) == CallbackType) {  // a gort.ffi.callback: its code pointer
                auto* cb = reinterpret_cast<CallbackObject*>(o);
                if (cb->closure == nullptr) {
                    PyErr_Format(PyExc_ValueError, "%s: argument %zu: a released callback", fname,
                                 i + 1);
                    return false;
                }
                *slot = uint64_t(reinterpret_cast<uintptr_t>(cb->code));
                return true;
            }
            uintptr_t addr = 0;
            bool isCtypes = false;
            if (!ctypesAddress(o, &addr, &isCtypes)) return false;
            if (isCtypes) {
                *slot = addr;
                return true;
            }
            bool ok;
            void* p = bufs.add(o, &ok);
            if (!ok) {
                return argError(PyExc_TypeError, fname, i,
                                "a pointer (int, None, bytes, a buffer, a ctypes object) is "
                                "required",
                                o) != nullptr;
            }
            *slot = uint64_t(uintptr_t(p));
            return true;
        }
        case 's': {
            int is = d.pytype ? PyObject_IsInstance(o, d.pytype) : 0;
            if (is < 0) return false;
            PyObject* buf = is ? PyObject_GetAttrString(o, "_buf") : nullptr;
            if (buf == nullptr) {
                PyErr_Clear();
                return argError(PyExc_TypeError, fname, i, "an instance of the struct type", o) !=
                       nullptr;
            }
            bool ok;
            void* p = bufs.add(buf, &ok);
            Py_DECREF(buf);
            if (!ok) return argError(PyExc_TypeError, fname, i, "a struct buffer", o) != nullptr;
            *where = p;
            return true;
        }
        default:
            PyErr_Format(PyExc_TypeError, "%s: argument %zu: bad type", fname, i + 1);
            return false;
    }
}

// fromC makes a Python value of type d from p; widened: integers narrower
// than 64 bits are stored as 64 bits (results of calls).
PyObject* fromC(const Desc& d, const void* p, bool widened) {
    switch (d.kind) {
        case 'v':
            Py_RETURN_NONE;
        case 'b':
            return PyBool_FromLong(widened ? *static_cast<const uint64_t*>(p) != 0
                                           : *static_cast<const uint8_t*>(p) != 0);
        case 'i': {
            int64_t v = 0;
            if (widened || d.size == 8) {
                memcpy(&v, p, 8);
            } else if (d.size == 4) {
                v = *static_cast<const int32_t*>(p);
            } else if (d.size == 2) {
                v = *static_cast<const int16_t*>(p);
            } else {
                v = *static_cast<const int8_t*>(p);  // NOLINT(bugprone-signed-char-misuse)
            }
            return PyLong_FromLongLong(v);
        }
        case 'u': {
            uint64_t v = 0;
            if (widened || d.size == 8) {
                memcpy(&v, p, 8);
            } else {
                memcpy(&v, p, d.size);
            }
            if (widened && d.size < 8) v &= (1ULL << (8 * d.size)) - 1;
            return PyLong_FromUnsignedLongLong(v);
        }
        case 'f':
            return PyFloat_FromDouble(*static_cast<const float*>(p));
        case 'd':
            return PyFloat_FromDouble(*static_cast<const double*>(p));
        case 'p':
            return PyLong_FromVoidPtr(*static_cast<void* const*>(p));
        case 's': {
            PyObject* b =
                PyBytes_FromStringAndSize(static_cast<const char*>(p), Py_ssize_t(d.size));
            if (b == nullptr) return nullptr;
            PyObject* r = PyObject_CallMethod(d.pytype, "_from_bytes", "(N)", b);
            return r;
        }
        default:
            PyErr_SetString(PyExc_TypeError, "gort.ffi: bad result type");
            return nullptr;
    }
}

// storeResult writes a callback's result by libffi's rule (narrow integers
// widened to 64 bits).
bool storeResult(const Desc& d, PyObject* v, void* ret) {
    uint64_t slot = 0;
    void* where = &slot;
    Buffers bufs;
    if (d.kind == 'v') return true;
    if (!toC(d, v, &slot, &where, bufs, "callback result", 0)) return false;
    switch (d.kind) {
        case 'b':
            *static_cast<uint64_t*>(ret) = slot & 0xff;
            return true;
        case 'i':
        case 'u':
        case 'p':
            memcpy(ret, &slot, 8);
            return true;
        case 'f':
            memcpy(ret, &slot, sizeof(float));
            return true;
        case 'd':
            memcpy(ret, &slot, sizeof(double));
            return true;
        case 's':
            memcpy(ret, where, d.size);
            return true;
        default:
            return false;
    }
}

// ---- _FfiFunction -------------------------------------------------------------------------

struct FunctionObject {
    PyObject ob_base;
    vectorcallfunc vectorcall;
    gort_ffi_sig* sig;
    void (*fn)(void);
    Desc ret;
    std::vector<Desc>* args;
    PyObject* keep;  // the descriptors (and the library object) it was made from
    PyObject* name;
    const char* cname;  // name's UTF-8 (owned by name), for error messages
};

PyTypeObject* FunctionType = nullptr;

PyObject* callFunction(PyObject* self, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
    auto* f = reinterpret_cast<FunctionObject*>(self);
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    const char* fname = f->cname;
    if (kwnames != nullptr && PyTuple_GET_SIZE(kwnames) > 0) {
        PyErr_Format(PyExc_TypeError, "%s() takes no keyword arguments", fname);
        return nullptr;
    }
    size_t want = f->args->size();
    if (size_t(n) != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zu arguments (%zd given)", fname, want, n);
        return nullptr;
    }
    constexpr size_t kInline = 8;
    uint64_t slotsInline[kInline];
    void* ptrsInline[kInline];
    std::vector<uint64_t> slotsHeap;
    std::vector<void*> ptrsHeap;
    uint64_t* slots = slotsInline;
    void** ptrs = ptrsInline;
    if (want > kInline) {
        slotsHeap.resize(want);
        ptrsHeap.resize(want);
        slots = slotsHeap.data();
        ptrs = ptrsHeap.data();
    }
    Buffers bufs;
    for (size_t i = 0; i < want; i++) {
        if (!toC((*f->args)[i], args[i], &slots[i], &ptrs[i], bufs, fname, i)) return nullptr;
    }
    alignas(16) unsigned char retInline[64];
    std::vector<unsigned char> retHeap;
    void* ret = retInline;
    if (f->ret.size > sizeof retInline) {
        retHeap.resize(f->ret.size);
        ret = retHeap.data();
    }
    if (!readyFast()) return nullptr;
    bool ok;
    GoCtx* g = currentGoroutine(&ok);
    if (!ok) return nullptr;
    int rc;
    if (g != nullptr) {
        // In a blocking region gort_ffi_call calls C right here, on the
        // goroutine's own stack (see the top of the file).
        releaseGil(g);
        gort_blocking_begin();
        rc = gort_ffi_call(f->sig, f->fn, ret, ptrs);
        gort_blocking_end();
        reacquireGil(g);
    } else {
        Py_BEGIN_ALLOW_THREADS rc = gort_ffi_call(f->sig, f->fn, ret, ptrs);
        Py_END_ALLOW_THREADS
    }
    if (rc != GORT_OK) return raiseStatus(rc, fname);
    return fromC(f->ret, ret, true);
}

// _FfiFunction(address, restype_desc, argtype_descs, nfixed, name, keep)
PyObject* newFunction(PyTypeObject* type, PyObject* args, PyObject*) {
    PyObject *addr, *rdesc, *adescs, *name, *keep;
    Py_ssize_t nfixed = -1;
    if (!PyArg_ParseTuple(args, "OOO!nUO", &addr, &rdesc, &PyTuple_Type, &adescs, &nfixed, &name,
                          &keep)) {
        return nullptr;
    }
    void* fnp = PyLong_AsVoidPtr(addr);
    if (fnp == nullptr) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "gort.ffi: a NULL function");
        return nullptr;
    }
    Desc r;
    if (!parseDesc(rdesc, &r, "restype")) return nullptr;
    auto descs = new std::vector<Desc>(size_t(PyTuple_GET_SIZE(adescs)));
    std::vector<int> codes;
    for (size_t i = 0; i < descs->size(); i++) {
        if (!parseDesc(PyTuple_GET_ITEM(adescs, Py_ssize_t(i)), &(*descs)[i], "argtypes")) {
            delete descs;
            return nullptr;
        }
        codes.push_back((*descs)[i].code);
    }
    gort_ffi_sig* sig =
        nfixed < 0 ? gort_ffi_sig_make(r.code, codes.data(), codes.size())
                   : gort_ffi_sig_make_variadic(r.code, codes.data(), size_t(nfixed), codes.size());
    if (sig == nullptr) {
        delete descs;
        return raiseErrno("gort.ffi: the signature");
    }
    auto* f = reinterpret_cast<FunctionObject*>(type->tp_alloc(type, 0));
    if (f == nullptr) {
        gort_ffi_sig_release(sig);
        delete descs;
        return nullptr;
    }
    f->vectorcall = callFunction;
    f->sig = sig;
    f->fn = reinterpret_cast<void (*)(void)>(fnp);
    f->ret = r;
    f->args = descs;
    f->keep = Py_BuildValue("(OOO)", rdesc, adescs, keep);
    f->name = Py_NewRef(name);
    f->cname = PyUnicode_AsUTF8(name);
    if (f->cname == nullptr) {  // not encodable (a lone surrogate)
        Py_DECREF(f);
        return nullptr;
    }
    return reinterpret_cast<PyObject*>(f);
}

void deallocFunction(PyObject* self) {
    auto* f = reinterpret_cast<FunctionObject*>(self);
    if (f->sig != nullptr) gort_ffi_sig_release(f->sig);
    delete f->args;
    Py_XDECREF(f->keep);
    Py_XDECREF(f->name);
    PyTypeObject* tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

PyObject* reprFunction(PyObject* self) {
    return PyUnicode_FromFormat("<gort.ffi function %U>",
                                reinterpret_cast<FunctionObject*>(self)->name);
}

PyMemberDef functionMembers[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(FunctionObject, vectorcall), READONLY, nullptr},
    {"__name__", T_OBJECT, offsetof(FunctionObject, name), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot functionSlots[] = {
    {Py_tp_new, reinterpret_cast<void*>(newFunction)},
    {Py_tp_dealloc, reinterpret_cast<void*>(deallocFunction)},
    {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
    {Py_tp_repr, reinterpret_cast<void*>(reprFunction)},
    {Py_tp_members, functionMembers},
    {0, nullptr},
};

PyType_Spec functionSpec = {"gort.ffi.Function", sizeof(FunctionObject), 0,
                            Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL, functionSlots};

// ---- _FfiCallback -------------------------------------------------------------------------

struct CbData {
    PyObject* fn;
    PyObject* keep;  // descriptors
    PyObject* error;
    Desc ret;
    std::vector<Desc> args;
    long inflight = 0;  // calls in progress (GIL)
    bool dead = false;  // the Python object is gone
};

void freeCbData(CbData* d) {
    Py_XDECREF(d->fn);
    Py_XDECREF(d->keep);
    Py_XDECREF(d->error);
    delete d;
}

// A thread C created that calls back gets a thread state of its own, kept
// until the thread exits (as cffi does): PyGILState_Ensure would otherwise
// make and destroy one per call (ctypes' 9 µs per callback). Deleted by the
// thread's key destructor, unless the interpreter is going away.
pthread_key_t threadStateKey;
pthread_once_t threadStateOnce = PTHREAD_ONCE_INIT;

void deleteThreadState(void* p) {
    if (!Py_IsInitialized() || _Py_IsFinalizing()) return;  // the interpreter frees it
    auto* ts = static_cast<PyThreadState*>(p);
    PyEval_RestoreThread(ts);
    PyThreadState_Clear(ts);
    PyThreadState_DeleteCurrent();
}

void adoptThread() {
    pthread_once(&threadStateOnce, [] { pthread_key_create(&threadStateKey, deleteThreadState); });
    PyThreadState* ts = PyThreadState_New(mainInterpreter());  // fills the empty slot
    if (ts != nullptr) pthread_setspecific(threadStateKey, ts);
}

void cbHandler(void* ret, void** args, void* userdata) {
    auto* d = static_cast<CbData*>(userdata);
    if (_Py_IsFinalizing()) {
        memset(ret, 0, d->ret.size > 8 ? d->ret.size : 8);
        return;
    }
    if (PyGILState_GetThisThreadState() == nullptr) adoptThread();
    PyGILState_STATE st = PyGILState_Ensure();
    void* token = callbackEnter();
    d->inflight++;
    // The arguments go by vectorcall, without a tuple.
    size_t n = d->args.size();
    constexpr size_t kInline = 8;
    PyObject* argvInline[kInline];
    std::vector<PyObject*> argvHeap;
    PyObject** argv = argvInline;
    if (n > kInline) {
        argvHeap.resize(n);
        argv = argvHeap.data();
    }
    size_t made = 0;
    while (made < n && (argv[made] = fromC(d->args[made], args[made], false)) != nullptr) made++;
    PyObject* r = made == n ? PyObject_Vectorcall(d->fn, argv, n, nullptr) : nullptr;
    for (size_t i = 0; i < made; i++) Py_DECREF(argv[i]);
    if (r == nullptr || !storeResult(d->ret, r, ret)) {
        PyErr_WriteUnraisable(d->fn);
        memset(ret, 0, d->ret.size > 8 ? d->ret.size : 8);
        if (d->error != Py_None && !storeResult(d->ret, d->error, ret)) PyErr_Clear();
    }
    Py_XDECREF(r);
    d->inflight--;
    if (d->dead && d->inflight == 0) freeCbData(d);
    callbackLeave(token);
    PyGILState_Release(st);
}

// _FfiCallback(fn, restype_desc, argtype_descs, error)
PyObject* newCallback(PyTypeObject* type, PyObject* args, PyObject*) {
    PyObject *fn, *rdesc, *adescs, *error;
    if (!PyArg_ParseTuple(args, "OOO!O", &fn, &rdesc, &PyTuple_Type, &adescs, &error)) {
        return nullptr;
    }
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "gort.ffi.callback: fn must be callable");
        return nullptr;
    }
    auto* d = new CbData;
    d->fn = Py_NewRef(fn);
    d->keep = Py_BuildValue("(OO)", rdesc, adescs);
    d->error = Py_NewRef(error);
    d->args.resize(size_t(PyTuple_GET_SIZE(adescs)));
    std::vector<int> codes;
    bool ok = parseDesc(rdesc, &d->ret, "restype");
    for (size_t i = 0; ok && i < d->args.size(); i++) {
        ok = parseDesc(PyTuple_GET_ITEM(adescs, Py_ssize_t(i)), &d->args[i], "argtypes");
        codes.push_back(d->args[i].code);
    }
    if (!ok) {
        freeCbData(d);
        return nullptr;
    }
    gort_ffi_sig* sig = gort_ffi_sig_make(d->ret.code, codes.data(), codes.size());
    if (sig == nullptr) {
        freeCbData(d);
        return raiseErrno("gort.ffi.callback: the signature");
    }
    void (*code)(void) = nullptr;
    gort_ffi_closure* c = gort_ffi_closure_make(sig, cbHandler, d, &code);
    gort_ffi_sig_release(sig);  // the closure keeps its own
    if (c == nullptr) {
        freeCbData(d);
        return raiseErrno("gort.ffi.callback");
    }
    auto* o = reinterpret_cast<CallbackObject*>(type->tp_alloc(type, 0));
    if (o == nullptr) {
        gort_ffi_closure_release(c);
        return nullptr;  // d leaks: the closure may still name it
    }
    o->closure = c;
    o->code = code;
    o->data = d;
    return reinterpret_cast<PyObject*>(o);
}

void releaseCallback(CallbackObject* o) {
    if (o->closure == nullptr) return;
    gort_ffi_closure_release(o->closure);  // calls in flight finish first (C side)
    o->closure = nullptr;
    o->data->dead = true;
    if (o->data->inflight == 0) freeCbData(o->data);
    o->data = nullptr;
}

PyObject* cbRelease(PyObject* self, PyObject*) {
    releaseCallback(reinterpret_cast<CallbackObject*>(self));
    Py_RETURN_NONE;
}

PyObject* cbAddress(PyObject* self, void*) {
    auto* o = reinterpret_cast<CallbackObject*>(self);
    if (o->closure == nullptr) {
        PyErr_SetString(PyExc_ValueError, "gort.ffi.callback: released");
        return nullptr;
    }
    return PyLong_FromVoidPtr(reinterpret_cast<void*>(o->code));
}

void deallocCallback(PyObject* self) {
    releaseCallback(reinterpret_cast<CallbackObject*>(self));
    PyTypeObject* tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

PyMethodDef callbackMethods[] = {
    {"release", cbRelease, METH_NOARGS,
     "release(): the address becomes invalid (a late call is reported, never run)"},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef callbackGetset[] = {
    {"address", cbAddress, nullptr, "the C function pointer (an int)", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot callbackSlots[] = {
    {Py_tp_new, reinterpret_cast<void*>(newCallback)},
    {Py_tp_dealloc, reinterpret_cast<void*>(deallocCallback)},
    {Py_tp_methods, callbackMethods},
    {Py_tp_getset, callbackGetset},
    {0, nullptr},
};

PyType_Spec callbackSpec = {"gort.ffi.Callback", sizeof(CallbackObject), 0, Py_TPFLAGS_DEFAULT,
                            callbackSlots};

// _ffi_struct_make(codes) -> type code
PyObject* structMake(PyObject*, PyObject* codes) {
    PyObject* seq = PySequence_Fast(codes, "gort.ffi.Struct: field codes");
    if (seq == nullptr) return nullptr;
    std::vector<int> v;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        long c = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (c == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return nullptr;
        }
        v.push_back(int(c));
    }
    Py_DECREF(seq);
    int code = gort_ffi_struct_make(v.data(), v.size());
    if (code < 0) return raiseStatus(code, "gort.ffi.Struct");
    return PyLong_FromLong(code);
}

}  // namespace

PyMethodDef ffiFunctions[] = {
    {"_ffi_struct_make", structMake, METH_O, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

bool initFfi(PyObject* module) {
    FunctionType = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&functionSpec));
    CallbackType = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&callbackSpec));
    if (FunctionType == nullptr || CallbackType == nullptr) return false;
    Py_INCREF(FunctionType);
    Py_INCREF(CallbackType);
    return PyModule_AddObject(module, "_FfiFunction", reinterpret_cast<PyObject*>(FunctionType)) ==
               0 &&
           PyModule_AddObject(module, "_FfiCallback", reinterpret_cast<PyObject*>(CallbackType)) ==
               0 &&
           PyModule_AddFunctions(module, ffiFunctions) == 0;
}

}  // namespace gortpy
