// LockOSThread and UnlockOSThread (Go's semantics), and the scheduling of
// locked goroutines (stoplockedm, startlockedm).
//
// An M counts user locks (lockedExt, nested) and runtime-internal locks
// (lockedInt) separately; the G stays wired to the M while either is
// non-zero. A wired G runs only on its M and its M runs nothing else:
//   - when the G blocks, its M hands the P to someone else and sleeps
//     (stoplockedm);
//   - when another M dequeues the G, it hands its own P to the G's M, wakes
//     it, and goes idle itself (startlockedm).
// A G that exits still locked takes its thread with it (goexitLocked in
// proc.cpp): the M exits instead of returning to the idle pool, because
// the goroutine may have changed the thread's state.
//
// The first LockOSThread starts the template thread, while this thread is
// still clean: from then on, Ms that a locked thread needs are created by
// the template thread (newm.cpp).
#include "runtime/errors.h"
#include "runtime/proc.h"
#include "runtime/trace.h"

namespace gort {

namespace {

void dounlockOSThread(M* m, G* gp) {
    if (m->lockedInt != 0 || m->lockedExt != 0) return;
    m->lockedg = nullptr;
    gp->lockedm = nullptr;
}

}  // namespace

void dolockOSThread(M* m, G* gp) {
    m->lockedg = gp;
    gp->lockedm = m;
}

int lockOSThread() {
    G* gp = getg();
    if (gp == nullptr) return kENOTGOROUTINE;
    M* m = gp->m;
    if (sched.newmHandoff.haveTemplateThread.load(std::memory_order_acquire) == 0) {
        if (startTemplateThread() != 0) return kETHREAD;
    }
    if (m->lockedExt == UINT32_MAX) return kEOVERFLOW;  // Go: "LockOSThread nesting overflow"
    m->lockedExt++;
    dolockOSThread(m, gp);
    return kOK;
}

int unlockOSThread() {
    G* gp = getg();
    if (gp == nullptr) return kENOTGOROUTINE;
    M* m = gp->m;
    if (m->lockedExt == 0) return kOK;
    m->lockedExt--;
    dounlockOSThread(m, gp);
    return kOK;
}

void lockOSThreadInternal() {
    M* m = getm();
    m->lockedInt++;
    dolockOSThread(m, m->curg);
}

void unlockOSThreadInternal() {
    M* m = getm();
    if (m->lockedInt == 0) fatal("runtime: internal error: misuse of lockOSThread/unlockOSThread");
    m->lockedInt--;
    dounlockOSThread(m, m->curg);
}

void lockOSCounts(uint32_t* ext, uint32_t* in) {
    M* m = getm();
    *ext = m != nullptr ? m->lockedExt : 0;
    *in = m != nullptr ? m->lockedInt : 0;
}

void stoplockedm(M* m) {
    G* lg = m->lockedg;
    if (lg == nullptr || lg->lockedm != m) fatal("stoplockedm: inconsistent locking");
    if (m->p != nullptr) handoffp(releasep(m));
    incidlelocked(1);
    traceIdle(m, TraceIdle::lockedm, true);
    m->park.sleep();
    m->park.clear();
    traceIdle(m, TraceIdle::lockedm, false);

    if (m->exitThread) return;
    if (lg->status() != Grunnable) {
        printerr("runtime:stoplockedm: lockedg (atomicstatus=%u) is not Grunnable", lg->status());
        fatal("stoplockedm: not runnable");
    }
    acquirep(m, m->nextp);
    m->nextp = nullptr;
}

void startlockedm(M* m, G* gp) {
    M* mp = gp->lockedm;
    if (mp == m) fatal("startlockedm: locked to me");
    if (mp->nextp != nullptr) fatal("startlockedm: m has p");
    incidlelocked(-1);
    // Hand our P to the locked M along with its G, then go idle.
    // The G itself needs no handing over: the locked M runs its lockedg.
    mp->nextp = releasep(m);
    traceStartLocked(mp, gp);
    mp->park.wakeup();
    stopm(m);
}

}  // namespace gort
