// Goroutine dumps for fatal errors.
#pragma once

namespace gort {

struct G;

// dumpgoroutines prints every live goroutine (id, name, status, wait reason,
// M) to stderr, the current one first. It takes no locks that a crashing
// thread might hold.
void dumpgoroutines(G* cur);

// allgadd/allgremove keep sched.allgs in step with G allocation.
void allgadd(G* gp);
void allgremove(G* gp);

}  // namespace gort
