// Deadlock detection: with a main goroutine, a program whose goroutines are
// all blocked for good dies with Go's message (checked in child processes);
// sleeping goroutines, timers, locked goroutines, foreign threads and an
// embedded runtime (no main goroutine) never get a report.
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "runtime/chan.h"
#include "runtime/chantimer.h"
#include "runtime/proc.h"
#include "runtime/select.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

constexpr const char* kDeadlock = "gort: fatal error: all goroutines are asleep - deadlock!";

// runWatched starts the runtime and runs body as the program's main
// goroutine (RunOpts::main, as gort_run_main does), then afterMain on this
// thread, then shuts down.
void runWatched(int procs, std::function<void()> body, std::function<void()> afterMain = {}) {
    Config c;
    c.maxprocs = procs;
    // ctest runs these tests once per thread-creation mode ($GORT_TEST_CGO).
    const char* mode = getenv("GORT_TEST_CGO");
    c.cgo = mode != nullptr && strcmp(mode, "1") == 0;
    if (c.cgo) useTestThreadStart();
    ASSERT_EQ(init(c), kOK);
    RunOpts o;
    o.main = true;
    ASSERT_EQ(
        runOnThisThread([](void* f) { (*static_cast<std::function<void()>*>(f))(); }, &body, o),
        kOK);
    if (afterMain) afterMain();
    EXPECT_EQ(shutdown(5'000'000'000), kOK);
}

class DeadlockDeathTest : public ::testing::Test {
  protected:
    void SetUp() override { ::testing::FLAGS_gtest_death_test_style = "threadsafe"; }
};

TEST_F(DeadlockDeathTest, MainBlockedOnAChannelNobodySendsOn) {
    EXPECT_DEATH(runWatched(2,
                            [] {
                                TypedChan<int> c;
                                c.recv();
                            }),
                 kDeadlock);
}

TEST_F(DeadlockDeathTest, EmptySelectInMain) {
    // Go's `select {}` in main (LockedDeadlock without the lock).
    EXPECT_DEATH(runWatched(1,
                            [] {
                                int chosen;
                                selectgo(nullptr, 0, true, &chosen);
                            }),
                 kDeadlock);
}

TEST_F(DeadlockDeathTest, LockedGoroutineAndMainBothBlockForever) {
    // Go's LockedDeadlock2: a goroutine locks its thread and blocks forever;
    // main sleeps, then blocks forever too.
    EXPECT_DEATH(runWatched(2,
                            [] {
                                go(
                                    [](void*) {
                                        lockOSThread();
                                        int chosen;
                                        selectgo(nullptr, 0, true, &chosen);
                                    },
                                    nullptr);
                                sleep(1'000'000);
                                int chosen;
                                selectgo(nullptr, 0, true, &chosen);
                            }),
                 kDeadlock);
}

TEST_F(DeadlockDeathTest, GoroutinesSendingToEachOther) {
    EXPECT_DEATH(runWatched(2,
                            [] {
                                static TypedChan<int> a, b;
                                static WaitGroup wg;
                                wg.add(2);
                                spawn([] {
                                    a.send(1);  // b's owner never receives
                                    wg.done();
                                });
                                spawn([] {
                                    b.send(1);
                                    wg.done();
                                });
                                wg.wait();
                            }),
                 kDeadlock);
}

TEST_F(DeadlockDeathTest, MainLocksAMutexTwice) {
    EXPECT_DEATH(runWatched(2,
                            [] {
                                GoMutex mu;
                                mu.lock();
                                mu.lock();
                            }),
                 kDeadlock);
}

TEST_F(DeadlockDeathTest, ReportedOnceTheLastTimerHasFired) {
    // A pending timer defers the report; once it has fired and its receiver
    // blocks for good, the deadlock is reported.
    EXPECT_DEATH(runWatched(2,
                            [] {
                                auto t = TypedChan<int64_t>::adopt(after(2'000'000));
                                t.recv();
                                TypedChan<int> never;
                                never.recv();
                            }),
                 kDeadlock);
}

TEST_F(DeadlockDeathTest, WaitGroupThatNeverReachesZero) {
    EXPECT_DEATH(runWatched(1,
                            [] {
                                WaitGroup wg;
                                wg.add(1);
                                wg.wait();
                            }),
                 kDeadlock);
}

// ---- no false reports ---------------------------------------------------------------

TEST(Deadlock, SleepingAndTimerWokenGoroutinesAreNotDeadlocked) {
    constexpr int kN = 100;
    std::atomic<int> got{0};
    runWatched(2, [&] {
        TypedChan<int> results;
        for (int i = 0; i < kN; i++) {
            spawn([results, i]() mutable {
                if (i % 2 == 0) {
                    sleep((i % 10) * 200'000);
                } else {
                    // Woken by a timer channel in a select.
                    TypedChan<int> never;
                    auto t = TypedChan<int64_t>::adopt(after((i % 10) * 200'000));
                    int v;
                    int64_t when;
                    SelectCase cases[2];
                    cases[0].c = never.get();
                    cases[0].elem = &v;
                    cases[1].c = t.get();
                    cases[1].elem = &when;
                    int chosen;
                    selectgo(cases, 2, true, &chosen);
                }
                results.send(i);
            });
        }
        // Main blocks while everyone sleeps: only timers are pending.
        for (int i = 0; i < kN; i++) {
            results.recv();
            got++;
        }
        sleep(3'000'000);  // main itself asleep, nobody else left
        auto t = TypedChan<int64_t>::adopt(after(3'000'000));
        t.recv();
    });
    EXPECT_EQ(got.load(), kN);
}

TEST(Deadlock, LockedGoroutinesHandingOffArePassedOver) {
    // The main goroutine is locked: every block hands its P to another
    // thread and back (stoplockedm/startlockedm), the transient states
    // checkdead must not mistake for a deadlock. A second locked goroutine
    // sends on an unbuffered channel (Go's BlockLocked).
    const int kRounds = scaled(5'000);
    long last = -1;
    int locked = 0;
    runWatched(2, [&] {
        TypedChan<long> ping, pong;
        spawn([ping, pong]() mutable {
            long v;
            bool ok;
            while (ping.recv(&v, &ok) == kOK && ok) pong.send(v);
        });
        for (long i = 0; i < kRounds; i++) {
            ping.send(i);
            last = pong.recv();
        }
        ping.close();
        TypedChan<int> c;
        spawn([c]() mutable {
            lockOSThread();
            for (int i = 0; i < 10; i++) c.send(i);
            unlockOSThread();
        });
        for (int i = 0; i < 10; i++) locked += c.recv() >= 0;
    });
    EXPECT_EQ(last, kRounds - 1);
    EXPECT_EQ(locked, 10);
}

TEST(Deadlock, BusyProgramIsNotDeadlocked) {
    // Main waits while 100 goroutines pass values through unbuffered and
    // buffered channels and selects, parking and waking all the time on two
    // Ps: Ms go idle and wake constantly, and checkdead runs each time.
    constexpr int kProducers = 50, kConsumers = 50;
    const int kEach = scaled(2'000);
    std::atomic<int64_t> got{0};
    runWatched(2, [&] {
        TypedChan<int> unbuf, buf(8);
        WaitGroup producers, consumers;
        producers.add(kProducers);
        consumers.add(kConsumers);
        for (int c = 0; c < kConsumers; c++) {
            spawn([&] {
                int v1, v2;
                SelectCase cases[2];
                cases[0].c = unbuf.get();
                cases[0].elem = &v1;
                cases[1].c = buf.get();
                cases[1].elem = &v2;
                while (cases[0].c != nullptr || cases[1].c != nullptr) {
                    int chosen = -1;
                    selectgo(cases, 2, true, &chosen);
                    if (cases[chosen].ok) {
                        got++;
                    } else {
                        cases[chosen].c = nullptr;  // closed and drained: Go's nil channel
                    }
                }
                consumers.done();
            });
        }
        for (int p = 0; p < kProducers; p++) {
            spawn([&, p] {
                for (int i = 0; i < kEach; i++) (p % 2 == 0 ? unbuf : buf).send(i);
                producers.done();
            });
        }
        producers.wait();
        unbuf.close();
        buf.close();
        consumers.wait();
    });
    EXPECT_EQ(got.load(), int64_t(kProducers) * kEach);
}

TEST(Deadlock, ForeignThreadBoundToTheRuntimeMayStillCallIn) {
    // A foreign thread holding an extra M (bound, as the C ABI binds every C
    // thread that calls in) does C work between two callbacks while main
    // waits for it: every M is idle then, but the thread may call back.
    // A thread that has never entered the runtime is invisible (as in Go,
    // where only cgo's extra Ms stand for C threads), so main first waits,
    // runnable, until the thread is bound.
    int got = 0;
    static std::atomic<bool> bound{false};
    static TypedChan<int> c;
    bound = false;
    std::thread t;
    runWatched(
        2,
        [&] {
            t = std::thread([] {
                RunOpts keep;
                keep.keepM = true;
                runOnThisThread([](void*) { bound = true; }, nullptr, keep);
                std::this_thread::sleep_for(std::chrono::milliseconds(20));  // C work
                runOnThisThread([](void*) { c.send(5); }, nullptr);          // call in, then unbind
            });
            while (!bound) gosched();
            got = c.recv();
        },
        [&] { t.join(); });
    EXPECT_EQ(got, 5);
}

// allMsIdle: nothing could run (checkdead's M count is zero).
bool allMsIdle() {
    LockGuard g(sched.lock);
    return sched.mnext - sched.nmfreed - sched.nmidle - sched.nmidlelocked - sched.nmsys -
               sched.extraMCount.load() ==
           0;
}

TEST(Deadlock, EmbeddedRuntimeWithoutMainGoroutineNeverReports) {
    // No main goroutine: every goroutine blocks and every M goes idle (so
    // checkdead runs on the last one), yet the application can still act.
    constexpr int kN = 20;
    Config c;
    c.maxprocs = 2;
    ASSERT_EQ(init(c), kOK);
    TypedChan<int> ch;
    WaitGroup wg;
    wg.add(kN);
    for (int i = 0; i < kN; i++) {
        spawn([&] {
            ch.recv();
            wg.done();
        });
    }
    while (chanRecvWaiters(ch.get()) != size_t(kN) || !allMsIdle()) std::this_thread::yield();
    EXPECT_EQ(ch.close(), kOK);  // the application wakes them
    wg.wait();
    EXPECT_EQ(shutdown(5'000'000'000), kOK);
}

}  // namespace
}  // namespace gort::testing
