// Signal handling: the stack-overflow report and per-M alternate signal
// stacks.
//
// A goroutine that runs off the bottom of its stack touches its guard
// region and takes SIGSEGV. The handler runs on the M's alternate signal
// stack (the faulting stack is unusable), recognises the guard of the
// running goroutine, and reports "gort: fatal error: stack overflow" with the
// goroutine's id and stack size before aborting. Any other fault is passed to
// the handler that was installed before gort's, or to the default action.
#pragma once

namespace gort {

struct M;

// initsig installs the SIGSEGV/SIGBUS handlers (at init); resetsig restores
// the previous ones (at shutdown, so an unloaded libgort leaves none behind).
void initsig();
void resetsig();

// mallocSignalStack gives m the memory of an alternate signal stack (with
// the M: a thread that binds one may be in a signal handler, where nothing
// may be allocated); freeSignalStack frees it. minitSignalStack makes it the
// calling thread's alternate stack unless the thread has one already (a C
// thread's own is kept), and records the thread's alternate stack in
// M.sigstackLo/Hi either way; unminitSignalStack removes ours again.
void mallocSignalStack(M* m);
void freeSignalStack(M* m);
void minitSignalStack(M* m);
void unminitSignalStack(M* m);

}  // namespace gort
