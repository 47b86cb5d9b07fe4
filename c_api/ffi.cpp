// The C ABI: libffi calls and closures, on bridge/ffi.h.
#include <new>

#include "bridge/ffi.h"
#include "capi.h"
#include "handles.h"

using namespace gort;
using capi::Kind;
using capi::Ref;

namespace {

static_assert(GORT_FFI_VOID == bridge::kFfiVoid && GORT_FFI_POINTER == bridge::kFfiPointer,
              "GORT_FFI_* are the bridge's type codes");

// A closure keeps a reference on its signature's handle: releasing the
// signature first is safe.
struct Closure {
    bridge::FfiClosure* c;
    gort_ffi_sig* sig;
};

void destroyClosure(void* p, void*) {
    auto* cl = static_cast<Closure*>(p);
    bridge::ffiClosureFree(cl->c);
    capi::handleRelease(cl->sig);
    delete cl;
}

}  // namespace

extern "C" {

GORT_API gort_ffi_sig* gort_ffi_sig_make(int rtype, const int* argtypes, size_t nargs) {
    if (forkedChild()) return static_cast<gort_ffi_sig*>(capi::ctorFail(kENOTSUP));
    bridge::FfiSig* sig = nullptr;
    if (int rc = bridge::ffiSigMake(rtype, argtypes, nargs, &sig); rc != kOK) {
        return static_cast<gort_ffi_sig*>(capi::ctorFail(rc));
    }
    void* h = capi::handleAdd(Kind::ffisig, sig, [](void* p, void*) {
        bridge::ffiSigFree(static_cast<bridge::FfiSig*>(p));
    });
    if (h == nullptr) {
        bridge::ffiSigFree(sig);
        return static_cast<gort_ffi_sig*>(capi::ctorFail(kENOMEM));
    }
    return static_cast<gort_ffi_sig*>(h);
}

GORT_API int gort_ffi_sig_release(gort_ffi_sig* sig) {
    return capi::handleClose(sig, Kind::ffisig) == 0 ? GORT_OK : GORT_EINVAL;
}

GORT_API int gort_ffi_call(gort_ffi_sig* h, void (*fn)(void), void* ret, void** args) {
    capi::Call call;
    if (!call) return call.status();
    Ref<bridge::FfiSig> sig(h, Kind::ffisig);
    if (!sig || fn == nullptr) return GORT_EINVAL;
    if (ret == nullptr && bridge::ffiSigReturn(sig.get()) != bridge::kFfiVoid) return GORT_EINVAL;
    return bridge::ffiCall(sig.get(), fn, ret, args);
}

GORT_API gort_ffi_closure* gort_ffi_closure_make(gort_ffi_sig* h, gort_ffi_handler handler,
                                                 void* userdata, void (**code)(void)) {
    if (forkedChild()) return static_cast<gort_ffi_closure*>(capi::ctorFail(kENOTSUP));
    if (handler == nullptr || code == nullptr) {
        return static_cast<gort_ffi_closure*>(capi::ctorFail(kEINVAL));
    }
    auto* sig = static_cast<bridge::FfiSig*>(capi::handleAcquire(h, Kind::ffisig));
    if (sig == nullptr) return static_cast<gort_ffi_closure*>(capi::ctorFail(kEINVAL));
    auto* cl = new (std::nothrow) Closure{nullptr, h};
    int rc = cl == nullptr ? kENOMEM : bridge::ffiClosureMake(sig, handler, userdata, &cl->c, code);
    void* ch = rc == kOK ? capi::handleAdd(Kind::fficlosure, cl, destroyClosure) : nullptr;
    if (ch == nullptr) {
        if (cl != nullptr) bridge::ffiClosureFree(cl->c);
        delete cl;
        capi::handleRelease(h);
        return static_cast<gort_ffi_closure*>(capi::ctorFail(rc == kOK ? kENOMEM : rc));
    }
    return static_cast<gort_ffi_closure*>(ch);
}

GORT_API int gort_ffi_closure_release(gort_ffi_closure* c) {
    return capi::handleClose(c, Kind::fficlosure) == 0 ? GORT_OK : GORT_EINVAL;
}

}  // extern "C"
