// Run queue operations on the hot path (switching, spawning); the rest of
// the run queue code is in runq.cpp, whose comment describes the design.
#pragma once

#include "runtime/gmp.h"

namespace gort {

bool runqputslow(P* p, G* gp, uint32_t h, uint32_t t);

// runqput queues gp on p (as runnext if next); returns true if the ring was
// full and half of it moved to the global queue. Owner only.
inline bool runqput(P* p, G* gp, bool next) {
    if (next) {
        G* old = p->runnext.exchange(gp, std::memory_order_acq_rel);
        if (old == nullptr) return false;
        gp = old;  // kick the old runnext to the tail
    }
    for (;;) {
        uint32_t h = p->runqhead.load(std::memory_order_acquire);
        uint32_t t = p->runqtail.load(std::memory_order_relaxed);
        if (t - h < uint32_t(kRunqSize)) {
            p->runq[t % kRunqSize].store(gp, std::memory_order_relaxed);
            p->runqtail.store(t + 1, std::memory_order_release);
            return false;
        }
        if (runqputslow(p, gp, h, t)) return true;
    }
}

// kMaxRunnextStreak bounds consecutive runs from runnext (gmp.h, P).
constexpr uint32_t kMaxRunnextStreak = 61;

// runqget takes the next G of p: runnext first (inheritTime set), then the
// ring head; after kMaxRunnextStreak runs from runnext in a row, the ring's
// head first. Owner only.
inline G* runqget(P* p, bool* inheritTime) {
    G* next = p->runnext.load(std::memory_order_relaxed);
    if (next != nullptr && p->runnextStreak < kMaxRunnextStreak &&
        p->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) {
        p->runnextStreak++;
        *inheritTime = true;
        return next;
    }
    p->runnextStreak = 0;
    *inheritTime = false;
    for (;;) {
        uint32_t h = p->runqhead.load(std::memory_order_acquire);
        uint32_t t = p->runqtail.load(std::memory_order_relaxed);
        if (t == h) break;
        G* gp = p->runq[h % kRunqSize].load(std::memory_order_relaxed);
        if (p->runqhead.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel)) return gp;
    }
    // The ring is empty: runnext, if still there, after all.
    next = p->runnext.load(std::memory_order_relaxed);
    if (next != nullptr &&
        p->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) {
        p->runnextStreak = 1;
        *inheritTime = true;
        return next;
    }
    return nullptr;
}

// runqempty reports whether p has no G to run; any thread may ask.
inline bool runqempty(P* p) {
    // Read head, tail, runnext, and tail again so a G moving from runnext to
    // the ring in between is not missed (Go's runqempty).
    for (;;) {
        uint32_t h = p->runqhead.load(std::memory_order_acquire);
        uint32_t t = p->runqtail.load(std::memory_order_acquire);
        G* next = p->runnext.load(std::memory_order_acquire);
        if (p->runqtail.load(std::memory_order_acquire) == t) return h == t && next == nullptr;
    }
}

}  // namespace gort
