// Goroutine dumps (dump.cpp): the printer behind gort_dump_goroutines, the
// fatal-error and deadlock reports and the stall report; Go's SCHED lines
// (schedtrace, scheddetail); the settings they take from Config.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>

#include "runtime/runtime.h"

namespace gort {

struct G;

// waitClock is when a goroutine parks (G::waitsince): CLOCK_MONOTONIC_COARSE,
// a few nanoseconds (no TSC read), millisecond resolution: enough to say for
// how long a goroutine has waited.
inline int64_t waitClock() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// spanWithin: [addr, addr + n) lies inside [lo, hi), computed without
// wrapping around (the dump's unwinder reads a goroutine's stack while it
// may change, and is then asked for arbitrary addresses).
inline bool spanWithin(uintptr_t addr, size_t n, uintptr_t lo, uintptr_t hi) {
    return addr >= lo && addr < hi && hi - addr >= n;
}

// dumpAll writes every goroutine to fd: id, name, state, wait reason and for
// how long, the M it is locked to, its stack use, and its stack (function
// names; file:line where debug information exists), parked ones included.
// cur, if set, is the caller's own goroutine and goes first. It holds
// sched.allglock while it prints (so no listed G, nor its name, is freed
// under it; goroutine creation and exit wait), but waits for it, and for
// another dump, at most about a second each: a crashing thread may hold
// them, and its dump then reads the list unlocked. Lock order: after
// sched.lock. At most `limit` goroutines get a stack (<= 0: all); the rest
// get their header line.
void dumpAll(int fd, G* cur, int limit = 0);
// dumpGoroutine writes one goroutine (the stall report uses it).
void dumpGoroutine(int fd, G* gp);
// dumpBlockedGoroutine prints gp, which runs on thread tid, with the stack
// that thread has at the system call it blocks in (stall reports).
void dumpBlockedGoroutine(int fd, G* gp, pid_t tid);

// symbolize writes the name of the function containing pc (demangled);
// false if there is none.
bool symbolize(uintptr_t pc, char* buf, size_t len);

// printSchedtrace prints Go's SCHED line to stderr (sinceNs: since the
// runtime started), and with scheddetail its P, M and G lines.
void printSchedtrace(int64_t sinceNs);

// observeInit takes the settings of this file and deadlock.cpp from the
// runtime's configuration (init).
void observeInit(const Config& c);

}  // namespace gort
