// Channel tests: ping-pong, many producers and consumers, close, buffered
// semantics, errors, reference counting, plain threads, locked goroutines.
#include "runtime/chan.h"

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "runtime/proc.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

class Chan2 : public RuntimeTest {};

class Chan1 : public OnePTest {};

// A scrambled value, so checksums catch swapped or duplicated elements.
uint64_t mix(uint64_t v) {
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return v;
}

// pingPong: n round trips between the body (run by run) and an echo
// goroutine.
template <class Run>
void pingPong(long n, Run run) {
    TypedChan<long> ping, pong;
    long echoed = 0, received = 0, wrong = 0;
    WaitGroup wg;
    run([&] {
        wg.add(1);
        spawn([&] {
            long v;
            bool ok;
            while (ping.recv(&v, &ok) == kOK && ok) {
                echoed++;
                pong.send(v + 1);
            }
            wg.done();
        });
        for (long i = 0; i < n; i++) {
            ping.send(i);
            long v = -1;
            bool ok = false;
            pong.recv(&v, &ok);
            if (!ok || v != i + 1) wrong++;
            received++;
        }
        ping.close();
        wg.wait();
    });
    EXPECT_EQ(echoed, n);
    EXPECT_EQ(received, n);
    EXPECT_EQ(wrong, 0);
}

TEST_F(Chan2, MillionPingPongRoundTrips) {
    pingPong(scaled(1'000'000), spawnAndWait);
}

TEST_F(Chan1, MillionPingPongRoundTripsOnOneP) {
    pingPong(scaled(1'000'000), spawnAndWait);
}

TEST_F(Chan2, LockedMainGoroutinePingPong) {
    // The locked main goroutine hands its P to another thread at every block
    // (stoplockedm/startlockedm), so this is slow: fewer round trips.
    pingPong(scaled(20'000), runMain);
}

TEST_F(Chan2, PingPongBetweenTwoGoroutines) {
    // Neither side is the (locked) main goroutine: both park and resume
    // through run queues only.
    const long kN = scaled(1'000'000);
    TypedChan<long> ping, pong;
    long last = -1;
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(2);
        spawn([&] {
            long v;
            bool ok;
            while (ping.recv(&v, &ok) == kOK && ok) pong.send(v);
            pong.close();
            wg.done();
        });
        spawn([&] {
            long v = -1;
            for (long i = 0; i < kN; i++) {
                ping.send(i);
                pong.recv(&v);
            }
            last = v;
            ping.close();
            bool ok = true;
            pong.recv(&v, &ok);
            EXPECT_FALSE(ok);
            wg.done();
        });
        wg.wait();
    });
    EXPECT_EQ(last, kN - 1);
}

class ChanMPMC : public RuntimeTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(ChanMPMC, HundredProducersHundredConsumers) {
    constexpr int kProducers = 100, kConsumers = 100;
    const int kEach = scaled(2000);
    TypedChan<uint64_t> ch(GetParam());
    std::atomic<uint64_t> sent{0}, got{0}, sentMix{0}, gotMix{0};
    std::atomic<int64_t> ngot{0};
    WaitGroup producers, consumers;
    spawnAndWait([&] {
        producers.add(kProducers);
        consumers.add(kConsumers);
        for (int c = 0; c < kConsumers; c++) {
            spawn([&] {
                uint64_t v, s = 0, m = 0;
                int64_t n = 0;
                bool ok;
                while (ch.recv(&v, &ok) == kOK && ok) {
                    s += v;
                    m += mix(v);
                    n++;
                }
                got += s;
                gotMix += m;
                ngot += n;
                consumers.done();
            });
        }
        for (int p = 0; p < kProducers; p++) {
            spawn([&, p] {
                uint64_t s = 0, m = 0;
                for (int i = 0; i < kEach; i++) {
                    uint64_t v = uint64_t(p) << 32 | uint64_t(i + 1);
                    EXPECT_EQ(ch.send(v), kOK);
                    s += v;
                    m += mix(v);
                }
                sent += s;
                sentMix += m;
                producers.done();
            });
        }
        producers.wait();
        EXPECT_EQ(ch.close(), kOK);
        consumers.wait();
    });
    EXPECT_EQ(ngot.load(), int64_t(kProducers) * kEach);
    EXPECT_EQ(got.load(), sent.load());
    EXPECT_EQ(gotMix.load(), sentMix.load());
    EXPECT_EQ(ch.len(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Capacities, ChanMPMC, ::testing::Values(0, 1, 128));

TEST_F(Chan2, EachSendersValuesArriveInOrder) {
    constexpr int kSenders = 10;
    const int kEach = scaled(20'000);
    for (size_t cap : {size_t(0), size_t(7)}) {
        TypedChan<uint64_t> ch(cap);
        std::vector<int> next(kSenders, 0);
        int outOfOrder = 0, total = 0;
        WaitGroup wg;
        spawnAndWait([&] {
            wg.add(kSenders);
            for (int s = 0; s < kSenders; s++) {
                spawn([&, s] {
                    for (int i = 0; i < kEach; i++) ch.send(uint64_t(s) << 32 | uint64_t(i));
                    wg.done();
                });
            }
            for (int k = 0; k < kSenders * kEach; k++) {
                uint64_t v = ch.recv();
                int s = int(v >> 32), i = int(v & 0xffffffff);
                if (i != next[s]) outOfOrder++;
                next[s] = i + 1;
                total++;
            }
            wg.wait();
        });
        EXPECT_EQ(total, kSenders * kEach);
        EXPECT_EQ(outOfOrder, 0) << "cap " << cap;
    }
}

TEST_F(Chan2, CloseWakesEveryWaitingReceiver) {
    constexpr int kN = 100;
    TypedChan<int> ch;
    std::atomic<int> sawClosed{0}, notZeroed{0}, errors{0};
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(kN);
        for (int i = 0; i < kN; i++) {
            spawn([&] {
                int v = 12345;
                bool ok = true;
                if (ch.recv(&v, &ok) != kOK) errors++;
                if (!ok) sawClosed++;
                if (v != 0) notZeroed++;
                wg.done();
            });
        }
        yieldUntil([&] { return chanRecvWaiters(ch.get()) == kN; });
        EXPECT_EQ(ch.close(), kOK);
        wg.wait();
    });
    EXPECT_EQ(sawClosed.load(), kN);
    EXPECT_EQ(notZeroed.load(), 0);
    EXPECT_EQ(errors.load(), 0);
}

TEST_F(Chan2, CloseWakesEveryWaitingSender) {
    constexpr int kN = 100;
    for (size_t cap : {size_t(0), size_t(3)}) {
        TypedChan<int> ch(cap);
        std::atomic<int> closedErr{0}, delivered{0};
        WaitGroup wg;
        spawnAndWait([&] {
            for (size_t i = 0; i < cap; i++) ASSERT_EQ(ch.trySend(int(i) + 1), kOK);
            wg.add(kN);
            for (int i = 0; i < kN; i++) {
                spawn([&] {
                    int rc = ch.send(7);
                    if (rc == kECLOSED) closedErr++;
                    if (rc == kOK) delivered++;
                    wg.done();
                });
            }
            yieldUntil([&] { return chanSendWaiters(ch.get()) == kN; });
            EXPECT_EQ(ch.close(), kOK);
            wg.wait();
            // The buffered values survive the close, then ok turns false.
            for (size_t i = 0; i < cap; i++) {
                int v = 0;
                bool ok = false;
                EXPECT_EQ(ch.recv(&v, &ok), kOK);
                EXPECT_TRUE(ok);
                EXPECT_EQ(v, int(i) + 1);
            }
            int v = 99;
            bool ok = true;
            EXPECT_EQ(ch.recv(&v, &ok), kOK);
            EXPECT_FALSE(ok);
            EXPECT_EQ(v, 0);
        });
        EXPECT_EQ(closedErr.load(), kN) << "cap " << cap;
        EXPECT_EQ(delivered.load(), 0);
    }
}

TEST_F(Chan2, BufferedChannelSemantics) {
    spawnAndWait([&] {
        TypedChan<int> ch(3);
        EXPECT_EQ(ch.cap(), 3u);
        EXPECT_EQ(ch.len(), 0u);
        int v = -1;
        EXPECT_EQ(ch.tryRecv(&v), kEAGAIN);
        for (int i = 1; i <= 3; i++) EXPECT_EQ(ch.trySend(i), kOK);
        EXPECT_EQ(ch.len(), 3u);
        EXPECT_EQ(ch.trySend(4), kEAGAIN);
        bool ok = false;
        EXPECT_EQ(ch.tryRecv(&v, &ok), kOK);
        EXPECT_TRUE(ok);
        EXPECT_EQ(v, 1);
        EXPECT_EQ(ch.trySend(4), kOK);  // wraps around the ring
        EXPECT_EQ(ch.close(), kOK);
        EXPECT_EQ(ch.trySend(5), kECLOSED);
        EXPECT_EQ(ch.send(5), kECLOSED);
        EXPECT_EQ(ch.close(), kECLOSED);
        for (int want : {2, 3, 4}) {
            EXPECT_EQ(ch.tryRecv(&v, &ok), kOK);
            EXPECT_TRUE(ok);
            EXPECT_EQ(v, want);
        }
        v = 42;
        EXPECT_EQ(ch.tryRecv(&v, &ok), kOK);  // closed and drained: never blocks
        EXPECT_FALSE(ok);
        EXPECT_EQ(v, 0);
        EXPECT_EQ(ch.recv(&v, &ok), kOK);
        EXPECT_FALSE(ok);
    });
}

TEST_F(Chan2, UnbufferedTryOperationsNeedAPartner) {
    TypedChan<int> ch;
    WaitGroup wg;
    std::atomic<int> got{0};
    spawnAndWait([&] {
        EXPECT_EQ(ch.cap(), 0u);
        EXPECT_EQ(ch.trySend(1), kEAGAIN);
        int v;
        EXPECT_EQ(ch.tryRecv(&v), kEAGAIN);
        // With a receiver waiting, trySend hands the value over.
        wg.add(1);
        spawn([&] {
            got = ch.recv();
            wg.done();
        });
        yieldUntil([&] { return chanRecvWaiters(ch.get()) == 1; });
        EXPECT_EQ(ch.trySend(77), kOK);
        wg.wait();
        EXPECT_EQ(got.load(), 77);
        // With a sender waiting, tryRecv takes its value.
        wg.add(1);
        spawn([&] {
            EXPECT_EQ(ch.send(88), kOK);
            wg.done();
        });
        yieldUntil([&] { return chanSendWaiters(ch.get()) == 1; });
        bool ok = false;
        EXPECT_EQ(ch.tryRecv(&v, &ok), kOK);
        EXPECT_TRUE(ok);
        EXPECT_EQ(v, 88);
        wg.wait();
    });
}

TEST_F(Chan2, ReceiveMayDropTheValue) {
    spawnAndWait([&] {
        TypedChan<int> ch(1);
        ASSERT_EQ(ch.send(5), kOK);
        bool ok = false;
        EXPECT_EQ(chanrecv(ch.get(), nullptr, true, &ok), kOK);
        EXPECT_TRUE(ok);
        ASSERT_EQ(ch.send(6), kOK);
        EXPECT_EQ(chanrecv(ch.get(), nullptr, false, nullptr), kOK);
        EXPECT_EQ(ch.len(), 0u);
    });
}

TEST_F(Chan2, LargeElementsArriveIntact) {
    struct Big {
        uint32_t seq;
        unsigned char bytes[1020];
    };
    const int kN = scaled(20'000);
    for (size_t cap : {size_t(0), size_t(16)}) {
        TypedChan<Big> ch(cap);
        int bad = 0;
        WaitGroup wg;
        spawnAndWait([&] {
            wg.add(1);
            spawn([&] {
                Big b;
                for (int i = 0; i < kN; i++) {
                    b.seq = uint32_t(i);
                    memset(b.bytes, i & 0xff, sizeof b.bytes);
                    ch.send(b);
                }
                wg.done();
            });
            for (int i = 0; i < kN; i++) {
                Big b = ch.recv();
                bool good = b.seq == uint32_t(i);
                for (unsigned char x : b.bytes) good = good && x == (i & 0xff);
                if (!good) bad++;
            }
            wg.wait();
        });
        EXPECT_EQ(bad, 0) << "cap " << cap;
    }
}

TEST_F(Chan2, CloseWhileSendersAreActive) {
    constexpr int kSenders = 8;
    TypedChan<int> ch(4);
    std::atomic<int64_t> okSends{0}, closedSends{0};
    int64_t received = 0;
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(kSenders);
        for (int s = 0; s < kSenders; s++) {
            spawn([&] {
                for (;;) {
                    int rc = ch.send(1);
                    if (rc == kOK) {
                        okSends++;
                    } else {
                        EXPECT_EQ(rc, kECLOSED);
                        closedSends++;
                        break;
                    }
                }
                wg.done();
            });
        }
        for (int i = 0; i < scaled(50'000); i++) received += ch.recv();
        EXPECT_EQ(ch.close(), kOK);
        int v;
        bool ok;
        while (ch.recv(&v, &ok) == kOK && ok) received += v;
        wg.wait();
    });
    EXPECT_EQ(closedSends.load(), kSenders);
    EXPECT_EQ(received, okSends.load()) << "every successful send is received exactly once";
}

TEST_F(Chan2, EveryErrorCode) {
    Chan* c = nullptr;
    EXPECT_EQ(makechan(8, 0, nullptr), kEINVAL);

    EXPECT_EQ(makechan(kMaxChanElemSize + 1, 0, &c), kEINVAL);
    EXPECT_EQ(makechan(8, SIZE_MAX, &c), kEINVAL);
    EXPECT_EQ(makechan(1, kMaxChanBufBytes + 1, &c), kEINVAL);
    EXPECT_EQ(makechan(kMaxChanElemSize, 0, &c), kOK);
    EXPECT_EQ(chanrelease(c), kOK);

    int v = 1;
    bool ok = true;
    EXPECT_EQ(chansend(nullptr, &v, true), kEINVAL);
    EXPECT_EQ(chansend(nullptr, &v, false), kEINVAL);
    EXPECT_EQ(chanrecv(nullptr, &v, true, &ok), kEINVAL);
    EXPECT_FALSE(ok);
    EXPECT_EQ(closechan(nullptr), kEINVAL);
    EXPECT_EQ(chanretain(nullptr), kEINVAL);
    EXPECT_EQ(chanrelease(nullptr), kEINVAL);
    EXPECT_EQ(chanlen(nullptr), 0u);
    EXPECT_EQ(chancap(nullptr), 0u);

    ASSERT_EQ(makechan(sizeof v, 1, &c), kOK);
    EXPECT_EQ(chansend(c, nullptr, true), kEINVAL);
    EXPECT_EQ(chansend(c, &v, false), kOK);
    EXPECT_EQ(chansend(c, &v, false), kEAGAIN);
    EXPECT_EQ(closechan(c), kOK);
    EXPECT_EQ(closechan(c), kECLOSED);
    EXPECT_EQ(chansend(c, &v, true), kECLOSED);
    EXPECT_EQ(chansend(c, &v, false), kECLOSED);
    EXPECT_TRUE(chanclosed(c));
    EXPECT_EQ(chanrecv(c, &v, false, &ok), kOK);
    EXPECT_TRUE(ok);
    EXPECT_EQ(chanrecv(c, &v, false, &ok), kOK);
    EXPECT_FALSE(ok);
    EXPECT_EQ(chanrelease(c), kOK);

    TypedChan<int> huge(SIZE_MAX / 2);
    EXPECT_FALSE(huge.valid());
    EXPECT_EQ(huge.send(1), kEINVAL);
    EXPECT_EQ(huge.close(), kEINVAL);
}

TEST_F(Chan2, CreatorMayReleaseWhileReceiversBlock) {
    constexpr int kN = 10;
    int64_t live0 = chansLive();
    Chan* c = nullptr;
    ASSERT_EQ(makechan(sizeof(int), 0, &c), kOK);
    ASSERT_EQ(chanretain(c), kOK);  // the closer's reference
    std::atomic<int> sawClosed{0};
    WaitGroup wg;
    TypedChan<int> start;  // tells the closer to close
    spawnAndWait([&] {
        wg.add(kN + 1);
        for (int i = 0; i < kN; i++) {
            spawn([&, c] {
                int v;
                bool ok = true;
                chanrecv(c, &v, true, &ok);
                if (!ok) sawClosed++;
                wg.done();
            });
        }
        spawn([&, c] {
            start.recv();
            EXPECT_EQ(closechan(c), kOK);
            EXPECT_EQ(chanrelease(c), kOK);  // the last reference
            wg.done();
        });
        yieldUntil([&] { return chanRecvWaiters(c) == kN; });
        EXPECT_EQ(chanrelease(c), kOK);  // the creator's: receivers still block
        EXPECT_EQ(chansLive(), live0 + 2);
        start.send(1);
        wg.wait();
    });
    EXPECT_EQ(sawClosed.load(), kN);
    EXPECT_EQ(chansLive(), live0 + 1) << "only `start` is left";
}

TEST_F(Chan2, BlockedSenderKeepsChannelAfterLastRelease) {
    // A sender blocks on a channel whose every reference is then dropped: the
    // channel must stay (the sender's sudog is on it) and be freed by nobody.
    // A receiver holding the last reference completes it.
    int64_t live0 = chansLive();
    Chan* c = nullptr;
    ASSERT_EQ(makechan(sizeof(int), 0, &c), kOK);
    WaitGroup wg;
    std::atomic<int> got{0};
    spawnAndWait([&] {
        wg.add(2);
        spawn([&, c] {
            int v = 31;
            EXPECT_EQ(chansend(c, &v, true), kOK);
            wg.done();
        });
        yieldUntil([&] { return chanSendWaiters(c) == 1; });
        ASSERT_EQ(chanretain(c), kOK);
        spawn([&, c] {
            int v = 0;
            chanrecv(c, &v, true, nullptr);
            got = v;
            EXPECT_EQ(chanrelease(c), kOK);
            wg.done();
        });
        EXPECT_EQ(chanrelease(c), kOK);
        wg.wait();
    });
    EXPECT_EQ(got.load(), 31);
    EXPECT_EQ(chansLive(), live0);
}

TEST_F(Chan2, TypedChanCopiesShareTheChannel) {
    int64_t live0 = chansLive();
    {
        TypedChan<int> a(2);
        TypedChan<int> b = a;
        {
            TypedChan<int> moved = std::move(a);
            EXPECT_FALSE(a.valid());
            EXPECT_EQ(moved.get(), b.get());
            EXPECT_EQ(moved.trySend(3), kOK);
        }
        EXPECT_EQ(chansLive(), live0 + 1);
        EXPECT_EQ(b.recv(), 3);
    }
    EXPECT_EQ(chansLive(), live0);
}

TEST_F(Chan2, PlainThreadsSendAndReceive) {
    // Goroutines on one side, threads without goroutines on the other. The
    // threads are joined here, on the test's thread: a goroutine must not
    // block its M in pthread_join.
    const int kN = scaled(30'000);
    TypedChan<int> toG, fromG;
    int64_t sumAtG = 0, sumAtThread = 0;
    WaitGroup wg;
    wg.add(2);
    spawn([&] {
        for (int i = 0; i < kN; i++) sumAtG += toG.recv();
        wg.done();
    });
    spawn([&] {
        for (int i = 0; i < kN; i++) fromG.send(i);
        fromG.close();
        wg.done();
    });
    std::thread sender([&] {
        EXPECT_FALSE(onGoroutine());
        for (int i = 0; i < kN; i++) EXPECT_EQ(toG.send(i), kOK);
    });
    std::thread receiver([&] {
        int v;
        bool ok;
        while (fromG.recv(&v, &ok) == kOK && ok) sumAtThread += v;
    });
    sender.join();
    receiver.join();
    wg.wait();  // a plain thread waiting on a WaitGroup
    int64_t want = int64_t(kN) * (kN - 1) / 2;
    EXPECT_EQ(sumAtG, want);
    EXPECT_EQ(sumAtThread, want);
}

TEST_F(Chan2, TwoPlainThreadsPingPong) {
    const int kN = scaled(20'000);
    TypedChan<int> ping, pong;
    int last = -1;
    std::thread echo([&] {
        int v;
        bool ok;
        while (ping.recv(&v, &ok) == kOK && ok) pong.send(v);
    });
    for (int i = 0; i < kN; i++) {
        ping.send(i);
        last = pong.recv();
    }
    ping.close();
    echo.join();
    EXPECT_EQ(last, kN - 1);
}

TEST_F(Chan2, CloseWakesPlainThreadWaiters) {
    TypedChan<int> ch;
    std::atomic<int> sawClosed{0}, sendClosed{0};
    std::thread r([&] {
        int v = 5;
        bool ok = true;
        ch.recv(&v, &ok);
        if (!ok && v == 0) sawClosed++;
    });
    TypedChan<int> ch2;
    std::thread s([&] {
        if (ch2.send(1) == kECLOSED) sendClosed++;
    });
    spawnAndWait([&] {
        yieldUntil(
            [&] { return chanRecvWaiters(ch.get()) == 1 && chanSendWaiters(ch2.get()) == 1; });
        ch.close();
        ch2.close();
    });
    r.join();
    s.join();
    EXPECT_EQ(sawClosed.load(), 1);
    EXPECT_EQ(sendClosed.load(), 1);
}

// Go's TestBlockLocked: a goroutine locked to its thread sends 10 values on
// an unbuffered channel; it parks through stoplockedm for each and must stay
// on its thread.
TEST_F(Chan2, LockedGoroutineSendsOnUnbufferedChannel) {
    constexpr int kN = 10;
    TypedChan<int> ch;
    std::atomic<int> threadChanges{0};
    WaitGroup wg;
    std::vector<int> got;
    spawnAndWait([&] {
        wg.add(1);
        spawn([&] {
            EXPECT_EQ(lockOSThread(), kOK);
            pid_t tid = gettid();
            for (int i = 0; i < kN; i++) {
                ch.send(i);
                if (gettid() != tid) threadChanges++;
            }
            unlockOSThread();
            wg.done();
        });
        for (int i = 0; i < kN; i++) got.push_back(ch.recv());
        wg.wait();
    });
    ASSERT_EQ(got.size(), size_t(kN));
    for (int i = 0; i < kN; i++) EXPECT_EQ(got[i], i);
    EXPECT_EQ(threadChanges.load(), 0);
}

TEST_F(Chan1, ManyGoroutinesBlockedOnOneChannel) {
    const int kN = scaled(20'000);
    TypedChan<int> ch;
    std::atomic<int64_t> sum{0};
    WaitGroup wg;
    spawnAndWait([&] {
        wg.add(kN);
        for (int i = 0; i < kN; i++) {
            spawn([&] {
                sum += ch.recv();
                wg.done();
            });
        }
        for (int i = 0; i < kN; i++) ch.send(i);
        wg.wait();
    });
    EXPECT_EQ(sum.load(), int64_t(kN) * (kN - 1) / 2);
}

}  // namespace
}  // namespace gort::testing
