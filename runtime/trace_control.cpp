// The execution tracer's control side: the session clock, the writer
// thread, traceStart and traceStop (the design: the top of trace.cpp).
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/errors.h"
#include "runtime/futex.h"
#include "runtime/lock.h"
#include "runtime/procfence.h"
#include "runtime/trace.h"
#include "runtime/trace_session.h"

namespace gort {

namespace {

constexpr size_t kDefaultBufferBytes = size_t(64) << 20;
// The writer sleeps at most kWriterTickNs; kWakeBatch full chunks wake it.
constexpr int64_t kWriterTickNs = 10'000'000;
constexpr size_t kWakeBatch = 8;

Mutex controlLock;  // serialises traceStart and traceStop

// ---- the clock -------------------------------------------------------------------------

// tscKeepsTime: the kernel's clocksource is the TSC, so the TSC is invariant
// and synchronised across CPUs (the kernel checked both before choosing it).
bool tscKeepsTime() {
#if defined(__x86_64__)
    int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char name[16] = {};
    ssize_t n = read(fd, name, sizeof name - 1);
    close(fd);
    return n >= 3 && strncmp(name, "tsc", 3) == 0 && (n == 3 || name[3] == '\n');
#else
    return false;
#endif
}

// clockPair reads both clocks at once: nanotime between two tick reads, the
// closest of three tries.
ClockPair clockPair() {
    ClockPair best{};
    int64_t bestGap = INT64_MAX;
    for (int i = 0; i < 3; i++) {
        int64_t t0 = ticks();
        int64_t ns = nanotime();
        int64_t t1 = ticks();
        if (t1 - t0 < bestGap) {
            bestGap = t1 - t0;
            best = {t0 + (t1 - t0) / 2, ns};
        }
    }
    return best;
}

// startClock chooses the clock for a session and calibrates it.
void startClock(TraceClockChoice choice) {
    tr.tsc.store(choice == TraceClockChoice::automatic && tscKeepsTime(),
                 std::memory_order_relaxed);
    tr.clockStart = clockPair();
    if (!tr.tsc.load(std::memory_order_relaxed)) {
        tr.ticksPerMs.store(1'000'000, std::memory_order_relaxed);
        return;
    }
    int64_t until = tr.clockStart.ns + 100'000;
    while (nanotime() < until) __builtin_ia32_pause();
    ClockPair c = clockPair();
    int64_t perMs = (c.ticks - tr.clockStart.ticks) * 1'000'000 / (c.ns - tr.clockStart.ns);
    tr.ticksPerMs.store(perMs > 0 ? perMs : 1, std::memory_order_relaxed);
}

// sessionClock maps the session's ticks onto nanotime (after its last event).
TraceClock sessionClock() {
    TraceClock c;
    c.tick0 = tr.clockStart.ticks;
    c.ns0 = tr.clockStart.ns;
    if (tr.tsc.load(std::memory_order_relaxed)) {
        c.tsc = true;
        ClockPair end = clockPair();
        if (end.ticks > c.tick0) c.nsPerTick = double(end.ns - c.ns0) / double(end.ticks - c.tick0);
    } else {
        c.tick0 = c.ns0 = 0;  // the ticks are nanotime
    }
    return c;
}

// ---- control ------------------------------------------------------------------------------------

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
        tr.nfull = 0;
        tr.lock.unlock();
        if (list == nullptr) {
            if (tr.stopWriter.load(std::memory_order_acquire)) break;
            futexsleep(&tr.wake, w, kWriterTickNs);
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
    tr.strongFence.store(!processFenceOn(), std::memory_order_relaxed);
    size_t bytes = o.bufferBytes != 0 ? o.bufferBytes : kDefaultBufferBytes;
    tr.maxChunks = bytes / sizeof(TraceChunk) > 0 ? bytes / sizeof(TraceChunk) : 1;
    // Half the chunks may wait for the writer before one wakes it, at most
    // kWakeBatch: the recorders keep the other half to fill meanwhile.
    tr.wakeBatch = std::clamp<size_t>(tr.maxChunks / 2, 1, kWakeBatch);
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
    tr.nfull = 0;
    tr.closed = false;
    tr.gen.fetch_add(1, std::memory_order_relaxed);
    tr.lock.unlock();
    startClock(o.clock);
    w->begin(tr.clockStart.ns, tr.maxChunks * sizeof(TraceChunk));
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
    if (!tr.strongFence.load(std::memory_order_relaxed)) processFence();
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
    tr.out->finish(sessionClock(), nanotime(), tr.lastDropped);
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
