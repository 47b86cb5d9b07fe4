// The execution tracer's record format and its JSON writer, shared by the
// recorder (trace.cpp) and the writer (trace_writer.cpp). Internal: not
// installed. See the top of trace.cpp for the design.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gort {

// ---- the binary format -----------------------------------------------------------------

// An event is a head, then nargs arguments of 4 bytes each, or 8 for those
// whose bit is set in wide (an argument that fits in 32 bits takes 4), then,
// for the kinds that have one (evHasString), a string whose length is the
// last argument, padded to 4. Every record is a multiple of 4 bytes. dt
// counts ticks from the event before it in its chunk (the first, from the
// chunk's base); a gap wider than 32 bits is a kEvTime record first.
struct EvHead {
    uint8_t type;
    uint8_t shape;   // nargs (low 4 bits) | wide << 4
    uint16_t small;  // type-specific flags
    uint32_t dt;
};
static_assert(sizeof(EvHead) == 8);

constexpr size_t kEvMaxArgs = 4;  // counting a string's length

// evMaxBytes bounds the record of nargs arguments and a strLen-byte string.
constexpr size_t evMaxBytes(size_t nargs, size_t strLen) {
    return sizeof(EvHead) + 8 * nargs + (strLen > 0 ? 4 + ((strLen + 3) & ~size_t(3)) : 0);
}

// Ev is an event as the writer reads it back.
struct Ev {
    uint8_t type = 0;
    uint8_t nargs = 0;  // not counting a string's length
    uint16_t small = 0;
    uint16_t strLen = 0;
    int64_t ts = 0;  // the session's ticks (TraceClock)
    uint64_t arg[kEvMaxArgs] = {};
    const char* str = nullptr;
};

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
    kEvLost,             // a0 events lost, a1 since (ticks)
    kEvTime,             // a0 the ticks the next event's dt counts from
};

constexpr bool evHasString(uint8_t type) {
    return type == kEvMInfo || type == kEvGoName;
}

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

// TraceClock maps a session's ticks onto nanotime (trace.cpp's "Clock").
struct TraceClock {
    int64_t tick0 = 0, ns0 = 0;
    double nsPerTick = 1.0;
    bool tsc = false;  // the ticks are the TSC's (else nanotime's)
    int64_t ns(int64_t tick) const { return ns0 + int64_t(double(tick - tick0) * nsPerTick); }
};

struct TraceChunk {
    TraceChunk* next;
    int64_t track;
    int64_t base;  // the ticks the first event's dt counts from
    int64_t last;  // the last event's ticks (the recorder's)
    uint32_t used;
    alignas(8) char data[64 * 1024 - 40];
};
static_assert(sizeof(TraceChunk) == 64 * 1024);

// evDecode reads the event at off in c into e, with ts the ticks of the one
// before it (updated); it returns the offset of the next event, or 0 when
// the record does not fit in what c holds (a damaged spill).
uint32_t evDecode(const TraceChunk* c, uint32_t off, int64_t& ts, Ev* e);

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
    // finish turns the session's events into JSON with its clock (tEnd:
    // nanotime at the stop), closes what is open, writes the tracks' names
    // and the footer, closes the file and deletes the writer.
    void finish(const TraceClock& clock, int64_t tEnd, uint64_t dropped);
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

    void event(Track& t, int64_t tid, const Ev* h);
    void switchEvent(Track& t, int64_t tid, const Ev* h, int64_t ts);
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
    TraceClock clock_;
    bool first_ = true;
    bool failed_ = false;
    uint64_t events_ = 0;
    size_t bufferBytes_ = 0;
    std::string out_;
    std::map<int64_t, Track> tracks_;
    std::unordered_map<int64_t, std::string> gnames_;
    std::unordered_map<uint64_t, std::string> syms_;
};

}  // namespace gort
