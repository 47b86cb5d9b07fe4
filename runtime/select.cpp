// select: Go's selectgo over send and receive cases.
//
//   0. Shuffle the cases with a non-null channel into a uniformly random
//      poll order (inside-out Fisher-Yates), and sort them by channel address
//      into the lock order. Every select locks its channels in address order,
//      each channel once however many cases use it, so two selects over the
//      same channels in different orders cannot deadlock.
//   1. Lock all, and take the first case in poll order that can proceed now
//      (a receive finds a waiting sender, a buffered value, or a closed
//      channel; a send finds a closed channel, a waiting receiver or buffer
//      space). The random poll order makes the choice among ready cases
//      uniform. Without block, stop here (Go's default).
//   2. Enqueue one sudog per case, in lock order, all marked isSelect and
//      sharing the waiter's selectDone flag and param slot; park, releasing
//      every lock only once the goroutine is off its stack (selparkcommit).
//   3. A waker on any channel dequeues one of our sudogs only if it wins the
//      CAS of selectDone 0 -> 1 (WaitQ::dequeue), completes that case
//      (copying the value, or recording close), writes the sudog to param
//      and readies us. The other wakers skip our stale sudogs. Woken, we
//      relock everything, reset selectDone, take our other sudogs off their
//      queues, and report the case whose sudog param names.
//
// A send and a receive on the same channel in one select are two sudogs on
// two queues of that channel; they never match each other, since only a
// running operation completes a waiting one.
//
// A thread without a goroutine selects the same way, with a selectDone and a
// param of its own and a note to sleep on.
//
// Each select sudog counts in its channel's nselect until step 3 takes it
// back, so a channel whose last reference is dropped while we wait survives
// until we have relocked and left it (hchan.h); then we free it.
#include "runtime/select.h"

#include <stdlib.h>

#include <algorithm>
#include <new>

#include "runtime/deadline.h"
#include "runtime/deadlock.h"
#include "runtime/hchan.h"
#include "runtime/proc.h"

namespace gort {

namespace {

// randn returns a uniform number in [0, n): from the M's generator on a
// runtime thread, else from a shared one.
uint32_t randn(M* m, uint32_t n) {
    uint32_t r;
    if (m != nullptr) {
        r = fastrand(m);
    } else {
        static std::atomic<uint64_t> state{0x853c49e6748fea9bULL};
        uint64_t z = state.fetch_add(0x9E3779B97F4A7C15ULL, std::memory_order_relaxed);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;  // splitmix64
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        r = uint32_t((z ^ (z >> 31)) >> 32);
    }
    return uint32_t((uint64_t(r) * n) >> 32);
}

// Scratch holds the poll and lock orders and the sudogs of one select: on
// the stack for a few cases, on the heap beyond. Sudogs are constructed only
// if the select has to wait.
class Scratch {
  public:
    static constexpr size_t kInline = 16;
    bool init(size_t n) {
        if (n <= kInline) {
            order_ = inlineOrder_;
            sudogs_ = reinterpret_cast<Sudog*>(inlineSudogs_);
            return true;
        }
        heap_ = malloc(n * (2 * sizeof(uint32_t) + sizeof(Sudog)));
        if (heap_ == nullptr) return false;
        sudogs_ = static_cast<Sudog*>(heap_);
        order_ = reinterpret_cast<uint32_t*>(sudogs_ + n);
        return true;
    }
    ~Scratch() { free(heap_); }
    uint32_t* order() const { return order_; }
    Sudog* sudogs() const { return sudogs_; }

  private:
    uint32_t inlineOrder_[2 * kInline];
    alignas(Sudog) unsigned char inlineSudogs_[kInline * sizeof(Sudog)];
    uint32_t* order_ = nullptr;
    Sudog* sudogs_ = nullptr;
    void* heap_ = nullptr;
};

void sellock(const SelectCase* cases, const uint32_t* lockorder, size_t n) {
    Chan* last = nullptr;
    for (size_t k = 0; k < n; k++) {
        Chan* c = cases[lockorder[k]].c;
        if (c != last) {
            c->lock.lock();
            last = c;
        }
    }
}

void selunlock(const SelectCase* cases, const uint32_t* lockorder, size_t n) {
    for (size_t k = n; k-- > 0;) {
        Chan* c = cases[lockorder[k]].c;
        if (k > 0 && cases[lockorder[k - 1]].c == c) continue;  // unlocked at k - 1
        c->lock.unlock();
    }
}

// unlockWaiting releases the locks of a parked select, following its sudog
// chain (lock order). Once a channel is unlocked its sudogs may change, so
// a channel is unlocked only after its last sudog has been passed; the
// sudogs that are still read belong to channels still locked.
void unlockWaiting(Sudog* head) {
    Chan* lastc = nullptr;
    for (Sudog* sg = head; sg != nullptr; sg = sg->waitlink) {
        if (sg->c != lastc && lastc != nullptr) lastc->lock.unlock();
        lastc = sg->c;
    }
    if (lastc != nullptr) lastc->lock.unlock();
}

// A select's deadline: expiry wins the select's selectDone like any waker,
// with no case (param stays null), and wakes the selecting goroutine or
// thread.
struct SelectDeadline : DeadlineTimer {
    std::atomic<uint32_t>* done;
    G* gp;
    Note* note;
    bool timedOut = false;
};

void selectExpire(DeadlineTimer* d) {
    auto* sd = static_cast<SelectDeadline*>(d);
    uint32_t z = 0;
    if (!sd->done->compare_exchange_strong(z, 1, std::memory_order_acq_rel)) return;
    sd->timedOut = true;
    if (sd->gp != nullptr) {
        goready(sd->gp);
    } else {
        sd->note->wakeup();
    }
}

struct SelPark {
    Sudog* head;
    SelectDeadline* dl;
    int64_t deadline;
};

// selparkcommit runs once the selecting goroutine is off its stack. The
// deadline is armed first, while every channel is still locked: once they
// are unlocked a waker may resume the goroutine, and nothing on its stack
// (sp included) may be touched any more.
bool selparkcommit(G*, void* arg) {
    auto* sp = static_cast<SelPark*>(arg);
    Sudog* head = sp->head;
    if (sp->dl != nullptr) sp->dl->arm(sp->deadline);
    unlockWaiting(head);
    return true;
}

[[noreturn]] void blockForever(G* gp) {
    if (gp != nullptr) {
        gopark(nullptr, nullptr, "select (no cases)");
    } else {
        Note never;
        never.sleep();
    }
    fatal("unreachable");
}

// sleepUntil waits out a select without channels that has a deadline.
void sleepUntil(int64_t deadline) {
    int64_t left = deadline - nanotime();
    if (left > 0) timeSleep(left);
}

int validate(SelectCase* cases, size_t n) {
    if (n > kMaxSelectCases || (n > 0 && cases == nullptr)) return kEINVAL;
    for (size_t i = 0; i < n; i++) {
        SelectCase& cs = cases[i];
        if (cs.dir != kSelectSend && cs.dir != kSelectRecv) return kEINVAL;
        if (cs.dir == kSelectSend && cs.c != nullptr && cs.elem == nullptr && cs.c->elemsize > 0) {
            return kEINVAL;
        }
        cs.ok = false;
    }
    return kOK;
}

// pollOne performs case i if it can proceed now (pass 1). The channels are
// locked; they are unlocked on success. Returns kOK/kECLOSED, or 1 if the
// case is not ready.
int pollOne(SelectCase* cases, const uint32_t* lockorder, size_t norder, uint32_t i) {
    SelectCase& cs = cases[i];
    Chan* c = cs.c;
    auto unlockAll = [&] { selunlock(cases, lockorder, norder); };
    if (cs.dir == kSelectRecv) {
        if (Sudog* sg = c->sendq.dequeue()) {
            recvFromWaiter(c, sg, cs.elem, unlockAll);
            cs.ok = true;
            return kOK;
        }
        if (c->qcount.load(std::memory_order_relaxed) > 0) {
            bufTake(c, cs.elem);
            unlockAll();
            cs.ok = true;
            return kOK;
        }
        if (c->closed.load(std::memory_order_relaxed) != 0) {
            unlockAll();
            if (cs.elem != nullptr) memset(cs.elem, 0, c->elemsize);
            return kOK;
        }
        return 1;
    }
    if (c->closed.load(std::memory_order_relaxed) != 0) {
        unlockAll();
        return kECLOSED;
    }
    if (Sudog* sg = c->recvq.dequeue()) {
        sendToWaiter(c, sg, cs.elem, unlockAll);
        return kOK;
    }
    if (c->qcount.load(std::memory_order_relaxed) < c->dataqsiz) {
        bufPut(c, cs.elem);
        unlockAll();
        return kOK;
    }
    return 1;
}

// waitAll is passes 2 and 3: enqueue on every channel, sleep until a waker
// completes one case (or the deadline, if >= 0, passes), take the rest back.
// Returns the index of the case completed, or UINT32_MAX on timeout;
// *success tells whether it completed by a communication.
uint32_t waitAll(SelectCase* cases, const uint32_t* lockorder, size_t norder, Sudog* sudogs, G* gp,
                 int64_t deadline, bool* success) {
    std::atomic<uint32_t> threadSelectDone{0};
    void* threadParam = nullptr;
    Note note;
    std::atomic<uint32_t>* done = gp != nullptr ? &gp->selectDone : &threadSelectDone;
    void** param = gp != nullptr ? &gp->param : &threadParam;
    *param = nullptr;

    // Pass 2: one sudog per case, chained in lock order.
    Sudog* head = nullptr;
    Sudog** nextp = &head;
    for (size_t k = 0; k < norder; k++) {
        SelectCase& cs = cases[lockorder[k]];
        Sudog* sg = new (&sudogs[k]) Sudog;
        sg->g = gp;
        if (gp == nullptr) sg->note = &note;
        sg->isSelect = true;
        sg->elem = cs.elem;
        sg->c = cs.c;
        sg->selectDone = done;
        sg->param = param;
        *nextp = sg;
        nextp = &sg->waitlink;
        (cs.dir == kSelectSend ? cs.c->sendq : cs.c->recvq).enqueue(sg);
        cs.c->nselect++;
    }
    SelectDeadline dl;
    dl.expire = selectExpire;
    dl.done = done;
    dl.gp = gp;
    dl.note = &note;
    SelPark sp{head, deadline >= 0 ? &dl : nullptr, deadline};
    if (gp != nullptr) {
        if (gp->waiting != nullptr) fatal("gp.waiting != nil");
        gp->waiting = head;
        gopark(selparkcommit, &sp, "select");
        gp->waiting = nullptr;
    } else {
        selparkcommit(nullptr, &sp);
        note.sleep();
    }
    dl.disarm();  // whatever woke us: the timer is done with our stack

    // Pass 3: relock, then dequeue from the cases that did not win, so they
    // do not pile up on quiet channels.
    sellock(cases, lockorder, norder);
    done->store(0, std::memory_order_relaxed);
    auto* won = static_cast<Sudog*>(*param);
    *param = nullptr;
    uint32_t casi = UINT32_MAX;
    for (size_t k = 0; k < norder; k++) {
        SelectCase& cs = cases[lockorder[k]];
        Sudog* sg = &sudogs[k];
        sg->isSelect = false;
        if (sg == won) {
            casi = lockorder[k];
            *success = sg->success;
        } else {
            (cs.dir == kSelectSend ? cs.c->sendq : cs.c->recvq).remove(sg);
        }
        cs.c->nselect--;
    }
    if (casi == UINT32_MAX && !dl.timedOut) fatal("selectgo: bad wakeup");
    // Channels that nobody references any more (their last reference was
    // dropped while we waited) are freed once unlocked: sudog k's c keeps
    // the ones to free.
    for (size_t k = 0; k < norder; k++) {
        Chan* c = cases[lockorder[k]].c;
        bool first = k == 0 || cases[lockorder[k - 1]].c != c;
        sudogs[k].c = first && c->collectable() ? c : nullptr;
    }
    selunlock(cases, lockorder, norder);
    for (size_t k = 0; k < norder; k++) {
        if (sudogs[k].c != nullptr) freechan(sudogs[k].c);
    }
    return casi;
}

}  // namespace

namespace {

// selectImpl is selectgo: block says whether to wait at all, deadline
// (>= 0) until when.
int selectImpl(SelectCase* cases, size_t n, bool block, int64_t deadline, int* chosen) {
    if (chosen != nullptr) *chosen = -1;
    if (int rc = validate(cases, n); rc != kOK) return rc;
    Scratch scratch;
    if (!scratch.init(n)) return kENOMEM;
    uint32_t* pollorder = scratch.order();
    uint32_t* lockorder = pollorder + n;
    M* m = getm();
    G* gp = m != nullptr ? m->curg : nullptr;

    // Random poll order over the cases that have a channel.
    size_t norder = 0;
    for (size_t i = 0; i < n; i++) {
        if (cases[i].c == nullptr) continue;
        uint32_t j = randn(m, uint32_t(norder + 1));
        pollorder[norder] = pollorder[j];
        pollorder[j] = uint32_t(i);
        norder++;
    }
    if (norder == 0) {
        if (!block) return kEAGAIN;
        if (deadline < 0) blockForever(gp);
        sleepUntil(deadline);
        return kETIMEDOUT;
    }
    // Lock order: by channel address.
    std::copy(pollorder, pollorder + norder, lockorder);
    std::sort(lockorder, lockorder + norder, [cases](uint32_t a, uint32_t b) {
        return reinterpret_cast<uintptr_t>(cases[a].c) < reinterpret_cast<uintptr_t>(cases[b].c);
    });

    PlainThreadScope plain(gp == nullptr);
    sellock(cases, lockorder, norder);
    for (size_t k = 0; k < norder; k++) {
        uint32_t i = pollorder[k];
        int rc = pollOne(cases, lockorder, norder, i);
        if (rc != 1) {
            if (chosen != nullptr) *chosen = int(i);
            return rc;
        }
    }
    if (!block || (deadline >= 0 && nanotime() >= deadline)) {
        selunlock(cases, lockorder, norder);
        return block ? kETIMEDOUT : kEAGAIN;
    }
    bool success = false;
    uint32_t i = waitAll(cases, lockorder, norder, scratch.sudogs(), gp, deadline, &success);
    if (i == UINT32_MAX) return kETIMEDOUT;
    if (chosen != nullptr) *chosen = int(i);
    if (cases[i].dir == kSelectSend) return success ? kOK : kECLOSED;
    cases[i].ok = success;
    return kOK;
}

}  // namespace

int selectgo(SelectCase* cases, size_t n, bool block, int* chosen) {
    return selectImpl(cases, n, block, -1, chosen);
}

int selectgoUntil(SelectCase* cases, size_t n, int64_t deadline, int* chosen) {
    return selectImpl(cases, n, true, deadline, chosen);
}

}  // namespace gort
