// libffi calls and closures: calling any C function pointer through a
// signature built at run time (as a cgocall), and making C function
// pointers that enter the runtime through the callback path.
//
// Everything here lives as long as the process and works whether or not a
// runtime runs (only ffiCall's cgocall needs one to hand the P off): struct
// types and signatures are immutable once made and never freed, closures'
// trampolines are never unmapped. Bad input returns kEINVAL with a sentence
// in FfiError saying what is wrong, for the layer above to show.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gort::bridge {

// Type codes (the C ABI's GORT_FFI_*); struct types get codes from
// kFfiStructBase on.
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
    kFfiBool,
    kFfiLongDouble,
    kFfiSizeT,
    kFfiSsizeT,
    kFfiIntptr,
    kFfiTypeCount
};

// The limits. Struct codes are kFfiStructBase .. kFfiStructBase +
// kFfiMaxStructs - 1. A struct is at most kFfiMaxStructSize bytes (it is
// copied onto C stacks by value). At most kFfiMaxSigShapes different
// signatures exist (signatures of equal shape share one description).
constexpr size_t kFfiMaxArgs = 64;
constexpr size_t kFfiMaxFields = 256;
constexpr int kFfiStructBase = 256;
constexpr size_t kFfiMaxStructs = size_t(1) << 20;
constexpr size_t kFfiMaxStructSize = size_t(1) << 16;
constexpr size_t kFfiMaxSigShapes = size_t(1) << 18;
// Released closures' trampolines wait this long (in later releases) before
// a new closure may reuse one.
constexpr size_t kFfiClosureQuarantine = 4096;

// FfiError receives what was wrong with bad input ("argtypes[3] = 99 is not
// a type code"), without the function's name.
struct FfiError {
    char msg[192];
};

// ffiStructMake makes a struct type of n fields laid out as the platform's
// C compiler would; returns its code (> 0), kEINVAL or kENOMEM.
int ffiStructMake(const int* fields, size_t n, FfiError* err);

// A signature: a return type and argument types, the libffi call interface
// prepared once. Immutable and never freed: equal shapes share one.
struct FfiSig;

// ffiSigMake finds or makes the signature of nargs arguments; variadic:
// the first nfixed are fixed and the rest variadic (C's default promotions
// apply: no float, no integer narrower than int there). kOK, kEINVAL or
// kENOMEM.
int ffiSigMake(int rtype, const int* argtypes, size_t nargs, bool variadic, size_t nfixed,
               const FfiSig** out, FfiError* err);

// ffiCall calls fn(args...) with the signature, as a cgocall, admitted by
// the runtime's call gate (kENOTINIT, kENOTSUP when it turns the call away).
// ret receives the result: at least 8 bytes (libffi widens small integer
// results) or the return type's size if larger; null only for a void
// result. A null sig (a handle that did not resolve), fn, ret or argument
// pointer is kEINVAL, reported on stderr as "gort: <who>: <what is wrong>".
int ffiCall(const FfiSig* sig, void (*fn)(), void* ret, void** args, const char* who);

using FfiHandler = void (*)(void* ret, void** args, void* userdata);

// A closure: a trampoline (a C function pointer with a fixed-argument
// signature) that calls handler. A call runs the handler as goroutine code
// through gort::callback, from any thread; while no runtime runs (before
// init, during and after shutdown, in a forked child) it runs as plain C on
// the calling thread.
struct FfiClosure;

// ffiClosureMake makes a closure; *code gets its function pointer. kOK,
// kEINVAL (a variadic signature) or kENOMEM.
int ffiClosureMake(const FfiSig* sig, FfiHandler handler, void* userdata, FfiClosure** out,
                   void (**code)(), FfiError* err);
// ffiClosureRelease ends a closure (once). Calls in flight finish first: the
// last of them retires the trampoline. A call that comes afterwards is
// reported on stderr and returns a zeroed result, until the trampoline is
// reused, which happens only after kFfiClosureQuarantine later releases.
void ffiClosureRelease(FfiClosure* c);

}  // namespace gort::bridge
