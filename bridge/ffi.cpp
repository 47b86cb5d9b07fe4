// libffi bridge: types, signatures, calls and closures.
//
// Types. The builtin codes map to libffi's types, size_t, ssize_t and
// intptr_t to the integer of their width. A struct type is an ffi_type of
// FFI_TYPE_STRUCT whose elements are other types (structs nest), laid out by
// libffi as the platform ABI says; it is registered process-wide under a
// code of its own and never freed, so any signature, closure or enclosing
// struct may point at it for good. The registry is a table of chunks that
// never move: made under a lock, looked up without one.
//
// Signatures. A signature is a prepared ffi_cif with its argument types, and
// immutable once made. Equal shapes (return code, argument codes, where the
// variadic part starts) share one signature: they are interned, and never
// freed. So the memory they take is bounded by the program's distinct
// shapes, not by how often it makes them, and the layers above can use a
// signature without holding a reference on it: nothing a call reads can go
// away under it.
//
// Calls. ffiCall is admitted by the call gate, checks its pointers and runs
// libffi's ffi_call through cgocall, so a C function that blocks does not
// hold the goroutine's P. Nothing is prepared per call; a signature with
// struct arguments gives libffi a copy of the argument array, which libffi
// may rewrite. It is the whole of gort_ffi_call but the handle lookup, in
// one frame: its cost is measured against gort_cgocall plus a bare
// ffi_call.
//
// Closures. A closure is a libffi trampoline plus the state a call needs.
// Both are never freed: a C library may keep the function pointer past the
// closure's release, so the trampoline stays mapped and stays pointed at the
// same FfiClosure, whose state word says whether it is live and how many
// calls are in it:
//   - a call enters only while the live bit is set (counting itself in) and
//     counts itself out when the handler returns;
//   - ffiClosureRelease clears the live bit; whoever leaves the state at
//     zero (the release, or the last call in flight) retires the closure;
//   - a call that finds the live bit clear is reported on stderr and
//     returns a zeroed result: a released closure's trampoline leads to a
//     reporting stub, never to freed memory;
//   - retired closures queue in a quarantine and are reused (trampoline
//     re-prepared for the new signature) only after kFfiClosureQuarantine
//     later retirements, so a late call is reported, not misdirected,
//     unless it comes very late.
// The handler runs through gort::callback (goroutine code, any thread). The
// runtime may not run: a call is admitted through the call gate, and one the
// gate turns away (before init, during and after shutdown, in a forked
// child) runs the handler as plain C on the calling thread.
#include "bridge/ffi.h"

#include <ffi.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <atomic>
#include <exception>
#include <new>

#include "runtime/base.h"
#include "runtime/cgo.h"
#include "runtime/errors.h"
#include "runtime/lock.h"
#include "runtime/runtime.h"

namespace gort::bridge {

namespace {

// ---- errors -------------------------------------------------------------

int failf(FfiError* err, int status, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

int failf(FfiError* err, int status, const char* fmt, ...) {
    if (err != nullptr) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

constexpr const char* kTypeNames[kFfiTypeCount] = {
    "GORT_FFI_VOID",   "GORT_FFI_INT8",       "GORT_FFI_UINT8",  "GORT_FFI_INT16",
    "GORT_FFI_UINT16", "GORT_FFI_INT32",      "GORT_FFI_UINT32", "GORT_FFI_INT64",
    "GORT_FFI_UINT64", "GORT_FFI_FLOAT",      "GORT_FFI_DOUBLE", "GORT_FFI_POINTER",
    "GORT_FFI_BOOL",   "GORT_FFI_LONGDOUBLE", "GORT_FFI_SIZE_T", "GORT_FFI_SSIZE_T",
    "GORT_FFI_INTPTR"};

// typeName names a code for messages ("a struct" for struct codes).
const char* typeName(int code) {
    return code >= 0 && code < kFfiTypeCount ? kTypeNames[code] : "a struct";
}

// ---- types --------------------------------------------------------------

static_assert(sizeof(bool) == 1, "C's _Bool is one byte (GORT_FFI_BOOL is libffi's uint8)");

ffi_type* integerOfSize(size_t size, bool isSigned) {
    switch (size) {
        case 4:
            return isSigned ? &ffi_type_sint32 : &ffi_type_uint32;
        case 8:
            return isSigned ? &ffi_type_sint64 : &ffi_type_uint64;
        default:
            return nullptr;
    }
}

ffi_type* builtinType(int code) {
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
        case kFfiBool:
            return &ffi_type_uint8;
        // libffi has long double on every platform it supports (it is
        // double's type where the C compiler makes them the same).
        case kFfiLongDouble:
            return &ffi_type_longdouble;
        case kFfiSizeT:
            return integerOfSize(sizeof(size_t), false);
        case kFfiSsizeT:
            return integerOfSize(sizeof(ssize_t), true);
        case kFfiIntptr:
            return integerOfSize(sizeof(intptr_t), true);
        default:
            return nullptr;
    }
}

// A registered struct type: the ffi_type and its null-terminated elements.
struct StructType {
    ffi_type type;
    ffi_type* elements[1];  // nfields + 1 in the allocation
};

constexpr size_t kStructChunk = 4096;
constexpr size_t kStructChunks = kFfiMaxStructs / kStructChunk;

struct StructRegistry {
    Mutex lock;
    size_t count = 0;  // under lock
    std::atomic<std::atomic<StructType*>*> chunks[kStructChunks] = {};
};
static_assert(kFfiMaxStructs % kStructChunk == 0);
static_assert(kFfiStructBase >= kFfiTypeCount && kFfiStructBase + kFfiMaxStructs < (1u << 31));

// The registry is constant-initialised and has no destructor to run: struct
// types stay valid while any thread of the process may still use them.
constinit StructRegistry structs;

StructType* structAt(int code) {
    if (code < kFfiStructBase) return nullptr;
    size_t i = size_t(code - kFfiStructBase);
    if (i >= kFfiMaxStructs) return nullptr;
    std::atomic<StructType*>* chunk =
        structs.chunks[i / kStructChunk].load(std::memory_order_acquire);
    return chunk != nullptr ? chunk[i % kStructChunk].load(std::memory_order_acquire) : nullptr;
}

// typeOf maps a code to its ffi_type, or null if it is not a type code.
ffi_type* typeOf(int code) {
    if (code < kFfiTypeCount) return builtinType(code);
    StructType* st = structAt(code);
    return st != nullptr ? &st->type : nullptr;
}

// registerStruct gives st a code; kENOMEM if the registry is full.
int registerStruct(StructType* st, FfiError* err) {
    LockGuard g(structs.lock);
    size_t i = structs.count;
    if (i == kFfiMaxStructs) {
        return failf(err, kENOMEM, "too many struct types (at most %zu)", kFfiMaxStructs);
    }
    std::atomic<StructType*>* chunk =
        structs.chunks[i / kStructChunk].load(std::memory_order_relaxed);
    if (chunk == nullptr) {
        chunk = new (std::nothrow) std::atomic<StructType*>[kStructChunk];
        if (chunk == nullptr) return failf(err, kENOMEM, "out of memory");
        for (size_t k = 0; k < kStructChunk; k++)
            chunk[k].store(nullptr, std::memory_order_relaxed);
        structs.chunks[i / kStructChunk].store(chunk, std::memory_order_release);
    }
    chunk[i % kStructChunk].store(st, std::memory_order_release);
    structs.count = i + 1;
    return kFfiStructBase + int(i);
}

void freeStruct(StructType* st) {
    ::operator delete(st, std::nothrow);
}

}  // namespace

int ffiStructMake(const int* fields, size_t n, FfiError* err) {
    if (fields == nullptr) return failf(err, kEINVAL, "field_types is NULL");
    if (n == 0 || n > kFfiMaxFields) {
        return failf(err, kEINVAL, "n = %zu: a struct has 1 to %zu fields (GORT_FFI_MAX_FIELDS)", n,
                     kFfiMaxFields);
    }
    for (size_t i = 0; i < n; i++) {
        ffi_type* t = typeOf(fields[i]);
        if (t == nullptr) {
            return failf(err, kEINVAL, "field_types[%zu] = %d is not a type code", i, fields[i]);
        }
        if (t == &ffi_type_void) {
            return failf(err, kEINVAL,
                         "field_types[%zu] is GORT_FFI_VOID: void is not a field type", i);
        }
    }
    auto* st = static_cast<StructType*>(
        ::operator new(sizeof(StructType) + n * sizeof(ffi_type*), std::nothrow));
    if (st == nullptr) return failf(err, kENOMEM, "out of memory");
    st->type = ffi_type{0, 0, FFI_TYPE_STRUCT, st->elements};
    for (size_t i = 0; i < n; i++) st->elements[i] = typeOf(fields[i]);
    st->elements[n] = nullptr;
    // Lays the struct out (size, alignment) as the ABI does.
    if (ffi_get_struct_offsets(FFI_DEFAULT_ABI, &st->type, nullptr) != FFI_OK) {
        freeStruct(st);
        return failf(err, kEINVAL, "libffi cannot lay out this struct");
    }
    if (st->type.size > kFfiMaxStructSize) {
        size_t size = st->type.size;
        freeStruct(st);
        return failf(err, kEINVAL, "the struct would take %zu bytes, more than %zu", size,
                     kFfiMaxStructSize);
    }
    int code = registerStruct(st, err);
    if (code < 0) freeStruct(st);
    return code;
}

// ---- signatures -----------------------------------------------------------

struct FfiSig {
    ffi_cif cif;
    int rtype;
    uint32_t nargs;
    uint32_t nfixed;  // == nargs unless variadic
    bool variadic;
    bool structArgs;  // some argument is a struct: ffi_call gets a copy of args
    uint64_t hash;
    FfiSig* next;       // in its hash bucket
    ffi_type** atypes;  // nargs types, after the struct
    int* codes;         // nargs codes, after atypes
};

namespace {

// The interning table: chained buckets, grown by doubling, under a lock
// (signatures are made rarely; calls never look here).
struct SigTable {
    Mutex lock;
    FfiSig** buckets = nullptr;
    size_t nbuckets = 0;
    size_t count = 0;
};
constinit SigTable sigs;

uint64_t shapeHash(int rtype, const int* codes, size_t nargs, bool variadic, size_t nfixed) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    auto mix = [&h](uint64_t v) {
        h ^= v;
        h *= 1099511628211ull;
    };
    mix(uint64_t(uint32_t(rtype)));
    mix(nargs);
    mix(variadic ? nfixed + 1 : 0);
    for (size_t i = 0; i < nargs; i++) mix(uint64_t(uint32_t(codes[i])));
    return h;
}

bool sameShape(const FfiSig* s, uint64_t hash, int rtype, const int* codes, size_t nargs,
               bool variadic, size_t nfixed) {
    return s->hash == hash && s->rtype == rtype && s->nargs == nargs && s->variadic == variadic &&
           s->nfixed == nfixed && (nargs == 0 || memcmp(s->codes, codes, nargs * sizeof(int)) == 0);
}

// growSigTable doubles the buckets (under the lock); false if out of memory.
bool growSigTable() {
    size_t n = sigs.nbuckets == 0 ? 64 : sigs.nbuckets * 2;
    auto** b = new (std::nothrow) FfiSig*[n];
    if (b == nullptr) return false;
    for (size_t i = 0; i < n; i++) b[i] = nullptr;
    for (size_t i = 0; i < sigs.nbuckets; i++) {
        for (FfiSig *s = sigs.buckets[i], *next; s != nullptr; s = next) {
            next = s->next;
            s->next = b[s->hash & (n - 1)];
            b[s->hash & (n - 1)] = s;
        }
    }
    delete[] sigs.buckets;
    sigs.buckets = b;
    sigs.nbuckets = n;
    return true;
}

// checkArgTypes resolves the argument codes into types, naming the first
// bad one.
int checkArgTypes(const int* argtypes, size_t nargs, bool variadic, size_t nfixed, ffi_type** out,
                  FfiError* err) {
    for (size_t i = 0; i < nargs; i++) {
        int code = argtypes[i];
        ffi_type* t = typeOf(code);
        if (t == nullptr) {
            return failf(err, kEINVAL, "argtypes[%zu] = %d is not a type code", i, code);
        }
        if (t == &ffi_type_void) {
            return failf(err, kEINVAL, "argtypes[%zu] is GORT_FFI_VOID: void is a return type only",
                         i);
        }
        if (variadic && i >= nfixed) {
            // C's default argument promotions: what a variadic callee reads.
            if (code == kFfiFloat) {
                return failf(err, kEINVAL,
                             "argtypes[%zu] = GORT_FFI_FLOAT is variadic: C passes it as a "
                             "double (use GORT_FFI_DOUBLE)",
                             i);
            }
            if (code == kFfiBool || code == kFfiInt8 || code == kFfiUint8 || code == kFfiInt16 ||
                code == kFfiUint16) {
                return failf(err, kEINVAL,
                             "argtypes[%zu] = %s is variadic: C passes it as an int (use "
                             "GORT_FFI_INT32)",
                             i, kTypeNames[code]);
            }
        }
        out[i] = t;
    }
    return kOK;
}

// newSig allocates and prepares a signature (not yet interned).
int newSig(int rtype, ffi_type* rt, const int* codes, ffi_type* const* types, size_t nargs,
           bool variadic, size_t nfixed, uint64_t hash, FfiSig** out, FfiError* err) {
    size_t bytes = sizeof(FfiSig) + nargs * (sizeof(ffi_type*) + sizeof(int));
    auto* s = static_cast<FfiSig*>(::operator new(bytes, std::nothrow));
    if (s == nullptr) return failf(err, kENOMEM, "out of memory");
    s->rtype = rtype;
    s->nargs = uint32_t(nargs);
    s->nfixed = uint32_t(nfixed);
    s->variadic = variadic;
    s->hash = hash;
    s->next = nullptr;
    s->atypes = reinterpret_cast<ffi_type**>(s + 1);
    s->codes = reinterpret_cast<int*>(s->atypes + nargs);
    s->structArgs = false;
    for (size_t i = 0; i < nargs; i++) {
        s->atypes[i] = types[i];
        s->codes[i] = codes[i];
        s->structArgs |= types[i]->type == FFI_TYPE_STRUCT;
    }
    ffi_status st = variadic
                        ? ffi_prep_cif_var(&s->cif, FFI_DEFAULT_ABI, unsigned(nfixed),
                                           unsigned(nargs), rt, s->atypes)
                        : ffi_prep_cif(&s->cif, FFI_DEFAULT_ABI, unsigned(nargs), rt, s->atypes);
    if (st != FFI_OK) {
        ::operator delete(s, std::nothrow);
        return failf(err, kEINVAL, "libffi cannot make this signature (ffi_prep_cif%s: status %d)",
                     variadic ? "_var" : "", int(st));
    }
    *out = s;
    return kOK;
}

}  // namespace

int ffiSigMake(int rtype, const int* argtypes, size_t nargs, bool variadic, size_t nfixed,
               const FfiSig** out, FfiError* err) {
    if (nargs > kFfiMaxArgs) {
        return failf(err, kEINVAL, "nargs = %zu is more than GORT_FFI_MAX_ARGS (%zu)", nargs,
                     kFfiMaxArgs);
    }
    if (nargs > 0 && argtypes == nullptr) {
        return failf(err, kEINVAL, "argtypes is NULL with nargs = %zu", nargs);
    }
    if (variadic && (nfixed == 0 || nfixed > nargs)) {
        return failf(err, kEINVAL,
                     "nfixed = %zu: a variadic signature has 1 to nargs (%zu) fixed arguments",
                     nfixed, nargs);
    }
    if (!variadic) nfixed = nargs;
    ffi_type* rt = typeOf(rtype);
    if (rt == nullptr) return failf(err, kEINVAL, "rtype = %d is not a type code", rtype);
    ffi_type* types[kFfiMaxArgs];
    if (int rc = checkArgTypes(argtypes, nargs, variadic, nfixed, types, err); rc != kOK) {
        return rc;
    }
    uint64_t hash = shapeHash(rtype, argtypes, nargs, variadic, nfixed);
    LockGuard g(sigs.lock);
    if (sigs.nbuckets > 0) {
        for (FfiSig* s = sigs.buckets[hash & (sigs.nbuckets - 1)]; s != nullptr; s = s->next) {
            if (sameShape(s, hash, rtype, argtypes, nargs, variadic, nfixed)) {
                *out = s;
                return kOK;
            }
        }
    }
    if (sigs.count == kFfiMaxSigShapes) {
        return failf(err, kENOMEM, "too many different signatures (at most %zu)", kFfiMaxSigShapes);
    }
    if (sigs.count >= sigs.nbuckets && !growSigTable()) {
        return failf(err, kENOMEM, "out of memory");
    }
    FfiSig* s = nullptr;
    if (int rc = newSig(rtype, rt, argtypes, types, nargs, variadic, nfixed, hash, &s, err);
        rc != kOK) {
        return rc;
    }
    FfiSig*& bucket = sigs.buckets[hash & (sigs.nbuckets - 1)];
    s->next = bucket;
    bucket = s;
    sigs.count++;
    *out = s;
    return kOK;
}

// ---- calls --------------------------------------------------------------

namespace {

struct CallArgs {
    const FfiSig* sig;
    void (*fn)();
    void* ret;
    void** args;
};

// callInC runs on the C side of the cgocall. libffi only reads the cif.
void callInC(void* p) {
    auto* a = static_cast<CallArgs*>(p);
    ffi_call(const_cast<ffi_cif*>(&a->sig->cif), a->fn, a->ret, a->args);
}

// callWordsInC is callInC for cgocallWords: the four words are a CallArgs'
// fields, in order.
void callWordsInC(void* p) {
    auto* w = static_cast<void**>(p);
    auto* sig = static_cast<const FfiSig*>(w[0]);
    ffi_call(const_cast<ffi_cif*>(&sig->cif), reinterpret_cast<void (*)()>(w[1]), w[2],
             static_cast<void**>(w[3]));
}

// badCall reports what is wrong with a call (sig null: no signature).
GORT_NOINLINE int badCall(const FfiSig* sig, void (*fn)(), const void* ret, void** args,
                          const char* who) {
    FfiError err;
    if (sig == nullptr) {
        failf(&err, kEINVAL, "sig is not a live signature (released, or not a gort_ffi_sig)");
    } else if (fn == nullptr) {
        failf(&err, kEINVAL, "fn is NULL");
    } else if (ret == nullptr) {
        failf(&err, kEINVAL, "ret is NULL but the return type is %s, not GORT_FFI_VOID",
              typeName(sig->rtype));
    } else if (args == nullptr) {
        failf(&err, kEINVAL, "args is NULL but the signature has %u arguments",
              unsigned(sig->nargs));
    } else {
        size_t i = 0;
        while (i < sig->nargs && args[i] != nullptr) i++;
        failf(&err, kEINVAL, "args[%zu] is NULL", i);
    }
    printerr("gort: %s: %s", who, err.msg);
    return kEINVAL;
}

inline bool callOK(const FfiSig* sig, void (*fn)(), const void* ret, void** args) {
    if (GORT_UNLIKELY(sig == nullptr || fn == nullptr)) return false;
    if (ret == nullptr && sig->rtype != kFfiVoid) return false;
    if (sig->nargs == 0) return true;
    if (args == nullptr) return false;
    for (size_t i = 0; i < sig->nargs; i++) {
        if (args[i] == nullptr) return false;
    }
    return true;
}

// callCopyingArgs gives libffi a copy of the argument array: libffi may
// replace a struct argument's pointer with one to a copy of its own (x86-64
// does, for structs passed in memory), and the caller's array must stay as
// it was.
GORT_NOINLINE int callCopyingArgs(CallArgs* a) {
    void* copy[kFfiMaxArgs];
    memcpy(copy, a->args, a->sig->nargs * sizeof(void*));
    a->args = copy;
    return cgocall(callInC, a);
}

}  // namespace

int ffiCall(const FfiSig* sig, void (*fn)(), void* ret, void** args, const char* who) {
    // The common call, in one frame with the switch to C (a tail call: see
    // cgocallWords). The rest pass the call gate before anything is checked.
    if (GORT_LIKELY(callOK(sig, fn, ret, args) && !sig->structArgs)) {
        return cgocallWords(callWordsInC, const_cast<FfiSig*>(sig), reinterpret_cast<void*>(fn),
                            ret, args);
    }
    CallGate gate;
    int rc = callEnter(&gate);
    if (GORT_UNLIKELY(rc != kOK)) return rc;
    if (GORT_LIKELY(callOK(sig, fn, ret, args))) {
        CallArgs a{sig, fn, ret, args};  // libffi takes a null ret for void
        rc = GORT_LIKELY(!sig->structArgs) ? cgocall(callInC, &a) : callCopyingArgs(&a);
    } else {
        rc = badCall(sig, fn, ret, args, who);
    }
    callExit(gate);
    return rc;
}

// ---- closures -----------------------------------------------------------

struct FfiClosure {
    ffi_closure* tramp = nullptr;  // the trampoline (writable side)
    void* code = nullptr;          // its executable address
    // kLive while not released, plus kCall per call in the handler.
    std::atomic<uint64_t> state{0};
    FfiHandler handler = nullptr;
    void* userdata = nullptr;
    FfiClosure* next = nullptr;  // in the quarantine or the free list (under the lock)
};

namespace {

constexpr uint64_t kLive = 1;
constexpr uint64_t kCall = 2;

// Retired closures: a FIFO quarantine, then a free list to reuse from.
struct ClosurePool {
    Mutex lock;
    FfiClosure* qhead = nullptr;
    FfiClosure* qtail = nullptr;
    size_t qlen = 0;
    FfiClosure* free = nullptr;
};
constinit ClosurePool pool;

void pushFree(FfiClosure* c) {
    c->next = pool.free;
    pool.free = c;
}

// retire queues a closure no call is in and that no one can enter again.
void retire(FfiClosure* c) {
    LockGuard g(pool.lock);
    c->next = nullptr;
    if (pool.qtail != nullptr) {
        pool.qtail->next = c;
    } else {
        pool.qhead = c;
    }
    pool.qtail = c;
    if (++pool.qlen <= kFfiClosureQuarantine) return;
    FfiClosure* oldest = pool.qhead;
    pool.qhead = oldest->next;
    pool.qlen--;
    pushFree(oldest);
}

// enterCall counts a call in, if the closure is live.
bool enterCall(FfiClosure* c) {
    uint64_t st = c->state.load(std::memory_order_acquire);
    do {
        if ((st & kLive) == 0) return false;
    } while (!c->state.compare_exchange_weak(st, st + kCall, std::memory_order_acq_rel,
                                             std::memory_order_acquire));
    return true;
}

// leaveCall counts a call out; the last one out of a released closure
// retires it.
void leaveCall(FfiClosure* c) {
    if (c->state.fetch_sub(kCall, std::memory_order_acq_rel) == kCall) retire(c);
}

struct HandlerCall {
    FfiClosure* c;
    void* ret;
    void** args;
};

void runHandler(void* p) {
    auto* h = static_cast<HandlerCall*>(p);
    h->c->handler(h->ret, h->args, h->c->userdata);
}

// runPlain runs the handler as plain C (no runtime to run it in).
void runPlain(HandlerCall* h) {
    try {
        runHandler(h);
    } catch (const std::exception& e) {
        fatalf("unhandled C++ exception in an ffi closure handler: %s", e.what());
    } catch (...) {
        fatal("unhandled C++ exception in an ffi closure handler");
    }
}

// resultSize is how much of a closure's result buffer a result fills:
// libffi widens results narrower than ffi_arg.
size_t resultSize(const ffi_type* t) {
    if (t->type == FFI_TYPE_VOID) return 0;
    if (t->type == FFI_TYPE_STRUCT) return t->size;
    return t->size < sizeof(ffi_arg) ? sizeof(ffi_arg) : t->size;
}

GORT_NOINLINE void reportLateCall(const FfiClosure* c, const ffi_cif* cif, void* ret) {
    printerr("gort: ffi closure %p called after gort_ffi_closure_release", c->code);
    if (size_t n = resultSize(cif->rtype); n > 0) memset(ret, 0, n);
}

// closureEntry is where every trampoline lands, on whatever thread C calls
// it from.
void closureEntry(ffi_cif* cif, void* ret, void** args, void* user) {
    auto* c = static_cast<FfiClosure*>(user);
    if (GORT_UNLIKELY(!enterCall(c))) {
        reportLateCall(c, cif, ret);
        return;
    }
    HandlerCall h{c, ret, args};
    CallGate gate;
    int rc = callEnter(&gate);
    if (rc == kOK) {
        rc = callback(runHandler, &h);
        callExit(gate);
    }
    if (rc != kOK) runPlain(&h);  // no runtime: before init, after shutdown
    leaveCall(c);
}

// takeClosure reuses a retired closure or makes one with a new trampoline;
// null if out of memory.
FfiClosure* takeClosure() {
    {
        LockGuard g(pool.lock);
        if (FfiClosure* c = pool.free) {
            pool.free = c->next;
            return c;
        }
    }
    auto* c = tryNew<FfiClosure>();
    if (c == nullptr) return nullptr;
    c->tramp = static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), &c->code));
    if (c->tramp == nullptr) {
        rtdelete(c);
        return nullptr;
    }
    return c;
}

}  // namespace

int ffiClosureMake(const FfiSig* sig, FfiHandler handler, void* userdata, FfiClosure** out,
                   void (**code)(), FfiError* err) {
    if (sig->variadic) {
        return failf(err, kEINVAL,
                     "sig is variadic: a closure takes a signature of fixed arguments");
    }
    FfiClosure* c = takeClosure();
    if (c == nullptr) return failf(err, kENOMEM, "out of memory");
    if (ffi_prep_closure_loc(c->tramp, const_cast<ffi_cif*>(&sig->cif), closureEntry, c, c->code) !=
        FFI_OK) {
        LockGuard g(pool.lock);
        pushFree(c);  // never published: reusable at once
        return failf(err, kEINVAL, "libffi cannot make a closure with this signature");
    }
    c->handler = handler;
    c->userdata = userdata;
    c->state.store(kLive, std::memory_order_release);
    *out = c;
    *code = reinterpret_cast<void (*)()>(c->code);
    return kOK;
}

void ffiClosureRelease(FfiClosure* c) {
    if (c->state.fetch_and(~kLive, std::memory_order_acq_rel) == kLive) retire(c);
}

}  // namespace gort::bridge
