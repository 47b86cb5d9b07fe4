// Callbacks: C calls into the runtime from C threads and from inside
// cgocalls, re-creating Go's scenarios (crash_cgo_test.go, testprogcgo,
// misc/cgo/test).
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/cgo.h"
#include "runtime/chan.h"
#include "runtime/sema.h"
#include "runtime/stats.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

class Callback : public ModeTest {};
GORT_INSTANTIATE_MODES(Callback);

// onCThread runs f on a thread made with pthread_create (the runtime never
// saw it) with the given stack size, and joins it.
void onCThread(std::function<void()> f, size_t stack = 0) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (stack != 0) pthread_attr_setstacksize(&attr, stack);
    pthread_t t;
    auto* fp = new std::function<void()>(std::move(f));
    ASSERT_EQ(pthread_create(
                  &t, &attr,
                  [](void* p) -> void* {
                      auto* g = static_cast<std::function<void()>*>(p);
                      (*g)();
                      delete g;
                      return nullptr;
                  },
                  fp),
              0);
    pthread_attr_destroy(&attr);
    pthread_join(t, nullptr);
}

// cb runs a C++ callable through callback.
int cb(std::function<void()> f) {
    return callback([](void* p) { (*static_cast<std::function<void()>*>(p))(); }, &f);
}

M* currentM() {
    return getm();
}

// Go's EnsureDropM: two C threads, one after the other, get the same extra
// M (the first thread's exit returns it to the pool).
TEST_P(Callback, SequentialThreadsReuseTheExtraM) {
    M* first = nullptr;
    M* second = nullptr;
    onCThread([&] { EXPECT_EQ(cb([&] { first = currentM(); }), kOK); });
    onCThread([&] { EXPECT_EQ(cb([&] { second = currentM(); }), kOK); });
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first, second);
}

// Go's EnsureBindM: a C thread keeps its M over many callbacks.
TEST_P(Callback, ThreadKeepsItsMOverCallbacks) {
    std::atomic<int> started{0}, changed{0}, calls{0};
    auto body = [&] {
        started.fetch_add(1);
        while (started.load() < 2) usleep(10);
        M* mine = nullptr;
        for (int i = 0; i < 100; i++) {
            cb([&] {
                if (mine == nullptr) mine = currentM();
                if (currentM() != mine) changed.fetch_add(1);
                calls.fetch_add(1);
            });
            usleep(1);
        }
    };
    std::thread a([&] { body(); }), b([&] { body(); });
    a.join();
    b.join();
    EXPECT_EQ(calls.load(), 200);
    EXPECT_EQ(changed.load(), 0);
}

// Go's NumGoroutine: a callback's goroutine counts while it runs, and the
// extra M's goroutine is invisible otherwise.
TEST_P(Callback, GoroutineCountsInsideAndOutside) {
    int64_t before = -1, inside = -1, after = -1;
    onCThread([&] {
        before = numGoroutine();
        cb([&] { inside = numGoroutine(); });
        after = numGoroutine();
    });
    EXPECT_EQ(before, 0);
    EXPECT_EQ(inside, 1);
    EXPECT_EQ(after, 0);
}

// Go's TestBlocking: a callback on a C thread exchanges 10 values with
// another goroutine over unbuffered channels: the callback blocks, the C
// thread blocks, the scheduler does not.
TEST_P(Callback, CallbackExchangesValuesOverUnbufferedChannels) {
    int echoed[10] = {};
    onCThread([&] {
        cb([&] {
            TypedChan<int> ping, pong;
            spawn([ping, pong]() mutable {  // copies hold references
                for (int i = 0; i < 10; i++) {
                    int v = 0;
                    ping.recv(&v);
                    pong.send(v * v);
                }
            });
            for (int i = 0; i < 10; i++) {
                EXPECT_EQ(ping.send(i), kOK);
                EXPECT_EQ(pong.recv(&echoed[i]), kOK);
            }
        });
    });
    for (int i = 0; i < 10; i++) EXPECT_EQ(echoed[i], i * i);
}

// Go's TestParallelSleep: a goroutine sleeps 1 s in C; meanwhile a callback
// from that C code starts another goroutine that also sleeps 1 s in C. The
// two sleeps overlap.
TEST_P(Callback, ParallelSleepsDoNotSerialise) {
    struct Ctx {
        std::atomic<int64_t> start1{0}, start2{0};
        WaitGroup done;
    } ctx;
    ctx.done.add(1);
    auto sleep1s = [](void* p) {
        static_cast<std::atomic<int64_t>*>(p)->store(nanotime());
        usleep(1'000'000);
    };
    runMain([&] {
        cgocall(
            [](void* p) {
                auto* c = static_cast<Ctx*>(p);
                // In C: call back to start the other sleeper, then sleep.
                callback(
                    [](void* q) {
                        auto* c2 = static_cast<Ctx*>(q);
                        spawn([c2] {
                            cgocall(
                                [](void* r) {
                                    static_cast<std::atomic<int64_t>*>(r)->store(nanotime());
                                    usleep(1'000'000);
                                },
                                &c2->start2);
                            c2->done.done();
                        });
                    },
                    c);
                c->start1.store(nanotime());
                usleep(1'000'000);
            },
            &ctx);
        ctx.done.wait();
    });
    (void)sleep1s;
    int64_t d = ctx.start1.load() - ctx.start2.load();
    if (d < 0) d = -d;
    EXPECT_LT(d, 500'000'000) << "the two sleeps did not overlap";
}

// Go's TestThreadLock: a cgocall whose C code calls back into a goroutine
// that yields stays on one thread, every time.
TEST_P(Callback, CgocallCallbackGoschedStayOnOneThread) {
    const int kRounds = scaled(1000) + 50;
    std::atomic<bool> stop{false};
    std::atomic<int> differ{0};
    runMain([&] {
        WaitGroup wg;
        wg.add(1);
        spawn([&] {  // background ticker, so gosched has somewhere to go
            while (!stop.load()) gosched();
            wg.done();
        });
        for (int i = 0; i < kRounds; i++) {
            pid_t inGo = gettid();
            pid_t inC = 0;
            cgocall(
                [](void* p) {
                    callback([](void*) { gosched(); }, nullptr);
                    *static_cast<pid_t*>(p) = ::gettid();
                },
                &inC);
            if (inC != inGo) differ.fetch_add(1);
        }
        stop.store(true);
        wg.wait();
    });
    EXPECT_EQ(differ.load(), 0);
}

// Go's TestCthread: 6 C threads each call back 10 times adding i; the sum
// is exact.
TEST_P(Callback, SixThreadsTenCallbacksEach) {
    std::mutex mu;
    long sum = 0;
    std::vector<std::thread> ts;
    for (int t = 0; t < 6; t++) {
        ts.emplace_back([&] {
            for (int i = 0; i < 10; i++) {
                cb([&, i] {
                    gosched();
                    std::lock_guard<std::mutex> l(mu);
                    sum += i;
                });
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(sum, 270);
}

__attribute__((noinline)) int deep(int n) {
    volatile char frame[512];
    memset(const_cast<char*>(frame), n, sizeof frame);
    return n == 0 ? frame[0] : deep(n - 1) + frame[1] - frame[1];
}

// Like Go's CgoCallbackGC: 100 C threads with 256 KiB stacks, created at
// once, each call back; the callbacks spawn, wait and recurse. Extra Ms are
// in use while the threads live and all back in the pool once they exit.
TEST_P(Callback, HundredConcurrentCThreadsCallBack) {
    const int kThreads = kSanitized ? 20 : 100;
    std::atomic<int> ran{0};
    RuntimeStats before;
    readStats(&before);
    EXPECT_EQ(before.extraMsInUse, 0u);
    std::atomic<int> insideMax{0};
    std::vector<pthread_t> ts(static_cast<size_t>(kThreads));
    struct Arg {
        std::atomic<int>* ran;
        std::atomic<int>* insideMax;
    } arg{&ran, &insideMax};
    for (auto& t : ts) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        ASSERT_EQ(pthread_create(
                      &t, &attr,
                      [](void* p) -> void* {
                          auto* a = static_cast<Arg*>(p);
                          cb([a] {
                              WaitGroup wg;
                              wg.add(1);
                              spawn([&] { wg.done(); });
                              wg.wait();
                              if (deep(100) == 0) a->ran->fetch_add(1);
                              RuntimeStats s;
                              readStats(&s);
                              int in = int(s.extraMsInUse);
                              int cur = a->insideMax->load();
                              while (in > cur && !a->insideMax->compare_exchange_weak(cur, in)) {
                              }
                          });
                          return nullptr;
                      },
                      &arg),
                  0);
        pthread_attr_destroy(&attr);
    }
    for (auto& t : ts) pthread_join(t, nullptr);
    EXPECT_EQ(ran.load(), kThreads);
    EXPECT_GT(insideMax.load(), 0);
    // Every thread has exited: its key destructor gave the M back.
    RuntimeStats after;
    readStats(&after);
    EXPECT_EQ(after.extraMsInUse, 0u);
    EXPECT_GE(after.extraMsPooled, 1u);
    EXPECT_GE(after.foreignThreadsBound - before.foreignThreadsBound, uint64_t(kThreads));
    EXPECT_GE(after.callbacks - before.callbacks, uint64_t(kThreads));
}

TEST_P(Callback, ThreadExitReturnsTheM) {
    RuntimeStats s0, s1, s2;
    readStats(&s0);
    Sema entered, release;
    std::thread t([&] {
        cb([] {});
        entered.release();
        release.acquire();  // plain thread: blocks on a note
    });
    entered.acquire();
    readStats(&s1);
    EXPECT_EQ(s1.extraMsInUse, s0.extraMsInUse + 1);  // bound while the thread lives
    release.release();
    t.join();
    readStats(&s2);
    EXPECT_EQ(s2.extraMsInUse, s0.extraMsInUse);
    // Back in the pool (sysmon may have made a spare meanwhile, too).
    EXPECT_GE(s2.extraMsPooled, s1.extraMsPooled + 1);
}

// C -> gort -> C -> gort ... to a depth of 100, from a goroutine and from a
// C thread.
struct Nest {
    int depth = 0, maxDepth = 0;
    pid_t tid = 0;
    int wrongThread = 0;
};
void nestC(void* p);
void nestGo(void* p) {
    auto* n = static_cast<Nest*>(p);
    if (gettid() != n->tid) n->wrongThread++;
    if (++n->depth > n->maxDepth) n->maxDepth = n->depth;
    if (n->depth < 100) {
        gosched();  // goroutine code: it may yield at any depth
        cgocall(nestC, n);
    }
    n->depth--;
}
void nestC(void* p) {
    callback(nestGo, p);
}

TEST_P(Callback, NestsToDepth100) {
    Nest fromGo;
    runMain([&] {
        fromGo.tid = gettid();
        nestGo(&fromGo);
    });
    EXPECT_EQ(fromGo.maxDepth, 100);
    EXPECT_EQ(fromGo.depth, 0);
    EXPECT_EQ(fromGo.wrongThread, 0);
    Nest fromC;
    onCThread([&] {
        fromC.tid = gettid();
        nestC(&fromC);
    });
    EXPECT_EQ(fromC.maxDepth, 100);
    EXPECT_EQ(fromC.depth, 0);
    EXPECT_EQ(fromC.wrongThread, 0);
}

// C code that a callback calls gets the thread's own stack too, at every
// depth: 1 MiB of locals in C called from a callback inside C called from
// a goroutine (whose own stack is 128 KiB).
__attribute__((noinline)) void bigCFrame(void* p) {
    volatile char buf[1 << 20];
    memset(const_cast<char*>(buf), 3, sizeof buf);
    *static_cast<long*>(p) += buf[777];
}

TEST_P(Callback, NestedCGetsTheThreadStack) {
    long sum = 0;
    runMain([&] {
        spawnAndWait([&] {
            cgocall(
                [](void* p) {
                    callback(
                        [](void* q) {
                            cgocall(bigCFrame, q);
                            gosched();  // and it may still yield in between
                            cgocall(bigCFrame, q);
                        },
                        p);
                },
                &sum);
        });
    });
    EXPECT_EQ(sum, 6);
}

// C code inside a blocking region runs on the goroutine's own stack (gort.ffi
// calls C there from Python goroutines), and so does a callback from it: the
// goroutine keeps its own stack's identity (it does not take the thread's),
// may park inside the callback and come back to the same thread, and C that
// the callback calls still gets the thread's stack (1 MiB of locals, on a
// goroutine whose own stack is 128 KiB). The callback's own region leaves
// the outer one as it was: its end still ends it.
TEST_P(Callback, FromABlockingRegionRunsOnTheGoroutinesStack) {
    const int kRounds = scaled(200) + 20;
    struct Round {
        Sema wake;
        long sum = 0;
        pid_t tid = 0;
        int wrongStack = 0, wrongThread = 0;
    };
    int wrongStack = 0, wrongThread = 0;
    long sum = 0;
    runMain([&] {
        for (int i = 0; i < kRounds; i++) {
            Round r;
            WaitGroup wg;
            wg.add(2);
            spawn([&] {
                G* gp = getg();
                EXPECT_EQ(blockingBegin(), kOK);
                r.tid = gettid();  // (a goroutine hosted by the main thread moved)
                callback(
                    [](void* p) {
                        auto* rd = static_cast<Round*>(p);
                        G* cur = getg();
                        auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
                        bool own = cur->stack && sp >= cur->stack.lo && sp < cur->stack.hi;
                        if (!own || cur->onNativeStack ||
                            cur->ctx.stackLo != reinterpret_cast<void*>(cur->stack.lo)) {
                            rd->wrongStack++;
                        }
                        rd->wake.acquire();  // parks: the other goroutine wakes it
                        if (gettid() != rd->tid) rd->wrongThread++;
                        cgocall(bigCFrame, &rd->sum);
                        // A region of its own inside the outer one's callback.
                        if (blockingBegin() != kOK || blockingEnd() != kOK) rd->wrongStack++;
                    },
                    &r);
                if (gettid() != r.tid) r.wrongThread++;
                EXPECT_EQ(blockingEnd(), kOK);
                EXPECT_EQ(getg(), gp);
                wg.done();
            });
            spawn([&] {
                r.wake.release();
                wg.done();
            });
            wg.wait();
            wrongStack += r.wrongStack;
            wrongThread += r.wrongThread;
            sum += r.sum;
        }
    });
    EXPECT_EQ(wrongStack, 0);
    EXPECT_EQ(wrongThread, 0);
    EXPECT_EQ(sum, 3L * kRounds);
}

// Go's NeedmDeadlock: threads enter the runtime (binding and releasing an
// M each time) while 10 other threads send them signals as fast as they
// can; a watchdog fails the test instead of letting it hang.
TEST_P(Callback, SignalsDuringNeedmDoNotDeadlock) {
    struct sigaction sa {
    }, old{};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, &old);
    std::atomic<bool> done{false};
    std::atomic<pid_t> target{0};
    std::atomic<int> calls{0};
    std::atomic<int> sent{0};
    std::thread caller([&] {
        for (int i = 0; i < 10; i++) {
            std::thread t([&] {
                // Start only once the signallers have this thread in aim.
                int before = sent.load();
                target.store(gettid());
                while (sent.load() == before && !done.load()) sched_yield();
                for (int k = 0; k < 10; k++) {
                    // Unbound: needm and dropm on every entry.
                    runOnThisThread(
                        [](void* p) { static_cast<std::atomic<int>*>(p)->fetch_add(1); }, &calls);
                }
                cb([&] { calls.fetch_add(1); });  // bound, released at thread exit
                target.store(0);
            });
            t.join();
        }
        done.store(true);
    });
    std::vector<std::thread> signallers;
    pid_t pid = getpid();
    for (int i = 0; i < 10; i++) {
        signallers.emplace_back([&] {
            while (!done.load()) {
                if (pid_t t = target.load(); t != 0 && syscall(SYS_tgkill, pid, t, SIGCHLD) == 0) {
                    sent.fetch_add(1);
                }
                usleep(1);
            }
        });
    }
    int64_t deadline = nanotime() + 10'000'000'000;
    while (!done.load() && nanotime() < deadline) usleep(1000);
    bool finished = done.load();
    done.store(true);  // stop the signallers either way
    for (auto& s : signallers) s.join();
    ASSERT_TRUE(finished) << "deadlock while entering the runtime under signals";
    caller.join();
    sigaction(SIGCHLD, &old, nullptr);
    EXPECT_EQ(calls.load(), 110);
    EXPECT_GE(sent.load(), 10);  // every caller thread was a target
}

// A callback made while the thread is exiting (from another pthread key's
// destructor, after the runtime's key may already have run) works.
pthread_key_t exitingKey;
std::atomic<int> exitingRan{0};
TEST_P(Callback, CallbackFromAnExitingThread) {
    ASSERT_EQ(pthread_key_create(&exitingKey, [](void*) { cb([] { exitingRan.fetch_add(1); }); }),
              0);
    exitingRan.store(0);
    onCThread([] {
        cb([] {});
        pthread_setspecific(exitingKey, reinterpret_cast<void*>(1));
    });
    pthread_key_delete(exitingKey);
    EXPECT_EQ(exitingRan.load(), 1);
}

// A callback from a process-exit destructor (atexit) works: checked in a
// child process that exits normally.
TEST_P(Callback, CallbackFromAtexitHandler) {
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";
    EXPECT_EXIT(
        {
            atexit([] {
                int v = 0;
                int rc = cb([&] { v = 7; });
                if (rc != kOK || v != 7) _exit(3);
            });
            exit(0);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST_P(Callback, BadInput) {
    EXPECT_EQ(callback(nullptr, nullptr), kEINVAL);
}

TEST(CallbackNotInit, BeforeInitIsNotInit) {
    EXPECT_EQ(callback([](void*) {}, nullptr), kENOTINIT);
}

}  // namespace
}  // namespace gort::testing
