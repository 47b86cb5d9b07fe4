// cgocall: a goroutine calls C (Go's cgocall.go).
//
//   1. entersyscall: the G is Gsyscall and its P may be taken by sysmon for
//      other goroutines while C runs;
//   2. mark the M incgo and switch to a context made on the free part of the
//      M's g0 stack, just below where g0 is suspended (Go's asmcgocall), so C
//      code gets the thread's native stack, not the goroutine's small one;
//   3. run fn there, save errno, switch back;
//   4. exitsyscall: reacquire the old P (fast path) or another, or queue the
//      G and resume later, possibly on another M.
//
// g0 is suspended whenever a goroutine runs on its M, and nothing runs on g0
// during the call (the M is busy with it), so the stack below g0's saved
// context is free for the call's frames.
#include "bridge/cgocall.h"

#include <errno.h>

#include <exception>

#include "runtime/errors.h"
#include "runtime/proc.h"
#include "runtime/stats.h"

namespace gort::bridge {

namespace {

// Space left between g0's suspended frame and the C frames (g0's saved
// context plus the ABI's red zone, with room to spare).
constexpr size_t kG0Gap = 512;

struct CgoFrame {
    void (*fn)(void*);
    void* arg;
    fcontext_t back;  // the goroutine's context
    int err;
    G* gp;
    M* m;
};

[[noreturn]] void cgoEntry(transfer_t t) {
    auto* f = static_cast<CgoFrame*>(t.data);
    f->back = t.fctx;
    f->gp->syscallctx = t.fctx;  // callbacks from C run below this point
#if defined(GORT_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
    try {
        f->fn(f->arg);
    } catch (const std::exception& e) {
        fatalf("cgocall: C++ exception escaped from a C function called by goroutine %lld: %s",
               (long long)f->gp->goid, e.what());
    } catch (...) {
        fatalf("cgocall: C++ exception escaped from a C function called by goroutine %lld",
               (long long)f->gp->goid);
    }
    f->err = errno;
#if defined(GORT_TSAN)
    __tsan_switch_to_fiber(f->gp->ctx.tsanFiber, 0);
#endif
#if defined(GORT_ASAN)
    __sanitizer_start_switch_fiber(nullptr, f->gp->ctx.stackLo, f->gp->ctx.stackSize);
#endif
    jump_fcontext(f->back, nullptr);
    __builtin_unreachable();
}

}  // namespace

int cgocall(void (*fn)(void*), void* arg) {
    if (fn == nullptr) return kEINVAL;
    M* m = validm();
    G* gp = m != nullptr ? m->curg : nullptr;
    if (gp == nullptr || m->incgo || gp->atomicstatus.load(std::memory_order_relaxed) != Grunning) {
        // Not goroutine code (a plain thread, or C code already in a call):
        // nothing to hand off, just call it.
        fn(arg);
        return kOK;
    }
    m->ncgocall.store(m->ncgocall.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    m->ncgo++;
    entersyscall(m);
    m->incgo = true;
    fcontext_t outerSyscallctx = gp->syscallctx;  // an enclosing cgocall's, if nested
    CgoFrame f{fn, arg, nullptr, 0, gp, m};
    // The C frames start below g0's suspended context.
    char* sp = static_cast<char*>(m->g0->ctx.fctx) - kG0Gap;
    fcontext_t c = make_fcontext(sp, 0, cgoEntry);
#if defined(GORT_TSAN)
    __tsan_switch_to_fiber(m->g0->ctx.tsanFiber, 0);
#endif
#if defined(GORT_ASAN)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, m->g0->ctx.stackLo, m->g0->ctx.stackSize);
#endif
    jump_fcontext(c, &f);
#if defined(GORT_ASAN)
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    m->incgo = false;
    m->ncgo--;
    gp->syscallctx = outerSyscallctx;
    gp->cgoErrno = f.err;
    exitsyscall(m);  // may resume on another M
    errno = gp->cgoErrno;
    return kOK;
}

}  // namespace gort::bridge
