// Crossing between goroutines and C (Go's cgocall.go): calling blocking C
// code from a goroutine, calling goroutine code from any C thread, blocking
// regions, and fork/exec under execLock.
#pragma once

#include "runtime/errors.h"

namespace gort {

// cgocall runs fn(arg) on the calling M's own thread stack (not the
// goroutine's small one) while the goroutine is in a system call: its P may
// be handed to another M meanwhile, so a long C call never stalls other
// goroutines. errno left by fn is the goroutine's afterwards, even if it
// resumes on another thread. Off a goroutine (a plain thread, or C code
// already inside a cgocall) fn is simply called. A C++ exception escaping
// fn is fatal. kOK, or kEINVAL for a null fn.
int cgocall(void (*fn)(void*), void* arg);
// cgocallEntry is gort_cgocall: the call gate (runtime.h), then cgocall, in
// one frame, so that the C ABI function can tail-call it. Every return
// after a context switch is mispredicted (the jump leaves the CPU's return
// stack one entry off), so each call level between the switch and the
// caller's loop costs one (a third of W4's cost once).
int cgocallEntry(void (*fn)(void*), void* arg);
// cgocallWords is cgocallEntry for a call whose argument is four words: fn
// gets a pointer to a copy of them in this function's frame, so that a
// caller with its arguments in registers can tail-call it (the ffi's
// gort_ffi_call does).
int cgocallWords(void (*fn)(void*), void* w0, void* w1, void* w2, void* w3);

// callback runs fn(arg) as goroutine code and returns when fn returns; fn
// may block, spawn goroutines and use every primitive, and the calling
// thread blocks meanwhile, never the scheduler.
//   - On a goroutine: fn is simply called.
//   - From C code inside a cgocall: fn runs on the goroutine that made the
//     call, with a P reacquired for its duration. Callbacks nest.
//   - From any other thread, even one the runtime never saw: the thread is
//     given an extra M, which stays bound to it until the thread exits.
// kOK, kEINVAL for a null fn, kENOTINIT before init.
int callback(void (*fn)(void*), void* arg);

// blockingBegin / blockingEnd bracket code that waits on something outside
// the runtime (a C library's lock, the Python GIL): the goroutine enters
// the system-call state exactly as a cgocall does, so its P may be handed
// off, and blockingEnd reacquires a P (possibly resuming on another M).
// Code inside the region counts as C code: gort calls made there take the
// callback path. On a thread that runs no goroutine both are no-ops
// returning kOK. blockingEnd on a goroutine outside a region, or a second
// blockingBegin inside one: kEINVAL.
int blockingBegin();
int blockingEnd();
// blockingBeginEntry / blockingEndEntry are the same behind the call gate
// (gort_blocking_begin, gort_blocking_end).
int blockingBeginEntry();
int blockingEndEntry();
// blockingEndTry ends the region only if a P can be had at once (the one
// the region left, if nobody took it, or an idle one: exitsyscall's fast
// path): kOK as blockingEnd, or kEAGAIN and the goroutine is still in the
// region (blockingEnd then waits). Elsewhere as blockingEnd.
int blockingEndTry();

// withExecLock runs f(arg) with execLock held for writing: no thread is
// being created meanwhile (fork/exec, Go's syscall.forkExec protocol). The
// calling goroutine waits for the lock, and runs f, in a blocking region.
// Returns f's result.
int withExecLock(int (*f)(void*), void* arg);

}  // namespace gort
