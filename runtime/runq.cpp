// Run queues.
//
// Each P has a fixed ring of kRunqSize Gs plus a runnext slot. Only the
// owning M puts at the tail; the owner and stealers take from the head with
// a CAS, so the queue is single-producer, multi-consumer and lock-free (Go's
// runqput/runqget/runqgrab). Slots are atomics read with relaxed order: a
// stealer may read a slot the owner is overwriting, but then its CAS on the
// head fails and the value is discarded.
//
// When the ring is full, half of it moves to the global queue (runqputslow),
// a linked list under sched.lock that every P takes from in batches.
#include <unistd.h>

#include "runtime/proc.h"
#include "runtime/stats.h"
#include "runtime/trace.h"

namespace gort {

// runqputslow moves half of p's ring plus gp to the global queue. Returns
// false if the ring changed under us (then the caller retries the fast path).
bool runqputslow(P* p, G* gp, uint32_t h, uint32_t t) {
    constexpr uint32_t n = kRunqSize / 2;
    G* batch[n + 1];
    if (t - h != uint32_t(kRunqSize)) fatal("runqputslow: queue is not full");
    for (uint32_t i = 0; i < n; i++) {
        batch[i] = p->runq[(h + i) % kRunqSize].load(std::memory_order_relaxed);
    }
    if (!p->runqhead.compare_exchange_strong(h, h + n, std::memory_order_release)) return false;
    batch[n] = gp;
    for (uint32_t i = 0; i < n; i++) batch[i]->schedlink = batch[i + 1];
    batch[n]->schedlink = nullptr;
    LockGuard g(sched.lock);
    globrunqputbatch(batch[0], batch[n], n + 1);
    return true;
}

namespace {

// runqgrab takes up to half of p's ring into batch[batchHead...] (a ring of
// kRunqSize). With stealRunNextG it may also take runnext. Returns the count.
uint32_t runqgrab(P* p, std::atomic<G*>* batch, uint32_t batchHead, bool stealRunNextG) {
    for (;;) {
        uint32_t h = p->runqhead.load(std::memory_order_acquire);
        uint32_t t = p->runqtail.load(std::memory_order_acquire);
        uint32_t n = t - h;
        n = n - n / 2;
        if (n == 0) {
            if (stealRunNextG) {
                G* next = p->runnext.load(std::memory_order_acquire);
                if (next != nullptr) {
                    // p's M may be about to run next itself (it just readied it
                    // and is switching): give it a moment rather than bouncing
                    // the G between threads (Go sleeps 3 us here).
                    if (p->status.load(std::memory_order_relaxed) == Prunning) usleep(3);
                    if (!p->runnext.compare_exchange_strong(next, nullptr,
                                                            std::memory_order_acq_rel)) {
                        continue;
                    }
                    batch[batchHead % kRunqSize].store(next, std::memory_order_relaxed);
                    return 1;
                }
            }
            return 0;
        }
        if (n > uint32_t(kRunqSize / 2)) continue;  // inconsistent h and t: retry
        for (uint32_t i = 0; i < n; i++) {
            G* g = p->runq[(h + i) % kRunqSize].load(std::memory_order_relaxed);
            batch[(batchHead + i) % kRunqSize].store(g, std::memory_order_relaxed);
        }
        if (p->runqhead.compare_exchange_strong(h, h + n, std::memory_order_acq_rel)) return n;
    }
}

}  // namespace

G* runqsteal(P* p, P* p2, bool stealRunNextG) {
    uint32_t t = p->runqtail.load(std::memory_order_relaxed);
    uint32_t n = runqgrab(p2, p->runq, t, stealRunNextG);
    if (n == 0) return nullptr;
    traceSteal(p, p2, n);
    n--;
    G* gp = p->runq[(t + n) % kRunqSize].load(std::memory_order_relaxed);
    if (n == 0) return gp;
    uint32_t h = p->runqhead.load(std::memory_order_acquire);
    if (t - h + n >= uint32_t(kRunqSize)) fatal("runqsteal: runq overflow");
    p->runqtail.store(t + n, std::memory_order_release);
    stats().steals.fetch_add(1, std::memory_order_relaxed);
    return gp;
}

void runqdrain(P* p) {
    bool inherit;
    while (G* gp = runqget(p, &inherit)) globrunqput(gp);
}

void globrunqput(G* gp) {
    gp->schedlink = nullptr;
    if (sched.runqtail != nullptr) {
        sched.runqtail->schedlink = gp;
    } else {
        sched.runqhead = gp;
    }
    sched.runqtail = gp;
    int32_t len = sched.runqsize.fetch_add(1, std::memory_order_relaxed) + 1;
    traceCountGlobalRunq(len);
}

void globrunqputbatch(G* head, G* tail, int32_t n) {
    tail->schedlink = nullptr;
    if (sched.runqtail != nullptr) {
        sched.runqtail->schedlink = head;
    } else {
        sched.runqhead = head;
    }
    sched.runqtail = tail;
    sched.runqsize.fetch_add(n, std::memory_order_relaxed);
}

G* globrunqget(P* p, int32_t max) {
    int32_t size = sched.runqsize.load(std::memory_order_relaxed);
    if (size == 0) return nullptr;
    int32_t n = size / sched.nprocs.load(std::memory_order_relaxed) + 1;
    if (n > size) n = size;
    if (max > 0 && n > max) n = max;
    if (n > kRunqSize / 2) n = kRunqSize / 2;
    // Only the owner adds to p's ring, so its free space can only grow while
    // we fill it; never overflow it (runqputslow would need sched.lock).
    uint32_t used =
        p->runqtail.load(std::memory_order_relaxed) - p->runqhead.load(std::memory_order_acquire);
    if (int32_t free = kRunqSize - int32_t(used); n > free + 1) n = free + 1;
    sched.runqsize.fetch_sub(n, std::memory_order_relaxed);
    G* gp = sched.runqhead;
    sched.runqhead = gp->schedlink;
    for (n--; n > 0; n--) {
        G* g1 = sched.runqhead;
        sched.runqhead = g1->schedlink;
        runqput(p, g1, false);
    }
    if (sched.runqhead == nullptr) sched.runqtail = nullptr;
    traceCountGlobalRunq(sched.runqsize.load(std::memory_order_relaxed));
    return gp;
}

G* globrunqgetLocked() {
    G* prev = nullptr;
    for (G* gp = sched.runqhead; gp != nullptr; prev = gp, gp = gp->schedlink) {
        // An M that hosts has a P and finds its G here itself.
        if (gp->lockedm == nullptr || gp->lockedm->hosting.load(std::memory_order_seq_cst)) {
            continue;
        }
        G* next = gp->schedlink;
        if (prev != nullptr) {
            prev->schedlink = next;
        } else {
            sched.runqhead = next;
        }
        if (sched.runqtail == gp) sched.runqtail = prev;
        gp->schedlink = nullptr;
        sched.runqsize.fetch_sub(1, std::memory_order_relaxed);
        return gp;
    }
    return nullptr;
}

}  // namespace gort
