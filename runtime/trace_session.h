// The execution tracer's session state, shared by the recorder (trace.cpp)
// and the control side (trace_control.cpp: the clock, the writer thread,
// traceStart and traceStop). The design is at the top of trace.cpp.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

#include "runtime/base.h"
#include "runtime/trace_format.h"

namespace gort {

// ClockPair is a reading of the session's ticks and of nanotime together.
struct ClockPair {
    int64_t ticks = 0, ns = 0;
};

// TraceBuf is one M's buffer in one session (see the top of the file).
struct TraceBuf {
    std::atomic<uint32_t> seq{0};  // odd while an event is being recorded
    TraceChunk* chunk = nullptr;
    int64_t track = 0;
    uint64_t lost = 0;  // events dropped since the last one recorded
    int64_t lostSince = 0;
    uint64_t flowSeq = 0;
    int64_t lastCounter = 0;      // when its P's run queue was last sampled (ticks)
    uint32_t index = 0;           // in the session (flow ids)
    uint32_t freeGen = 0;         // the session that gave it up
    bool inSession = false;       // claimed by a session: set and cleared under tr.lock
    TraceBuf* next = nullptr;     // the session's buffers
    TraceBuf* allNext = nullptr;  // every buffer
};

// SpinLock guards the session's lists (held for a few instructions; never
// while recording into a buffer). tryLock never spins: a thread that would
// wait inside a signal handler drops its event instead.
class SpinLock {
  public:
    bool tryLock() { return !f_.test_and_set(std::memory_order_acquire); }
    void lock() {
        while (!tryLock()) __builtin_ia32_pause();
    }
    void unlock() { f_.clear(std::memory_order_release); }

  private:
    std::atomic_flag f_ = ATOMIC_FLAG_INIT;
};

struct Session {
    // Read by every event, written only by traceStart: a cache line of
    // their own, away from the lock the writer takes for every chunk.
    alignas(64) std::atomic<uint32_t> gen{0};  // session number (M::traceGen, G::traceGen)
    // No membarrier: recorders fence themselves. Atomic: a recorder of the
    // last session may still read it while the next session's start sets it.
    std::atomic<bool> strongFence{true};
    // The clock (see the top of the file): set before traceOn, which
    // recorders read with acquire.
    std::atomic<bool> tsc{false};
    std::atomic<int64_t> ticksPerMs{1'000'000};

    alignas(64) SpinLock lock;
    // Chunks: full ones in write order, free ones, how many exist.
    TraceChunk* fullHead = nullptr;
    TraceChunk* fullTail = nullptr;
    TraceChunk* freeList = nullptr;
    size_t chunks = 0, maxChunks = 0;
    size_t nfull = 0, wakeBatch = 1;  // full chunks queued; how many wake the writer
    // Every buffer ever made (reused across sessions), and this session's.
    TraceBuf* allBufs = nullptr;
    TraceBuf* bufs = nullptr;
    uint32_t nbufs = 0;
    bool closed = true;  // no buffer may join (stopped, or stopping)
    TraceBuf noM;        // threads without an M (under noMLock)
    SpinLock noMLock;

    std::atomic<uint64_t> dropped{0};
    std::atomic<uint32_t> wake{0};  // the writer's futex word
    std::atomic<bool> stopWriter{false};
    std::atomic<int> writerTid{0};
    pthread_t writer{};
    TraceWriter* out = nullptr;
    uint64_t lastDropped = 0;
    ClockPair clockStart;
};

// tr is the one session state (trace.cpp); its fields say who writes them.
extern constinit Session tr;

// ticks is the session's clock: the TSC where the session chose it, else
// nanotime (trace_control.cpp: startClock).
GORT_ALWAYS_INLINE int64_t ticks() {
#if defined(__x86_64__)
    if (tr.tsc.load(std::memory_order_relaxed)) return int64_t(__builtin_ia32_rdtsc());
#endif
    return nanotime();
}

// queueFullLocked hands a chunk to the writer (tr.lock held); true when the
// queue is long enough to wake it. wakeWriter wakes it.
bool queueFullLocked(TraceChunk* c);
void wakeWriter();

}  // namespace gort
