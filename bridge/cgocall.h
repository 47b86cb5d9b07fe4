// Calling blocking C code from a goroutine (Go's cgocall).
#pragma once

namespace gort::bridge {

// cgocall runs fn(arg) on the calling M's g0 stack (the thread's own,
// large stack) while the goroutine is in a system call: its P may be handed
// to another M meanwhile, so a long C call never stalls other goroutines.
//
// errno: the value fn leaves in errno is the goroutine's errno after
// cgocall returns, even if the goroutine resumes on another thread (it is
// saved in the G right after fn returns and stored into the new thread's
// errno).
//
// Off a goroutine (a plain thread, or C code inside a cgocall) there is
// nothing to hand off: fn is simply called.
//
// A C++ exception escaping fn is a fatal error. Returns kOK, or kEINVAL
// for a null fn.
int cgocall(void (*fn)(void*), void* arg);

}  // namespace gort::bridge
