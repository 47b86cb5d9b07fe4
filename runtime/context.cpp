#include "runtime/context.h"

#include <pthread.h>

namespace gort {

void ctxAdoptThread(Context* c) {
#if defined(GORT_ASAN)
    // ASan needs the bounds of the stack it switches back to. (Not asked
    // otherwise: pthread_getattr_np costs a system call or, on the main
    // thread, a read of /proc/self/maps.)
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* addr = nullptr;
        size_t size = 0;
        pthread_attr_getstack(&attr, &addr, &size);
        c->stackLo = addr;
        c->stackSize = size;
        pthread_attr_destroy(&attr);
    }
#endif
#if defined(GORT_TSAN)
    c->tsanFiber = __tsan_get_current_fiber();
#endif
    (void)c;
}

transfer_t ctxReturnFn(transfer_t t) {
    return t;
}

}  // namespace gort
