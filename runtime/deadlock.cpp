// Deadlock detection (Go's checkdead).
#include "runtime/proc.h"

namespace gort {

// checkdead runs under sched.lock whenever an M goes idle.
void checkdead() {}

}  // namespace gort
