// Execution contexts: a goroutine's (or a thread's) saved registers and its
// stack, switched with Boost.Context's fcontext (no system call, no
// hand-written assembly).
//
// This is the only file that names Boost.Context's detail API, and every
// jump goes through ctxJump, which brackets jump_fcontext with the
// sanitizer annotations. A jump is ctxJump(from, to, data): the running
// context is suspended and its fcontext handed to the resumed side in the
// returned transfer_t, which must store it where the suspended context will
// be looked for (gswitch's finishSwitch, cgocall's frame) before anything
// else may resume it. A context's entry function calls ctxEntered first.
//
// Each Context always carries the sanitizer identity fields (stack bounds,
// TSan fiber, ASan fake stack), so the layout never depends on the build.
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>
#include <cstdint>
#include <utility>
#if defined(__x86_64__) || defined(__i386__)
#include <fpu_control.h>
#include <xmmintrin.h>
#endif

#include "runtime/base.h"

#if defined(GORT_TSAN)
extern "C" {
void* __tsan_get_current_fiber(void);
void* __tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void* fiber);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
}
#endif
#if defined(GORT_ASAN)
extern "C" {
void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, size_t size);
void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old,
                                     size_t* size_old);
void __asan_unpoison_memory_region(void const volatile* addr, size_t size);
}
#endif

namespace gort {

// FpEnv is the floating-point environment a jump saves for the context it
// leaves and loads for the one it resumes: the SSE control/status word
// (MXCSR) and the x87 control word. Loading a different MXCSR is slow, so
// code that switches often keeps both sides equal (cgocall.cpp).
#if defined(__x86_64__) || defined(__i386__)
struct FpEnv {
    uint32_t mxcsr = 0;
    fpu_control_t x87 = 0;
    bool operator==(const FpEnv&) const = default;
};

inline FpEnv fpenvGet() {
    FpEnv e;
    e.mxcsr = _mm_getcsr();
    _FPU_GETCW(e.x87);
    return e;
}

inline uint32_t mxcsrGet() {
    return _mm_getcsr();
}

inline fpu_control_t x87Get() {
    fpu_control_t cw;
    _FPU_GETCW(cw);
    return cw;
}

// mxcsrControlDiffers: the two MXCSR values differ in more than the sticky
// exception flags (rounding, masks, FTZ/DAZ: what fesetround, fesetenv and
// feenableexcept change, in the x87 control word as well).
inline bool mxcsrControlDiffers(uint32_t a, uint32_t b) {
    return ((a ^ b) & ~uint32_t{0x3f}) != 0;
}

// fpenvLoad makes e the environment, known to differ from `was`.
inline void fpenvLoad(const FpEnv& e, const FpEnv& was) {
    if (e.mxcsr != was.mxcsr) _mm_setcsr(e.mxcsr);
    if (e.x87 != was.x87) {
        fpu_control_t cw = e.x87;
        _FPU_SETCW(cw);
    }
}
// fpenvResume makes c the environment after a switch restored `was`:
// MXCSR, and the x87 control word when MXCSR's control bits moved.
inline void fpenvResume(const FpEnv& c, const FpEnv& was) {
    if (c.mxcsr != was.mxcsr) _mm_setcsr(c.mxcsr);
    if (mxcsrControlDiffers(c.mxcsr, was.mxcsr)) {
        fpu_control_t cw = x87Get();
        if (cw != c.x87) {
            cw = c.x87;
            _FPU_SETCW(cw);
        }
    }
}
#else
struct FpEnv {
    uint32_t mxcsr = 0;
    int x87 = 0;
    bool operator==(const FpEnv&) const = default;
};
inline FpEnv fpenvGet() {
    return {};
}
inline uint32_t mxcsrGet() {
    return 0;
}
inline int x87Get() {
    return 0;
}
inline bool mxcsrControlDiffers(uint32_t, uint32_t) {
    return false;
}
inline void fpenvLoad(const FpEnv&, const FpEnv&) {}
inline void fpenvResume(const FpEnv&, const FpEnv&) {}
#endif

using fcontext_t = boost::context::detail::fcontext_t;
using transfer_t = boost::context::detail::transfer_t;
using ContextFn = void (*)(transfer_t);

// Context is what a suspended execution needs to be resumed.
struct Context {
    fcontext_t fctx = nullptr;  // saved registers; null before the first run
    // The stack it runs on, as sanitizers need it (lowest address, size).
    const void* stackLo = nullptr;
    size_t stackSize = 0;
    void* tsanFiber = nullptr;      // TSan's fiber for it (TSan builds)
    void* asanFakeStack = nullptr;  // ASan's fake stack while suspended (ASan builds)
};

// ctxSetStack gives c the stack [lo, lo+size) as its identity, fresh:
// memory a previous user poisoned is cleaned first.
inline void ctxSetStack(Context* c, void* lo, size_t size) {
#if defined(GORT_ASAN)
    __asan_unpoison_memory_region(lo, size);
#endif
    c->stackLo = lo;
    c->stackSize = size;
#if defined(GORT_TSAN)
    if (c->tsanFiber == nullptr) c->tsanFiber = __tsan_create_fiber(0);
#endif
}

// ctxMake makes c start fn on the fresh stack [lo, lo+size).
inline void ctxMake(Context* c, void* lo, size_t size, ContextFn fn) {
    ctxSetStack(c, lo, size);
    c->fctx = boost::context::detail::make_fcontext(static_cast<char*>(lo) + size, size, fn);
}

// ctxMakeAt makes a context starting fn with its stack top at sp, on a
// stack whose identity c already has (below frames in use there).
inline fcontext_t ctxMakeAt(void* sp, ContextFn fn) {
    return boost::context::detail::make_fcontext(sp, 0, fn);
}

// ctxAdoptThread gives c the identity of the calling thread's own stack.
void ctxAdoptThread(Context* c);

// ctxDestroy drops what c holds for the sanitizers.
inline void ctxDestroy(Context* c) {
#if defined(GORT_TSAN)
    if (c->tsanFiber != nullptr) __tsan_destroy_fiber(c->tsanFiber);
#endif
    c->tsanFiber = nullptr;
    c->fctx = nullptr;
}

// ctxJump suspends the running context `from` and resumes `to` at fctx
// (to->fctx unless given), passing data. fromExits: `from` will never be
// resumed (ASan then drops its fake stack). Returns the transfer made by
// whoever resumes `from`.
GORT_ALWAYS_INLINE transfer_t ctxJump(Context* from, const Context* to, fcontext_t fctx, void* data,
                                      bool fromExits = false) {
#if defined(GORT_TSAN)
    __tsan_switch_to_fiber(to->tsanFiber, 0);
#endif
#if defined(GORT_ASAN)
    __sanitizer_start_switch_fiber(fromExits ? nullptr : &from->asanFakeStack, to->stackLo,
                                   to->stackSize);
#endif
    (void)from;
    (void)fromExits;
    transfer_t t = boost::context::detail::jump_fcontext(fctx, data);
#if defined(GORT_ASAN)
    __sanitizer_finish_switch_fiber(from->asanFakeStack, nullptr, nullptr);
#endif
    return t;
}

GORT_ALWAYS_INLINE transfer_t ctxJump(Context* from, const Context* to, void* data,
                                      bool fromExits = false) {
    return ctxJump(from, to, to->fctx, data, fromExits);
}

// ctxReturnFn is where ctxReturn lands: on the resumed side's stack, it
// returns into that side's jump as if the jump had returned.
transfer_t ctxReturnFn(transfer_t t);

// ctxReturn ends the running context `from` for good (it was made for one
// run) and resumes `to` at fctx the way a function returns. A jump is a
// `call` on the side that leaves and a plain jump into the side it resumes,
// so a round trip leaves two stale entries on the CPU's return-address
// stack, and every return into the resumed side's older frames mispredicts
// (four or more per cgocall, 20 cycles each). Here the caller's own jump
// out is a tail call (the caller ends with it), and `to` resumes through
// the `ret` of ctxReturnFn, whose predicted target is the `call` `to`
// made: calls and returns stay paired. Call it as the last statement of a
// context's entry function; the pairing needs the compiler's tail call (an
// optimised build), and without it only the prediction is lost.
GORT_ALWAYS_INLINE void ctxReturn(Context* from, const Context* to, fcontext_t fctx) {
#if defined(GORT_TSAN)
    __tsan_switch_to_fiber(to->tsanFiber, 0);
#endif
#if defined(GORT_ASAN)
    __sanitizer_start_switch_fiber(nullptr, to->stackLo, to->stackSize);
#endif
    (void)from;
    boost::context::detail::ontop_fcontext(fctx, nullptr, ctxReturnFn);
}

// ctxEntered is the first statement of a context's entry function.
GORT_ALWAYS_INLINE void ctxEntered() {
#if defined(GORT_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

}  // namespace gort
