// The execution tracer's writer: the background thread's half, turning
// the recorders' binary events into Chrome trace event JSON, per track
// (see the top of trace.cpp: "Writing").
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/dump.h"
#include "runtime/errors.h"
#include "runtime/proc.h"
#include "runtime/trace.h"
#include "runtime/trace_format.h"

namespace gort {

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

}  // namespace

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

void TraceWriter::switchEvent(Track& t, int64_t tid, const Ev* h, int64_t ts) {
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

void TraceWriter::event(Track& t, int64_t tid, const Ev* h) {
    // Timestamps never go back along a track (clock reads on different CPUs).
    int64_t ts = clock_.ns(h->ts) - t0_;
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
            if (h->strLen > 0) n += ", '" + std::string(h->str, h->strLen) + "'";
            n += ")";
            t.name = n;
            break;
        }
        case kEvSwitch:
            switchEvent(t, tid, h, ts);
            break;
        case kEvGoName:
            gnames_[int64_t(a[0])] = std::string(h->str, h->strLen);
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
            int64_t since = clock_.ns(int64_t(a[1])) - t0_;
            closeAll(t, tid, since > t.last ? t.last : since);
            emit(tid, 'i', ts, "events dropped", "trace", sarg("count", a[0]), ",\"s\":\"t\"");
            break;
        }
        default:
            break;
    }
}

uint32_t evDecode(const TraceChunk* c, uint32_t off, int64_t& ts, Ev* e) {
    const char* p = c->data + off;
    const char* end = c->data + c->used;
    EvHead h;
    if (end - p < ptrdiff_t(sizeof h)) return 0;
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    unsigned n = h.shape & 0xf, wide = h.shape >> 4;
    if (n > kEvMaxArgs) return 0;
    for (unsigned i = 0; i < n; i++) {
        size_t w = (wide >> i) & 1 ? 8 : 4;
        if (end - p < ptrdiff_t(w)) return 0;
        uint64_t v = 0;
        if (w == 8) {
            memcpy(&v, p, 8);
        } else {
            uint32_t x;
            memcpy(&x, p, 4);
            v = x;
        }
        e->arg[i] = v;
        p += w;
    }
    for (unsigned i = n; i < kEvMaxArgs; i++) e->arg[i] = 0;  // none left from the last event
    e->type = h.type;
    e->small = h.small;
    e->nargs = uint8_t(n);
    e->strLen = 0;
    e->str = nullptr;
    if (evHasString(h.type) && n > 0) {
        e->nargs--;
        uint64_t len = e->arg[e->nargs];
        size_t padded = (len + 3) & ~uint64_t(3);
        if (len > UINT16_MAX || end - p < ptrdiff_t(padded)) return 0;
        e->strLen = uint16_t(len);
        e->str = p;
        p += padded;
    }
    ts = h.type == kEvTime && n == 1 ? int64_t(e->arg[0]) : ts + int64_t(h.dt);
    e->ts = ts;
    return uint32_t(p - c->data);
}

void TraceWriter::chunk(const TraceChunk* c) {
    if (failed_) return;
    Track& t = tracks_[c->track];
    try {
        int64_t ts = c->base;
        Ev e;
        for (uint32_t off = 0; off < c->used;) {
            off = evDecode(c, off, ts, &e);
            if (off == 0) break;
            if (e.type != kEvTime) event(t, c->track, &e);
        }
    } catch (...) {
        failed_ = true;  // out of memory in the writer: the file ends here
    }
    flush(false);
}

void TraceWriter::finish(const TraceClock& clock, int64_t tEnd, uint64_t dropped) {
    clock_ = clock;
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
                 "\"CLOCK_MONOTONIC\",\"stamps\":\"%s\",\"events\":%llu,"
                 "\"dropped_events\":%llu,\"buffer_bytes\":%zu}}\n",
                 clock_.tsc ? "tsc" : "clock_gettime", (unsigned long long)events_,
                 (unsigned long long)dropped, bufferBytes_);
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

}  // namespace gort
