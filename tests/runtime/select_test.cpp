// select tests: uniform choice, send and receive on one channel, default,
// timer channels, lock ordering, close, null channels, plain threads, errors.
#include "runtime/select.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "runtime/chantimer.h"
#include "runtime/proc.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

class Select2 : public RuntimeTest {};

class Select1 : public OnePTest {};

SelectCase recvCase(Chan* c, void* elem) {
    SelectCase s;
    s.c = c;
    s.dir = kSelectRecv;
    s.elem = elem;
    return s;
}

SelectCase sendCase(Chan* c, const void* elem) {
    SelectCase s;
    s.c = c;
    s.dir = kSelectSend;
    s.elem = const_cast<void*>(elem);
    return s;
}

// expectUniform checks counts over k cases of n selects: each within 5% of
// n/k (relative), and Pearson's chi-square below the 1e-6 tail for k-1
// degrees of freedom (k = 3: 27.6; k = 4: 30.7).
void expectUniform(const std::vector<int64_t>& counts, int64_t n) {
    double expect = double(n) / double(counts.size());
    double chi2 = 0;
    for (size_t i = 0; i < counts.size(); i++) {
        double d = double(counts[i]) - expect;
        chi2 += d * d / expect;
        EXPECT_NEAR(double(counts[i]), expect, 0.05 * expect) << "case " << i;
    }
    double limit = counts.size() == 3 ? 27.6 : 30.7;
    EXPECT_LT(chi2, limit) << "chi-square over " << counts.size() << " cases";
}

// fairness: 4 buffered channels that always hold a value; 100,000 selects
// receive from one of them and refill it.
void fairness() {
    constexpr int kCases = 4, kSelects = 100'000;
    std::vector<TypedChan<int>> chans;
    std::vector<SelectCase> cases;
    std::vector<int> vals(kCases);
    for (int i = 0; i < kCases; i++) {
        chans.emplace_back(1);
        ASSERT_EQ(chans[i].trySend(i), kOK);
    }
    for (int i = 0; i < kCases; i++) cases.push_back(recvCase(chans[i].get(), &vals[i]));
    std::vector<int64_t> counts(kCases);
    for (int k = 0; k < kSelects; k++) {
        int chosen = -1;
        ASSERT_EQ(selectgo(cases.data(), cases.size(), true, &chosen), kOK);
        ASSERT_GE(chosen, 0);
        ASSERT_TRUE(cases[chosen].ok);
        ASSERT_EQ(vals[chosen], chosen);
        counts[chosen]++;
        ASSERT_EQ(chans[chosen].trySend(chosen), kOK);
    }
    expectUniform(counts, kSelects);
}

TEST_F(Select2, ChoiceAmongReadyCasesIsUniform) {
    spawnAndWait(fairness);
}

TEST_F(Select2, ChoiceIsUniformOnAPlainThreadToo) {
    EXPECT_FALSE(onGoroutine());
    fairness();
}

TEST_F(Select2, RepeatedChannelCasesAreLockedOnceAndChosenUniformly) {
    // Three receive cases on one channel: locking it once per case would
    // deadlock the select on itself.
    spawnAndWait([] {
        constexpr int kSelects = 60'000;
        TypedChan<int> c(1);
        int v;
        SelectCase cases[3] = {recvCase(c.get(), &v), recvCase(c.get(), &v), recvCase(c.get(), &v)};
        std::vector<int64_t> counts(3);
        for (int k = 0; k < kSelects; k++) {
            ASSERT_EQ(c.trySend(k), kOK);
            int chosen = -1;
            ASSERT_EQ(selectgo(cases, 3, true, &chosen), kOK);
            ASSERT_EQ(v, k);
            counts[chosen]++;
        }
        expectUniform(counts, kSelects);
    });
}

TEST_F(Select2, SendAndReceiveOnOneBufferedChannel) {
    // Empty: only the send can proceed; full: only the receive.
    spawnAndWait([] {
        TypedChan<int> c(1);
        int out = 0, in = -1;
        SelectCase cases[2] = {sendCase(c.get(), &out), recvCase(c.get(), &in)};
        for (int k = 0; k < 1000; k++) {
            out = k;
            int chosen = -1;
            ASSERT_EQ(selectgo(cases, 2, true, &chosen), kOK);
            ASSERT_EQ(chosen, 0);
            ASSERT_EQ(selectgo(cases, 2, true, &chosen), kOK);
            ASSERT_EQ(chosen, 1);
            ASSERT_TRUE(cases[1].ok);
            ASSERT_EQ(in, k);
        }
    });
}

TEST_F(Select2, TwoGoroutinesSelectingSendAndReceiveOnOneChannelPairUp) {
    // Each selects {send c, receive c} on an unbuffered channel: a select
    // never matches itself, so each communication pairs the two goroutines.
    const int kRounds = scaled(20'000);
    TypedChan<int> c;
    int64_t sends[2] = {0, 0}, recvs[2] = {0, 0}, fromOther[2] = {0, 0};
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(2);
        for (int id = 0; id < 2; id++) {
            spawn([&, id] {
                int mine = id, got = -1;
                SelectCase cases[2] = {sendCase(c.get(), &mine), recvCase(c.get(), &got)};
                for (int k = 0; k < kRounds; k++) {
                    int chosen = -1;
                    EXPECT_EQ(selectgo(cases, 2, true, &chosen), kOK);
                    if (chosen == 0) {
                        sends[id]++;
                    } else {
                        recvs[id]++;
                        if (got == 1 - id) fromOther[id]++;
                    }
                }
                wg.done();
            });
        }
        wg.wait();
    });
    EXPECT_EQ(sends[0], recvs[1]);
    EXPECT_EQ(sends[1], recvs[0]);
    EXPECT_EQ(fromOther[0], recvs[0]);
    EXPECT_EQ(fromOther[1], recvs[1]);
    EXPECT_EQ(sends[0] + recvs[0], kRounds);
}

TEST_F(Select2, DefaultWhenNothingIsReady) {
    spawnAndWait([] {
        TypedChan<int> a, b(1);
        int v = 7;
        SelectCase cases[2] = {recvCase(a.get(), &v), sendCase(a.get(), &v)};
        int chosen = 5;
        EXPECT_EQ(selectgo(cases, 2, false, &chosen), kEAGAIN);
        EXPECT_EQ(chosen, -1);
        SelectCase one[2] = {recvCase(a.get(), &v), sendCase(b.get(), &v)};
        EXPECT_EQ(selectgo(one, 2, false, &chosen), kOK);
        EXPECT_EQ(chosen, 1);
        EXPECT_EQ(b.len(), 1u);
        EXPECT_EQ(selectgo(one, 2, false, &chosen), kEAGAIN);  // b is full now
        // No channels at all.
        EXPECT_EQ(selectgo(nullptr, 0, false, &chosen), kEAGAIN);
        SelectCase nulls[2] = {recvCase(nullptr, &v), sendCase(nullptr, &v)};
        EXPECT_EQ(selectgo(nulls, 2, false, &chosen), kEAGAIN);
    });
}

TEST_F(Select2, NullChannelCasesAreNeverChosen) {
    spawnAndWait([] {
        TypedChan<int> c(1);
        int v = 0;
        SelectCase cases[3] = {recvCase(nullptr, &v), recvCase(c.get(), &v), sendCase(nullptr, &v)};
        for (int k = 0; k < 100; k++) {
            ASSERT_EQ(c.trySend(k), kOK);
            int chosen = -1;
            ASSERT_EQ(selectgo(cases, 3, true, &chosen), kOK);
            ASSERT_EQ(chosen, 1);
            ASSERT_EQ(v, k);
        }
    });
}

TEST_F(Select2, ClosedChannels) {
    spawnAndWait([] {
        TypedChan<int> r(2), s;
        ASSERT_EQ(r.trySend(9), kOK);
        ASSERT_EQ(r.close(), kOK);
        ASSERT_EQ(s.close(), kOK);
        int v = -1;
        SelectCase rc[1] = {recvCase(r.get(), &v)};
        int chosen = -1;
        ASSERT_EQ(selectgo(rc, 1, true, &chosen), kOK);  // buffered value first
        EXPECT_TRUE(rc[0].ok);
        EXPECT_EQ(v, 9);
        ASSERT_EQ(selectgo(rc, 1, true, &chosen), kOK);
        EXPECT_FALSE(rc[0].ok);
        EXPECT_EQ(v, 0);
        int out = 1;
        SelectCase sc[1] = {sendCase(s.get(), &out)};
        EXPECT_EQ(selectgo(sc, 1, true, &chosen), kECLOSED);
        EXPECT_EQ(chosen, 0);
        EXPECT_EQ(selectgo(sc, 1, false, &chosen), kECLOSED);
    });
}

TEST_F(Select2, CloseWakesABlockedSelect) {
    TypedChan<int> a, b, c;
    int chosen[2] = {-1, -1}, rc[2] = {-1, -1};
    bool ok = true;
    int v = 5;
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(2);
        spawn([&] {
            SelectCase cases[2] = {recvCase(a.get(), &v), recvCase(b.get(), &v)};
            rc[0] = selectgo(cases, 2, true, &chosen[0]);
            ok = cases[chosen[0]].ok;
            wg.done();
        });
        spawn([&] {
            int out = 1;
            SelectCase cases[2] = {recvCase(a.get(), nullptr), sendCase(c.get(), &out)};
            rc[1] = selectgo(cases, 2, true, &chosen[1]);
            wg.done();
        });
        yieldUntil([&] { return chanRecvWaiters(b.get()) == 1 && chanSendWaiters(c.get()) == 1; });
        b.close();
        c.close();
        wg.wait();
        // Both selects took their sudogs off a's queue.
        EXPECT_EQ(chanRecvWaiters(a.get()), 0u);
    });
    EXPECT_EQ(rc[0], kOK);
    EXPECT_EQ(chosen[0], 1);
    EXPECT_FALSE(ok);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(rc[1], kECLOSED);
    EXPECT_EQ(chosen[1], 1);
}

TEST_F(Select2, BlockedSelectIsCompletedBySenderAndReceiver) {
    TypedChan<int> in, out;
    int got = -1, chosen1 = -1, chosen2 = -1;
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(1);
        spawn([&] {
            int v = -1, w = 42;
            SelectCase cases[2] = {recvCase(in.get(), &v), sendCase(out.get(), &w)};
            EXPECT_EQ(selectgo(cases, 2, true, &chosen1), kOK);  // completed by a sender
            got = v;
            EXPECT_EQ(selectgo(cases, 2, true, &chosen2), kOK);  // completed by a receiver
            wg.done();
        });
        yieldUntil([&] { return chanRecvWaiters(in.get()) == 1; });
        EXPECT_EQ(in.send(17), kOK);
        EXPECT_EQ(out.recv(), 42);
        wg.wait();
    });
    EXPECT_EQ(chosen1, 0);
    EXPECT_EQ(got, 17);
    EXPECT_EQ(chosen2, 1);
}

TEST_F(Select2, TimerCaseFiresAfterItsDuration) {
    spawnAndWait([] {
        TypedChan<int> never;
        for (int64_t d : {int64_t(0), int64_t(100'000), int64_t(5'000'000)}) {
            int64_t t0 = nanotime();  // before the timer starts: a lower bound
            auto t = TypedChan<int64_t>::adopt(after(d));
            ASSERT_TRUE(t.valid());
            int v;
            int64_t when = 0;
            SelectCase cases[2] = {recvCase(never.get(), &v), recvCase(t.get(), &when)};
            int chosen = -1;
            ASSERT_EQ(selectgo(cases, 2, true, &chosen), kOK);
            int64_t elapsed = nanotime() - t0;
            EXPECT_EQ(chosen, 1);
            EXPECT_TRUE(cases[1].ok);
            EXPECT_GE(elapsed, d);
            EXPECT_GE(when, t0 + d);
        }
    });
}

TEST_F(Select2, ManyGoroutinesTimeOutInSelect) {
    constexpr int kN = 200;
    TypedChan<int> never;
    std::atomic<int> timedOut{0}, early{0};
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(kN);
        for (int i = 0; i < kN; i++) {
            spawn([&, i] {
                int64_t d = (i % 20) * 100'000;
                int64_t t0 = nanotime();
                auto t = TypedChan<int64_t>::adopt(after(d));
                int v;
                int64_t when;
                SelectCase cases[2] = {recvCase(never.get(), &v), recvCase(t.get(), &when)};
                int chosen = -1;
                EXPECT_EQ(selectgo(cases, 2, true, &chosen), kOK);
                if (chosen == 1) timedOut++;
                if (nanotime() - t0 < d) early++;
                wg.done();
            });
        }
        wg.wait();
    });
    EXPECT_EQ(timedOut.load(), kN);
    EXPECT_EQ(early.load(), 0);
}

TEST_F(Select2, StoppedTimerNeverFires) {
    spawnAndWait([] {
        ChanTimer* t = ChanTimer::make(50'000'000);
        ASSERT_NE(t, nullptr);
        EXPECT_TRUE(t->stop());
        EXPECT_FALSE(t->stop());
        // Wait past its time with another timer, then look.
        auto later = TypedChan<int64_t>::adopt(after(60'000'000));
        later.recv();
        int64_t v;
        EXPECT_EQ(chanrecv(t->chan(), &v, false, nullptr), kEAGAIN);
        t->destroy();

        int64_t t0 = nanotime();
        ChanTimer* fired = ChanTimer::make(1'000);
        ASSERT_NE(fired, nullptr);
        bool ok = false;
        EXPECT_EQ(chanrecv(fired->chan(), &v, true, &ok), kOK);
        EXPECT_TRUE(ok);
        EXPECT_GE(v, t0 + 1'000) << "the value is the time it fired";
        EXPECT_FALSE(fired->stop());
        fired->destroy();
    });
}

TEST_F(Select2, TimerChannelsAreFreed) {
    int64_t live0 = chansLive();
    spawnAndWait([] {
        for (int i = 0; i < 100; i++) {
            ChanTimer* t = ChanTimer::make(i % 2 == 0 ? 1'000 : 1'000'000'000);
            t->destroy();  // stopped or fired: either way nothing leaks
        }
        // after() channels: the caller's reference, then the timer's.
        auto t = TypedChan<int64_t>::adopt(after(1'000));
        t.recv();
    });
    // The fired timers have dropped their references by now, or will once
    // they run: wait for the count to settle.
    spawnAndWait([&] { yieldUntil([&] { return chansLive() == live0; }); });
    EXPECT_EQ(chansLive(), live0);
}

// Goroutines select over the same channels, each listing its cases in its
// own random order, sending and receiving: channel locks are taken in
// address order, so no pair of selects can deadlock on each other's locks.
TEST_F(Select2, SelectsInDifferentOrdersNeverDeadlock) {
    constexpr int kChans = 6, kGoroutines = 8;
    const int64_t kTarget = scaled(200'000);
    std::vector<TypedChan<int64_t>> chans;
    for (int i = 0; i < kChans; i++) chans.emplace_back(i % 2);  // unbuffered and cap 1
    TypedChan<int> quit;
    Once closeQuit;
    std::atomic<int64_t> done{0}, sentSum{0}, recvSum{0}, nsent{0}, nrecv{0};
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(kGoroutines);
        for (int g = 0; g < kGoroutines; g++) {
            spawn([&, g] {
                std::mt19937 rng(g);
                std::vector<int> order(2 * kChans);
                for (int i = 0; i < 2 * kChans; i++) order[i] = i;
                int64_t out = 0, in = 0;
                int64_t mySent = 0, myRecv = 0, ns = 0, nr = 0;
                for (int64_t k = 0;; k++) {
                    std::shuffle(order.begin(), order.end(), rng);
                    std::vector<SelectCase> cases;
                    for (int o : order) {
                        Chan* c = chans[o / 2].get();
                        cases.push_back(o % 2 == 0 ? sendCase(c, &out) : recvCase(c, &in));
                    }
                    cases.push_back(recvCase(quit.get(), nullptr));
                    out = (int64_t(g) << 40) | k;
                    int chosen = -1;
                    EXPECT_EQ(selectgo(cases.data(), cases.size(), true, &chosen), kOK);
                    if (chosen == int(cases.size()) - 1) break;  // quit closed
                    if (cases[chosen].dir == kSelectSend) {
                        mySent += out;
                        ns++;
                    } else {
                        myRecv += in;
                        nr++;
                    }
                    if (done.fetch_add(1) + 1 == kTarget) closeQuit.call([&] { quit.close(); });
                }
                sentSum += mySent;
                recvSum += myRecv;
                nsent += ns;
                nrecv += nr;
                wg.done();
            });
        }
        wg.wait();
        // Values still buffered (cap 1 channels) were sent but not received.
        for (auto& c : chans) {
            int64_t v;
            while (c.tryRecv(&v) == kOK) {
                recvSum += v;
                nrecv++;
            }
        }
    });
    EXPECT_GE(done.load(), kTarget);
    EXPECT_EQ(nsent.load(), nrecv.load());
    EXPECT_EQ(sentSum.load(), recvSum.load());
}

TEST_F(Select2, ManyCases) {
    // More cases than fit on the stack: the scratch space comes from the heap.
    constexpr int kN = 100;
    std::vector<TypedChan<int>> chans;
    for (int i = 0; i < kN; i++) chans.emplace_back(0);
    std::vector<int> vals(kN, -1);
    int chosen = -1, rc = -1;
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(1);
        spawn([&] {
            std::vector<SelectCase> cases;
            for (int i = 0; i < kN; i++) cases.push_back(recvCase(chans[i].get(), &vals[i]));
            rc = selectgo(cases.data(), cases.size(), true, &chosen);
            wg.done();
        });
        yieldUntil([&] { return chanRecvWaiters(chans[77].get()) == 1; });
        chans[77].send(770);
        wg.wait();
        for (auto& c : chans) EXPECT_EQ(chanRecvWaiters(c.get()), 0u);
    });
    EXPECT_EQ(rc, kOK);
    EXPECT_EQ(chosen, 77);
    EXPECT_EQ(vals[77], 770);
}

TEST_F(Select2, PlainThreadBlocksInSelect) {
    TypedChan<int> a, b;
    int v = -1, chosen = -1, rc = -1;
    std::thread t([&] {
        SelectCase cases[2] = {recvCase(a.get(), &v), recvCase(b.get(), &v)};
        rc = selectgo(cases, 2, true, &chosen);
    });
    spawnAndWait([&] {
        yieldUntil([&] { return chanRecvWaiters(b.get()) == 1; });
        b.send(23);
    });
    t.join();
    EXPECT_EQ(chanRecvWaiters(a.get()), 0u) << "the thread took its other sudog back";
    EXPECT_EQ(rc, kOK);
    EXPECT_EQ(chosen, 1);
    EXPECT_EQ(v, 23);
}

TEST_F(Select2, ChannelReleasedWhileASelectWaitsOnItLivesUntilTheSelectLeaves) {
    int64_t live0 = chansLive();
    Chan* lone = nullptr;
    ASSERT_EQ(makechan(sizeof(int), 0, &lone), kOK);
    TypedChan<int> wake;
    int chosen = -1;
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(1);
        spawn([&, lone] {
            int v;
            SelectCase cases[2] = {recvCase(lone, &v), recvCase(wake.get(), &v)};
            EXPECT_EQ(selectgo(cases, 2, true, &chosen), kOK);
            wg.done();
        });
        yieldUntil([&] { return chanRecvWaiters(wake.get()) == 1; });
        EXPECT_EQ(chanrelease(lone), kOK);  // no reference left, a select waits on it
        EXPECT_EQ(chansLive(), live0 + 2);
        wake.send(1);
        wg.wait();
    });
    EXPECT_EQ(chosen, 1);
    EXPECT_EQ(chansLive(), live0 + 1) << "the select freed the released channel";
}

TEST_F(Select1, SelectSendHandsOffToAWaitingReceiver) {
    TypedChan<int> c;
    int got = -1;
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(1);
        spawn([&] {
            got = c.recv();
            wg.done();
        });
        yieldUntil([&] { return chanRecvWaiters(c.get()) == 1; });
        int v = 64, chosen = -1;
        SelectCase cases[1] = {sendCase(c.get(), &v)};
        EXPECT_EQ(selectgo(cases, 1, false, &chosen), kOK);
        EXPECT_EQ(chosen, 0);
        wg.wait();
    });
    EXPECT_EQ(got, 64);
}

TEST_F(Select2, BadCasesAreRejected) {
    TypedChan<int> c(1);
    int v = 0, chosen = 3;
    EXPECT_EQ(selectgo(nullptr, 1, true, &chosen), kEINVAL);
    EXPECT_EQ(chosen, -1);
    SelectCase bad = recvCase(c.get(), &v);
    bad.dir = 0;
    EXPECT_EQ(selectgo(&bad, 1, true, &chosen), kEINVAL);
    bad.dir = 3;
    EXPECT_EQ(selectgo(&bad, 1, false, &chosen), kEINVAL);
    SelectCase noValue = sendCase(c.get(), nullptr);
    EXPECT_EQ(selectgo(&noValue, 1, true, &chosen), kEINVAL);
    std::vector<SelectCase> tooMany(kMaxSelectCases + 1, recvCase(c.get(), &v));
    EXPECT_EQ(selectgo(tooMany.data(), tooMany.size(), false, &chosen), kEINVAL);
    EXPECT_EQ(c.len(), 0u) << "nothing was performed";
}

}  // namespace
}  // namespace gort::testing
