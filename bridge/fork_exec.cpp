// fork+exec with posix_spawn, under the runtime's execLock (withExecLock):
// no thread is half-created while the process forks, and the calling
// goroutine waits for the lock and for the spawn in a blocking region, so
// its P serves other goroutines meanwhile.
#include "bridge/fork_exec.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "runtime/cgo.h"

extern char** environ;

namespace gort::bridge {

namespace {

struct Spawn {
    const char* path;
    char* const* argv;
    char* const* envp;
    posix_spawnattr_t* attr;
    pid_t child;
};

int spawnLocked(void* arg) {
    auto* s = static_cast<Spawn*>(arg);
    return posix_spawn(&s->child, s->path, nullptr, s->attr, s->argv,
                       s->envp != nullptr ? s->envp : environ);
}

}  // namespace

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
    Spawn s{path, argv, envp, &attr, 0};
    int err = withExecLock(spawnLocked, &s);
    posix_spawnattr_destroy(&attr);
    if (err == 0 && pid != nullptr) *pid = s.child;
    return err;
}

}  // namespace gort::bridge
