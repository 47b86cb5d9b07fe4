// The runtime's interface to the layers above (bridge/, c_api/, python/)
// and to the C++ tests. Everything returns a Status (runtime/errors.h) or a
// plain value; nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/errors.h"
#include "runtime/limits.h"
#include "runtime/statslist.h"

namespace gort {

// ThreadStart is what the thread-start hook receives (Go's ThreadStart; the
// C ABI's gort_thread_start has the same layout): the hook must start a
// thread that calls fn(arg), and return 0 or an errno value. stackSize is
// the requested stack size (0: the thread library's default). The struct is
// valid only during the call.
struct ThreadStart {
    void (*fn)(void*);
    void* arg;
    size_t stackSize;
};

// The thread-start hook (Go's _cgo_thread_start); a cgo-mode runtime
// creates every thread through it. See Config::threadStart.
using ThreadStartHook = int (*)(const ThreadStart*);

struct Config {
    int32_t maxprocs = 0;      // 0: number of CPUs available to the process
    size_t stackSize = 0;      // default goroutine stack size; 0: 128 KiB
    bool cgo = false;          // create threads through the thread-start hook
    int32_t schedtraceMs = 0;  // > 0: a scheduler trace line on stderr every N ms
    bool scheddetail = false;  // with schedtraceMs: per-P, per-M, per-G lines
    int32_t maxLentProcs = 0;  // Ps sysmon may lend during stalls; 0: kDefaultMaxLent; < 0: none
    bool quietStalls = false;  // no "has run for 1.0s without yielding" message
    bool lendForCPU = false;   // lend Ps for goroutines computing 10 ms without yielding
    bool abortOnDeadlock = false;     // a deadlock with no main goroutine aborts
    const char* tracePath = nullptr;  // start an execution trace there
    // Installed by init under its lock, so that a racing init (which gets
    // kEALREADY) changes nothing:
    //   threadStart (cgo mode; null: the one setThreadStartHook set) and
    //   threadStartEnds: the hook's threads end when fn returns (so
    //   shutdown can wait for them to be gone; a pooling hook says false);
    //   beforeTeardown: shutdown calls it once the call gate is closed and
    //   no goroutine is left, before the threads stop (the layer above
    //   frees the objects it keeps for users: c_api's handles);
    //   afterTeardown: shutdown calls it last, still under its lock.
    ThreadStartHook threadStart = nullptr;
    bool threadStartEnds = false;
    void (*beforeTeardown)() = nullptr;
    void (*afterTeardown)() = nullptr;
};

// init starts the runtime. Ms are created as work appears. kETHREAD when
// its first threads cannot be created (nothing is left behind); kENOTSUP
// in the child of a raw fork() of a process whose runtime was running.
int init(const Config& c);
// shutdown waits up to timeoutNs (< 0: forever) for every goroutine to
// finish, then stops every runtime thread and frees the runtime's memory;
// init may be called again afterwards. kEBUSY if goroutines remain (the
// runtime keeps running); kEDEADLK from a goroutine or from C code one
// called.
int shutdown(int64_t timeoutNs);
bool initialized();

// The call gate. Every entry from outside the runtime (the C ABI) is
// admitted by callEnter and leaves by callExit, so that init and shutdown
// never race a call: a call racing shutdown either runs before it (kOK) or
// is turned away (kENOTINIT, or kENOTSUP in a forked child). A goroutine's
// own calls pass without touching the gate (shutdown waits for goroutines
// anyway); the others are counted while inside.
struct M;
struct CallGate {
    bool counted = false;  // holds the gate: callExit lets it go
    M* heldBy = nullptr;   // counted in this M (a C thread's), else in the gate
    // Count in the gate even on a C thread's M: for a call that gives the M
    // away before it leaves (its count must not move to the next owner).
    bool inGate = false;
};
int callEnter(CallGate* g);
void callExitCounted(const CallGate& g);
inline void callExit(const CallGate& g) {
    if (g.counted) callExitCounted(g);
}

// forkedChild: this process is the child of a raw fork() of a process whose
// runtime was running (every call returns kENOTSUP).
bool forkedChild();

struct GoOptions {
    size_t stackSize = 0;
    const char* name = nullptr;
    // Prefer resuming the goroutine on the M that last ran it (a hint).
    bool resumeAffinity = false;
    // onPark runs on the goroutine's own stack right before every switch
    // away from it (park, yield, a wait for a P after a system call or in a
    // callback); onResume right after every switch back, on whatever M it
    // resumed. Hooks may use blockingBegin/blockingEnd but nothing that
    // parks; a switch made inside a hook runs no hooks.
    void (*onPark)(void*) = nullptr;
    void (*onResume)(void*) = nullptr;
    void* hookArg = nullptr;
};

// go spawns a goroutine running fn(arg). goidOut, if set, receives its id.
int go(void (*fn)(void*), void* arg, const GoOptions& opts = {}, int64_t* goidOut = nullptr);

// goid is the running goroutine's id, 0 off a goroutine.
int64_t goid();

// goschedEntry is gort_gosched: the call gate, then gosched, in one frame,
// so that the C ABI function can tail-call it. Every return after a switch
// is mispredicted (the jump leaves the CPU's return stack one entry off),
// so a call level less around a yield is a mispredicted return less.
int goschedEntry();
// gosched yields the processor (on a thread that runs no goroutine it
// yields the thread).
void gosched();

// sleep parks the calling goroutine for at least ns nanoseconds.
void sleep(int64_t ns);

// LockOSThread / UnlockOSThread, with Go's nesting semantics.
int lockOSThread();
int unlockOSThread();
// lockOSCounts reports the calling M's (lockedExt, lockedInt).
void lockOSCounts(uint32_t* ext, uint32_t* in);

// gomaxprocs sets GOMAXPROCS when n > 0; returns the previous value.
int gomaxprocs(int n);
int64_t numGoroutine();

// runOnThisThread runs fn(arg) as a goroutine locked to the calling thread
// (which the runtime did not create) and returns when it finishes. The lock
// is the runtime's own (lockedInt): the goroutine's LockOSThread and
// UnlockOSThread nest independently of it.
struct RunOpts {
    bool main = false;   // it is the program's main goroutine (gort_run_main):
                         // deadlock detection watches it
    bool keepM = false;  // the thread keeps its M afterwards
};
int runOnThisThread(void (*fn)(void*), void* arg, const RunOpts& opts = {});

// onGoroutine reports whether the calling thread is running a goroutine.
bool onGoroutine();

// setThreadStartHook sets the thread-start hook before init (the C++ tests;
// the C ABI passes it in Config). threadsEnd as Config::threadStartEnds.
void setThreadStartHook(ThreadStartHook hook, bool threadsEnd);

// Counters, summed over the runtime: one field per GORT_STATS_LIST entry
// (runtime/statslist.h), in that order.
struct RuntimeStats {
    int32_t maxprocs;
#define GORT_STATS_FIELD(name, camel, kind) uint64_t camel;
    GORT_STATS_LIST(GORT_STATS_FIELD)
#undef GORT_STATS_FIELD
};
void readStats(RuntimeStats* s);

}  // namespace gort
