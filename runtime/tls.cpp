// The runtime's only thread-local variable: the M bound to this thread.
//
// getm and setm are opaque to the optimiser (GORT_NOINLINE_NOIPA), so the
// compiler cannot keep a thread-local address in a register across a call
// that switches goroutines: a goroutine resumed on another thread then reads
// its new thread's M. Code that already holds the current M passes it along
// instead of calling getm again.
#include "runtime/gmp.h"

namespace gort {

// initial-exec: a fixed offset from the thread pointer, no __tls_get_addr
// call; one pointer fits the static TLS surplus even when libgort is
// dlopen'ed. (Not exported: libgort.map lists gort_* only.)
constinit __attribute__((tls_model("initial-exec"))) thread_local M* tlsM = nullptr;

GORT_NOINLINE_NOIPA M* getm() {
    return tlsM;
}

GORT_NOINLINE_NOIPA void setm(M* m) {
    tlsM = m;
}

}  // namespace gort
