// The execution tracer: what the scheduler did, as a Chrome trace event
// file (JSON; Perfetto and chrome://tracing load it).
//
// Recording. Each M records into its own buffer (TraceBuf, one per M per
// session), written only by the thread running that M, so the hot path
// takes no lock: a relaxed load of traceOn at the site (trace.h), then here
// a sequence counter made odd, the event copied into the current chunk (64
// KiB), the counter made even. Threads without an M share one buffer under
// a spin lock (they only ready goroutines and start Ms). A full chunk goes
// to the writer's FIFO and a free one is taken, under the session's spin
// lock, once per chunk. Memory is bounded: at most bufferBytes of chunks
// exist; when none is free the event is dropped and counted, the next
// event that fits first records how many were lost since when, and the
// file's otherData says the total.
//
// Clock. Events are stamped with the CPU's time-stamp counter where the
// kernel keeps time by it (its clocksource is "tsc": invariant and the same
// on every CPU), a read of about 11 ns here against 27 for clock_gettime,
// at four stamps per round trip of a goroutine pair; elsewhere, or with
// GORT_TRACE_CLOCK=monotonic, with nanotime. traceStart reads the two
// clocks together, and again 100 us later for the ticks in a millisecond;
// traceStop reads them once more, after the last event, and the writer
// maps ticks onto nanotime along the line through the first and last pair.
//
// Stopping. traceStop clears traceOn, then waits until no buffer is in the
// middle of an event: a recorder makes its counter odd and only then
// re-reads traceOn, the stopper clears traceOn and only then reads the
// counters (Dekker's pattern). The recorder's half is a compiler barrier
// when the kernel's membarrier(PRIVATE_EXPEDITED) is there (the stopper
// issues it, a barrier on every thread at once), else a full fence. A
// recorder re-entered on its own thread (a signal handler) finds its
// counter odd and drops the event. TraceBufs are never freed (a late
// recorder of a finished session may still store its counter): they are
// reused by later sessions.
//
// Writing. A background thread (not an M: it runs no goroutine, holds no
// P, and deadlock detection knows it) turns chunks into JSON as they fill;
// at stop it takes the partial ones. Events are compact binary records; the
// writer gives them their structure, per track (one track per M, named
// after its thread and its origin): a goroutine's run is a B/E slice from
// the switch to it to the switch away from it; cgocalls, blocking regions
// and callbacks nest inside; a goroutine switched away inside a callback
// (it is locked to that M, so it comes back on this track) has its nested
// slices closed and reopened when it resumes. The writer closes whatever is
// still open when the trace ends and skips an end whose begin it never
// saw (a run that began before the trace did), so every B has its E and
// timestamps never decrease along a track.
#include "runtime/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/dump.h"
#include "runtime/errors.h"
#include "runtime/futex.h"
#include "runtime/proc.h"
#include "runtime/procfence.h"
#include "runtime/trace_format.h"
#include "runtime/trace_session.h"

namespace gort {

std::atomic<bool> traceOn{false};

constinit Session tr;

// queueFullLocked hands a chunk to the writer (lock held); true when the queue
// is long enough to wake it.
bool queueFullLocked(TraceChunk* c) {
    c->next = nullptr;
    if (tr.fullTail != nullptr) {
        tr.fullTail->next = c;
    } else {
        tr.fullHead = c;
    }
    tr.fullTail = c;
    return ++tr.nfull >= tr.wakeBatch;
}

void wakeWriter() {
    tr.wake.fetch_add(1, std::memory_order_release);
    futexwakeup(&tr.wake, 1);
}

namespace {

// ---- chunks --------------------------------------------------------------------------

// takeChunk returns a free chunk, or null when the memory bound is reached.
// mmap, not malloc: a recorder may run in a signal handler.
TraceChunk* takeChunk() {
    bool make = false;
    tr.lock.lock();
    TraceChunk* c = tr.freeList;
    if (c != nullptr) {
        tr.freeList = c->next;
    } else if (tr.chunks < tr.maxChunks) {
        tr.chunks++;
        make = true;
    }
    tr.lock.unlock();
    if (make) {
        void* p = mmap(nullptr, sizeof(TraceChunk), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            tr.lock.lock();
            tr.chunks--;
            tr.lock.unlock();
            return nullptr;
        }
        c = static_cast<TraceChunk*>(p);
    }
    if (c != nullptr) {
        c->next = nullptr;
        c->used = 0;
    }
    return c;
}

// refill swaps b's full chunk for a fresh one; false if none is left. The
// writer is woken once per wakeBatch chunks, not for each: a wake is a
// system call on the recording thread (it finds the rest at its timeout).
bool refill(TraceBuf* b) {
    if (TraceChunk* old = b->chunk) {
        b->chunk = nullptr;
        tr.lock.lock();
        bool wake = queueFullLocked(old);
        tr.lock.unlock();
        if (wake) wakeWriter();
    }
    b->chunk = takeChunk();
    if (b->chunk != nullptr) b->chunk->track = b->track;
    return b->chunk != nullptr;
}

// ---- buffers ---------------------------------------------------------------------------

// reusableBufLocked claims a buffer of an earlier session (lock held):
// choosing and claiming are one step, or two Ms could take the same one.
TraceBuf* reusableBufLocked() {
    for (TraceBuf* x = tr.allBufs; x != nullptr; x = x->allNext) {
        if (x->freeGen != tr.gen.load(std::memory_order_relaxed) && !x->inSession) {
            x->inSession = true;
            return x;
        }
    }
    return nullptr;
}

// newBuf takes a buffer for a track, from earlier sessions' or a new one.
TraceBuf* newBuf(int64_t track) {
    tr.lock.lock();
    if (tr.closed) {
        tr.lock.unlock();
        return nullptr;
    }
    TraceBuf* b = reusableBufLocked();
    tr.lock.unlock();
    if (b == nullptr) {
        void* p = mmap(nullptr, sizeof(TraceBuf), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        b = new (p) TraceBuf();
        b->inSession = true;  // ours: not on allBufs until now
        tr.lock.lock();
        b->allNext = tr.allBufs;
        tr.allBufs = b;
        tr.lock.unlock();
    }
    tr.lock.lock();
    if (tr.closed) {
        b->inSession = false;  // back for a later session
        tr.lock.unlock();
        return nullptr;
    }
    b->track = track;
    b->chunk = nullptr;
    b->lost = 0;
    b->lostSince = 0;
    b->flowSeq = 0;
    b->lastCounter = 0;
    b->index = ++tr.nbufs;
    b->next = tr.bufs;
    tr.bufs = b;
    tr.lock.unlock();
    return b;
}

// EvOut writes one record at the end of a chunk (trace_format.h's layout):
// arguments in order, each in 4 bytes when it fits; its destructor writes
// the shape and extends the chunk over the record.
class EvOut {
  public:
    EvOut(TraceChunk* c, uint8_t type, uint32_t small, uint32_t dt)
        : c_(c), h_(c->data + c->used), p_(h_ + sizeof(EvHead)) {
        // Own the lines a few events ahead before storing to them.
        __builtin_prefetch(h_ + kPrefetchAhead, 1, 3);
        EvHead h{type, 0, uint16_t(small), dt};
        memcpy(h_, &h, sizeof h);
    }
    ~EvOut() {
        auto shape = uint8_t(n_ | wide_ << 4);
        memcpy(h_ + offsetof(EvHead, shape), &shape, 1);
        c_->used = uint32_t(p_ - c_->data);
    }
    EvOut(const EvOut&) = delete;
    EvOut& operator=(const EvOut&) = delete;

    GORT_ALWAYS_INLINE void arg(uint64_t v) {
        if (v <= UINT32_MAX) {
            auto x = uint32_t(v);
            memcpy(p_, &x, 4);
            p_ += 4;
        } else {
            memcpy(p_, &v, 8);
            p_ += 8;
            wide_ |= uint8_t(1u << n_);
        }
        n_++;
    }
    // str ends the arguments with a string (evHasString kinds only).
    void str(const char* s, size_t n) {
        arg(n);
        memcpy(p_, s, n);
        p_ += (n + 3) & ~size_t(3);
    }

  private:
    static constexpr size_t kPrefetchAhead = 512;
    TraceChunk* c_;
    char* h_;
    char* p_;
    uint8_t n_ = 0, wide_ = 0;
};

// Recording into a buffer: the constructor makes room for `bytes` (false:
// the event is dropped), head writes the event, the destructor publishes
// it.
class Rec {
  public:
    GORT_ALWAYS_INLINE Rec(TraceBuf* b, size_t bytes) : b_(b) {
        uint32_t q = b->seq.load(std::memory_order_relaxed);
        if (q & 1) [[unlikely]] {  // re-entered on this thread (a signal handler)
            b->lost++;
            b_ = nullptr;
            return;
        }
        if (tr.strongFence.load(std::memory_order_relaxed)) [[unlikely]] {
            // No membarrier: the store itself is the full barrier (a locked
            // exchange: what a seq_cst fence after it would give, and
            // ThreadSanitizer understands it, unlike a fence).
            b->seq.exchange(q + 1, std::memory_order_seq_cst);
        } else {
            b->seq.store(q + 1, std::memory_order_relaxed);
            std::atomic_signal_fence(std::memory_order_seq_cst);
        }
        if (!traceOn.load(std::memory_order_acquire)) [[unlikely]] {  // acquire: the clock
            b->seq.store(q + 2, std::memory_order_release);
            b_ = nullptr;
            return;
        }
        now_ = ticks();
        TraceChunk* c = b->chunk;
        if (c == nullptr || c->used + bytes + kTimeBytes > sizeof c->data || b->lost != 0)
            [[unlikely]] {
            makeRoom(bytes, q);
        }
    }
    ~Rec() {
        if (b_ != nullptr)
            b_->seq.store(b_->seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    Rec(const Rec&) = delete;
    Rec& operator=(const Rec&) = delete;

    explicit operator bool() const { return b_ != nullptr; }
    TraceBuf* buf() const { return b_; }
    int64_t now() const { return now_; }

    // head begins an event in the room the constructor made; its arguments
    // follow through the EvOut, which ends the record when it goes.
    EvOut head(uint8_t type, uint32_t small) {
        TraceChunk* c = b_->chunk;
        int64_t dt = now_ - c->last;
        if (dt < 0) {  // a clock read on another CPU: never backwards
            dt = 0;
        } else {
            if (dt > int64_t(UINT32_MAX)) {
                EvOut t(c, kEvTime, 0, 0);
                t.arg(uint64_t(now_));
                dt = 0;
            }
            c->last = now_;
        }
        return EvOut(c, type, small, uint32_t(dt));
    }

  private:
    // makeRoom is the constructor's slow path: a new chunk, or none (the
    // event is dropped and counted), and the record of events lost before.
    GORT_NOINLINE void makeRoom(size_t bytes, uint32_t q) {
        TraceBuf* b = b_;
        size_t need = bytes + kTimeBytes + (b->lost != 0 ? kLostBytes : 0);
        if (b->chunk == nullptr || b->chunk->used + need > sizeof b->chunk->data) {
            if (!refill(b)) {
                if (b->lost++ == 0) b->lostSince = now_;
                tr.dropped.fetch_add(1, std::memory_order_relaxed);
                b->seq.store(q + 2, std::memory_order_release);
                b_ = nullptr;
                return;
            }
            b->chunk->base = b->chunk->last = now_;
        }
        if (b->lost != 0) {
            EvOut o = head(kEvLost, 0);
            o.arg(b->lost);
            o.arg(uint64_t(b->lostSince));
            b->lost = 0;
        }
    }

    static constexpr size_t kLostBytes = evMaxBytes(2, 0);
    static constexpr size_t kTimeBytes = evMaxBytes(1, 0);
    TraceBuf* b_;
    int64_t now_ = 0;
};

// Target is the buffer the calling thread records into: its M's (made on
// the M's first event of the session, which describes the track), or the
// shared one of threads without an M.
class Target {
  public:
    explicit Target(M* m) {
        if (m != nullptr) {
            b_ = bufOf(m);
        } else if (tr.noMLock.tryLock()) {
            b_ = &tr.noM;
            locked_ = true;
        }
    }
    Target() : Target(getm()) {}
    ~Target() {
        if (locked_) tr.noMLock.unlock();
    }
    Target(const Target&) = delete;
    Target& operator=(const Target&) = delete;
    TraceBuf* buf() const { return b_; }

  private:
    static TraceBuf* bufOf(M* m);
    TraceBuf* b_ = nullptr;
    bool locked_ = false;
};

// describeM records the calling thread's M: origin, thread, name.
void describeM(TraceBuf* b, M* m) {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    size_t n = strnlen(name, sizeof name);
    Rec r(b, evMaxBytes(3, n));
    if (!r) return;
    uint32_t flags = uint32_t(m->origin) | (m->isTemplate ? kMTemplate : 0) |
                     (m->isSysmon ? kMSysmon : 0) | (m->isExtra ? kMExtra : 0) |
                     (m->byTemplate ? kMByTemplate : 0);
    EvOut o = r.head(kEvMInfo, flags);
    o.arg(uint64_t(m->id));
    o.arg(uint64_t(__atomic_load_n(&m->procid, __ATOMIC_ACQUIRE)));
    o.str(name, n);
}

TraceBuf* Target::bufOf(M* m) {
    uint32_t gen = tr.gen.load(std::memory_order_relaxed);
    if (GORT_LIKELY(m->traceGen == gen && m->traceBuf != nullptr)) return m->traceBuf;
    TraceBuf* b = newBuf(m->id);
    if (b == nullptr) return nullptr;
    m->traceBuf = b;
    m->traceGen = gen;
    describeM(b, m);
    return b;
}

// ---- events -------------------------------------------------------------------------------

// event records a fixed-size event on the calling thread's track.
template <class... A>
void event(M* m, uint8_t type, uint32_t small, A... args) {
    Target t(m);
    if (t.buf() == nullptr) return;
    static_assert(sizeof...(A) <= kEvMaxArgs);
    Rec r(t.buf(), evMaxBytes(sizeof...(A), 0));
    if (!r) return;
    EvOut o = r.head(type, small);
    (o.arg(uint64_t(args)), ...);
}

uint64_t newFlow(TraceBuf* b) {
    return (uint64_t(b->index) << 40) | ++b->flowSeq;
}

uint64_t curGoid() {
    G* gp = getg();
    return gp != nullptr ? uint64_t(gp->goid) : 0;
}

// flowEvent records an unpark or a creation of gp, with a new flow id.
void flowEvent(uint8_t type, G* gp) {
    Target t;
    if (t.buf() == nullptr) return;
    Rec r(t.buf(), evMaxBytes(3, 0));
    if (!r) return;
    uint64_t flow = newFlow(t.buf());
    EvOut o = r.head(type, 0);
    o.arg(uint64_t(gp->goid));
    o.arg(flow);
    o.arg(curGoid());
    gp->traceFlow = flow;
}

// nameGoroutine records gp's name the first time gp runs in this session.
void nameGoroutine(TraceBuf* b, G* gp) {
    uint32_t gen = tr.gen.load(std::memory_order_relaxed);
    if (gp->traceGen == gen && gp->traceNamedGoid == gp->goid) return;
    gp->traceGen = gen;
    gp->traceNamedGoid = gp->goid;
    if (gp->name == nullptr) return;
    size_t n = strnlen(gp->name, 200);
    Rec r(b, evMaxBytes(1, n));
    if (!r) return;
    EvOut o = r.head(kEvGoName, 0);
    o.arg(uint64_t(gp->goid));
    o.str(gp->name, n);
}

// counterP samples the run queue of m's P, at most once a millisecond.
void counterP(TraceBuf* b, M* m, int64_t now) {
    P* p = m->p;
    if (p == nullptr || now - b->lastCounter < tr.ticksPerMs.load(std::memory_order_relaxed))
        return;
    b->lastCounter = now;
    uint32_t len =
        p->runqtail.load(std::memory_order_relaxed) - p->runqhead.load(std::memory_order_relaxed);
    if (p->runnext.load(std::memory_order_relaxed) != nullptr) len++;
    Rec r(b, evMaxBytes(2, 0));
    if (!r) return;
    EvOut o = r.head(kEvCounter, kCounterPRunq);
    o.arg(len);
    o.arg(uint64_t(p->id));
}

}  // namespace

// ---- event sites' slow paths ----------------------------------------------------------------

void traceSwitchSlow(M* m, G* from, G* to, bool dying) {
    Target t(m);
    TraceBuf* b = t.buf();
    if (b == nullptr) return;
    bool fromUser = from != m->g0;
    bool toUser = to != m->g0;
    if (toUser) nameGoroutine(b, to);
    uint32_t reason = kStopNone;
    if (fromUser) {
        reason = dying                         ? kStopExit
                 : from->waitreason != nullptr ? kStopPark
                 : from->status() == Gsyscall  ? kStopSyscall
                                               : kStopYield;
    }
    int64_t now;
    {
        Rec r(b, evMaxBytes(4, 0));
        if (!r) return;
        now = r.now();
        EvOut o = r.head(kEvSwitch, reason);
        o.arg(fromUser ? uint64_t(from->goid) : 0);
        o.arg(toUser ? uint64_t(to->goid) : 0);
        o.arg(toUser ? to->traceFlow : 0);
        o.arg(reason == kStopPark ? reinterpret_cast<uintptr_t>(from->waitreason) : 0);
    }
    if (toUser) {
        to->traceFlow = 0;
        counterP(b, m, now);
    }
}

void traceGoUnparkSlow(G* gp) {
    flowEvent(kEvUnpark, gp);
}

void traceGoCreateSlow(G* gp) {
    flowEvent(kEvCreate, gp);
}

void traceSliceBeginSlow(TraceSlice kind, G* gp, const void* fn) {
    event(getm(), kEvSliceBegin, uint32_t(kind), gp->goid, reinterpret_cast<uintptr_t>(fn));
}

void traceSliceEndSlow(TraceSlice kind, G* gp, bool endsRun) {
    event(getm(), kEvSliceEnd, uint32_t(kind) | (endsRun ? kEndsRun : 0), gp->goid);
}

void traceIdleSlow(M* m, TraceIdle why, bool begin) {
    event(m, kEvIdle, uint32_t(why) | (begin ? kIdleBegin : 0));
}

void traceRetakeSlow(P* p) {
    event(getm(), kEvRetake, 0, p->id);
}

void traceHandoffSlow(P* p, TraceHandoff how) {
    event(getm(), kEvHandoff, uint32_t(how), p->id);
}

void traceStealSlow(P* p, P* from, uint32_t n) {
    event(getm(), kEvSteal, 0, p->id, from->id, n);
}

void traceNewmSlow(int64_t id, uint32_t origin) {
    M* cur = getm();
    bool byTemplate = cur != nullptr && cur->isTemplate;
    event(cur, kEvNewm, origin | (byTemplate ? kMByTemplate : 0), id);
}

void traceTemplateHandoffSlow(M* mp) {
    event(getm(), kEvTemplateHandoff, 0, mp->id);
}

void traceStartLockedSlow(M* to, G* gp) {
    event(getm(), kEvStartLocked, 0, to->id, gp->goid);
}

void traceMStartSlow(M* m) {
    event(m, kEvMStart, 0, m->id);
}

void traceMExitSlow(M* m) {
    event(m, kEvMExit, 0, m->id);
    // Hand the rest of its buffer to the writer now: the M is going away.
    if (m->traceGen != tr.gen.load(std::memory_order_relaxed) || m->traceBuf == nullptr) return;
    TraceBuf* b = m->traceBuf;
    Rec r(b, 0);
    if (!r || b->chunk == nullptr) return;
    TraceChunk* c = b->chunk;
    b->chunk = nullptr;
    tr.lock.lock();
    bool wake = queueFullLocked(c);
    tr.lock.unlock();
    if (wake) wakeWriter();
}

void traceBindSlow(M* m, bool bind) {
    if (bind) {
        Target t(m);
        if (t.buf() != nullptr && m->traceBuf == t.buf()) describeM(t.buf(), m);
    }
    event(m, kEvBind, bind ? 1 : 0, __atomic_load_n(&m->procid, __ATOMIC_ACQUIRE));
}

void traceCountIdleSlow(int32_t idlePs, int32_t idleMs) {
    event(getm(), kEvCounter, kCounterIdle, idlePs, idleMs);
}

void traceCountGlobalRunqSlow(int32_t n) {
    event(getm(), kEvCounter, kCounterGlobalRunq, n);
}

}  // namespace gort
