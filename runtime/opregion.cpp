// Op regions (runtime/opregion.h): the design is described there.
//
// The word is per P, not per M or per thread: only goroutine code holding
// a P opens a region, a region never spans a scheduling point (so it opens
// and closes on one P, and no other code runs on that P meanwhile), and Ps
// live as long as the runtime, so opQuiesce can read every P's word without
// taking a lock (the caller is inside a call the gate counts, or goroutine
// code: the runtime cannot stop under it).
#include "runtime/opregion.h"

#include <sched.h>

#include "runtime/proc.h"
#include "runtime/procfence.h"

namespace gort {

namespace {

// regionP is the caller's P if it runs goroutine code holding one. m is
// the caller's M, read once.
inline P* regionP(M* m) {
    if (m == nullptr) return nullptr;
    G* gp = m->curg;
    if (gp == nullptr || gp->atomicstatus.load(std::memory_order_relaxed) != Grunning) {
        return nullptr;  // g0, C code (a cgocall, between callbacks), a blocking region
    }
    return m->p;
}

}  // namespace

bool opRegionsOn() {
    return processFenceOn();
}

namespace {

GORT_ALWAYS_INLINE std::atomic<uint32_t>* opBeginOn() {
    if (!processFenceOn()) return nullptr;
    P* p = regionP(getmAtEntry());  // an entry: nothing has switched yet
    if (p == nullptr) return nullptr;
    uint32_t v = p->opWord.load(std::memory_order_relaxed);
    if (v & 1) return nullptr;  // a signal handler interrupted this P's region
    p->opWord.store(v + 1, std::memory_order_relaxed);
    // Only the compiler must keep the loads of the region after the store:
    // opQuiesce's membarrier orders them for the CPU.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    return &p->opWord;
}

}  // namespace

std::atomic<uint32_t>* opBegin() {
    return opBeginOn();
}

std::atomic<uint32_t>* opBeginCall() {
    if (!callGate.open.load(std::memory_order_relaxed)) return nullptr;
    return opBeginOn();
}

bool opQuiesce() {
    if (!processFenceOn()) return true;  // no region ever opens
    P* own = regionP(getm());            // (the caller may have switched threads)
    if (own != nullptr && (own->opWord.load(std::memory_order_relaxed) & 1) != 0) return false;
    processFence();
    int32_t n = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < n; i++) {
        P* p = sched.allp[i].load(std::memory_order_acquire);
        if (p == nullptr || p == own) continue;
        uint32_t v = p->opWord.load(std::memory_order_acquire);
        if ((v & 1) == 0) continue;
        // A region is short and waits for nothing; its thread may be
        // descheduled, so yield rather than spin.
        while (p->opWord.load(std::memory_order_acquire) == v) sched_yield();
    }
    return true;
}

}  // namespace gort
