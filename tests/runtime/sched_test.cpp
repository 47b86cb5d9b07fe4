// Scheduler tests: spawning, spreading, parking, yielding, GOMAXPROCS.
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/cgo.h"
#include "runtime/proc.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

class Sched2 : public RuntimeTest {};

class Sched1 : public OnePTest {};

// spawnAndWait spawns n goroutines from the main goroutine and waits for
// all of them; returns how many ran.
int spawnAndWait(int n) {
    std::atomic<int> ran{0};
    runMain([&] {
        WaitGroup wg;
        wg.add(n);
        for (int i = 0; i < n; i++) {
            spawn([&] {
                ran.fetch_add(1, std::memory_order_relaxed);
                wg.done();
            });
        }
        wg.wait();
    });
    return ran.load();
}

TEST_F(Sched2, MillionGoroutinesAllComplete) {
    const int kN = scaled(1'000'000);
    EXPECT_EQ(spawnAndWait(kN), kN);
    // The last goroutines signal before they exit: they are gone soon after.
    EXPECT_TRUE(waitUntil([] { return numGoroutine() == 0; }));
}

TEST_F(Sched1, MillionGoroutinesOnOneP) {
    const int kN = scaled(1'000'000);
    EXPECT_EQ(spawnAndWait(kN), kN);
}

TEST_F(Sched2, SpawnFromManyGoroutinesAtOnce) {
    const int kSpawners = 100, kEach = scaled(2000);
    std::atomic<int> ran{0};
    std::mutex mu;
    std::set<int64_t> ids;
    runMain([&] {
        WaitGroup wg;
        wg.add(kSpawners * (kEach + 1));
        for (int s = 0; s < kSpawners; s++) {
            spawn([&] {
                std::vector<int64_t> mine;
                for (int i = 0; i < kEach; i++) {
                    mine.push_back(spawn([&] {
                        ran.fetch_add(1, std::memory_order_relaxed);
                        wg.done();
                    }));
                }
                {
                    std::lock_guard<std::mutex> l(mu);
                    ids.insert(mine.begin(), mine.end());
                }
                wg.done();
            });
        }
        wg.wait();
    });
    EXPECT_EQ(ran.load(), kSpawners * kEach);
    EXPECT_EQ(ids.size(), size_t(kSpawners * kEach)) << "goroutine ids must be unique";
}

TEST_F(Sched2, WorkSpreadsToEveryP) {
    // Each goroutine spins long enough that one P cannot keep up alone;
    // count the goroutines each P ran.
    constexpr int kN = 400;
    // Indexed by P id: Ps lent by stall detection may run some too (a
    // thread that blocks in the kernel on a loaded machine: a page fault,
    // a descheduled lock holder). The goroutines record their thread
    // without a lock, so that the test itself gives no reason to lend.
    std::atomic<int> perP[kMaxProcs] = {};
    std::vector<std::atomic<pid_t>> tids(kN);
    runMain([&] {
        WaitGroup wg;
        wg.add(kN);
        for (int i = 0; i < kN; i++) {
            spawn([&, i] {
                int64_t until = nanotime() + 100'000;
                while (nanotime() < until) {
                }
                perP[getm()->p->id].fetch_add(1);
                tids[i].store(gettid());
                wg.done();
            });
        }
        wg.wait();
    });
    int total = 0, busiest = 0, busiestP = 0;
    for (int i = 0; i < kMaxProcs; i++) {
        int n = perP[i].load();
        total += n;
        if (n > busiest) {
            busiest = n;
            busiestP = i;
        }
    }
    EXPECT_EQ(total, kN);
    std::set<pid_t> threads;
    for (auto& t : tids) threads.insert(t.load());
    EXPECT_GE(threads.size(), 2u) << "work never left the first M";
    // No P ran more than four fifths (with only the 2 Ps: each ran more
    // than a fifth).
    EXPECT_LE(busiest, kN - kN / 5) << "P " << busiestP << " ran " << busiest << " of " << kN;
}

// A ping-pong through gopark/goready between goroutines that run on
// different Ps: every wakeup must arrive (a lost one hangs the test).
TEST_F(Sched2, ParkReadyAcrossPsNoLostWakeup) {
    const int kIters = scaled(100'000);
    struct Slot {
        Mutex lock;
        G* waiter = nullptr;
        bool ready = false;
    };
    Slot a, b;
    std::atomic<int> handoffs{0};
    auto wait = [](Slot& s) {
        s.lock.lock();
        if (s.ready) {
            s.ready = false;
            s.lock.unlock();
            return;
        }
        s.waiter = getg();
        goparkunlock(&s.lock, "test wait");
        s.lock.lock();
        s.ready = false;
        s.lock.unlock();
    };
    auto signal = [](Slot& s) {
        s.lock.lock();
        s.ready = true;
        G* w = s.waiter;
        s.waiter = nullptr;
        s.lock.unlock();
        if (w != nullptr) goready(w);
    };
    runMain([&] {
        WaitGroup wg;
        wg.add(2);
        spawn([&] {
            for (int i = 0; i < kIters; i++) {
                signal(b);
                wait(a);
                handoffs.fetch_add(1, std::memory_order_relaxed);
            }
            wg.done();
        });
        spawn([&] {
            for (int i = 0; i < kIters; i++) {
                wait(b);
                handoffs.fetch_add(1, std::memory_order_relaxed);
                signal(a);
            }
            wg.done();
        });
        wg.wait();
    });
    EXPECT_EQ(handoffs.load(), 2 * kIters);
}

TEST_F(Sched1, TwoSpinnersThatGoschedBothProgress) {
    constexpr int kRounds = 10'000;
    std::atomic<int> a{0}, b{0};
    std::atomic<int> maxLead{0};
    runMain([&] {
        WaitGroup wg;
        wg.add(2);
        auto spinner = [&](std::atomic<int>& mine, std::atomic<int>& other) {
            for (int i = 0; i < kRounds; i++) {
                mine.fetch_add(1);
                int lead = mine.load() - other.load();
                if (lead > maxLead.load()) maxLead.store(lead);
                gosched();
            }
            wg.done();
        };
        spawn([&] { spinner(a, b); });
        spawn([&] { spinner(b, a); });
        wg.wait();
    });
    EXPECT_EQ(a.load(), kRounds);
    EXPECT_EQ(b.load(), kRounds);
    // On one P, gosched alternates the two: neither gets far ahead.
    EXPECT_LE(maxLead.load(), 2);
}

TEST_F(Sched2, GomaxprocsUpAndDownUnderLoad) {
    constexpr int kWorkers = 64, kYields = 2000;
    std::atomic<int> finished{0};
    std::atomic<bool> stop{false};
    runMain([&] {
        WaitGroup wg;
        wg.add(kWorkers);
        for (int i = 0; i < kWorkers; i++) {
            spawn([&, i] {
                for (int k = 0; k < kYields; k++) {
                    if (k % 7 == i % 7) sleep(1000);
                    gosched();
                }
                finished.fetch_add(1);
                wg.done();
            });
        }
        int sizes[] = {4, 1, 3, 2, 8, 1, 2};
        for (int round = 0; finished.load() < kWorkers && round < 200; round++) {
            EXPECT_GE(gomaxprocs(sizes[round % 7]), 1);
            sleep(200'000);
        }
        wg.wait();
        gomaxprocs(2);
    });
    EXPECT_EQ(finished.load(), kWorkers);
    EXPECT_EQ(gomaxprocs(0), 2);
}

TEST_F(Sched2, GomaxprocsReturnsPrevious) {
    EXPECT_EQ(gomaxprocs(0), 2);
    EXPECT_EQ(gomaxprocs(3), 2);
    EXPECT_EQ(gomaxprocs(0), 3);
    EXPECT_EQ(gomaxprocs(2), 3);
}

TEST_F(Sched2, StacksAreReused) {
    StackStats before = stackStats();
    runMain([&] {
        for (int round = 0; round < 50; round++) {
            WaitGroup wg;
            wg.add(100);
            for (int i = 0; i < 100; i++) {
                spawn([&] {
                    volatile char buf[2048];
                    buf[0] = 1;
                    (void)buf[0];
                    wg.done();
                });
            }
            wg.wait();
        }
    });
    StackStats after = stackStats();
    // 5,000 goroutines; without reuse, 5,000 stacks. With it, the stacks
    // ever needed at once: a round's 100 goroutines, the previous round's
    // 100 that said done but may not have exited yet (slow under TSan), the
    // free Gs each of the 2 Ps keeps with their stacks (64 before it spills)
    // and the rest of the last arena mapped (at most 64 slots).
    EXPECT_LE(after.slots - before.slots, 100u + 100u + 2u * 64u + 64u);
    EXPECT_GT(after.slots, 0u);
}

TEST_F(Sched2, MigratingGoroutineSeesItsThread) {
    // A goroutine alternates yields with short blocking C calls while others
    // keep both Ps busy: sysmon takes its P during each call, so it comes
    // back on whichever M runs it next. After every resume, the M it reads
    // must be the thread it runs on, and must be running it. It goes on
    // until it has changed threads 1,000 times.
    const int kMigrations = scaled(1000), kMaxRounds = 200'000;
    std::atomic<bool> stop{false};
    int mismatches = 0, migrations = 0;
    runMain([&] {
        WaitGroup wg;
        wg.add(4);
        for (int i = 0; i < 3; i++) {
            spawn([&] {
                while (!stop.load()) gosched();
                wg.done();
            });
        }
        spawn([&] {
            pid_t last = gettid();
            auto check = [&] {
                M* m = getm();
                pid_t tid = gettid();
                if (m->procid != tid || m->curg != getg()) mismatches++;
                if (tid != last) migrations++;
                last = tid;
            };
            for (int i = 0; i < kMaxRounds && migrations < kMigrations; i++) {
                gosched();
                check();
                cgocall([](void*) { usleep(300); }, nullptr);
                check();
            }
            stop.store(true);
            wg.done();
        });
        wg.wait();
    });
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(migrations, kMigrations);
}

TEST_F(Sched2, SleepIsAtLeastTheDuration) {
    runMain([&] {
        for (int64_t d : {int64_t(0), int64_t(1'000), int64_t(100'000), int64_t(5'000'000)}) {
            int64_t t0 = nanotime();
            sleep(d);
            EXPECT_GE(nanotime() - t0, d);
        }
    });
}

TEST_F(Sched2, ManySleepersAllWake) {
    constexpr int kN = 1000;
    std::atomic<int> woke{0};
    runMain([&] {
        WaitGroup wg;
        wg.add(kN);
        for (int i = 0; i < kN; i++) {
            spawn([&, i] {
                int64_t d = (i % 50) * 20'000;
                int64_t t0 = nanotime();
                sleep(d);
                if (nanotime() - t0 >= d) woke.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
    });
    EXPECT_EQ(woke.load(), kN);
}

TEST_F(Sched2, NumGoroutineCountsLiveOnes) {
    // A WaitGroup must outlive every call into it: the goroutines signal
    // `finished` last, and main waits for that before the groups go.
    WaitGroup started, release, finished;
    runMain([&] {
        EXPECT_EQ(numGoroutine(), 1);
        started.add(10);
        release.add(1);
        finished.add(10);
        for (int i = 0; i < 10; i++) {
            spawn([&] {
                started.done();
                release.wait();
                finished.done();
            });
        }
        started.wait();
        EXPECT_EQ(numGoroutine(), 11);
        release.done();
        finished.wait();
    });
}

TEST(SchedInit, InitTwiceIsAlready) {
    Config c;
    c.maxprocs = 1;
    ASSERT_EQ(init(c), kOK);
    EXPECT_EQ(init(c), kEALREADY);
    EXPECT_EQ(shutdown(1'000'000'000), kOK);
    EXPECT_EQ(shutdown(1'000'000'000), kENOTINIT);
}

TEST(SchedInit, ShutdownWithLiveGoroutineIsBusy) {
    Config c;
    c.maxprocs = 2;
    ASSERT_EQ(init(c), kOK);
    WaitGroup release;
    release.add(1);
    spawn([&] { release.wait(); });
    EXPECT_EQ(shutdown(10'000'000), kEBUSY);
    release.done();
    EXPECT_EQ(shutdown(5'000'000'000), kOK);
}

TEST(SchedInit, RepeatedInitShutdownCycles) {
    for (int i = 0; i < 50; i++) {
        Config c;
        c.maxprocs = 1 + i % 3;
        ASSERT_EQ(init(c), kOK);
        std::atomic<int> ran{0};
        runMain([&] {
            WaitGroup wg;
            wg.add(100);
            for (int k = 0; k < 100; k++) {
                spawn([&] {
                    ran.fetch_add(1);
                    wg.done();
                });
            }
            wg.wait();
        });
        EXPECT_EQ(ran.load(), 100);
        ASSERT_EQ(shutdown(5'000'000'000), kOK);
    }
}

}  // namespace
}  // namespace gort::testing

namespace gort::testing {
namespace {

// Lines come every schedtraceMs whatever sysmon's own back-off: its sleep
// between looks never exceeds the time to the next line. Sysmon backing off
// from 20 us to 10 ms ticks printed lines 2.6 and 5.1 ms apart at a 1 ms
// period, and none at all in a 10 ms run at 5 ms (CI). The test reads the
// sleep sysmon chose (a plain thread samples it while every goroutine
// sleeps for 30 ms), not wall-clock gaps, which a loaded machine stretches.
TEST(SchedTrace, SysmonSleepsNoLongerThanAPeriod) {
    Config c;
    c.maxprocs = 2;
    c.schedtraceMs = 1;
    ASSERT_EQ(init(c), kOK);
    std::atomic<bool> idle{true};
    int64_t longest = 0;
    int samples = 0;
    std::thread sampler([&] {
        while (idle.load()) {
            longest = std::max<int64_t>(longest, sched.sysmonDelayUs.load());
            samples++;
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    });
    runMain([&] {
        sleep(30'000'000);
        idle.store(false);
    });
    sampler.join();
    ASSERT_EQ(shutdown(1'000'000'000), kOK);
    EXPECT_GT(samples, 10);
    EXPECT_LE(longest, 1000) << "sysmon slept " << longest << " us between looks";
}

// Config::schedtraceMs prints Go's schedtrace lines to stderr.
TEST(SchedTrace, PrintsSchedulerLines) {
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";
    EXPECT_EXIT(
        {
            Config c;
            c.maxprocs = 2;
            c.schedtraceMs = 5;
            if (init(c) != kOK) _exit(2);
            runMain([] {
                WaitGroup wg;
                wg.add(4);
                for (int i = 0; i < 4; i++) {
                    spawn([&] {
                        sleep(20'000'000);
                        wg.done();
                    });
                }
                wg.wait();
            });
            _exit(shutdown(1'000'000'000) == kOK ? 0 : 3);
        },
        ::testing::ExitedWithCode(0),
        "SCHED [0-9]+ms: gomaxprocs=2 idleprocs=[0-9]+ threads=[0-9]+ spinningthreads=[0-9]+ "
        "idlethreads=[0-9]+ runqueue=[0-9]+ \\[[0-9]+ [0-9]+\\]");
}

}  // namespace
}  // namespace gort::testing
