#include "bridge/callback.h"

#include "runtime/runtime.h"

namespace gort::bridge {

int callback(void (*fn)(void*), void* arg) {
    RunOpts o;
    o.keepM = true;  // bind the extra M to this thread until it exits
    return runOnThisThread(fn, arg, o);
}

}  // namespace gort::bridge
