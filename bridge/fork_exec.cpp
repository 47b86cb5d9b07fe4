#include "bridge/fork_exec.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "runtime/proc.h"

extern char** environ;

namespace gort::bridge {

int forkExec(const char* path, char* const argv[], char* const envp[], pid_t* pid) {
    if (path == nullptr || argv == nullptr) return EINVAL;
    posix_spawnattr_t attr;
    if (int err = posix_spawnattr_init(&attr)) return err;
    // Every signal at its default action in the child: the runtime's fault
    // handler must not run there before exec.
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t child = 0;
    execLock.lock();
    int err = posix_spawn(&child, path, nullptr, &attr, argv, envp != nullptr ? envp : environ);
    execLock.unlock();
    posix_spawnattr_destroy(&attr);
    if (err == 0 && pid != nullptr) *pid = child;
    return err;
}

}  // namespace gort::bridge
