// Execution contexts: a goroutine's saved registers and its stack, switched
// with Boost.Context's fcontext (no system call, no hand-written assembly).
//
// A switch is a jump_fcontext(to, data): the jumping side is suspended and
// its fcontext handed to the resumed side in the returned transfer_t, which
// must store it in the suspended G before anything else may resume that G.
// gswitch (proc.cpp) does that bookkeeping; this header only holds the
// per-context state and the sanitizer annotations, which must bracket the
// jump in the very function that performs it.
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>

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

using fcontext_t = boost::context::detail::fcontext_t;
using transfer_t = boost::context::detail::transfer_t;
using boost::context::detail::jump_fcontext;
using boost::context::detail::make_fcontext;

// Context is what a suspended execution needs to be resumed.
struct Context {
    fcontext_t fctx = nullptr;  // saved registers; null before the first run
    // Stack bounds as sanitizers need them (lowest address, usable size).
    const void* stackLo = nullptr;
    size_t stackSize = 0;
#if defined(GORT_TSAN)
    void* tsanFiber = nullptr;
#endif
#if defined(GORT_ASAN)
    void* asanFakeStack = nullptr;
#endif
};

}  // namespace gort
