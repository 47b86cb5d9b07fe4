// Op regions: goroutine code using a shared object without counting a
// reference on it.
//
// The C ABI's handles (c_api/handles.cpp) keep an object alive while an
// operation uses it by counting a reference on its slot: two locked
// read-modify-writes per operation, most of an uncontended gort_mutex_lock.
// An operation that neither parks nor switches, run by goroutine code that
// holds a P, can do without them: it opens an op region of its P (opBegin:
// the P's word becomes odd, a plain store), looks the object up, uses it and
// closes the region (opEnd: even again, a release store). No fence: whoever
// frees such an object first makes it unreachable, so that a region opened
// afterwards cannot find it, and then calls opQuiesce, which supplies the
// fence for both sides with one membarrier(PRIVATE_EXPEDITED) (every
// running thread executes a full barrier) and then waits for every P whose
// word is odd until its word moves. A region opened before the object
// became unreachable has closed by then; one opened after cannot have
// found it. (The call gate's asymmetric counts, init.cpp, rest on the same
// argument.)
//
// A region holds no lock, never waits for anything outside itself and
// never spans a scheduling point, so the wait is short. Without membarrier
// (an old kernel, seccomp) and under TSan, which cannot see the kernel's
// barrier, opBegin always says no and objects are counted as before.
#pragma once

#include <atomic>
#include <cstdint>

namespace gort {

// opBegin opens an op region on the caller's P and returns its word, or
// null if the caller must count a reference instead: it is not goroutine
// code holding a P, its P is inside a region already (a signal handler
// interrupted one), or regions are off.
std::atomic<uint32_t>* opBegin();
// opBeginCall is opBegin for the entry of a C ABI call: null as well when
// the call gate (runtime.h) is closed. Goroutine code holding a P is what
// the gate admits uncounted, so a call that gets a region needs no gate
// of its own (and nothing to release at its end: it can tail-call).
std::atomic<uint32_t>* opBeginCall();

// opEnd closes the region opBegin opened.
inline void opEnd(std::atomic<uint32_t>* word) {
    word->store(word->load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// opRegionsOn: regions may open in this process (membarrier is usable).
bool opRegionsOn();

// opQuiesce waits until every op region open at the time of the call has
// closed. False, without waiting, if the caller is inside one itself (a
// signal handler on its thread interrupted it): nothing that region may
// use can be freed now.
bool opQuiesce();

}  // namespace gort
