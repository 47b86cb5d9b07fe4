// WaitGroup, GoMutex, Once and Cond, following Go's sync package.
//
// GoMutex has two modes (Go's sync.Mutex). Normal: waiters queue FIFO, but
// a woken waiter competes with newly arriving goroutines, which usually win
// because they are already on a CPU; arrivals may also spin briefly. If a
// waiter fails to get the lock for over 1 ms the mutex turns starving: the
// unlocker hands it directly to the waiter at the front of the queue, and
// arrivals queue at the tail without trying. It returns to normal when a
// waiter that gets it is the last one, or waited less than 1 ms.
//
// Biased mode (not Go's). An uncontended lock and unlock cost two locked
// instructions, most of the time of a mutex that only one P ever takes. A
// mutex that one P has locked kBiasAfter times in a row, each time free,
// from inside an op region (runtime/opregion.h; the C ABI's lock opens one)
// is biased to that P: it sets kBiased, with biasOwner_ naming the P's region
// word, and from then on that P locks and unlocks it inside a region with
// plain stores (state kBiased <-> kBiased|kLocked). Nobody else writes the
// state while kBiased is set: every other path (another P, a plain thread, a
// lock that must wait, an unlock with waiters) first revokes the bias. The
// revoker clears biasOwner_, so a region that opens afterwards no longer
// matches it, then waits in opQuiesce for every region open meanwhile
// (membarrier supplies the fence the plain stores did without: the
// asymmetric argument of opregion.h), and only then clears kBiased; from
// there the mutex is a normal one. The bias is taken by the holder of a
// free-at-the-time lock whose state is exactly kLocked (no waiters, nobody
// woken), with a compare-and-swap, so it never coexists with waiters; a CAS
// that read the state before it fails, and every path that reads kBiased
// revokes. A mutex is biased at most kMaxBiasings times, so one that moves
// between Ps pays at most that many membarriers; under TSan, and where
// membarrier is missing, no region opens and nothing is biased.
//
// Once: a done flag read without a lock on the fast path; the first caller
// runs the function under a GoMutex and sets the flag after it returns, so a
// caller that sees the flag also sees everything the function did.
//
// Cond waits on a NotifyList (Go's notifyList): a waiter takes a ticket
// before unlocking L, so a signal sent between its unlock and its park is
// not lost; signal notifies the oldest ticket, broadcast all of them.
#include "runtime/sync.h"

#include <sched.h>

#include "runtime/deadlock.h"
#include "runtime/errors.h"
#include "runtime/opregion.h"
#include "runtime/proc.h"
#include "runtime/stats.h"

namespace gort {

// ---- WaitGroup ----------------------------------------------------------------

int WaitGroup::add(int64_t delta) {
    uint64_t d = uint64_t(delta) << 32;
    // A change that would take the counter below zero is refused without
    // ever being visible (Go panics: "sync: negative WaitGroup counter").
    uint64_t old = state_.load(std::memory_order_relaxed);
    uint64_t state;
    do {
        state = old + d;
        if (int32_t(state >> 32) < 0) return kEINVAL;
    } while (!state_.compare_exchange_weak(old, state, std::memory_order_acq_rel,
                                           std::memory_order_relaxed));
    auto v = int32_t(state >> 32);
    auto w = uint32_t(state);
    if (v > 0 || w == 0) return kOK;
    // The counter reached zero with waiters: wake them all. No one may add
    // or wait concurrently now (Go's rule), so a plain reset is safe.
    state_.store(0, std::memory_order_release);
    sema_.releaseN(w);
    return kOK;
}

void WaitGroup::wait() {
    waitUntil(-1);
}

int WaitGroup::waitUntil(int64_t deadline) {
    uint64_t state = state_.load(std::memory_order_acquire);
    for (;;) {
        if ((state >> 32) == 0) return kOK;
        if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel)) break;
    }
    if (sema_.acquireUntil(deadline, false)) return kOK;
    // The deadline passed and we are off the semaphore's queue. Take our
    // registration back while the counter is above zero; once it is zero,
    // the adder that zeroed it releases a unit for us (it counted us):
    // take it, the wait is over.
    state = state_.load(std::memory_order_acquire);
    for (;;) {
        if ((state >> 32) == 0) {
            sema_.acquire(false);
            return kOK;
        }
        if (state_.compare_exchange_weak(state, state - 1, std::memory_order_acq_rel)) {
            return kETIMEDOUT;
        }
    }
}

// ---- GoMutex --------------------------------------------------------------------

namespace {

// canSpin: spinning makes sense only on a multicore machine with other Ps
// running and nothing else to do on ours (Go's sync_runtime_canSpin).
bool canSpin(int iter) {
    constexpr int kActiveSpin = 4;
    if (iter >= kActiveSpin) return false;
    M* m = getm();
    if (m == nullptr || m->p == nullptr) return false;
    int32_t procs = sched.nprocs.load(std::memory_order_relaxed);
    if (procs <= sched.npidle.load(std::memory_order_relaxed) +
                     sched.nmspinning.load(std::memory_order_relaxed) + 1) {
        return false;
    }
    return runqempty(m->p);
}

void procyield(int n) {
    for (int i = 0; i < n; i++) __builtin_ia32_pause();
}

}  // namespace

void GoMutex::lock() {
    int32_t z = 0;
    if (state_.compare_exchange_strong(z, kLocked, std::memory_order_acquire)) return;
    lockSlow(-1);
}

bool GoMutex::revokeBias() {
    for (;;) {
        if ((state_.load(std::memory_order_acquire) & kBiased) == 0) return true;
        // One revoker: whoever takes the owner away. The others wait for it.
        uintptr_t owner = biasOwner_.load(std::memory_order_relaxed);
        if (owner == 0 ||
            !biasOwner_.compare_exchange_strong(owner, 0, std::memory_order_seq_cst)) {
            sched_yield();
            continue;
        }
        if (!opQuiesce()) {
            biasOwner_.store(owner, std::memory_order_relaxed);
            return false;
        }
        // No region uses the bias any more: the state is ours to fix.
        state_.fetch_and(~kBiased, std::memory_order_acq_rel);
        stats().mutexBiasRevocations.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
}

int32_t GoMutex::unbias() {
    if (!revokeBias()) {
        fatal("sync: mutex used from a signal handler that interrupted its biased P");
    }
    return state_.load(std::memory_order_relaxed);
}

void GoMutex::becomeBiased(uintptr_t me) {
    streak_.store(0, std::memory_order_relaxed);
    if (biasings_.load(std::memory_order_relaxed) >= kMaxBiasings) return;
    // The owner first: a region that sees kBiased sees its owner.
    biasOwner_.store(me, std::memory_order_relaxed);
    int32_t v = kLocked;  // held by us, nobody waiting or woken
    if (!state_.compare_exchange_strong(v, kLocked | kBiased, std::memory_order_release)) {
        biasOwner_.store(0, std::memory_order_relaxed);
        return;
    }
    biasings_.store(biasings_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    stats().mutexesBiased.fetch_add(1, std::memory_order_relaxed);
}

bool GoMutex::lockUntil(int64_t deadline) {
    int32_t z = 0;
    if (state_.compare_exchange_strong(z, kLocked, std::memory_order_acquire)) return true;
    if (deadline >= 0 && nanotime() >= deadline) return tryLock();
    return lockSlow(deadline);
}

// giveUp undoes a waiter whose deadline passed once it is off the
// semaphore's queue. Its count in the waiter bits goes, unless an unlocker
// has already consumed it (the count is zero): then that unlocker's wakeup
// is on its way to the semaphore, and it is ours to take. Woken that way we
// are the waiter it meant: in starvation mode the mutex is ours (true);
// otherwise we clear the woken flag it set, as a woken waiter does, and
// leave without queueing again (false) unless the mutex is free to take.
bool GoMutex::giveUp() {
    // Our count in the waiter bits, or the woken flag an unlocker set for
    // us, keeps the mutex from being biased until we are done here.
    int32_t old = state_.load(std::memory_order_relaxed);
    while ((old >> kWaiterShift) > 0) {
        if (state_.compare_exchange_weak(old, old - (1 << kWaiterShift),
                                         std::memory_order_relaxed)) {
            return false;
        }
    }
    // Only a normal-mode unlock consumes a waiter's count (a starving one
    // hands off without touching it): ours was a normal wakeup.
    sema_.acquire(false);
    old = state_.load(std::memory_order_relaxed);
    for (;;) {
        bool take = (old & (kLocked | kStarving)) == 0;
        int32_t next = (old & ~kWoken) | (take ? kLocked : 0);
        if (state_.compare_exchange_weak(old, next, std::memory_order_acquire)) return take;
    }
}

bool GoMutex::lockSlow(int64_t deadline) {
    int64_t waitStart = 0;
    bool starving = false, awoke = false;
    int iter = 0;
    int32_t old = state_.load(std::memory_order_relaxed);
    for (;;) {
        if (old & kBiased) {
            old = unbias();
            continue;
        }
        // Spin while locked in normal mode, telling unlock not to wake others.
        if ((old & (kLocked | kStarving)) == kLocked && canSpin(iter)) {
            if (!awoke && (old & kWoken) == 0 && (old >> kWaiterShift) != 0 &&
                state_.compare_exchange_weak(old, old | kWoken, std::memory_order_relaxed)) {
                awoke = true;
            }
            procyield(30);
            iter++;
            old = state_.load(std::memory_order_relaxed);
            continue;
        }
        int32_t next = old;
        if ((old & kStarving) == 0) next |= kLocked;  // never grab a starving mutex
        if (old & (kLocked | kStarving)) next += 1 << kWaiterShift;
        if (starving && (old & kLocked)) next |= kStarving;
        if (awoke) {
            if ((next & kWoken) == 0) fatal("sync: inconsistent mutex state");
            next &= ~kWoken;
        }
        if (state_.compare_exchange_weak(old, next, std::memory_order_acquire)) {
            if ((old & (kLocked | kStarving)) == 0) return true;  // locked it
            bool queueLifo = waitStart != 0;                      // waited before: go to the front
            if (waitStart == 0) waitStart = nanotime();
            if (!sema_.acquireUntil(deadline, queueLifo)) return giveUp();
            starving = starving || nanotime() - waitStart > kStarvationThresholdNs;
            old = state_.load(std::memory_order_relaxed);
            if (old & kStarving) {
                // Handed to us in starvation mode: we own it; fix the state.
                if ((old & (kLocked | kWoken)) != 0 || (old >> kWaiterShift) == 0) {
                    fatal("sync: inconsistent mutex state");
                }
                int32_t delta = kLocked - (1 << kWaiterShift);
                if (!starving || (old >> kWaiterShift) == 1) delta -= kStarving;
                state_.fetch_add(delta, std::memory_order_acquire);
                return true;
            }
            awoke = true;
            iter = 0;
        } else {
            // old was reloaded by the failed CAS.
        }
    }
}

int GoMutex::unlock() {
    int32_t old = state_.load(std::memory_order_relaxed);
    for (;;) {
        if (old & kBiased) old = unbias();
        if ((old & kLocked) == 0) return kEINVAL;  // Go: "sync: unlock of unlocked mutex"
        if (state_.compare_exchange_weak(old, old - kLocked, std::memory_order_release)) break;
    }
    int32_t next = old - kLocked;
    if (next != 0) unlockSlow(next);
    return kOK;
}

void GoMutex::unlockSlow(int32_t next) {
    if ((next & kStarving) == 0) {
        int32_t old = next;
        for (;;) {
            // Nobody to wake, or someone already woken/holding it.
            if ((old >> kWaiterShift) == 0 || (old & (kLocked | kWoken | kStarving)) != 0) return;
            int32_t n = (old - (1 << kWaiterShift)) | kWoken;
            if (state_.compare_exchange_weak(old, n, std::memory_order_release)) {
                sema_.release(false);
                return;
            }
        }
    }
    // Starving: hand ownership to the first waiter and yield to it.
    sema_.release(true);
}

// ---- Once -------------------------------------------------------------------------

void Once::callSlow(void (*fn)(void*), void* arg) {
    struct Unlock {
        GoMutex& m;
        ~Unlock() { m.unlock(); }
    };
    struct SetDone {
        std::atomic<uint32_t>& done;
        ~SetDone() { done.store(1, std::memory_order_release); }
    };
    m_.lock();
    Unlock unlock{m_};
    if (done_.load(std::memory_order_relaxed) != 0) return;
    SetDone setDone{done_};
    fn(arg);
}

// ---- NotifyList and Cond ----------------------------------------------------------------

namespace {
// less compares tickets modulo 2^32 (Go's less).
inline bool ticketLess(uint32_t a, uint32_t b) {
    return int32_t(a - b) < 0;
}
}  // namespace

void NotifyList::wait(uint32_t ticket) {
    Note note;
    Sudog s;
    s.g = getg();
    if (s.g == nullptr) s.note = &note;
    PlainThreadScope plain(s.g == nullptr);
    lock_.lock();
    if (ticketLess(ticket, notify_.load(std::memory_order_relaxed))) {
        lock_.unlock();  // already notified
        return;
    }
    s.ticket = ticket;
    if (tail_ == nullptr) {
        head_ = &s;
    } else {
        tail_->next = &s;
    }
    tail_ = &s;
    parkSudog(&s, &lock_, "sync.Cond.Wait");
}

void NotifyList::notifyAll() {
    if (wait_.load(std::memory_order_acquire) == notify_.load(std::memory_order_acquire)) return;
    PlainThreadScope plain(getg() == nullptr);
    lock_.lock();
    Sudog* s = head_;
    head_ = tail_ = nullptr;
    notify_.store(wait_.load(std::memory_order_acquire), std::memory_order_release);
    lock_.unlock();
    while (s != nullptr) {
        Sudog* next = s->next;  // before s's owner can run
        s->next = nullptr;
        readySudog(s);
        s = next;
    }
}

void NotifyList::notifyOne() {
    if (wait_.load(std::memory_order_acquire) == notify_.load(std::memory_order_acquire)) return;
    PlainThreadScope plain(getg() == nullptr);
    lock_.lock();
    uint32_t t = notify_.load(std::memory_order_relaxed);
    if (t == wait_.load(std::memory_order_acquire)) {
        lock_.unlock();
        return;
    }
    notify_.store(t + 1, std::memory_order_release);
    // The holder of ticket t may not have queued yet: then it will see its
    // ticket notified and not park.
    for (Sudog *p = nullptr, *s = head_; s != nullptr; p = s, s = s->next) {
        if (s->ticket != t) continue;
        Sudog* n = s->next;
        if (p != nullptr) {
            p->next = n;
        } else {
            head_ = n;
        }
        if (n == nullptr) tail_ = p;
        lock_.unlock();
        s->next = nullptr;
        readySudog(s);
        return;
    }
    lock_.unlock();
}

int Cond::wait() {
    if (l_ == nullptr || !l_->locked()) return kEINVAL;  // Go: "sync: unlock of unlocked mutex"
    uint32_t t = notify_.add();
    // If another goroutine unlocked L in between (a racing misuse), the
    // ticket is still waited for, so no signal is lost.
    l_->unlock();
    notify_.wait(t);
    l_->lock();
    return kOK;
}

}  // namespace gort
