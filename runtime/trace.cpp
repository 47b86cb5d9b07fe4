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
#include <linux/membarrier.h>
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

namespace gort {

std::atomic<bool> traceOn{false};

namespace {

// ---- the binary format -----------------------------------------------------------------

// An event: a head, nargs 64-bit arguments, then strLen bytes (padded to 8).
struct EvHead {
    uint8_t type;
    uint8_t nargs;
    uint16_t strLen;
    uint32_t small;  // type-specific flags
    int64_t ts;      // nanotime()
    uint64_t arg[];  // NOLINT: flexible array member (GNU extension, as in C)
};

constexpr size_t evBytes(size_t nargs, size_t strLen) {
    return sizeof(EvHead) + 8 * nargs + ((strLen + 7) & ~size_t(7));
}

char* evString(EvHead* h) {
    return reinterpret_cast<char*>(&h->arg[h->nargs]);
}
const char* evString(const EvHead* h) {
    return reinterpret_cast<const char*>(&h->arg[h->nargs]);
}

enum EvType : uint8_t {
    kEvMInfo = 1,        // a0 M id, a1 kernel tid; small: origin | kM* flags; str: thread name
    kEvSwitch,           // a0 from goid, a1 to goid (0: g0), a2 flow, a3 wait reason; small: kStop*
    kEvGoName,           // a0 goid; str: name
    kEvUnpark,           // a0 goid, a1 flow, a2 waker goid
    kEvCreate,           // a0 goid, a1 flow, a2 creator goid
    kEvSliceBegin,       // a0 goid, a1 fn; small: TraceSlice
    kEvSliceEnd,         // a0 goid; small: TraceSlice | kEndsRun
    kEvIdle,             // small: TraceIdle | kIdleBegin
    kEvRetake,           // a0 P id
    kEvHandoff,          // a0 P id; small: TraceHandoff
    kEvSteal,            // a0 P id, a1 victim P id, a2 goroutines
    kEvNewm,             // a0 new M id; small: origin | kMByTemplate
    kEvTemplateHandoff,  // a0 queued M id
    kEvStartLocked,      // a0 M woken, a1 goid
    kEvMStart,           // a0 M id
    kEvMExit,            // a0 M id
    kEvBind,             // a0 kernel tid; small: 1 bind, 0 release
    kEvCounter,          // small: kCounter*; args below
    kEvLost,             // a0 events lost, a1 since (ns)
};

constexpr uint32_t kMTemplate = 1u << 4, kMSysmon = 1u << 5, kMExtra = 1u << 6,
                   kMByTemplate = 1u << 7;
constexpr uint32_t kEndsRun = 1u << 8, kIdleBegin = 1u << 8;
enum : uint32_t { kStopNone, kStopYield, kStopPark, kStopSyscall, kStopExit };
enum : uint32_t {
    kCounterIdle,        // a0 idle Ps, a1 idle Ms
    kCounterGlobalRunq,  // a0 length
    kCounterPRunq,       // a0 length, a1 P id
};
constexpr int64_t kNoMTrack = 1'000'000;  // the track of threads without an M

}  // namespace

struct TraceChunk {
    TraceChunk* next;
    int64_t track;
    uint32_t used;
    alignas(8) char data[64 * 1024 - 24];
};

// TraceBuf is one M's buffer in one session (see the top of the file).
struct TraceBuf {
    std::atomic<uint32_t> seq{0};  // odd while an event is being recorded
    TraceChunk* chunk = nullptr;
    int64_t track = 0;
    uint64_t lost = 0;  // events dropped since the last one recorded
    int64_t lostSince = 0;
    uint64_t flowSeq = 0;
    int64_t lastCounter = 0;  // when its P's run queue was last sampled
    uint32_t index = 0;       // in the session (flow ids)
    uint32_t freeGen = 0;     // the session that gave it up
    bool inSession = false;
    TraceBuf* next = nullptr;     // the session's buffers
    TraceBuf* allNext = nullptr;  // every buffer
};

namespace {

// TraceWriter turns events into the JSON file (the writer thread only).
class TraceWriter {
  public:
    static TraceWriter* open(const char* path);
    void begin(int64_t t0, size_t bufferBytes);
    // spill saves a chunk's events as they are (while the trace runs, the
    // writer only copies them out: turning them into JSON costs more than
    // recording them); finish turns them into JSON.
    void spill(const TraceChunk* c);
    void chunk(const TraceChunk* c);
    // finish closes what is open, writes the tracks' names and the footer,
    // closes the file and deletes the writer.
    void finish(int64_t tEnd, uint64_t dropped);
    void abandon();

  private:
    struct Open {
        uint8_t kind;   // kRun, kNested, kIdleSlice
        uint8_t slice;  // TraceSlice or TraceIdle
        int64_t goid;
        uint64_t fn;
    };
    enum : uint8_t { kRun, kNested, kIdleSlice };
    struct Track {
        std::string name;
        int64_t last = 0;
        std::vector<Open> stack;
        // Nested slices of goroutines switched away inside them.
        std::unordered_map<int64_t, std::vector<Open>> saved;
    };

    void event(Track& t, int64_t tid, const EvHead* h);
    void switchEvent(Track& t, int64_t tid, const EvHead* h, int64_t ts);
    void openSlice(Track& t, int64_t tid, const Open& o, int64_t ts, bool resumed);
    void closeTop(Track& t, int64_t tid, int64_t ts, const char* reason);
    void closeAll(Track& t, int64_t tid, int64_t ts);
    void emit(int64_t tid, char ph, int64_t ts, std::string_view name, std::string_view cat,
              std::string_view args, std::string_view extra = {});
    std::string sliceName(const Open& o);
    const std::string& symbol(uint64_t fn);
    void flush(bool force);

    int fd_ = -1;
    int spillFd_ = -1;
    bool spillFailed_ = false;
    int pid_ = 0;
    int64_t t0_ = 0;
    bool first_ = true;
    bool failed_ = false;
    uint64_t events_ = 0;
    size_t bufferBytes_ = 0;
    std::string out_;
    std::map<int64_t, Track> tracks_;
    std::unordered_map<int64_t, std::string> gnames_;
    std::unordered_map<uint64_t, std::string> syms_;
};

constexpr size_t kDefaultBufferBytes = size_t(64) << 20;

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
    SpinLock lock;
    // Chunks: full ones in write order, free ones, how many exist.
    TraceChunk* fullHead = nullptr;
    TraceChunk* fullTail = nullptr;
    TraceChunk* freeList = nullptr;
    size_t chunks = 0, maxChunks = 0;
    // Every buffer ever made (reused across sessions), and this session's.
    TraceBuf* allBufs = nullptr;
    TraceBuf* bufs = nullptr;
    uint32_t nbufs = 0;
    bool closed = true;  // no buffer may join (stopped, or stopping)
    TraceBuf noM;        // threads without an M (under noMLock)
    SpinLock noMLock;

    std::atomic<uint32_t> gen{0};  // session number (M::traceGen, G::traceGen)
    std::atomic<uint64_t> dropped{0};
    std::atomic<uint32_t> wake{0};  // the writer's futex word
    std::atomic<bool> stopWriter{false};
    std::atomic<int> writerTid{0};
    pthread_t writer{};
    TraceWriter* out = nullptr;
    uint64_t lastDropped = 0;
    bool strongFence = true;  // no membarrier: recorders fence themselves
};

constinit Session tr;
Mutex controlLock;  // serialises traceStart and traceStop

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

// queueFull hands a chunk to the writer (lock held).
void queueFullLocked(TraceChunk* c) {
    c->next = nullptr;
    if (tr.fullTail != nullptr) {
        tr.fullTail->next = c;
    } else {
        tr.fullHead = c;
    }
    tr.fullTail = c;
}

void wakeWriter() {
    tr.wake.fetch_add(1, std::memory_order_release);
    futexwakeup(&tr.wake, 1);
}

// refill swaps b's full chunk for a fresh one; false if none is left.
bool refill(TraceBuf* b) {
    if (TraceChunk* old = b->chunk) {
        b->chunk = nullptr;
        tr.lock.lock();
        queueFullLocked(old);
        tr.lock.unlock();
        wakeWriter();
    }
    b->chunk = takeChunk();
    if (b->chunk != nullptr) b->chunk->track = b->track;
    return b->chunk != nullptr;
}

// ---- buffers ---------------------------------------------------------------------------

// newBuf takes a buffer for a track, from earlier sessions' or a new one.
TraceBuf* newBuf(int64_t track) {
    tr.lock.lock();
    if (tr.closed) {
        tr.lock.unlock();
        return nullptr;
    }
    TraceBuf* b = nullptr;
    for (TraceBuf* x = tr.allBufs; x != nullptr; x = x->allNext) {
        if (x->freeGen != tr.gen.load(std::memory_order_relaxed) && x->inSession == false) {
            b = x;
            break;
        }
    }
    tr.lock.unlock();
    if (b == nullptr) {
        void* p = mmap(nullptr, sizeof(TraceBuf), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        b = new (p) TraceBuf();
        tr.lock.lock();
        b->allNext = tr.allBufs;
        tr.allBufs = b;
        tr.lock.unlock();
    }
    tr.lock.lock();
    if (tr.closed) {
        tr.lock.unlock();
        return nullptr;
    }
    b->inSession = true;
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

// Recording into a buffer: begin makes room for `bytes` (false: the event
// is dropped), put* fill it in, end publishes it.
class Rec {
  public:
    Rec(TraceBuf* b, size_t bytes) : b_(b) {
        uint32_t q = b->seq.load(std::memory_order_relaxed);
        if (q & 1) {  // re-entered on this thread (a signal handler)
            b->lost++;
            b_ = nullptr;
            return;
        }
        if (tr.strongFence) {
            // No membarrier: the store itself is the full barrier (a locked
            // exchange: what a seq_cst fence after it would give, and
            // ThreadSanitizer understands it, unlike a fence).
            b->seq.exchange(q + 1, std::memory_order_seq_cst);
        } else {
            b->seq.store(q + 1, std::memory_order_relaxed);
            std::atomic_signal_fence(std::memory_order_seq_cst);
        }
        if (!traceOn.load(std::memory_order_relaxed)) {
            b->seq.store(q + 2, std::memory_order_release);
            b_ = nullptr;
            return;
        }
        now_ = nanotime();
        size_t need = bytes + (b->lost != 0 ? kLostBytes : 0);
        if (b->chunk == nullptr || b->chunk->used + need > sizeof b->chunk->data) {
            if (!refill(b)) {
                if (b->lost++ == 0) b->lostSince = now_;
                tr.dropped.fetch_add(1, std::memory_order_relaxed);
                b->seq.store(q + 2, std::memory_order_release);
                b_ = nullptr;
                return;
            }
        }
        if (b->lost != 0) {
            EvHead* h = head(kEvLost, 0, 2);
            h->arg[0] = b->lost;
            h->arg[1] = uint64_t(b->lostSince);
            b->lost = 0;
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

    // head appends an event with nargs arguments and returns it.
    EvHead* head(uint8_t type, uint32_t small, uint8_t nargs, uint16_t strLen = 0) {
        TraceChunk* c = b_->chunk;
        auto* h = reinterpret_cast<EvHead*>(c->data + c->used);
        h->type = type;
        h->nargs = nargs;
        h->strLen = strLen;
        h->small = small;
        h->ts = now_;
        c->used += evBytes(nargs, strLen);
        return h;
    }

  private:
    static constexpr size_t kLostBytes = evBytes(2, 0);
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
    Rec r(b, evBytes(3, uint16_t(n)));
    if (!r) return;
    uint32_t flags = uint32_t(m->origin) | (m->isTemplate ? kMTemplate : 0) |
                     (m->isSysmon ? kMSysmon : 0) | (m->isExtra ? kMExtra : 0) |
                     (m->byTemplate ? kMByTemplate : 0);
    EvHead* h = r.head(kEvMInfo, flags, 3, uint16_t(n));
    h->arg[0] = uint64_t(m->id);
    h->arg[1] = uint64_t(__atomic_load_n(&m->procid, __ATOMIC_ACQUIRE));
    h->arg[2] = 0;
    memcpy(evString(h), name, n);
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
    constexpr auto n = uint8_t(sizeof...(A));
    Rec r(t.buf(), evBytes(n, 0));
    if (!r) return;
    EvHead* h = r.head(type, small, n);
    uint64_t vals[] = {uint64_t(args)..., 0};
    for (uint8_t i = 0; i < n; i++) h->arg[i] = vals[i];
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
    Rec r(t.buf(), evBytes(3, 0));
    if (!r) return;
    uint64_t flow = newFlow(t.buf());
    EvHead* h = r.head(type, 0, 3);
    h->arg[0] = uint64_t(gp->goid);
    h->arg[1] = flow;
    h->arg[2] = curGoid();
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
    Rec r(b, evBytes(1, uint16_t(n)));
    if (!r) return;
    EvHead* h = r.head(kEvGoName, 0, 1, uint16_t(n));
    h->arg[0] = uint64_t(gp->goid);
    memcpy(evString(h), gp->name, n);
}

// counterP samples the run queue of m's P, at most once a millisecond.
void counterP(TraceBuf* b, M* m, int64_t now) {
    P* p = m->p;
    if (p == nullptr || now - b->lastCounter < 1'000'000) return;
    b->lastCounter = now;
    uint32_t len =
        p->runqtail.load(std::memory_order_relaxed) - p->runqhead.load(std::memory_order_relaxed);
    if (p->runnext.load(std::memory_order_relaxed) != nullptr) len++;
    Rec r(b, evBytes(2, 0));
    if (!r) return;
    EvHead* h = r.head(kEvCounter, kCounterPRunq, 2);
    h->arg[0] = len;
    h->arg[1] = uint64_t(p->id);
}

void* writerMain(void*);

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
        Rec r(b, evBytes(4, 0));
        if (!r) return;
        now = r.now();
        EvHead* h = r.head(kEvSwitch, reason, 4);
        h->arg[0] = fromUser ? uint64_t(from->goid) : 0;
        h->arg[1] = toUser ? uint64_t(to->goid) : 0;
        h->arg[2] = toUser ? to->traceFlow : 0;
        h->arg[3] = reason == kStopPark ? reinterpret_cast<uintptr_t>(from->waitreason) : 0;
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
    queueFullLocked(c);
    tr.lock.unlock();
    wakeWriter();
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

// ---- the JSON writer ------------------------------------------------------------------------

namespace {

const char* const kSliceNames[] = {"", "cgocall", "blocking region", "callback"};
const char* const kSliceCats[] = {"", "cgo", "syscall", "callback"};
const char* const kOrigins[] = {"native", "hook", "C thread"};
const char* const kStops[] = {"", "yield", "park", "no P after system call", "exit"};
const char* const kHandoffs[] = {"", "startm (work queued)", "startm (spinning)", "idle"};

void appendEscaped(std::string& out, std::string_view v) {
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
}

// Fmt builds a short piece of JSON on the stack (no allocation).
class Fmt {
  public:
    Fmt& put(std::string_view v) {
        size_t n = std::min(v.size(), sizeof buf_ - 1 - len_);
        memcpy(buf_ + len_, v.data(), n);
        len_ += n;
        return *this;
    }
    Fmt& num(int64_t v) {
        char tmp[24];
        int i = 0;
        bool neg = v < 0;
        uint64_t u = neg ? 0 - uint64_t(v) : uint64_t(v);
        do {
            tmp[i++] = char('0' + u % 10);
            u /= 10;
        } while (u != 0);
        if (neg) tmp[i++] = '-';
        while (i > 0 && len_ < sizeof buf_ - 1) buf_[len_++] = tmp[--i];
        return *this;
    }
    std::string_view view() const { return {buf_, len_}; }

  private:
    char buf_[480];
    size_t len_ = 0;
};

std::string quoted(std::string_view v) {
    std::string s = "\"";
    appendEscaped(s, v);
    s += '"';
    return s;
}

TraceWriter* TraceWriter::open(const char* path) {
    int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return nullptr;
    auto* w = new (std::nothrow) TraceWriter();
    if (w == nullptr) {
        ::close(fd);
        errno = ENOMEM;
        return nullptr;
    }
    w->fd_ = fd;
    w->pid_ = int(getpid());
    // The spill file sits beside the trace, unlinked at once.
    std::string spill;
    try {
        spill = std::string(path) + ".spill-" + std::to_string(w->pid_);
    } catch (...) {
        w->abandon();
        errno = ENOMEM;
        return nullptr;
    }
    w->spillFd_ = ::open(spill.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->spillFd_ < 0) {
        int err = errno;
        w->abandon();
        errno = err;
        return nullptr;
    }
    unlink(spill.c_str());
    return w;
}

void TraceWriter::spill(const TraceChunk* c) {
    size_t n = offsetof(TraceChunk, data) + c->used;
    const char* p = reinterpret_cast<const char*>(c);
    while (n > 0 && !spillFailed_) {
        ssize_t w = ::write(spillFd_, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) spillFailed_ = true;  // a full disk: the trace ends here
        if (w > 0) {
            p += w;
            n -= size_t(w);
        }
    }
}

void TraceWriter::begin(int64_t t0, size_t bufferBytes) {
    t0_ = t0;
    bufferBytes_ = bufferBytes;
    out_ = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    char buf[160];
    snprintf(buf, sizeof buf,
             "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,"
             "\"args\":{\"name\":\"gort (pid %d)\"}}",
             pid_, pid_);
    out_ += buf;
    first_ = false;
}

void TraceWriter::flush(bool force) {
    if (!force && out_.size() < (256u << 10)) return;
    const char* p = out_.data();
    size_t n = out_.size();
    while (n > 0 && !failed_) {
        ssize_t w = ::write(fd_, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            failed_ = true;  // a full disk: the rest is lost, the runtime goes on
            break;
        }
        p += w;
        n -= size_t(w);
    }
    out_.clear();
}

void TraceWriter::emit(int64_t tid, char ph, int64_t ts, std::string_view name,
                       std::string_view cat, std::string_view args, std::string_view extra) {
    int64_t rel = ts < 0 ? 0 : ts;
    Fmt f;
    f.put(",\n{\"ph\":\"").put({&ph, 1}).put("\",\"ts\":").num(rel / 1000).put(".");
    char frac[3] = {char('0' + rel % 1000 / 100), char('0' + rel % 100 / 10), char('0' + rel % 10)};
    f.put({frac, 3}).put(",\"pid\":").num(pid_).put(",\"tid\":").num(tid);
    out_ += f.view();
    if (!name.empty()) {
        out_ += ",\"name\":\"";
        appendEscaped(out_, name);
        out_ += '"';
    }
    if (!cat.empty()) {
        out_ += ",\"cat\":\"";
        out_ += cat;
        out_ += '"';
    }
    if (!args.empty()) {
        out_ += ",\"args\":{";
        out_ += args;
        out_ += '}';
    }
    out_ += extra;
    out_ += '}';
    events_++;
}

const std::string& TraceWriter::symbol(uint64_t fn) {
    auto it = syms_.find(fn);
    if (it != syms_.end()) return it->second;
    std::string name;
    char buf[256];
    if (fn != 0 && symbolize(uintptr_t(fn), buf, sizeof buf)) {
        name = buf;
    } else if (fn != 0) {
        snprintf(buf, sizeof buf, "%#llx", (unsigned long long)fn);
        name = buf;
    }
    return syms_.emplace(fn, std::move(name)).first->second;
}

std::string TraceWriter::sliceName(const Open& o) {
    if (o.kind == kIdleSlice) {
        return o.slice == uint8_t(TraceIdle::lockedm) ? "wait for locked goroutine" : "idle (no P)";
    }
    if (o.kind == kRun) {
        std::string n = "G" + std::to_string(o.goid);
        auto it = gnames_.find(o.goid);
        if (it != gnames_.end()) n += " " + it->second;
        return n;
    }
    std::string n = kSliceNames[o.slice % 4];
    if (o.fn != 0) n += " " + symbol(o.fn);
    return n;
}

void TraceWriter::openSlice(Track& t, int64_t tid, const Open& o, int64_t ts, bool resumed) {
    t.stack.push_back(o);
    Fmt args;
    if (o.kind == kRun || o.kind == kNested) args.put("\"goid\":").num(o.goid);
    if (resumed) args.put(",\"resumed\":true");
    if (o.kind == kRun) {
        Fmt name;
        name.put("G").num(o.goid);
        if (!gnames_.empty()) {
            auto it = gnames_.find(o.goid);
            if (it != gnames_.end()) name.put(" ").put(it->second);
        }
        emit(tid, 'B', ts, name.view(), "goroutine", args.view());
        return;
    }
    const char* cat = o.kind == kIdleSlice ? "sched" : kSliceCats[o.slice % 4];
    emit(tid, 'B', ts, sliceName(o), cat, args.view());
}

void TraceWriter::closeTop(Track& t, int64_t tid, int64_t ts, const char* reason) {
    t.stack.pop_back();
    std::string args;
    if (reason != nullptr && reason[0] != 0) args = "\"reason\":" + quoted(reason);
    emit(tid, 'E', ts, {}, {}, args);
}

void TraceWriter::closeAll(Track& t, int64_t tid, int64_t ts) {
    while (!t.stack.empty()) closeTop(t, tid, ts, nullptr);
}

void TraceWriter::switchEvent(Track& t, int64_t tid, const EvHead* h, int64_t ts) {
    auto from = int64_t(h->arg[0]), to = int64_t(h->arg[1]);
    uint64_t flow = h->arg[2];
    const char* wait = reinterpret_cast<const char*>(h->arg[3]);
    if (from != 0) {
        Fmt reason;
        reason.put("\"reason\":\"").put(kStops[h->small % 5]);
        if (h->small == kStopPark && wait != nullptr) {
            reason.put(": ").put(wait);
            Fmt name, args;
            name.put("park G").num(from);
            args.put("\"goid\":").num(from).put(",\"reason\":\"").put(wait).put("\"");
            emit(tid, 'i', ts, name.view(), "sched", args.view(), ",\"s\":\"t\"");
        }
        reason.put("\"");
        // Its run slice, and what is open inside it (kept for its return).
        size_t i = t.stack.size();
        while (i > 0 && !(t.stack[i - 1].kind == kRun && t.stack[i - 1].goid == from)) i--;
        if (i > 0) {
            if (i < t.stack.size()) {
                std::vector<Open> nested(t.stack.begin() + long(i), t.stack.end());
                while (t.stack.size() > i) closeTop(t, tid, ts, nullptr);
                if (h->small != kStopExit) t.saved[from] = std::move(nested);
            }
            t.stack.pop_back();
            emit(tid, 'E', ts, {}, {}, reason.view());
        }
    }
    if (to != 0) {
        closeAll(t, tid, ts);  // nothing else runs beside a goroutine on its M
        openSlice(t, tid, Open{kRun, 0, to, 0}, ts, false);
        if (flow != 0) {
            Fmt extra;
            extra.put(",\"bp\":\"e\",\"id\":").num(int64_t(flow));
            emit(tid, 'f', ts, "ready", "flow", {}, extra.view());
        }
        if (!t.saved.empty()) {
            auto it = t.saved.find(to);
            if (it != t.saved.end()) {
                for (const Open& o : it->second) openSlice(t, tid, o, ts, true);
                t.saved.erase(it);
            }
        }
    }
}

void TraceWriter::event(Track& t, int64_t tid, const EvHead* h) {
    // Timestamps never go back along a track (clock reads on different CPUs).
    int64_t ts = h->ts - t0_;
    if (ts < t.last) ts = t.last;
    t.last = ts;
    const uint64_t* a = h->arg;
    auto sarg = [](const char* k, uint64_t v) {
        return std::string("\"") + k + "\":" + std::to_string(int64_t(v));
    };
    switch (h->type) {
        case kEvMInfo: {
            uint32_t f = h->small;
            std::string n = "M" + std::to_string(a[0]);
            if (f & kMTemplate) {
                n += " template thread";
            } else if (f & kMSysmon) {
                n += " sysmon";
            } else if (f & kMExtra) {
                n += " extra M of a C thread";
            }
            n += std::string(" (") + kOrigins[(f & 0xf) % 3];
            if (f & kMByTemplate) n += ", made by the template thread";
            n += ", tid " + std::to_string(a[1]);
            if (h->strLen > 0) n += ", '" + std::string(evString(h), h->strLen) + "'";
            n += ")";
            t.name = n;
            break;
        }
        case kEvSwitch:
            switchEvent(t, tid, h, ts);
            break;
        case kEvGoName:
            gnames_[int64_t(a[0])] = std::string(evString(h), h->strLen);
            break;
        case kEvUnpark:
        case kEvCreate: {
            bool unpark = h->type == kEvUnpark;
            Fmt name, args, extra;
            name.put(unpark ? "unpark G" : "go G").num(int64_t(a[0]));
            args.put("\"goid\":").num(int64_t(a[0]));
            args.put(unpark ? ",\"by_goid\":" : ",\"creator_goid\":").num(int64_t(a[2]));
            emit(tid, 'i', ts, name.view(), "sched", args.view(), ",\"s\":\"t\"");
            extra.put(",\"id\":").num(int64_t(a[1]));
            emit(tid, 's', ts, "ready", "flow", {}, extra.view());
            break;
        }
        case kEvSliceBegin: {
            auto kind = uint8_t(h->small & 0xff);
            auto goid = int64_t(a[0]);
            bool inRun = false;
            for (const Open& o : t.stack) inRun |= o.kind == kRun && o.goid == goid;
            // A callback on a C thread's extra M starts that goroutine's run.
            if (!inRun) {
                closeAll(t, tid, ts);
                openSlice(t, tid, Open{kRun, 0, goid, 0}, ts, false);
            }
            openSlice(t, tid, Open{kNested, kind, goid, a[1]}, ts, false);
            break;
        }
        case kEvSliceEnd: {
            auto kind = uint8_t(h->small & 0xff);
            if (!t.stack.empty() && t.stack.back().kind == kNested &&
                t.stack.back().slice == kind) {
                closeTop(t, tid, ts, nullptr);
            }
            if ((h->small & kEndsRun) && !t.stack.empty() && t.stack.back().kind == kRun &&
                t.stack.back().goid == int64_t(a[0])) {
                closeTop(t, tid, ts, "back in C");
            }
            break;
        }
        case kEvIdle:
            if (h->small & kIdleBegin) {
                closeAll(t, tid, ts);
                openSlice(t, tid, Open{kIdleSlice, uint8_t(h->small & 0xff), 0, 0}, ts, false);
            } else if (!t.stack.empty() && t.stack.back().kind == kIdleSlice) {
                closeTop(t, tid, ts, nullptr);
            }
            break;
        case kEvRetake:
            emit(tid, 'i', ts, "retake P" + std::to_string(a[0]), "sched", sarg("p", a[0]),
                 ",\"s\":\"t\"");
            break;
        case kEvHandoff:
            emit(tid, 'i', ts, "handoffp P" + std::to_string(a[0]), "sched",
                 sarg("p", a[0]) + ",\"how\":\"" + kHandoffs[h->small % 4] + "\"", ",\"s\":\"t\"");
            break;
        case kEvSteal:
            emit(tid, 'i', ts, "steal", "sched",
                 sarg("p", a[0]) + "," + sarg("from_p", a[1]) + "," + sarg("goroutines", a[2]),
                 ",\"s\":\"t\"");
            break;
        case kEvNewm: {
            bool byT = (h->small & kMByTemplate) != 0;
            emit(tid, 'i', ts, "newm M" + std::to_string(a[0]), "thread",
                 sarg("m", a[0]) + ",\"path\":\"" + kOrigins[(h->small & 0xf) % 3] +
                     "\",\"by_template_thread\":" + (byT ? "true" : "false"),
                 ",\"s\":\"t\"");
            break;
        }
        case kEvTemplateHandoff:
            emit(tid, 'i', ts, "handoff to template thread", "thread", sarg("m", a[0]),
                 ",\"s\":\"t\"");
            break;
        case kEvStartLocked:
            emit(tid, 'i', ts, "startlockedm M" + std::to_string(a[0]), "sched",
                 sarg("m", a[0]) + "," + sarg("goid", a[1]), ",\"s\":\"t\"");
            break;
        case kEvMStart:
        case kEvMExit:
            emit(tid, 'i', ts, h->type == kEvMStart ? "mstart" : "mexit", "thread", sarg("m", a[0]),
                 ",\"s\":\"t\"");
            if (h->type == kEvMExit) closeAll(t, tid, ts);
            break;
        case kEvBind:
            if (h->small == 0) closeAll(t, tid, ts);
            emit(tid, 'i', ts, h->small ? "bind C thread" : "release C thread", "thread",
                 sarg("tid", a[0]), ",\"s\":\"t\"");
            break;
        case kEvCounter:
            if (h->small == kCounterIdle) {
                emit(tid, 'C', ts, "idle", {}, sarg("Ps", a[0]) + "," + sarg("Ms", a[1]));
            } else if (h->small == kCounterGlobalRunq) {
                emit(tid, 'C', ts, "global runq", {}, sarg("goroutines", a[0]));
            } else {
                emit(tid, 'C', ts, "P" + std::to_string(a[1]) + " runq", {},
                     sarg("goroutines", a[0]));
            }
            break;
        case kEvLost: {
            int64_t since = int64_t(a[1]) - t0_;
            closeAll(t, tid, since > t.last ? t.last : since);
            emit(tid, 'i', ts, "events dropped", "trace", sarg("count", a[0]), ",\"s\":\"t\"");
            break;
        }
        default:
            break;
    }
}

void TraceWriter::chunk(const TraceChunk* c) {
    if (failed_) return;
    Track& t = tracks_[c->track];
    try {
        for (uint32_t off = 0; off < c->used;) {
            const auto* h = reinterpret_cast<const EvHead*>(c->data + off);
            event(t, c->track, h);
            off += uint32_t(evBytes(h->nargs, h->strLen));
        }
    } catch (...) {
        failed_ = true;  // out of memory in the writer: the file ends here
    }
    flush(false);
}

void TraceWriter::finish(int64_t tEnd, uint64_t dropped) {
    int64_t end = tEnd - t0_;
    // The spilled chunks, in the order they were written.
    if (lseek(spillFd_, 0, SEEK_SET) == 0) {
        static TraceChunk c;  // only the writer thread or the stopper use it, one at a time
        constexpr size_t kHead = offsetof(TraceChunk, data);
        for (;;) {
            if (::read(spillFd_, &c, kHead) != ssize_t(kHead) || c.used > sizeof c.data) break;
            if (::read(spillFd_, c.data, c.used) != ssize_t(c.used)) break;
            chunk(&c);
        }
    }
    try {
        tracks_[kNoMTrack];  // the global events' track is always named
        for (auto& [tid, t] : tracks_) {
            closeAll(t, tid, end > t.last ? end : t.last);
            std::string name = !t.name.empty()    ? t.name
                               : tid == kNoMTrack ? "threads without an M"
                                                  : "M" + std::to_string(tid);
            out_ += ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":" + std::to_string(pid_) +
                    ",\"tid\":" + std::to_string(tid) + ",\"args\":{\"name\":" + quoted(name) +
                    "}}";
            out_ +=
                ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":" + std::to_string(pid_) +
                ",\"tid\":" + std::to_string(tid) +
                ",\"args\":{\"sort_index\":" + std::to_string(tid) + "}}";
        }
        if (dropped > 0) {
            emit(kNoMTrack, 'i', end, "gort: " + std::to_string(dropped) + " events dropped",
                 "trace", "\"dropped_events\":" + std::to_string(dropped), ",\"s\":\"g\"");
        }
        char buf[256];
        snprintf(buf, sizeof buf,
                 "\n],\n\"otherData\":{\"generator\":\"gort runtime tracer\",\"clock\":"
                 "\"CLOCK_MONOTONIC\",\"events\":%llu,\"dropped_events\":%llu,"
                 "\"buffer_bytes\":%zu}}\n",
                 (unsigned long long)events_, (unsigned long long)dropped, bufferBytes_);
        out_ += buf;
    } catch (...) {
        failed_ = true;
    }
    flush(true);
    abandon();
}

void TraceWriter::abandon() {
    ::close(fd_);
    if (spillFd_ >= 0) ::close(spillFd_);
    delete this;
}

}  // namespace

// ---- control ------------------------------------------------------------------------------------

namespace {

// waitQuiet waits until no recorder is inside an event of b.
void waitQuiet(TraceBuf* b) {
    while (b->seq.load(std::memory_order_acquire) & 1) sched_yield();
}

void* writerMain(void*) {
    tr.writerTid.store(int(syscall(SYS_gettid)), std::memory_order_release);
    for (;;) {
        uint32_t w = tr.wake.load(std::memory_order_acquire);
        tr.lock.lock();
        TraceChunk* list = tr.fullHead;
        tr.fullHead = tr.fullTail = nullptr;
        tr.lock.unlock();
        if (list == nullptr) {
            if (tr.stopWriter.load(std::memory_order_acquire)) break;
            futexsleep(&tr.wake, w, 100'000'000);
            continue;
        }
        while (list != nullptr) {
            TraceChunk* next = list->next;
            tr.out->spill(list);
            tr.lock.lock();
            list->next = tr.freeList;
            tr.freeList = list;
            tr.lock.unlock();
            list = next;
        }
    }
    return nullptr;
}

bool registerMembarrier() {
#if defined(GORT_TSAN)
    return false;  // TSan does not see the kernel's barrier
#else
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

void freeChunks() {
    while (TraceChunk* c = tr.freeList) {
        tr.freeList = c->next;
        munmap(c, sizeof(TraceChunk));
    }
    tr.chunks = 0;
}

}  // namespace

int traceStart(const TraceOptions& o) {
    if (o.path == nullptr || o.path[0] == 0) return kEINVAL;
    LockGuard g(controlLock);
    if (tr.out != nullptr) return kEALREADY;
    TraceWriter* w = TraceWriter::open(o.path);
    if (w == nullptr) return kEINVAL;  // errno from open
    static bool membarrierOK = registerMembarrier();
    tr.strongFence = !membarrierOK;
    size_t bytes = o.bufferBytes != 0 ? o.bufferBytes : kDefaultBufferBytes;
    tr.maxChunks = bytes / sizeof(TraceChunk) > 0 ? bytes / sizeof(TraceChunk) : 1;
    tr.dropped.store(0, std::memory_order_relaxed);
    tr.stopWriter.store(false, std::memory_order_relaxed);
    tr.out = w;
    tr.noM.track = kNoMTrack;
    tr.noM.chunk = nullptr;
    tr.noM.lost = 0;
    tr.noM.index = 0;
    tr.lock.lock();
    tr.bufs = nullptr;
    tr.nbufs = 0;
    tr.closed = false;
    tr.gen.fetch_add(1, std::memory_order_relaxed);
    tr.lock.unlock();
    w->begin(nanotime(), tr.maxChunks * sizeof(TraceChunk));
    // The writer blocks every signal: they are the application's threads'.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&tr.writer, nullptr, writerMain, nullptr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (err != 0) {
        tr.lock.lock();
        tr.closed = true;
        tr.lock.unlock();
        w->abandon();
        tr.out = nullptr;
        errno = err;
        return kETHREAD;
    }
    while (tr.writerTid.load(std::memory_order_acquire) == 0) sched_yield();
    traceOn.store(true, std::memory_order_seq_cst);
    return kOK;
}

int traceStop() {
    LockGuard g(controlLock);
    if (tr.out == nullptr) return kEINVAL;
    traceOn.store(false, std::memory_order_seq_cst);
    if (!tr.strongFence) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    tr.lock.lock();
    tr.closed = true;  // no buffer joins from now on
    TraceBuf* bufs = tr.bufs;
    tr.lock.unlock();
    uint64_t lost = 0;
    tr.noMLock.lock();
    for (TraceBuf* b = bufs;; b = b->next) {
        TraceBuf* x = b != nullptr ? b : &tr.noM;
        waitQuiet(x);
        lost += x->lost;
        tr.lock.lock();
        if (x->chunk != nullptr) queueFullLocked(x->chunk);
        x->chunk = nullptr;
        x->inSession = false;
        x->freeGen = tr.gen.load(std::memory_order_relaxed);
        tr.lock.unlock();
        if (b == nullptr) break;
    }
    tr.noMLock.unlock();
    tr.stopWriter.store(true, std::memory_order_release);
    wakeWriter();
    pthread_join(tr.writer, nullptr);
    tr.writerTid.store(0, std::memory_order_release);
    (void)lost;  // already in tr.dropped
    tr.lastDropped = tr.dropped.load(std::memory_order_relaxed);
    tr.out->finish(nanotime(), tr.lastDropped);
    tr.out = nullptr;
    tr.lock.lock();
    freeChunks();
    tr.lock.unlock();
    return kOK;
}

void traceShutdown() {
    if (tr.out != nullptr) traceStop();
}

int traceWriterTid() {
    return tr.writerTid.load(std::memory_order_acquire);
}

uint64_t traceLastDropped() {
    return tr.lastDropped;
}

}  // namespace gort
