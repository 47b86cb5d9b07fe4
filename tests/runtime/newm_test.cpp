// Thread creation: newm, the template thread, the thread-start hook,
// signal masks, failures, and fork/exec under execLock.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/stats.h"
#include "runtime/sync.h"
#include "runtime/testhooks.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

class Newm : public ModeTest {};
GORT_INSTANTIATE_MODES(Newm);

// newMsSince returns the Ms in allm that are not in `before` and have a
// thread of the runtime's (not spare extra Ms, which wait for a C thread).
std::vector<M*> newMsSince(const std::set<M*>& before) {
    std::vector<M*> out;
    LockGuard g(sched.lock);
    for (M* m = sched.allm.load(); m != nullptr; m = m->alllink) {
        if (!before.count(m) && !m->isExtra) out.push_back(m);
    }
    return out;
}

std::set<M*> allMs() {
    std::set<M*> s;
    LockGuard g(sched.lock);
    for (M* m = sched.allm.load(); m != nullptr; m = m->alllink) s.insert(m);
    return s;
}

// sigBlk reads the blocked-signal mask of a thread from /proc.
uint64_t sigBlk(pid_t tid) {
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("SigBlk:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
    }
    return ~uint64_t(0);
}

uint64_t bit(int sig) {
    return uint64_t(1) << (sig - 1);
}

TEST_P(Newm, FromUnlockedGoroutineIsDirect) {
    runMain([&] {
        spawnAndWait([] {
            uint64_t handoffs = stats().templateHandoffs.load();
            uint64_t created = stats().msCreatedNative.load() + stats().msCreatedHook.load();
            ASSERT_EQ(newm(nullptr, nullptr), 0);
            // Created synchronously by this thread (others may be created
            // meanwhile, but none by the template thread: nothing is locked).
            EXPECT_GE(stats().msCreatedNative.load() + stats().msCreatedHook.load(), created + 1);
            EXPECT_EQ(stats().templateHandoffs.load(), handoffs);
        });
    });
}

TEST_P(Newm, FromLockedGoroutineGoesThroughTemplateThread) {
    runMain([&] {
        spawnAndWait([] {
            ASSERT_EQ(lockOSThread(), kOK);  // starts the template thread
            uint64_t handoffs = stats().templateHandoffs.load();
            uint64_t created = stats().msCreatedNative.load() + stats().msCreatedHook.load();
            ASSERT_EQ(newm(nullptr, nullptr), 0);
            // Not made here: queued for the template thread, which makes it
            // (and any M this thread needs while it waits: it is locked).
            EXPECT_TRUE(waitUntil([&] { return stats().templateHandoffs.load() >= handoffs + 1; }));
            EXPECT_GE(stats().msCreatedNative.load() + stats().msCreatedHook.load(), created + 1);
            unlockOSThread();
        });
    });
}

TEST_P(Newm, ThreadsComeFromTheModesPath) {
    runMain([&] { spawnAndWait([] { ASSERT_EQ(newm(nullptr, nullptr), 0); }); });
    if (GetParam()) {
        EXPECT_GT(stats().msCreatedHook.load(), 0u);
        EXPECT_EQ(stats().msCreatedNative.load(), 0u);
    } else {
        EXPECT_GT(stats().msCreatedNative.load(), 0u);
        EXPECT_EQ(stats().msCreatedHook.load(), 0u);
    }
}

// New Ms start with the process's initial signal mask (captured at init),
// not with the mask of the thread that created them (Go issue 13164).
class NewmMask : public ModeTest {
  protected:
    void SetUp() override {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &s, nullptr);  // part of the initial mask
        ModeTest::SetUp();
        pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
    }
};
GORT_INSTANTIATE_MODES(NewmMask);

TEST_P(NewmMask, NewMsCarryTheInitialMask) {
    for (bool locked : {false, true}) {
        std::vector<M*> created;
        runMain([&] {
            spawnAndWait([&] {
                if (locked) {
                    ASSERT_EQ(lockOSThread(), kOK);
                }
                // This thread now blocks SIGUSR1 and not SIGUSR2.
                sigset_t add, del, old;
                sigemptyset(&add);
                sigaddset(&add, SIGUSR1);
                sigemptyset(&del);
                sigaddset(&del, SIGUSR2);
                pthread_sigmask(SIG_BLOCK, &add, &old);
                pthread_sigmask(SIG_UNBLOCK, &del, nullptr);
                std::set<M*> before = allMs();
                ASSERT_EQ(newm(nullptr, nullptr), 0);
                pthread_sigmask(SIG_SETMASK, &old, nullptr);
                // Other Ms may be made meanwhile (this goroutine parks while
                // it waits); every one of them must carry the initial mask.
                ASSERT_TRUE(waitUntil([&] {
                    created = newMsSince(before);
                    for (M* m : created) {
                        if (__atomic_load_n(&m->procid, __ATOMIC_ACQUIRE) == 0)
                            return false;  // minit done?
                    }
                    return !created.empty();
                }));
                for (M* m : created) {
                    uint64_t mask = sigBlk(m->procid);
                    EXPECT_TRUE(mask & bit(SIGUSR2)) << "initial mask lost, locked=" << locked;
                    EXPECT_FALSE(mask & bit(SIGUSR1)) << "creator's mask leaked, locked=" << locked;
                }
                if (locked) {
                    unlockOSThread();
                }
            });
        });
    }
}

// A custom hook sees one ThreadStart per new M and must start a thread
// running ts->fn(ts->arg).
struct HookRecord {
    std::atomic<int> calls{0};
    std::atomic<int> started{0};     // threads the hook created
    std::atomic<int> finished{0};    // of those, returned from ts->fn
    std::atomic<int> failAfter{-1};  // fail every call after this many

    void reset() {  // for --gtest_repeat: the last run's threads have all finished
        calls.store(0);
        started.store(0);
        finished.store(0);
        failAfter.store(-1);
    }
};
HookRecord* hookRecord;

void* hookThread(void* p) {
    auto* ts = static_cast<ThreadStart*>(p);
    pthread_setname_np(pthread_self(), "gort-test-hook");
    ts->fn(ts->arg);
    delete ts;
    hookRecord->finished.fetch_add(1);
    return nullptr;
}

int countingHook(const ThreadStart* ts) {
    HookRecord* r = hookRecord;
    int n = r->calls.fetch_add(1);
    if (r->failAfter.load() >= 0 && n >= r->failAfter.load()) return EPERM;
    r->started.fetch_add(1);
    auto* copy = new ThreadStart(*ts);  // *ts is valid only during the call
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int err = pthread_create(&t, &attr, hookThread, copy);
    pthread_attr_destroy(&attr);
    if (err != 0) delete copy;
    return err;
}

// initWithCountingHook starts the runtime in cgo mode on 2 Ps with
// countingHook recording into rec, failing every call after failAfter
// (-1: never).
int initWithCountingHook(HookRecord& rec, int failAfter) {
    rec.reset();
    rec.failAfter.store(failAfter);
    hookRecord = &rec;
    setThreadStartHook(countingHook, false);
    Config c;
    c.maxprocs = 2;
    c.cgo = true;
    return init(c);
}

TEST(NewmHook, CustomHookSeesOneThreadStartPerM) {
    static HookRecord rec;  // the hook's threads may outlive this frame
    ASSERT_EQ(initWithCountingHook(rec, -1), kOK);
    runMain([&] {
        WaitGroup wg;
        wg.add(20);
        for (int i = 0; i < 20; i++) {
            spawn([&] {
                lockOSThread();  // exits locked: every one needs a new M
                wg.done();
            });
        }
        wg.wait();
    });
    ASSERT_EQ(shutdown(5'000'000'000), kOK);
    uint64_t hookMs = stats().msCreatedHook.load();  // final: every creation is done
    // One call per M, each made a thread that ran the runtime's function
    // once and returned (shutdown stopped them all).
    EXPECT_GE(rec.calls.load(), 21);  // 20 locked exits, plus sysmon and the template
    EXPECT_EQ(uint64_t(rec.calls.load()), hookMs);
    EXPECT_TRUE(waitUntil([&] { return rec.finished.load() == rec.started.load(); }));
    EXPECT_EQ(stats().msCreatedNative.load(), 0u);
    useTestThreadStart();
}

TEST(NewmHook, FailingHookIsSurvived) {
    static HookRecord rec;                         // the hook's threads may outlive this frame
    ASSERT_EQ(initWithCountingHook(rec, 3), kOK);  // template thread, sysmon, one worker
    std::atomic<int> ran{0};
    runMain([&] {
        WaitGroup wg;
        wg.add(200);
        for (int i = 0; i < 200; i++) {
            spawn([&] {
                sleep(100'000);
                ran.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
    });
    EXPECT_EQ(ran.load(), 200);
    EXPECT_GT(stats().threadCreateFailures.load(), 0u);
    ASSERT_EQ(shutdown(5'000'000'000), kOK);
    EXPECT_TRUE(waitUntil([&] { return rec.finished.load() == rec.started.load(); }));
    useTestThreadStart();
}

TEST(NewmFailure, NativeFailureIsRetriedThenSurvived) {
    Config c;
    c.maxprocs = 2;
    ASSERT_EQ(init(c), kOK);
    std::atomic<int> ran{0};
    runMain([&] {
        // Every thread creation from now on fails, retries included: the
        // goroutines must still run, on the Ms that exist.
        newosprocFaultErrno.store(EAGAIN);
        newosprocFaults.store(1'000'000);
        WaitGroup wg;
        wg.add(100);
        for (int i = 0; i < 100; i++) {
            spawn([&] {
                ran.fetch_add(1);
                wg.done();
            });
        }
        wg.wait();
        // A call that needs a thread of its own reports it.
        spawnAndWait([] { EXPECT_EQ(lockOSThread(), kETHREAD); });
        newosprocFaults.store(0);
    });
    EXPECT_EQ(ran.load(), 100);
    EXPECT_GT(stats().threadCreateFailures.load(), 0u);
    EXPECT_GE(stats().threadCreateRetries.load(), 19u);
    ASSERT_EQ(shutdown(5'000'000'000), kOK);
}

TEST(NewmFailure, ShortFailureIsRetried) {
    Config c;
    c.maxprocs = 2;
    ASSERT_EQ(init(c), kOK);
    runMain([&] {
        newosprocFaultErrno.store(EAGAIN);
        newosprocFaults.store(3);  // three EAGAINs, then success
        uint64_t failures = stats().threadCreateFailures.load();
        spawnAndWait([] { EXPECT_EQ(newm(nullptr, nullptr), 0); });
        EXPECT_EQ(stats().threadCreateFailures.load(), failures);
        EXPECT_GE(stats().threadCreateRetries.load(), 3u);
    });
    ASSERT_EQ(shutdown(5'000'000'000), kOK);
}

// Go's ThreadExhaustion: SetMaxThreads(10), then 100 goroutines that each
// lock their thread and block forever, started one at a time. Threads of
// the runtime's own count (extra Ms of C threads do not: see
// tests/c_api/lifecycle_race_test.c).
TEST(ThreadExhaustionDeathTest, LockedGoroutinesExhaustTheLimit) {
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";
    EXPECT_DEATH(
        {
            maxMCount.store(10);
            Config c;
            c.maxprocs = 1;
            if (init(c) != kOK) abort();
            runMain([] {
                for (int i = 0; i < 100; i++) {
                    spawnAndWait([] { lockOSThread(); });  // exits locked: its thread goes
                    spawn([] {
                        lockOSThread();
                        Sema never;
                        never.acquire();
                    });
                }
                Sema never;
                never.acquire();  // the limit must end this, not the loop
            });
        },
        "runtime: program exceeds 10-thread limit\ngort: fatal error: thread exhaustion");
}

}  // namespace
}  // namespace gort::testing
