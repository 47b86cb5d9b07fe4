// libffi bridge. A call prepares nothing per call: the cif is built once
// in the signature, and the call itself runs through cgocall, so a C
// function that blocks does not hold the goroutine's processor. A closure's
// libffi trampoline lands in closureEntry on whatever thread C calls it
// from, and runs the handler through gort::callback: as goroutine code,
// binding an extra M to the thread if it is one the runtime never saw.
#include "bridge/ffi.h"

#include <ffi.h>

#include <new>

#include "runtime/cgo.h"
#include "runtime/errors.h"

namespace gort::bridge {

struct FfiSig {
    ffi_cif cif;
    int rtype;
    size_t nargs;
    ffi_type* atypes[kFfiMaxArgs];
};

struct FfiClosure {
    ffi_closure* closure;
    void* code;
    FfiSig* sig;
    FfiHandler handler;
    void* userdata;
};

namespace {

ffi_type* ffiTypeOf(int code) {
    switch (code) {
        case kFfiVoid:
            return &ffi_type_void;
        case kFfiInt8:
            return &ffi_type_sint8;
        case kFfiUint8:
            return &ffi_type_uint8;
        case kFfiInt16:
            return &ffi_type_sint16;
        case kFfiUint16:
            return &ffi_type_uint16;
        case kFfiInt32:
            return &ffi_type_sint32;
        case kFfiUint32:
            return &ffi_type_uint32;
        case kFfiInt64:
            return &ffi_type_sint64;
        case kFfiUint64:
            return &ffi_type_uint64;
        case kFfiFloat:
            return &ffi_type_float;
        case kFfiDouble:
            return &ffi_type_double;
        case kFfiPointer:
            return &ffi_type_pointer;
        default:
            return nullptr;
    }
}

struct CallArgs {
    FfiSig* sig;
    void (*fn)();
    void* ret;
    void** args;
};

void callInC(void* p) {
    auto* a = static_cast<CallArgs*>(p);
    alignas(16) unsigned char scratch[16];  // for a result the caller discards
    ffi_call(&a->sig->cif, a->fn, a->ret != nullptr ? a->ret : scratch, a->args);
}

struct ClosureCall {
    FfiClosure* c;
    void* ret;
    void** args;
};

void runHandler(void* p) {
    auto* cc = static_cast<ClosureCall*>(p);
    cc->c->handler(cc->ret, cc->args, cc->c->userdata);
}

void closureEntry(ffi_cif*, void* ret, void** args, void* user) {
    ClosureCall cc{static_cast<FfiClosure*>(user), ret, args};
    callback(runHandler, &cc);
}

}  // namespace

int ffiSigMake(int rtype, const int* argtypes, size_t nargs, FfiSig** out) {
    if (out == nullptr || nargs > kFfiMaxArgs || (nargs > 0 && argtypes == nullptr)) {
        return kEINVAL;
    }
    ffi_type* rt = ffiTypeOf(rtype);
    if (rt == nullptr) return kEINVAL;
    auto* sig = new (std::nothrow) FfiSig;
    if (sig == nullptr) return kENOMEM;
    sig->rtype = rtype;
    sig->nargs = nargs;
    for (size_t i = 0; i < nargs; i++) {
        ffi_type* t = ffiTypeOf(argtypes[i]);
        if (t == nullptr || t == &ffi_type_void) {
            delete sig;
            return kEINVAL;
        }
        sig->atypes[i] = t;
    }
    if (ffi_prep_cif(&sig->cif, FFI_DEFAULT_ABI, unsigned(nargs), rt, sig->atypes) != FFI_OK) {
        delete sig;
        return kEINVAL;
    }
    *out = sig;
    return kOK;
}

void ffiSigFree(FfiSig* sig) {
    delete sig;
}

size_t ffiSigArgs(const FfiSig* sig) {
    return sig->nargs;
}

int ffiSigReturn(const FfiSig* sig) {
    return sig->rtype;
}

int ffiCall(FfiSig* sig, void (*fn)(), void* ret, void** args) {
    if (sig == nullptr || fn == nullptr || (sig->nargs > 0 && args == nullptr)) return kEINVAL;
    for (size_t i = 0; i < sig->nargs; i++) {
        if (args[i] == nullptr) return kEINVAL;
    }
    CallArgs a{sig, fn, ret, args};
    return cgocall(callInC, &a);
}

int ffiClosureMake(FfiSig* sig, FfiHandler handler, void* userdata, FfiClosure** out,
                   void (**code)()) {
    if (sig == nullptr || handler == nullptr || out == nullptr || code == nullptr) return kEINVAL;
    auto* c = new (std::nothrow) FfiClosure{nullptr, nullptr, sig, handler, userdata};
    if (c == nullptr) return kENOMEM;
    c->closure = static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), &c->code));
    if (c->closure == nullptr) {
        delete c;
        return kENOMEM;
    }
    if (ffi_prep_closure_loc(c->closure, &sig->cif, closureEntry, c, c->code) != FFI_OK) {
        ffi_closure_free(c->closure);
        delete c;
        return kEINVAL;
    }
    *out = c;
    *code = reinterpret_cast<void (*)()>(c->code);
    return kOK;
}

void ffiClosureFree(FfiClosure* c) {
    if (c == nullptr) return;
    ffi_closure_free(c->closure);
    delete c;
}

}  // namespace gort::bridge
