// The default thread-start hook (Go's runtime/cgo x_cgo_thread_start).
#pragma once

#include "runtime/runtime.h"

namespace gort::bridge {

// defaultThreadStart starts a detached pthread, created with every signal
// blocked, that runs ts->fn(ts->arg). It copies *ts (valid only during the
// call). Returns 0 or the pthread_create error.
int defaultThreadStart(const ThreadStart* ts);

}  // namespace gort::bridge
