// Go's select over channel cases (select.cpp), the C++ layer under the C
// ABI's gort_select.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/chan.h"
#include "runtime/limits.h"

namespace gort {

// Case directions (the C ABI's GORT_SELECT_SEND / GORT_SELECT_RECV map to
// these).
enum SelectDir : int { kSelectSend = 1, kSelectRecv = 2 };

struct SelectCase {
    Chan* c = nullptr;      // null: the case is never ready (Go's nil channel)
    int dir = kSelectRecv;  // kSelectSend or kSelectRecv
    void* elem = nullptr;   // value to send, or where to receive (may be null)
    bool ok = false;        // set for a receive: a value (true) or closed (false)
};

// selectgo waits until one of the n cases can proceed and performs it; if
// several can, it picks one uniformly at random. *chosen receives the index
// of the case performed, or -1.
//   kOK       a case was performed (for a receive, cases[i].ok tells whether
//             a value came or the channel was closed, then *elem is zeroed).
//   kECLOSED  the chosen case is a send on a closed channel.
//   kEAGAIN   block is false (Go's `default:`) and no case was ready.
//   kEINVAL   bad cases (null array, n > kMaxSelectCases, bad dir, a send
//             without a value); kENOMEM.
// With no non-null channel and block set, it blocks forever (Go's
// `select {}`).
int selectgo(SelectCase* cases, size_t n, bool block, int* chosen);

// selectgoUntil is a blocking selectgo that gives up at deadline (nanotime):
// kETIMEDOUT (no case performed, *chosen = -1). With no non-null channel it
// waits out the deadline.
int selectgoUntil(SelectCase* cases, size_t n, int64_t deadline, int* chosen);

}  // namespace gort
