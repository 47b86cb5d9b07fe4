// cgocall: a goroutine calls C (Go's cgocall.go).
//
//   1. entersyscall: the G is Gsyscall and its P may be taken by sysmon for
//      other goroutines while C runs;
//   2. mark the M incgo and switch to the M's C context, on the thread's own
//      stack (Go's asmcgocall), so C code gets the native stack, not the
//      goroutine's small one;
//   3. run fn there, save errno, switch back;
//   4. exitsyscall: reacquire the old P (fast path) or another, or queue the
//      G and resume later, possibly on another M.
//
// The C context. Each runtime M keeps one, made on first use: a loop that
// runs one call per switch and switches back, placed kG0Reserve below the
// frame where the thread entered the runtime. g0 (the scheduler) lives in
// those top kG0Reserve bytes and never goes deeper, so the two never meet,
// and a call costs two switches and no setup. A thread whose stack is too
// small for that gets a context made per call just below g0's suspended
// frame instead (g0 is suspended while one of its goroutines runs).
//
// A goroutine that already runs on the thread's own stack (a callback runs
// inline there, see runtime/cgocallback.cpp) calls fn directly.
#include "bridge/cgocall.h"

#include <errno.h>
#include <pthread.h>

#include <exception>

#include "runtime/errors.h"
#include "runtime/proc.h"

namespace gort::bridge {

namespace {

// The scheduler's share of a thread's stack, above the C context.
constexpr size_t kG0Reserve = 256 * 1024;
// Below that, C needs room of its own; else per-call contexts are used.
constexpr size_t kMinCStack = 512 * 1024;
// Space left between g0's suspended frame and a per-call context.
constexpr size_t kG0Gap = 512;

struct CgoFrame {
    void (*fn)(void*);
    void* arg;
    fcontext_t back;  // the goroutine's context
    int err;
    G* gp;
};

void runC(CgoFrame* f) {
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
}

// switchBack leaves the C context for the goroutine of frame f.
inline transfer_t switchBack(CgoFrame* f) {
#if defined(GORT_TSAN)
    __tsan_switch_to_fiber(f->gp->ctx.tsanFiber, 0);
#endif
#if defined(GORT_ASAN)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f->gp->ctx.stackLo, f->gp->ctx.stackSize);
    transfer_t t = jump_fcontext(f->back, nullptr);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
    return t;
#else
    return jump_fcontext(f->back, nullptr);
#endif
}

// cgoLoop is an M's persistent C context: each switch to it brings a frame
// to run.
[[noreturn]] void cgoLoop(transfer_t t) {
#if defined(GORT_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
    for (;;) {
        auto* f = static_cast<CgoFrame*>(t.data);
        f->back = t.fctx;
        f->gp->syscallctx = t.fctx;  // a callback from C parks below this point
        runC(f);
        t = switchBack(f);
    }
}

// cgoOnce is a per-call C context.
[[noreturn]] void cgoOnce(transfer_t t) {
#if defined(GORT_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
    auto* f = static_cast<CgoFrame*>(t.data);
    f->back = t.fctx;
    f->gp->syscallctx = t.fctx;
    runC(f);
#if defined(GORT_TSAN)
    __tsan_switch_to_fiber(f->gp->ctx.tsanFiber, 0);
#endif
#if defined(GORT_ASAN)
    __sanitizer_start_switch_fiber(nullptr, f->gp->ctx.stackLo, f->gp->ctx.stackSize);
#endif
    jump_fcontext(f->back, nullptr);
    __builtin_unreachable();
}

// cgoContext returns the context to run f in on m: the persistent one
// (made on first use), or a fresh one below g0's suspended frame.
fcontext_t cgoContext(M* m) {
    if (m->cgoctx != nullptr) return m->cgoctx;
    if (!m->cgoctxChecked) {
        m->cgoctxChecked = true;
        pthread_attr_t attr;
        if (m->g0sp0 != nullptr && pthread_getattr_np(pthread_self(), &attr) == 0) {
            void* lo = nullptr;
            size_t size = 0;
            pthread_attr_getstack(&attr, &lo, &size);
            pthread_attr_destroy(&attr);
            char* top = static_cast<char*>(m->g0sp0) - kG0Reserve;
            if (top > static_cast<char*>(lo) + kMinCStack) {
                m->cgoctx = make_fcontext(top, size_t(top - static_cast<char*>(lo)), cgoLoop);
                return m->cgoctx;
            }
        }
    }
    return make_fcontext(static_cast<char*>(m->g0->ctx.fctx) - kG0Gap, 0, cgoOnce);
}

}  // namespace

int cgocall(void (*fn)(void*), void* arg) {
    if (fn == nullptr) return kEINVAL;
    M* m = validm();
    G* gp = m != nullptr ? m->curg : nullptr;
    if (gp == nullptr || m->incgo ||
        gp->atomicstatus.load(std::memory_order_relaxed) != Grunning) {
        // Not goroutine code (a plain thread, or C code already in a call):
        // nothing to hand off, just call it.
        fn(arg);
        return kOK;
    }
    m->ncgocall.store(m->ncgocall.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    m->ncgo++;
    entersyscall(m);
    m->incgo = true;
    CgoFrame f{fn, arg, nullptr, 0, gp};
    if (gp->onNativeStack) {
        runC(&f);  // already on the thread's stack: no switch
    } else {
        fcontext_t outerSyscallctx = gp->syscallctx;
        fcontext_t c = cgoContext(m);
#if defined(GORT_TSAN)
        __tsan_switch_to_fiber(m->g0->ctx.tsanFiber, 0);
#endif
#if defined(GORT_ASAN)
        void* fake = nullptr;
        __sanitizer_start_switch_fiber(&fake, m->g0->ctx.stackLo, m->g0->ctx.stackSize);
#endif
        transfer_t t = jump_fcontext(c, &f);
#if defined(GORT_ASAN)
        __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
        if (c == m->cgoctx) m->cgoctx = t.fctx;  // where the loop waits now
        gp->syscallctx = outerSyscallctx;
    }
    m->incgo = false;
    m->ncgo--;
    gp->cgoErrno = f.err;
    exitsyscall(m);  // may resume on another M
    errno = gp->cgoErrno;
    return kOK;
}

}  // namespace gort::bridge
