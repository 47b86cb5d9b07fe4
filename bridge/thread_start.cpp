#include "bridge/thread_start.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

namespace gort::bridge {

namespace {

struct Start {
    void (*fn)(void*);
    void* arg;
};

void* threadentry(void* v) {
    Start s = *static_cast<Start*>(v);
    free(v);
    s.fn(s.arg);
    return nullptr;
}

}  // namespace

int defaultThreadStart(const ThreadStart* ts) {
    auto* copy = static_cast<Start*>(malloc(sizeof(Start)));
    if (copy == nullptr) return ENOMEM;
    *copy = Start{ts->fn, ts->arg};
    pthread_attr_t attr;
    if (int err = pthread_attr_init(&attr)) {
        free(copy);
        return err;
    }
    if (ts->stackSize != 0) pthread_attr_setstacksize(&attr, ts->stackSize);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    // The new thread opens its own mask once its M is set up.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int err = pthread_create(&tid, &attr, threadentry, copy);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&attr);
    if (err != 0) free(copy);
    return err;
}

}  // namespace gort::bridge
