// The C ABI: channels and select, on runtime/chan.h and runtime/select.h.
#include <vector>

#include "capi.h"
#include "handles.h"
#include "runtime/chan.h"
#include "runtime/select.h"

using namespace gort;
using capi::Kind;
using capi::Ref;

namespace {

void destroyChan(void* c) {
    chanrelease(static_cast<Chan*>(c));
}

}  // namespace

extern "C" {

GORT_API gort_chan* gort_chan_make(size_t elem_size, size_t cap) {
    if (!initialized()) return static_cast<gort_chan*>(capi::ctorFail(kENOTINIT));
    Chan* c = nullptr;
    if (int rc = makechan(elem_size, cap, &c); rc != kOK) {
        return static_cast<gort_chan*>(capi::ctorFail(rc));
    }
    void* h = capi::handleAdd(Kind::chan, c, destroyChan);
    if (h == nullptr) {
        chanrelease(c);
        return static_cast<gort_chan*>(capi::ctorFail(kENOMEM));
    }
    return static_cast<gort_chan*>(h);
}

GORT_API int gort_chan_send(gort_chan* ch, const void* elem) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<Chan> c(ch, Kind::chan);
    if (!c || (elem == nullptr && chanelemsize(c.get()) > 0)) return GORT_EINVAL;
    return capi::inGoroutine([&] { return chansend(c.get(), elem, true); });
}

GORT_API int gort_chan_try_send(gort_chan* ch, const void* elem) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<Chan> c(ch, Kind::chan);
    if (!c || (elem == nullptr && chanelemsize(c.get()) > 0)) return GORT_EINVAL;
    return chansend(c.get(), elem, false);
}

GORT_API int gort_chan_recv(gort_chan* ch, void* out, int* ok) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<Chan> c(ch, Kind::chan);
    if (!c) return GORT_EINVAL;
    bool got = false;
    int rc = capi::inGoroutine([&] { return chanrecv(c.get(), out, true, &got); });
    if (ok != nullptr && rc == GORT_OK) *ok = got ? 1 : 0;
    return rc;
}

GORT_API int gort_chan_try_recv(gort_chan* ch, void* out, int* ok) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<Chan> c(ch, Kind::chan);
    if (!c) return GORT_EINVAL;
    bool got = false;
    int rc = chanrecv(c.get(), out, false, &got);
    if (ok != nullptr && rc == GORT_OK) *ok = got ? 1 : 0;
    return rc;
}

GORT_API int gort_chan_close(gort_chan* ch) {
    if (!initialized()) return GORT_ENOTINIT;
    Ref<Chan> c(ch, Kind::chan);
    if (!c) return GORT_EINVAL;
    return closechan(c.get());
}

GORT_API int gort_chan_release(gort_chan* ch) {
    return capi::handleClose(ch, Kind::chan) == 0 ? GORT_OK : GORT_EINVAL;
}

GORT_API size_t gort_chan_len(gort_chan* ch) {
    Ref<Chan> c(ch, Kind::chan);
    return c ? chanlen(c.get()) : 0;
}

GORT_API size_t gort_chan_cap(gort_chan* ch) {
    Ref<Chan> c(ch, Kind::chan);
    return c ? chancap(c.get()) : 0;
}

GORT_API int gort_select(gort_select_case* cases, size_t n, int block, size_t* chosen) {
    if (!initialized()) return GORT_ENOTINIT;
    if (chosen == nullptr || (n > 0 && cases == nullptr) || n > kMaxSelectCases) return GORT_EINVAL;
    if (n == 0 && block) return GORT_EINVAL;  // Go's select {} blocks forever
    std::vector<SelectCase> sc(n);
    size_t acquired = 0;
    int rc = GORT_OK;
    for (; acquired < n; acquired++) {
        const gort_select_case& c = cases[acquired];
        if (c.dir != GORT_SELECT_SEND && c.dir != GORT_SELECT_RECV) {
            rc = GORT_EINVAL;
            break;
        }
        sc[acquired].dir = c.dir == GORT_SELECT_SEND ? kSelectSend : kSelectRecv;
        sc[acquired].elem = c.elem;
        if (c.ch == nullptr) continue;  // never ready
        auto* ch = static_cast<Chan*>(capi::handleAcquire(c.ch, Kind::chan));
        if (ch == nullptr ||
            (c.dir == GORT_SELECT_SEND && c.elem == nullptr && chanelemsize(ch) > 0)) {
            if (ch != nullptr) capi::handleRelease(c.ch);
            rc = GORT_EINVAL;
            break;
        }
        sc[acquired].c = ch;
    }
    if (rc == GORT_OK) {
        int idx = -1;
        rc = block ? capi::inGoroutine([&] { return selectgo(sc.data(), n, true, &idx); })
                   : selectgo(sc.data(), n, false, &idx);
        if (idx >= 0) {
            *chosen = size_t(idx);
            if (sc[size_t(idx)].dir == kSelectRecv) cases[idx].ok = sc[size_t(idx)].ok ? 1 : 0;
        }
    }
    for (size_t i = 0; i < acquired; i++) {
        if (sc[i].c != nullptr) capi::handleRelease(cases[i].ch);
    }
    return rc;
}

}  // extern "C"
