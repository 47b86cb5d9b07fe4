// The C ABI: libffi calls and closures (gort_ffi_*), on bridge/ffi.h.
//
// Signature handles have a table of their own. gort_ffi_call is a hot path
// (its cost is measured against gort_cgocall plus a bare ffi_call), and the
// checked handles of handles.h take an operation reference per use: two
// atomic read-modify-writes, which cost more than the rest of the call. A
// signature needs no reference: what a handle names (a bridge::FfiSig) is
// immutable and never freed. So a signature handle is checked with plain
// loads: a record (in chunks that never move) holds a state word (a
// generation and a live bit) and the signature; a handle carries the
// record's index, the kind nibble of handles.h (so no other kind of handle
// matches) and the generation. A lookup reads the state, the signature, and
// the state again: a record released and reused in between fails the second
// check (the reuse publishes the new signature with a release store, after
// the generation moved on). A call racing the release of its own handle
// thus runs as if it had come first. Records are never freed; a released
// one is reused with the next generation.
//
// Closure handles are ordinary checked handles (kind fficlosure): they are
// used only to release them. Their object is the bridge's closure, which
// counts calls in flight itself.
//
// Bad input: every entry point returns GORT_EINVAL (constructors: NULL with
// errno EINVAL) and prints one line on stderr naming the argument, e.g.
// "gort: gort_ffi_sig_make: argtypes[3] = 99 is not a type code".
#include <new>

#include "bridge/ffi.h"
#include "capi.h"
#include "handles.h"
#include "runtime/lock.h"

using namespace gort;

namespace {

static_assert(GORT_FFI_VOID == bridge::kFfiVoid && GORT_FFI_POINTER == bridge::kFfiPointer &&
                  GORT_FFI_BOOL == bridge::kFfiBool &&
                  GORT_FFI_LONGDOUBLE == bridge::kFfiLongDouble &&
                  GORT_FFI_SIZE_T == bridge::kFfiSizeT && GORT_FFI_SSIZE_T == bridge::kFfiSsizeT &&
                  GORT_FFI_INTPTR == bridge::kFfiIntptr &&
                  GORT_FFI_INTPTR + 1 == bridge::kFfiTypeCount,
              "GORT_FFI_* are the bridge's type codes");
static_assert(GORT_FFI_MAX_ARGS == bridge::kFfiMaxArgs &&
                  GORT_FFI_MAX_FIELDS == bridge::kFfiMaxFields &&
                  GORT_FFI_MAX_STRUCT_SIZE == bridge::kFfiMaxStructSize,
              "the C ABI's ffi limits are the bridge's");

void report(const char* fn, const char* msg) {
    printerr("gort: %s: %s", fn, msg);
}

// ---- signature handles ------------------------------------------------------

// A handle: [63..32] generation, [31..28] kind, [27..0] record index + 1
// (handles.h's layout).
constexpr uint64_t kIndexBits = 28;
constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1;
constexpr uint64_t kSigKind = uint64_t(capi::Kind::ffisig);
constexpr uint32_t kChunkRecords = 4096;
constexpr uint32_t kMaxChunks = 256;  // 2^20 signature handles at once
constexpr uint64_t kLiveBit = 1;      // in a record's state, under the generation

struct SigRecord {
    std::atomic<uint64_t> state{0};  // [63..32] generation, [0] live
    std::atomic<const bridge::FfiSig*> sig{nullptr};
    uint32_t index = 0;
    SigRecord* nextFree = nullptr;  // under the lock
};

struct SigHandles {
    Mutex lock;
    std::atomic<SigRecord*> chunks[kMaxChunks] = {};
    uint32_t nchunks = 0;           // under the lock
    SigRecord* freeList = nullptr;  // under the lock
};
// Constant-initialised, nothing to destroy: handles stay checkable while
// any thread of the process may use them.
constinit SigHandles sigHandles;

// recordOf finds the record a handle names and the state it must have to be
// live; null for anything that is not a signature handle.
inline SigRecord* recordOf(const void* h, uint64_t* live) {
    auto v = uint64_t(reinterpret_cast<uintptr_t>(h));
    uint64_t i = v & kIndexMask;
    if (GORT_UNLIKELY(i == 0 || ((v >> kIndexBits) & 0xF) != kSigKind)) return nullptr;
    i--;
    if (GORT_UNLIKELY(i >= uint64_t(kMaxChunks) * kChunkRecords)) return nullptr;
    SigRecord* chunk = sigHandles.chunks[i / kChunkRecords].load(std::memory_order_acquire);
    if (GORT_UNLIKELY(chunk == nullptr)) return nullptr;
    *live = (v >> 32 << 32) | kLiveBit;
    return &chunk[i % kChunkRecords];
}

// sigLookup returns the signature of a live handle, or null.
inline const bridge::FfiSig* sigLookup(const gort_ffi_sig* h) {
    uint64_t live;
    SigRecord* r = recordOf(h, &live);
    if (GORT_UNLIKELY(r == nullptr || r->state.load(std::memory_order_acquire) != live)) {
        return nullptr;
    }
    const bridge::FfiSig* sig = r->sig.load(std::memory_order_acquire);
    if (GORT_UNLIKELY(r->state.load(std::memory_order_relaxed) != live)) return nullptr;
    return sig;
}

// takeRecord pops a free record, growing the table; null if full or out of
// memory.
SigRecord* takeRecord() {
    LockGuard g(sigHandles.lock);
    if (sigHandles.freeList == nullptr) {
        if (sigHandles.nchunks == kMaxChunks) return nullptr;
        auto* chunk = new (std::nothrow) SigRecord[kChunkRecords];
        if (chunk == nullptr) return nullptr;
        uint32_t base = sigHandles.nchunks * kChunkRecords;
        for (uint32_t k = kChunkRecords; k-- > 0;) {
            chunk[k].index = base + k;
            chunk[k].nextFree = sigHandles.freeList;
            sigHandles.freeList = &chunk[k];
        }
        sigHandles.chunks[sigHandles.nchunks++].store(chunk, std::memory_order_release);
    }
    SigRecord* r = sigHandles.freeList;
    sigHandles.freeList = r->nextFree;
    return r;
}

gort_ffi_sig* sigHandleAdd(const bridge::FfiSig* sig) {
    SigRecord* r = takeRecord();
    if (r == nullptr) return nullptr;
    uint64_t gen = (r->state.load(std::memory_order_relaxed) >> 32) + 1;
    r->sig.store(sig, std::memory_order_release);
    r->state.store(gen << 32 | kLiveBit, std::memory_order_release);
    uint64_t h = gen << 32 | kSigKind << kIndexBits | (uint64_t(r->index) + 1);
    return reinterpret_cast<gort_ffi_sig*>(uintptr_t(h));
}

// sigHandleRelease kills a live handle (once); false if it was not one.
bool sigHandleRelease(const gort_ffi_sig* h) {
    uint64_t live;
    SigRecord* r = recordOf(h, &live);
    if (r == nullptr) return false;
    uint64_t want = live;
    if (!r->state.compare_exchange_strong(want, live & ~kLiveBit, std::memory_order_acq_rel)) {
        return false;
    }
    LockGuard g(sigHandles.lock);
    r->nextFree = sigHandles.freeList;
    sigHandles.freeList = r;
    return true;
}

constexpr const char* kNotASig = "sig is not a live signature (released, or not a gort_ffi_sig)";

// ctorError reports a constructor's failure and sets errno; returns NULL.
void* ctorError(const char* fn, int rc, const bridge::FfiError& err) {
    if (rc == kEINVAL || rc == kENOMEM) report(fn, err.msg);
    return capi::ctorFail(rc);
}

gort_ffi_sig* sigMake(const char* fn, int rtype, const int* argtypes, size_t nargs, bool variadic,
                      size_t nfixed) {
    if (forkedChild()) return static_cast<gort_ffi_sig*>(capi::ctorFail(kENOTSUP));
    bridge::FfiError err;
    const bridge::FfiSig* sig = nullptr;
    int rc = bridge::ffiSigMake(rtype, argtypes, nargs, variadic, nfixed, &sig, &err);
    if (rc != kOK) return static_cast<gort_ffi_sig*>(ctorError(fn, rc, err));
    gort_ffi_sig* h = sigHandleAdd(sig);
    if (h == nullptr) {
        report(fn, "too many signature handles at once, or out of memory");
        return static_cast<gort_ffi_sig*>(capi::ctorFail(kENOMEM));
    }
    return h;
}

void destroyClosure(void* p, void*) {
    bridge::ffiClosureRelease(static_cast<bridge::FfiClosure*>(p));
}

}  // namespace

extern "C" {

GORT_API int gort_ffi_struct_make(const int* field_types, size_t n) {
    if (forkedChild()) return GORT_ENOTSUP;
    bridge::FfiError err;
    int code = bridge::ffiStructMake(field_types, n, &err);
    if (code < 0) ctorError("gort_ffi_struct_make", code, err);
    return code;
}

GORT_API gort_ffi_sig* gort_ffi_sig_make(int rtype, const int* argtypes, size_t nargs) {
    return sigMake("gort_ffi_sig_make", rtype, argtypes, nargs, false, 0);
}

GORT_API gort_ffi_sig* gort_ffi_sig_make_variadic(int rtype, const int* argtypes, size_t nfixed,
                                                  size_t nargs) {
    return sigMake("gort_ffi_sig_make_variadic", rtype, argtypes, nargs, true, nfixed);
}

GORT_API int gort_ffi_sig_release(gort_ffi_sig* sig) {
    if (forkedChild()) return GORT_ENOTSUP;
    if (sigHandleRelease(sig)) return GORT_OK;
    report("gort_ffi_sig_release", kNotASig);
    return GORT_EINVAL;
}

GORT_API int gort_ffi_call(gort_ffi_sig* h, void (*fn)(void), void* ret, void** args) {
    // The lookup needs no runtime (records are never freed); the bridge's
    // call passes the call gate first, then rejects a null signature.
    return bridge::ffiCall(sigLookup(h), fn, ret, args, "gort_ffi_call");
}

GORT_API gort_ffi_closure* gort_ffi_closure_make(gort_ffi_sig* h, gort_ffi_handler handler,
                                                 void* userdata, void (**code)(void)) {
    const char* fn = "gort_ffi_closure_make";
    if (forkedChild()) return static_cast<gort_ffi_closure*>(capi::ctorFail(kENOTSUP));
    const bridge::FfiSig* sig = sigLookup(h);
    const char* bad = sig == nullptr       ? kNotASig
                      : handler == nullptr ? "handler is NULL"
                      : code == nullptr    ? "code is NULL"
                                           : nullptr;
    if (bad != nullptr) {
        report(fn, bad);
        return static_cast<gort_ffi_closure*>(capi::ctorFail(kEINVAL));
    }
    bridge::FfiError err;
    bridge::FfiClosure* c = nullptr;
    void (*entry)() = nullptr;
    int rc = bridge::ffiClosureMake(sig, handler, userdata, &c, &entry, &err);
    if (rc != kOK) return static_cast<gort_ffi_closure*>(ctorError(fn, rc, err));
    void* ch = capi::handleAdd(capi::Kind::fficlosure, c, destroyClosure);
    if (ch == nullptr) {
        bridge::ffiClosureRelease(c);
        report(fn, "out of memory");
        return static_cast<gort_ffi_closure*>(capi::ctorFail(kENOMEM));
    }
    *code = entry;
    return static_cast<gort_ffi_closure*>(ch);
}

GORT_API int gort_ffi_closure_release(gort_ffi_closure* c) {
    if (forkedChild()) return GORT_ENOTSUP;
    if (capi::handleClose(c, capi::Kind::fficlosure) == 0) return GORT_OK;
    report("gort_ffi_closure_release",
           "c is not a live closure (released, or not a gort_ffi_closure)");
    return GORT_EINVAL;
}

}  // extern "C"
