// Calling into the runtime from C, on any thread (Go's cgocallback).
#pragma once

namespace gort::bridge {

// callback runs fn(arg) as goroutine code and returns when fn returns. fn
// may block, spawn goroutines and use every primitive; the calling thread
// blocks meanwhile, the scheduler does not.
//   - On a goroutine: fn is simply called.
//   - From C code inside a cgocall: fn runs on the goroutine that made the
//     call, with a P reacquired for its duration, then C continues.
//     Callbacks nest (C -> gort -> C -> gort ...).
//   - From any other thread, even one the runtime never saw: the thread is
//     given an extra M, which stays bound to it until the thread exits, so
//     later callbacks from it are cheap.
// Returns kOK, kEINVAL for a null fn, kENOTINIT before init.
int callback(void (*fn)(void*), void* arg);

}  // namespace gort::bridge
