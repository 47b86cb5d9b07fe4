// cgocall: blocking C calls do not stall other goroutines; the call runs on
// the thread's own stack; errno and thread affinity behave as documented.
#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "runtime/cgo.h"
#include "runtime/stats.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

class Cgocall1 : public ModeTest {
  protected:
    int procs() const override { return 1; }
};
GORT_INSTANTIATE_MODES(Cgocall1);

class Cgocall2 : public ModeTest {};
GORT_INSTANTIATE_MODES(Cgocall2);

// On one P, a goroutine blocked in C must not stop another from running:
// the C function itself sees the counter advance while it sleeps.
TEST_P(Cgocall1, BlockingCallDoesNotStallOthers) {
    struct Ctx {
        std::atomic<long> counter{0};
        std::atomic<bool> stop{false};
        long before = 0, after = 0;
    } ctx;
    runMain([&] {
        WaitGroup wg;
        wg.add(1);
        spawn([&] {
            while (!ctx.stop.load()) {
                ctx.counter.fetch_add(1);
                if (ctx.counter.load() % 64 == 0) gosched();
            }
            wg.done();
        });
        gosched();  // let the counter start
        ASSERT_EQ(cgocall(
                      [](void* p) {
                          auto* c = static_cast<Ctx*>(p);
                          c->before = c->counter.load();
                          usleep(200'000);
                          c->after = c->counter.load();
                      },
                      &ctx),
                  kOK);
        ctx.stop.store(true);
        wg.wait();
    });
    EXPECT_GT(ctx.after, ctx.before) << "the counter did not advance during the C call";
    EXPECT_GE(stats().pRetakes.load(), 1u);
}

// Go's PreemptionAfterSyscall: goroutines making C calls of 10, 100 and
// 1000 us on 2 Ps all get through promptly.
TEST_P(Cgocall2, ManyGoroutinesInShortBlockingCalls) {
    std::atomic<int> calls{0};
    for (long us : {10L, 100L, 1000L}) {
        int64_t start = nanotime();
        runMain([&] {
            WaitGroup wg;
            wg.add(8);
            for (int i = 0; i < 8; i++) {
                spawn([&] {
                    for (int k = 0; k < 20; k++) {
                        cgocall([](void* p) { usleep(useconds_t(*static_cast<long*>(p))); }, &us);
                        calls.fetch_add(1);
                    }
                    wg.done();
                });
            }
            wg.wait();
        });
        // 8 x 20 calls of 1 ms on independent threads: far below 3 s even
        // if they were serialised on the 2 Ps.
        EXPECT_LT(nanotime() - start, 3'000'000'000) << us << " us calls";
    }
    EXPECT_EQ(calls.load(), 3 * 8 * 20);
}

TEST_P(Cgocall2, ShortCallsTakeTheFastPath) {
    const int kCalls = scaled(200'000);
    uint64_t retakes = stats().pRetakes.load();
    uint64_t slow = stats().exitsyscallSlow.load();
    RuntimeStats before;
    readStats(&before);
    runMain([&] {
        spawnAndWait([&] {
            for (int i = 0; i < kCalls; i++) cgocall([](void*) {}, nullptr);
        });
    });
    RuntimeStats after;
    readStats(&after);
    EXPECT_EQ(after.cgocalls - before.cgocalls, uint64_t(kCalls));
    // Every call took the fast path, except the rare one the OS happens to
    // deschedule for longer than a sysmon tick while the other P is busy.
    EXPECT_LE(stats().pRetakes.load() - retakes, uint64_t(kCalls / 1000))
        << "Ps were taken from short calls";
    EXPECT_LE(stats().exitsyscallSlow.load() - slow, uint64_t(kCalls / 1000));
}

// The Psyscall hand-over (syscall.cpp): calls that end right about when
// sysmon takes their P, with work queued so that it wants to, race the
// M's plain-store reclaim against the thief's claim. Exactly one side
// must win each time: a P both kept would be handed off while running
// (acquirep dies on it) and goroutines would be lost or run twice (the
// counts). The thief must also have lost some races to an M coming back,
// or the test did not reach the window it is for.
TEST_P(Cgocall2, RetakeRacingTheReturnHasOneWinner) {
    const int kCallers = 4, kSpinners = 2;
    uint64_t backoffs0 = stats().retakeBackoffs.load();
    uint64_t retakes0 = stats().pRetakes.load();
    std::atomic<long> calls{0}, spins{0};
    std::atomic<bool> stop{false};
    int64_t deadline = nanotime() + 20'000'000'000;
    long rounds = 0;
    runMain([&] {
        WaitGroup wg;
        wg.add(kSpinners);
        for (int i = 0; i < kSpinners; i++) {
            spawn([&] {
                while (!stop.load()) {
                    spins.fetch_add(1);
                    gosched();
                }
                wg.done();
            });
        }
        // Rounds until the thief has lost enough races (at least 3 rounds).
        while (rounds < 3 ||
               (stats().retakeBackoffs.load() - backoffs0 < 20 && nanotime() < deadline)) {
            rounds++;
            WaitGroup callers;
            callers.add(kCallers);
            for (int i = 0; i < kCallers; i++) {
                spawn([&, i] {
                    for (int k = 0; k < scaled(2000); k++) {
                        // 10-40 us of C, around sysmon's 20 us tick.
                        int64_t us = 10 + (k * 7 + i * 13) % 31;
                        cgocall(
                            [](void* p) {
                                int64_t until = nanotime() + *static_cast<int64_t*>(p) * 1000;
                                while (nanotime() < until) {
                                }
                            },
                            &us);
                        calls.fetch_add(1);
                    }
                    callers.done();
                });
            }
            callers.wait();
        }
        stop.store(true);
        wg.wait();
    });
    EXPECT_EQ(calls.load(), rounds * kCallers * scaled(2000));
    EXPECT_GT(spins.load(), 0);
    EXPECT_GT(stats().pRetakes.load() - retakes0, 0u) << "no P was taken from a call";
    EXPECT_GE(stats().retakeBackoffs.load() - backoffs0, 20u)
        << "no thief found the M coming back: the race was not run";
}

// A locked goroutine's calls run on its thread, even when they block long
// enough to lose the P.
TEST_P(Cgocall2, LockedGoroutineCallsStayOnItsThread) {
    std::atomic<int> wrong{0};
    runMain([&] {
        spawnAndWait([&] {
            ASSERT_EQ(lockOSThread(), kOK);
            pid_t mine = gettid();
            for (int i = 0; i < 200; i++) {
                pid_t inC = 0;
                cgocall(
                    [](void* p) {
                        *static_cast<pid_t*>(p) = gettid();
                        if (rand() % 4 == 0) usleep(500);
                    },
                    &inC);
                if (inC != mine || gettid() != mine) wrong.fetch_add(1);
            }
            unlockOSThread();
        });
    });
    EXPECT_EQ(wrong.load(), 0);
}

// The C function runs on the thread's own stack: 1 MiB of locals is fine
// (the goroutine's stack is 128 KiB).
__attribute__((noinline)) void bigFrame(void* p) {
    volatile char buf[1 << 20];
    memset(const_cast<char*>(buf), 7, sizeof buf);
    *static_cast<long*>(p) = buf[12345] + buf[sizeof buf - 1];
}

TEST_P(Cgocall2, CFunctionWithOneMiBOfLocals) {
    long result = 0;
    runMain([&] { spawnAndWait([&] { EXPECT_EQ(cgocall(bigFrame, &result), kOK); }); });
    EXPECT_EQ(result, 14);
}

// errno set by C is the goroutine's after the call, even when it resumes
// on another thread.
TEST_P(Cgocall1, ErrnoSurvivesMigration) {
    std::atomic<int> wrong{0}, migrated{0};
    std::atomic<bool> stop{false};
    runMain([&] {
        WaitGroup wg;
        wg.add(2);
        spawn([&] {  // keeps the P busy so the caller must come back elsewhere
            while (!stop.load()) gosched();
            wg.done();
        });
        spawn([&] {
            for (int i = 0; i < 30; i++) {
                pid_t before = gettid();
                int want = 1000 + i;
                cgocall(
                    [](void* p) {
                        usleep(2000);  // long enough to lose the P
                        errno = *static_cast<int*>(p);
                    },
                    &want);
                if (errno != want) wrong.fetch_add(1);
                if (gettid() != before) migrated.fetch_add(1);
                errno = 0;
            }
            stop.store(true);
            wg.done();
        });
        wg.wait();
    });
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_GT(migrated.load(), 0) << "the goroutine never resumed on another thread";
}

TEST_P(Cgocall2, BadInput) {
    EXPECT_EQ(cgocall(nullptr, nullptr), kEINVAL);
    runMain([&] { EXPECT_EQ(cgocall(nullptr, nullptr), kEINVAL); });
}

TEST_P(Cgocall2, OffAGoroutineJustCalls) {
    pid_t tid = 0;
    EXPECT_EQ(cgocall([](void* p) { *static_cast<pid_t*>(p) = gettid(); }, &tid), kOK);
    EXPECT_EQ(tid, gettid());
}

TEST_P(Cgocall2, ExceptionEscapingCIsFatal) {
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";
    EXPECT_DEATH(
        runMain([&] { cgocall([](void*) { throw std::runtime_error("boom"); }, nullptr); }),
        "gort: fatal error: cgocall: C\\+\\+ exception escaped.*boom");
}

TEST_P(Cgocall2, CallsAreCounted) {
    RuntimeStats before, after;
    readStats(&before);
    runMain([&] {
        for (int i = 0; i < 1000; i++) cgocall([](void*) {}, nullptr);
    });
    readStats(&after);
    EXPECT_EQ(after.cgocalls - before.cgocalls, 1000u);
}

}  // namespace
}  // namespace gort::testing
