// LockOSThread / UnlockOSThread, re-creating Go's scenarios
// (runtime/proc_test.go, testdata/testprog/lockosthread.go,
// testdata/testprogcgo/lockosthread.go), in both thread-creation modes.
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <mutex>
#include <set>
#include <string>

#include "runtime/sema.h"
#include "runtime/stats.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

// expectLockCounts checks the current goroutine's LockOSThread nesting:
// the user's (lockedExt) and the runtime's (lockedInt).
void expectLockCounts(uint32_t wantExt, uint32_t wantInt) {
    uint32_t ext = 0, in = 0;
    lockOSCounts(&ext, &in);
    EXPECT_EQ(ext, wantExt);
    EXPECT_EQ(in, wantInt);
}

class LockOSThread : public ModeTest {};
GORT_INSTANTIATE_MODES(LockOSThread);

class LockOSThread1 : public ModeTest {
  protected:
    int procs() const override { return 1; }
};
GORT_INSTANTIATE_MODES(LockOSThread1);

bool taskAlive(pid_t tid) {
    std::string path = "/proc/self/task/" + std::to_string(tid);
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

TEST_P(LockOSThread, Nesting) {
    runMain([&] {
        spawnAndWait([] {
            expectLockCounts(0, 0);
            EXPECT_EQ(lockOSThread(), kOK);
            EXPECT_EQ(lockOSThread(), kOK);
            EXPECT_EQ(unlockOSThread(), kOK);
            expectLockCounts(1, 0);
            EXPECT_EQ(unlockOSThread(), kOK);
            expectLockCounts(0, 0);
            EXPECT_EQ(getg()->lockedm, nullptr);
        });
    });
}

TEST_P(LockOSThread, MainGoroutineIsLockedInternally) {
    runMain([&] {
        expectLockCounts(0, 1);
        // The user's nesting is independent of the runtime's.
        EXPECT_EQ(lockOSThread(), kOK);
        EXPECT_EQ(unlockOSThread(), kOK);
        EXPECT_EQ(unlockOSThread(), kOK);  // not locked by the user: no-op
        expectLockCounts(0, 1);
        EXPECT_EQ(getg()->lockedm, getm());
    });
}

TEST_P(LockOSThread, UnlockWithoutLockDoesNothing) {
    runMain([&] {
        spawnAndWait([] {
            EXPECT_EQ(unlockOSThread(), kOK);
            expectLockCounts(0, 0);
            EXPECT_EQ(getg()->lockedm, nullptr);  // still free to migrate
        });
    });
}

TEST_P(LockOSThread, NestingOverflowIsAnError) {
    runMain([&] {
        spawnAndWait([] {
            // After the lock: a goroutine hosted by the main thread moves
            // to an M of its own as it locks.
            ASSERT_EQ(lockOSThread(), kOK);
            M* m = getm();
            m->lockedExt = UINT32_MAX - 1;  // pretend 2^32-2 nested locks
            EXPECT_EQ(lockOSThread(), kOK);
            EXPECT_EQ(lockOSThread(), kEOVERFLOW);
            EXPECT_EQ(m->lockedExt, UINT32_MAX);  // Go leaves the count at max
            m->lockedExt = 1;
            EXPECT_EQ(unlockOSThread(), kOK);
        });
    });
}

TEST_P(LockOSThread, UnlockOffAGoroutineIsAnError) {
    EXPECT_EQ(lockOSThread(), kENOTGOROUTINE);
    EXPECT_EQ(unlockOSThread(), kENOTGOROUTINE);
}

// Go's LockOSThreadAlt: a goroutine that exits locked takes its thread
// with it; the thread is never seen again.
TEST_P(LockOSThread, ExitLockedKillsTheThread) {
    pid_t lockedTid = 0;
    std::atomic<int> reused{0};
    uint64_t exitedBefore = stats().msExitedLocked.load();
    runMain([&] {
        spawnAndWait([&] {
            ASSERT_EQ(lockOSThread(), kOK);
            lockedTid = gettid();
        });  // exits locked
        EXPECT_TRUE(waitUntil([&] { return !taskAlive(lockedTid); }))
            << "thread " << lockedTid << " still running";
        WaitGroup wg;
        wg.add(200);
        for (int i = 0; i < 200; i++) {
            spawn([&] {
                if (gettid() == lockedTid) reused.fetch_add(1);
                gosched();
                if (gettid() == lockedTid) reused.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
    });
    EXPECT_EQ(reused.load(), 0) << "locked thread reused";
    EXPECT_EQ(stats().msExitedLocked.load() - exitedBefore, 1u);
}

// Go's LockOSThreadMain, adapted: the main goroutine owns a thread the
// runtime did not create; exiting while locked leaves that thread alive.
TEST_P(LockOSThread, ExitLockedOnForeignThreadKeepsIt) {
    pid_t before = gettid();
    uint64_t exitedBefore = stats().msExitedLocked.load();
    runMain([&] { ASSERT_EQ(lockOSThread(), kOK); });  // returns still locked
    EXPECT_EQ(gettid(), before);
    EXPECT_TRUE(taskAlive(before));
    EXPECT_EQ(stats().msExitedLocked.load(), exitedBefore);
    // The thread can enter the runtime again, unlocked.
    runMain([&] { expectLockCounts(0, 1); });
}

// Go's LockOSThreadAvoidsStatePropagation: thread state set by a locked
// goroutine (here its cwd, unshared from the process) never reaches threads
// created afterwards, because the tainted thread neither survives nor is
// cloned.
TEST_P(LockOSThread1, TaintedThreadStateDoesNotPropagate) {
    char cwd[PATH_MAX];
    ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
    std::string original = cwd;
    ASSERT_NE(original, "/tmp");
    std::atomic<int> tainted{0}, clean{0};
    bool unshareOK = true;
    runMain([&] {
        spawnAndWait([&] {
            ASSERT_EQ(lockOSThread(), kOK);
            if (unshare(CLONE_FS) != 0) {
                unshareOK = false;
                return;
            }
            ASSERT_EQ(chdir("/tmp"), 0);
        });  // exits locked: the thread dies
        WaitGroup wg;
        wg.add(50);
        for (int i = 0; i < 50; i++) {
            spawn([&] {
                lockOSThread();  // forces new threads, made by the template thread
                char buf[PATH_MAX];
                if (getcwd(buf, sizeof buf) != nullptr && original == buf) {
                    clean.fetch_add(1);
                } else {
                    tainted.fetch_add(1);
                }
                wg.done();
            });
        }
        wg.wait();
    });
    if (!unshareOK) GTEST_SKIP() << "unshare not permitted";
    EXPECT_EQ(tainted.load(), 0);
    EXPECT_EQ(clean.load(), 50);
}

// Go's LockOSThreadTemplateThreadRace: two goroutines start at once, each
// spawns a goroutine, locks and yields; repeated on fresh runtimes.
TEST(LockOSThreadRace, TemplateThreadRace) {
    const int kRounds = kSanitized ? 20 : 100;
    for (bool cgo : {false, true}) {
        for (int round = 0; round < kRounds; round++) {
            if (cgo) useTestThreadStart();
            Config c;
            c.maxprocs = 4;
            c.cgo = cgo;
            ASSERT_EQ(init(c), kOK);
            std::atomic<int> finished{0};
            runMain([&] {
                WaitGroup start, done;
                start.add(1);
                done.add(2);
                for (int i = 0; i < 2; i++) {
                    spawn([&] {
                        start.wait();
                        spawn([] {});
                        lockOSThread();
                        gosched();
                        finished.fetch_add(1);
                        done.done();
                    });
                }
                start.done();
                done.wait();
            });
            EXPECT_EQ(finished.load(), 2);
            ASSERT_EQ(shutdown(5'000'000'000), kOK);
        }
    }
}

// A locked goroutine that parks always resumes on its own thread; another
// goroutine wakes it each time (Go's BlockLocked, with a semaphore).
TEST_P(LockOSThread, LockedGoroutineParksAndResumesOnItsThread) {
    const int kParks = scaled(10'000);
    Sema toLocked, toOther;
    std::atomic<int> wrongThread{0}, resumed{0};
    runMain([&] {
        WaitGroup wg;
        wg.add(2);
        spawn([&] {
            ASSERT_EQ(lockOSThread(), kOK);
            pid_t mine = gettid();
            M* myM = getm();
            for (int i = 0; i < kParks; i++) {
                toOther.release();
                toLocked.acquire();
                if (gettid() != mine || getm() != myM) wrongThread.fetch_add(1);
                resumed.fetch_add(1);
            }
            unlockOSThread();
            wg.done();
        });
        spawn([&] {
            for (int i = 0; i < kParks; i++) {
                toOther.acquire();
                toLocked.release();
            }
            wg.done();
        });
        wg.wait();
    });
    EXPECT_EQ(resumed.load(), kParks);
    EXPECT_EQ(wrongThread.load(), 0);
}

// Go's YieldLocked and YieldLockedProgress: a locked goroutine yields and
// sleeps, others make progress, then it exits locked.
TEST_P(LockOSThread1, YieldLockedMakesProgress) {
    std::atomic<bool> stop{false};
    std::atomic<int> otherRan{0};
    std::atomic<int> lockedYields{0};
    runMain([&] {
        WaitGroup wg;
        wg.add(2);
        spawn([&] {
            ASSERT_EQ(lockOSThread(), kOK);
            pid_t mine = gettid();
            for (int i = 0; i < 10; i++) {
                gosched();
                sleep(1'000'000);
                if (gettid() == mine) lockedYields.fetch_add(1);
            }
            while (!stop.load()) gosched();
            wg.done();  // exits locked
        });
        spawn([&] {
            for (int i = 0; i < 100; i++) {
                otherRan.fetch_add(1);
                gosched();
            }
            stop.store(true);
            wg.done();
        });
        wg.wait();
    });
    EXPECT_EQ(lockedYields.load(), 10);
    EXPECT_EQ(otherRan.load(), 100);
}

}  // namespace
}  // namespace gort::testing
