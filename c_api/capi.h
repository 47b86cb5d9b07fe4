// Helpers shared by the C ABI's source files (not installed).
#pragma once

#include <errno.h>
#include <string.h>

#include <cstddef>
#include <cstdint>

#include "gort.h"
#include "runtime/cgo.h"
#include "runtime/errors.h"
#include "runtime/runtime.h"

namespace gort::capi {

static_assert(GORT_EINVAL == kEINVAL && GORT_ENOTINIT == kENOTINIT && GORT_EALREADY == kEALREADY &&
                  GORT_ENOMEM == kENOMEM && GORT_EAGAIN == kEAGAIN && GORT_ECLOSED == kECLOSED &&
                  GORT_EOVERFLOW == kEOVERFLOW && GORT_EBUSY == kEBUSY &&
                  GORT_ETIMEDOUT == kETIMEDOUT && GORT_ENOTGOROUTINE == kENOTGOROUTINE &&
                  GORT_ETHREAD == kETHREAD && GORT_ENOTSUP == kENOTSUP && GORT_EDEADLK == kEDEADLK,
              "the C ABI's codes are the runtime's");

// Call admits one C ABI call through the runtime's call gate for its scope
// (runtime.h: a call racing shutdown runs before it or is turned away).
class Call {
  public:
    Call() : rc_(callEnter(&gate_)) {}
    ~Call() {
        if (rc_ == kOK) callExit(gate_);
    }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    explicit operator bool() const { return rc_ == kOK; }
    int status() const { return rc_; }

  private:
    CallGate gate_;
    int rc_;
};

// structOK checks a caller's struct_size: at least minSize (the first
// version of the struct), and any bytes beyond what this library knows are
// zero (a newer caller asking for something we cannot do).
template <class T>
bool structOK(const T* p, size_t minSize) {
    uint32_t n = p->struct_size;
    if (n < minSize || n > (1u << 16)) return false;
    const auto* bytes = reinterpret_cast<const unsigned char*>(p);
    for (size_t i = sizeof(T); i < n; i++) {
        if (bytes[i] != 0) return false;
    }
    return true;
}

// ctorFail sets errno for a constructor that returns NULL.
inline void* ctorFail(int status) {
    errno = status == kENOTINIT  ? EPERM
            : status == kENOMEM  ? ENOMEM
            : status == kENOTSUP ? ENOTSUP
                                 : EINVAL;
    return nullptr;
}

// timeoutDeadline turns a C ABI timeout (ns; < 0: forever) into a runtime
// deadline (nanotime; -1: none).
int64_t timeoutDeadline(int64_t timeoutNs);

// inGoroutine runs f() as goroutine code: directly on a goroutine, else
// through the callback path (the calling thread blocks, not the
// scheduler). Returns f's status.
template <class F>
int inGoroutine(F&& f) {
    if (onGoroutine()) return f();
    struct Ctx {
        F* f;
        int rc;
    } ctx{&f, kOK};
    int rc = gort::callback(
        [](void* p) {
            auto* c = static_cast<Ctx*>(p);
            c->rc = (*c->f)();
        },
        &ctx);
    return rc != kOK ? rc : ctx.rc;
}

}  // namespace gort::capi
