// libffi calls and closures: calling any C function pointer through a
// signature built at run time (as a cgocall), and making C function
// pointers that enter the runtime through the callback path.
#pragma once

#include <cstddef>

namespace gort::bridge {

// Type codes (the C ABI's GORT_FFI_*).
enum FfiType : int {
    kFfiVoid = 0,
    kFfiInt8,
    kFfiUint8,
    kFfiInt16,
    kFfiUint16,
    kFfiInt32,
    kFfiUint32,
    kFfiInt64,
    kFfiUint64,
    kFfiFloat,
    kFfiDouble,
    kFfiPointer,
    kFfiTypeCount
};

constexpr size_t kFfiMaxArgs = 64;

struct FfiSig;
struct FfiClosure;

// ffiSigMake builds a signature; kEINVAL for bad codes (void as an
// argument) or too many arguments, kENOMEM.
int ffiSigMake(int rtype, const int* argtypes, size_t nargs, FfiSig** out);
void ffiSigFree(FfiSig* sig);
size_t ffiSigArgs(const FfiSig* sig);
int ffiSigReturn(const FfiSig* sig);

// ffiCall calls fn(args...) with the signature, as a cgocall. ret must hold
// at least 8 bytes (libffi widens small integer results), or be null for a
// void result.
int ffiCall(FfiSig* sig, void (*fn)(), void* ret, void** args);

using FfiHandler = void (*)(void* ret, void** args, void* userdata);

// ffiClosureMake makes a function pointer *code with the signature; a call
// to it runs handler as goroutine code (through gort::callback), from any
// thread. The signature must outlive the closure.
int ffiClosureMake(FfiSig* sig, FfiHandler handler, void* userdata, FfiClosure** out,
                   void (**code)());
void ffiClosureFree(FfiClosure* c);

}  // namespace gort::bridge
