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

// An event: a head, nargs 64-bit arguments, then strLen bytes (padded to 8).
struct EvHead {
    uint8_t type;
    uint8_t nargs;
    uint16_t strLen;
    uint32_t small;  // type-specific flags
    int64_t ts;      // the session's ticks (TraceClock)
    uint64_t arg[];  // NOLINT: flexible array member (GNU extension, as in C)
};

constexpr size_t evBytes(size_t nargs, size_t strLen) {
    return sizeof(EvHead) + 8 * nargs + ((strLen + 7) & ~size_t(7));
}

inline char* evString(EvHead* h) {
    return reinterpret_cast<char*>(&h->arg[h->nargs]);
}
inline const char* evString(const EvHead* h) {
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
    uint32_t used;
    alignas(8) char data[64 * 1024 - 24];
};

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
