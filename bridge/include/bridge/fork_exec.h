// fork+exec under execLock (Go's syscall.Exec protocol, applied to spawning
// a child): no thread is ever half-created while the process forks.
#pragma once

#include <sys/types.h>

namespace gort::bridge {

// forkExec starts path with argv and envp (null envp: the current
// environment) and stores the child's pid. It holds execLock for writing,
// so it waits for thread creations in progress and holds new ones back
// until the child has exec'd. The child starts with the calling thread's
// signal mask and every signal at its default action. Returns 0 or an errno
// value (EINVAL for a null path or argv).
int forkExec(const char* path, char* const argv[], char* const envp[], pid_t* pid);

}  // namespace gort::bridge
