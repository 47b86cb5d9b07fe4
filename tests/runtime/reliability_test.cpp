// Regression tests for the reliability bugs of issue 11 that live in the
// scheduler: a ping-pong pair starving its P (bug 3), a P beyond GOMAXPROCS
// stranded in a system call (bug 4), native mode's newm from C code (bug
// 5), and a WaitGroup's refused negative add leaking into other callers.
// Each was seen to fail on the baseline.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "runtime/cgo.h"
#include "runtime/chan.h"
#include "runtime/chantimer.h"
#include "runtime/dump.h"
#include "runtime/proc.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

// With a sanitizer, every bound is ten times looser.
constexpr int64_t kMs = kSanitized ? 10'000'000 : 1'000'000;

// ---- bug 3: a ping-pong pair must not starve its P ------------------------

class Fairness : public OnePTest {};

TEST_F(Fairness, OthersRunWithin10msOfAPingPongPair) {
    // A pair ping-pongs on unbuffered channels on the only P: each wakes the
    // other into runnext. Now and then one of them spawns probes onto the
    // same P (two at a time: the second kicks the first into the ring, and
    // the pair's next wake-up kicks the second), and a plain thread spawns
    // one onto the global queue. Every probe must run within a bounded
    // number of the pair's round trips (the bound that does not depend on
    // how loaded the machine is), and typically within 10 ms.
    constexpr int kProbes = 50;
    constexpr int64_t kMaxRoundTrips = 1000;  // the fix: about 30; the bug: unbounded
    std::atomic<int64_t> roundTrips{0};
    struct Probe {
        int64_t spawned, trips;
        std::atomic<int64_t>* roundTrips;
        std::vector<int64_t>* lat;
        std::vector<int64_t>* waited;
        Mutex* mu;
    };
    std::vector<int64_t> latLocal, latGlobal, tripsLocal, tripsGlobal;
    Mutex mu;
    auto probe = [](void* a) {
        auto* p = static_cast<Probe*>(a);
        int64_t d = nanotime() - p->spawned;
        int64_t t = p->roundTrips->load() - p->trips;
        {
            LockGuard g(*p->mu);
            p->lat->push_back(d);
            p->waited->push_back(t);
        }
        delete p;
    };
    std::atomic<bool> stop{false};
    TypedChan<int> ping, pong;
    Sema done;
    auto count = [&mu](std::vector<int64_t>& v) {
        LockGuard g(mu);
        return v.size();
    };
    spawn([&] {
        for (int i = 0; !stop.load(std::memory_order_relaxed); i++) {
            if (i % 2000 == 1000 && count(latLocal) < 2 * kProbes) {
                for (int k = 0; k < 2; k++) {
                    gort::go(probe, new Probe{nanotime(), roundTrips.load(), &roundTrips, &latLocal,
                                              &tripsLocal, &mu});
                }
            }
            ping.send(i);
            pong.recv();
            roundTrips.fetch_add(1, std::memory_order_relaxed);
        }
        ping.send(-1);
        done.release();
    });
    spawn([&] {
        for (int v; (v = ping.recv()) >= 0;) pong.send(v);
        done.release();
    });
    for (int i = 0; i < kProbes; i++) {
        // From this plain thread (no P): the global queue.
        gort::go(probe, new Probe{nanotime(), roundTrips.load(), &roundTrips, &latGlobal,
                                  &tripsGlobal, &mu});
        EXPECT_TRUE(waitUntil([&] { return count(latGlobal) > size_t(i); }, 1000 * kMs));
    }
    EXPECT_TRUE(waitUntil([&] { return count(latLocal) >= 2 * kProbes; }, 5000 * kMs));
    stop.store(true);
    done.acquire();
    done.acquire();
    auto median = [](std::vector<int64_t> v) {
        std::sort(v.begin(), v.end());
        return v.empty() ? INT64_MAX : v[v.size() / 2];
    };
    ASSERT_EQ(latGlobal.size(), size_t(kProbes));
    ASSERT_GE(latLocal.size(), size_t(2 * kProbes));
    EXPECT_LE(*std::max_element(tripsLocal.begin(), tripsLocal.end()), kMaxRoundTrips)
        << "a goroutine on the local ring waited for the pair";
    EXPECT_LE(*std::max_element(tripsGlobal.begin(), tripsGlobal.end()), kMaxRoundTrips)
        << "a goroutine on the global queue waited for the pair";
    EXPECT_LT(median(latLocal), 10 * kMs);
    EXPECT_LT(median(latGlobal), 10 * kMs);
}

// ---- bug 4: a P beyond GOMAXPROCS that enters a system call ---------------

class Shrink : public RuntimeTest {};

TEST_F(Shrink, WorkOfARetiredPInASyscallRuns) {
    // A goroutine running on P1 drops GOMAXPROCS to 1 (P1 is beyond it now,
    // but stays its until a scheduling point), queues a child and a timer's
    // receiver on P1, arms a 10 ms timer there, and enters a long C call
    // without ever reaching a scheduling point. The child and the timer
    // must not wait for the call. This test's own thread waits as a plain
    // thread (no P needed).
    for (int round = 0; round < 3; round++) {
        std::atomic<bool> shrunk{false}, release{false};
        std::atomic<int64_t> childAt{0}, timerAt{0}, callAt{0};
        Sema done;
        std::atomic<int> holding{0};
        auto onP1 = [&] {
            gomaxprocs(1);
            shrunk.store(true);
            spawn([&] {
                childAt.store(nanotime());
                done.release();
            });
            TypedChan<int64_t> t = TypedChan<int64_t>::adopt(after(10 * 1'000'000));
            spawn([&, t]() mutable {
                t.recv();
                timerAt.store(nanotime());
                done.release();
            });
            callAt.store(nanotime());
            cgocall(
                [](void* a) {
                    auto* r = static_cast<std::atomic<bool>*>(a);
                    for (int k = 0; k < 4000 && !r->load(); k++) usleep(500);
                },
                &release);
        };
        // Two goroutines hold both Ps (spinning, no scheduling point); the
        // one on P1 does the above, the other yields until it is done.
        for (int i = 0; i < 2; i++) {
            spawn([&] {
                holding.fetch_add(1);
                while (holding.load() < 2) {
                }
                if (getm()->p->id == 1) {
                    onP1();
                } else {
                    while (!shrunk.load()) gosched();
                }
                done.release();
            });
        }
        EXPECT_TRUE(
            waitUntil([&] { return childAt.load() != 0 && timerAt.load() != 0; }, 2000 * kMs));
        EXPECT_LT(childAt.load() - callAt.load(), 200 * kMs) << "the child waited for the call";
        EXPECT_LT(timerAt.load() - callAt.load(), 200 * kMs) << "the timer waited for the call";
        release.store(true);
        for (int k = 0; k < 4; k++) done.acquire();
        gomaxprocs(2);
    }
}

// ---- bug 5: native mode, goroutines spawned from C code -------------------

TEST(NativeCgo, CCodeSpawningGoroutinesNeedsATemplateThread) {
    // Fresh runtimes (native mode, 1 P): the first new M is needed while the
    // spawning thread is inside C. The baseline aborted in about one
    // run in 25 with "on a locked thread with no template thread".
    const int kRounds = kSanitized ? 5 : 25, kSpawns = scaled(50'000);
    for (int round = 0; round < kRounds; round++) {
        Config c;
        c.maxprocs = 1;
        ASSERT_EQ(init(c), kOK);
        std::atomic<int> ran{0};
        struct Ctx {
            std::atomic<int>* ran;
            int n;
        } ctx{&ran, kSpawns};
        runMain([&] {
            spawnAndWait([&] {
                // C code (inside a cgocall) spawns: newm must not clone from
                // this thread, and the template thread must be there to.
                cgocall(
                    [](void* a) {
                        auto* cx = static_cast<Ctx*>(a);
                        for (int i = 0; i < cx->n; i++) {
                            gort::go(
                                [](void* r) { static_cast<std::atomic<int>*>(r)->fetch_add(1); },
                                cx->ran);
                        }
                    },
                    &ctx);
            });
            yieldUntil([&] { return ran.load() == kSpawns; });
        });
        EXPECT_EQ(ran.load(), kSpawns);
        ASSERT_EQ(shutdown(-1), kOK);
    }
}

// ---- WaitGroup: a refused add is never visible ------------------------------

class WaitGroupAdd : public RuntimeTest {};

TEST_F(WaitGroupAdd, RefusedNegativeAddDoesNotFailOthers) {
    WaitGroup wg;
    ASSERT_EQ(wg.add(1), kOK);  // held at one by this test
    std::atomic<bool> stop{false};
    std::atomic<int> refusedOk{0}, wrongly{0};
    std::thread spoiler([&] {
        while (!stop.load()) {
            if (wg.add(-3) == kOK) refusedOk.fetch_add(1);  // 1 or 2 - 3: always refused
        }
    });
    const int kPairs = scaled(200'000);
    for (int i = 0; i < kPairs; i++) {
        if (wg.add(1) != kOK) wrongly.fetch_add(1);
        if (wg.done() != kOK) wrongly.fetch_add(1);  // 2 -> 1: never negative
    }
    stop.store(true);
    spoiler.join();
    EXPECT_EQ(refusedOk.load(), 0);
    EXPECT_EQ(wrongly.load(), 0) << "a legal add failed while an illegal one was undone";
    EXPECT_EQ(wg.count(), 1);
    EXPECT_EQ(wg.done(), kOK);
}

}  // namespace
}  // namespace gort::testing

// The dump's unwinder reads a goroutine's stack while the goroutine may run
// and rewrite it; it is then asked for any address. A check written as
// addr + n <= hi let UINTPTR_MAX through (addr + 8 wraps to 7), and the dump
// read far outside its stack copy (TSan, CI on ae341d7, trace.dump: one run
// in six).
TEST(Dump, StackCopyBoundsNeverWrapAround) {
    const uintptr_t lo = 0x10000, hi = 0x20000;
    EXPECT_TRUE(gort::spanWithin(lo, 8, lo, hi));
    EXPECT_TRUE(gort::spanWithin(hi - 8, 8, lo, hi));
    EXPECT_FALSE(gort::spanWithin(hi - 7, 8, lo, hi));
    EXPECT_FALSE(gort::spanWithin(hi, 8, lo, hi));
    EXPECT_FALSE(gort::spanWithin(lo - 1, 8, lo, hi));
    for (uintptr_t k = 0; k < 8; k++) {
        EXPECT_FALSE(gort::spanWithin(UINTPTR_MAX - k, 8, lo, hi)) << k;
        EXPECT_FALSE(gort::spanWithin(UINTPTR_MAX - k, 8, lo, UINTPTR_MAX)) << k;
    }
    EXPECT_TRUE(gort::spanWithin(UINTPTR_MAX - 8, 8, lo, UINTPTR_MAX));
}
