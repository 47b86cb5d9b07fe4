#include "runtime/stats.h"

#include "runtime/proc.h"
#include "runtime/runtime.h"

namespace gort {

Stats& stats() {
    static constinit Stats s;
    return s;
}

void Stats::reset() {
    for (auto* c : {&msCreatedNative, &msCreatedHook, &templateHandoffs, &msExitedLocked,
                    &threadCreateFailures, &threadCreateRetries, &foreignThreadsBound, &pRetakes,
                    &handoffs, &steals, &exitsyscallFast, &exitsyscallSlow}) {
        c->store(0, std::memory_order_relaxed);
    }
}

void readStats(RuntimeStats* s) {
    Stats& st = stats();
    auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    *s = RuntimeStats{};
    s->maxprocs = sched.gomaxprocs.load(std::memory_order_relaxed);
    int64_t live = numGoroutine();
    s->goroutinesLive = live > 0 ? uint64_t(live) : 0;
    int64_t created = sched.gcreatedNoP.load(std::memory_order_relaxed);
    int32_t np = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < np; i++) {
        created +=
            sched.allp[i].load(std::memory_order_acquire)->gcreated.load(std::memory_order_relaxed);
    }
    s->goroutinesCreated = uint64_t(created);
    {
        LockGuard g(sched.lock);
        int64_t total = 0;
        uint64_t cgocalls = sched.ncgocallDead.load(std::memory_order_relaxed);
        uint64_t callbacks = sched.ncallbackDead.load(std::memory_order_relaxed);
        for (M* m = sched.allm.load(std::memory_order_relaxed); m != nullptr; m = m->alllink) {
            if (!m->isExtra) total++;
            cgocalls += m->ncgocall.load(std::memory_order_relaxed);
            callbacks += m->ncallback.load(std::memory_order_relaxed);
        }
        s->cgocalls = cgocalls;
        s->callbacks = callbacks;
        s->msTotal = uint64_t(total);
        s->msIdle = uint64_t(sched.nmidle);
    }
    {
        LockGuard g(sched.extraLock);
        s->extraMsPooled = uint64_t(sched.extraMCount);
    }
    s->extraMsInUse = uint64_t(sched.extraMInUse.load(std::memory_order_relaxed));
    s->msCreatedNative = ld(st.msCreatedNative);
    s->msCreatedHook = ld(st.msCreatedHook);
    s->templateHandoffs = ld(st.templateHandoffs);
    s->msExitedLocked = ld(st.msExitedLocked);
    s->threadCreateFailures = ld(st.threadCreateFailures);
    s->threadCreateRetries = ld(st.threadCreateRetries);
    s->foreignThreadsBound = ld(st.foreignThreadsBound);
    s->pRetakes = ld(st.pRetakes);
    s->handoffs = ld(st.handoffs);
    s->steals = ld(st.steals);
}

}  // namespace gort
