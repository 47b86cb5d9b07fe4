#include "runtime/stats.h"

#include "runtime/proc.h"
#include "runtime/runtime.h"

namespace gort {

Stats& stats() {
    static constinit Stats s;
    return s;
}

void Stats::reset() {
#define GORT_STATS_RESET_event(camel) camel.store(0, std::memory_order_relaxed);
#define GORT_STATS_RESET_state(camel)
#define GORT_STATS_FIELD(name, camel, kind) GORT_STATS_RESET_##kind(camel)
    GORT_STATS_LIST(GORT_STATS_FIELD)
#undef GORT_STATS_FIELD
    exitsyscallSlow.store(0, std::memory_order_relaxed);
    retakeBackoffs.store(0, std::memory_order_relaxed);
}

namespace {

// readState fills the `state` counters from the scheduler.
void readState(RuntimeStats* s) {
    int64_t live = numGoroutine();
    s->goroutinesLive = live > 0 ? uint64_t(live) : 0;
    int64_t created = sched.gcreatedNoP.load(std::memory_order_relaxed), hosted = 0;
    int32_t np = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < np; i++) {
        P* p = sched.allp[i].load(std::memory_order_acquire);
        created += p->gcreated.load(std::memory_order_relaxed);
        hosted += p->hostedRuns.load(std::memory_order_relaxed);
    }
    s->goroutinesCreated = uint64_t(created);
    s->hostedRuns = uint64_t(hosted);
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
        // Lent Ps: lendp and unlendp change these together under sched.lock,
        // so this snapshot of them agrees (lent - returned == lent now). The
        // two event counters were read already (readStats): read again here.
        s->procsLent = stats().procsLent.load(std::memory_order_relaxed);
        s->procsReturned = stats().procsReturned.load(std::memory_order_relaxed);
        s->procsLentNow = uint64_t(sched.nlent.load(std::memory_order_relaxed));
    }
    {
        LockGuard g(sched.extraLock);
        s->extraMsPooled = uint64_t(sched.extraMCount);
    }
    s->extraMsInUse = uint64_t(sched.extraMInUse.load(std::memory_order_relaxed));
    s->stackHighWater = stackHighWater();
}

}  // namespace

void readStats(RuntimeStats* s) {
    *s = RuntimeStats{};
    s->maxprocs = sched.gomaxprocs.load(std::memory_order_relaxed);
    Stats& st = stats();
#define GORT_STATS_READ_event(camel) s->camel = st.camel.load(std::memory_order_relaxed);
#define GORT_STATS_READ_state(camel)
#define GORT_STATS_FIELD(name, camel, kind) GORT_STATS_READ_##kind(camel)
    GORT_STATS_LIST(GORT_STATS_FIELD)
#undef GORT_STATS_FIELD
    readState(s);  // after the events: it reads the lent-P ones again, under sched.lock
}

}  // namespace gort
