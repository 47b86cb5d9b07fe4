// Timer channels (Go's time.After and time.NewTimer) for select timeouts.
#pragma once

#include <cstdint>

#include "runtime/chan.h"

namespace gort {

// after returns a channel (elements: int64_t, capacity 1) that receives the
// time (nanotime) once, at least ns nanoseconds from now. The caller owns
// the returned reference; the pending timer holds one more until it fires,
// so, as with Go's time.After, an unfired timer keeps its channel until it
// fires. Null on kENOMEM.
Chan* after(int64_t ns);

// ChanTimer is Go's time.Timer: like after, but it can be stopped.
class ChanTimer {
  public:
    // make starts a timer; null on kENOMEM.
    static ChanTimer* make(int64_t ns);
    // chan is valid until destroy.
    Chan* chan() const;
    // stop prevents the timer from firing: true if it did, false if it has
    // already fired (or been stopped).
    bool stop();
    // destroy stops the timer and drops the handle with its channel
    // reference.
    void destroy();

    struct Block;  // chantimer.cpp

  private:
    ChanTimer() = default;
    ~ChanTimer() = default;
    Block* b_ = nullptr;
};

}  // namespace gort
