// The C ABI: channels, timer channels and select, on runtime/chan.h,
// runtime/chantimer.h and runtime/select.h.
#include <stdlib.h>

#include "capi.h"
#include "handles.h"
#include "runtime/chan.h"
#include "runtime/chantimer.h"
#include "runtime/opregion.h"
#include "runtime/select.h"

using namespace gort;
using capi::Kind;
using capi::Ref;
using capi::Unref;

namespace {

void destroyChan(void* c, void*) {
    chanrelease(static_cast<Chan*>(c));
}

// A gort_after channel's handle owns the timer: its last release stops it.
void destroyTimerChan(void*, void* timer) {
    static_cast<ChanTimer*>(timer)->destroy();
}

gort_chan* chanFail(int status) {
    return static_cast<gort_chan*>(capi::ctorFail(status));
}

// recvResult stores a receive's ok flag for the caller.
int recvResult(int rc, bool got, int* ok) {
    if (ok != nullptr && rc == GORT_OK) *ok = got ? 1 : 0;
    return rc;
}

// sendNow and recvNow are the attempts that never wait: a timed
// operation's first try, in an op region from goroutine code (handles.h:
// Unref), and all of try_send and try_recv. kEAGAIN: it would wait.
int sendNow(Chan* c, const void* elem) {
    if (c == nullptr || (elem == nullptr && chanelemsize(c) > 0)) return GORT_EINVAL;
    return chansend(c, elem, false);
}

int recvNow(Chan* c, void* out, int* ok) {
    if (c == nullptr) return GORT_EINVAL;
    bool got = false;
    int rc = chanrecv(c, out, false, &got);
    return rc == kEAGAIN ? rc : recvResult(rc, got, ok);
}

// sendTimeout and recvTimeout are the general paths of gort_chan_send_timeout
// and gort_chan_recv_timeout: every caller but a goroutine waiting forever
// on a valid channel (and that one when opBeginCall fails: then it is not
// goroutine code holding a P, or the runtime is not running).
GORT_NOINLINE int sendTimeout(gort_chan* ch, const void* elem, int64_t timeout_ns) {
    capi::Call call;
    if (!call) return call.status();
    if (Unref r; r) {
        int rc = sendNow(r.find<Chan>(ch, Kind::chan), elem);
        if (rc != kEAGAIN) return rc;
        if (timeout_ns == 0) return GORT_ETIMEDOUT;
    }
    Ref<Chan> c(ch, Kind::chan);
    if (!c || (elem == nullptr && chanelemsize(c.get()) > 0)) return GORT_EINVAL;
    if (timeout_ns == 0) {
        int rc = chansend(c.get(), elem, false);
        return rc == kEAGAIN ? GORT_ETIMEDOUT : rc;
    }
    if (timeout_ns < 0) return capi::inGoroutine([&] { return chansend(c.get(), elem, true); });
    int64_t deadline = capi::timeoutDeadline(timeout_ns);
    return capi::inGoroutine([&] { return chansendUntil(c.get(), elem, deadline); });
}

GORT_NOINLINE int recvTimeout(gort_chan* ch, void* out, int* ok, int64_t timeout_ns) {
    capi::Call call;
    if (!call) return call.status();
    if (Unref r; r) {
        int rc = recvNow(r.find<Chan>(ch, Kind::chan), out, ok);
        if (rc != kEAGAIN) return rc;
        if (timeout_ns == 0) return GORT_ETIMEDOUT;
    }
    Ref<Chan> c(ch, Kind::chan);
    if (!c) return GORT_EINVAL;
    bool got = false;
    int rc;
    if (timeout_ns == 0) {
        rc = chanrecv(c.get(), out, false, &got);
        if (rc == kEAGAIN) rc = GORT_ETIMEDOUT;
    } else if (timeout_ns < 0) {
        rc = capi::inGoroutine([&] { return chanrecv(c.get(), out, true, &got); });
    } else {
        int64_t deadline = capi::timeoutDeadline(timeout_ns);
        rc = capi::inGoroutine([&] { return chanrecvUntil(c.get(), out, deadline, &got); });
    }
    return recvResult(rc, got, ok);
}

}  // namespace

extern "C" {

GORT_API gort_chan* gort_chan_make(size_t elem_size, size_t cap) {
    capi::Call call;
    if (!call) return chanFail(call.status());
    Chan* c = nullptr;
    if (int rc = makechan(elem_size, cap, &c); rc != kOK) return chanFail(rc);
    // A large buffer is given back at its release, not with a batch (handles.h).
    constexpr size_t kBulkyBytes = 64 * 1024;
    bool bulky = cap > 0 && elem_size >= kBulkyBytes / cap;
    void* h = capi::handleAdd(Kind::chan, c, destroyChan, nullptr, bulky);
    if (h == nullptr) {
        chanrelease(c);
        return chanFail(kENOMEM);
    }
    return static_cast<gort_chan*>(h);
}

GORT_API gort_chan* gort_after(int64_t ns) {
    capi::Call call;
    if (!call) return chanFail(call.status());
    ChanTimer* t = ChanTimer::make(ns);
    if (t == nullptr) return chanFail(kENOMEM);
    void* h = capi::handleAdd(Kind::chan, t->chan(), destroyTimerChan, t);
    if (h == nullptr) {
        t->destroy();
        return chanFail(kENOMEM);
    }
    return static_cast<gort_chan*>(h);
}

GORT_API int gort_chan_send(gort_chan* ch, const void* elem) {
    return gort_chan_send_timeout(ch, elem, -1);
}

GORT_API int gort_chan_try_send(gort_chan* ch, const void* elem) {
    capi::Call call;
    if (!call) return call.status();
    if (Unref r; r) return sendNow(r.find<Chan>(ch, Kind::chan), elem);
    Ref<Chan> c(ch, Kind::chan);
    return sendNow(c.get(), elem);
}

GORT_API int gort_chan_recv(gort_chan* ch, void* out, int* ok) {
    return gort_chan_recv_timeout(ch, out, ok, -1);
}

// The common case, a goroutine that waits as long as it takes, gets an op
// region and tail-calls the runtime (chansendInRegion: a wait's switch in
// the frame it returns from). The region is opened by hand, not with an
// Unref: a destructor left to run after the call would keep the compiler
// from the tail call.
GORT_API int gort_chan_send_timeout(gort_chan* ch, const void* elem, int64_t timeout_ns) {
    if (timeout_ns < 0) {
        if (std::atomic<uint32_t>* w = opBeginCall(); w != nullptr) {
            auto* c = static_cast<Chan*>(capi::handlePeek(ch, Kind::chan));
            if (GORT_LIKELY(c != nullptr && (elem != nullptr || chanelemsize(c) == 0))) {
                return chansendInRegion(c, elem, w);
            }
            opEnd(w);
        }
    }
    return sendTimeout(ch, elem, timeout_ns);
}

GORT_API int gort_chan_recv_timeout(gort_chan* ch, void* out, int* ok, int64_t timeout_ns) {
    if (timeout_ns < 0) {
        if (std::atomic<uint32_t>* w = opBeginCall(); w != nullptr) {
            auto* c = static_cast<Chan*>(capi::handlePeek(ch, Kind::chan));
            if (GORT_LIKELY(c != nullptr)) return chanrecvInRegion(c, out, ok, w);
            opEnd(w);
        }
    }
    return recvTimeout(ch, out, ok, timeout_ns);
}

GORT_API int gort_chan_try_recv(gort_chan* ch, void* out, int* ok) {
    capi::Call call;
    if (!call) return call.status();
    if (Unref r; r) return recvNow(r.find<Chan>(ch, Kind::chan), out, ok);
    Ref<Chan> c(ch, Kind::chan);
    return recvNow(c.get(), out, ok);
}

GORT_API int gort_chan_close(gort_chan* ch) {
    capi::Call call;
    if (!call) return call.status();
    auto closeIt = [](Chan* c) { return c == nullptr ? int(GORT_EINVAL) : closechan(c); };
    if (Unref r; r) return closeIt(r.find<Chan>(ch, Kind::chan));  // wakes, never waits
    Ref<Chan> c(ch, Kind::chan);
    return closeIt(c.get());
}

GORT_API int gort_chan_retain(gort_chan* ch) {
    capi::Call call;
    if (!call) return call.status();
    return capi::handleRetain(ch, Kind::chan) == 0 ? GORT_OK : GORT_EINVAL;
}

GORT_API int gort_chan_release(gort_chan* ch) {
    capi::Call call;
    if (!call) return call.status();
    return capi::handleClose(ch, Kind::chan) == 0 ? GORT_OK : GORT_EINVAL;
}

GORT_API size_t gort_chan_len(gort_chan* ch) {
    capi::Call call;
    if (!call) return 0;
    Ref<Chan> c(ch, Kind::chan);
    return c ? chanlen(c.get()) : 0;
}

GORT_API size_t gort_chan_cap(gort_chan* ch) {
    capi::Call call;
    if (!call) return 0;
    Ref<Chan> c(ch, Kind::chan);
    return c ? chancap(c.get()) : 0;
}

}  // extern "C"

namespace {

// SelectCases turns gort_select_case[] into the runtime's cases, holding an
// operation reference on every channel handle for its lifetime (a few on
// the stack, more on the heap).
class SelectCases {
  public:
    static constexpr size_t kInline = 8;
    SelectCases(gort_select_case* cases, size_t n) : cases_(cases), n_(n) {}
    ~SelectCases() {
        for (size_t i = 0; i < acquired_; i++) {
            if (sc_[i].c != nullptr) capi::handleRelease(cases_[i].ch);
        }
        if (sc_ != inline_) free(sc_);
    }
    SelectCases(const SelectCases&) = delete;
    SelectCases& operator=(const SelectCases&) = delete;

    // build converts and validates the cases: GORT_OK, GORT_EINVAL or
    // GORT_ENOMEM.
    int build() {
        if (n_ > kInline) {
            sc_ = static_cast<SelectCase*>(calloc(n_, sizeof(SelectCase)));
            if (sc_ == nullptr) return GORT_ENOMEM;
        }
        for (; acquired_ < n_; acquired_++) {
            const gort_select_case& c = cases_[acquired_];
            SelectCase& s = sc_[acquired_];
            s = SelectCase{};
            if (c.dir != GORT_SELECT_SEND && c.dir != GORT_SELECT_RECV) return GORT_EINVAL;
            s.dir = c.dir == GORT_SELECT_SEND ? kSelectSend : kSelectRecv;
            s.elem = c.elem;
            if (c.ch == nullptr) continue;  // never ready
            auto* ch = static_cast<Chan*>(capi::handleAcquire(c.ch, Kind::chan));
            if (ch == nullptr) return GORT_EINVAL;
            s.c = ch;
            if (c.dir == GORT_SELECT_SEND && c.elem == nullptr && chanelemsize(ch) > 0) {
                acquired_++;  // released by the destructor
                return GORT_EINVAL;
            }
        }
        return GORT_OK;
    }
    SelectCase* data() { return sc_; }

    // report stores the outcome of case idx in the caller's cases.
    void report(int idx, size_t* chosen) {
        if (idx < 0) return;
        *chosen = size_t(idx);
        if (sc_[idx].dir == kSelectRecv) cases_[idx].ok = sc_[idx].ok ? 1 : 0;
    }

  private:
    gort_select_case* cases_;
    size_t n_;
    size_t acquired_ = 0;
    SelectCase inline_[kInline];
    SelectCase* sc_ = inline_;
};

int selectWith(gort_select_case* cases, size_t n, int64_t timeoutNs, bool block, size_t* chosen) {
    if (chosen == nullptr || (n > 0 && cases == nullptr) || n > kMaxSelectCases) return GORT_EINVAL;
    if (n == 0 && block && timeoutNs < 0) return GORT_EINVAL;  // Go's select {} blocks forever
    SelectCases sc(cases, n);
    if (int rc = sc.build(); rc != GORT_OK) return rc;
    int idx = -1;
    int rc;
    if (!block || timeoutNs == 0) {
        rc = selectgo(sc.data(), n, false, &idx);
        if (block && rc == kEAGAIN) rc = GORT_ETIMEDOUT;
    } else if (timeoutNs < 0) {
        rc = capi::inGoroutine([&] { return selectgo(sc.data(), n, true, &idx); });
    } else {
        int64_t deadline = capi::timeoutDeadline(timeoutNs);
        rc = capi::inGoroutine([&] { return selectgoUntil(sc.data(), n, deadline, &idx); });
    }
    sc.report(idx, chosen);
    return rc;
}

}  // namespace

extern "C" {

GORT_API int gort_select(gort_select_case* cases, size_t n, int block, size_t* chosen) {
    capi::Call call;
    if (!call) return call.status();
    return selectWith(cases, n, -1, block != 0, chosen);
}

GORT_API int gort_select_timeout(gort_select_case* cases, size_t n, int64_t timeout_ns,
                                 size_t* chosen) {
    capi::Call call;
    if (!call) return call.status();
    return selectWith(cases, n, timeout_ns, true, chosen);
}

}  // extern "C"
