// Test helpers: start the runtime around a test, run C++ callables as
// goroutines, and run a test body as the main goroutine.
#pragma once

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>
#include <utility>

#include <pthread.h>
#include <signal.h>

#include "runtime/proc.h"
#include "runtime/runtime.h"
#include "runtime/sema.h"

namespace gort::testing {

inline pid_t gettid() {
    return pid_t(syscall(SYS_gettid));
}

// testThreadStart is the runtime tests' own thread-start hook (cgo mode):
// the runtime is tested alone, without bridge/'s default hook. A detached
// pthread, created with every signal blocked, like the default.
inline int testThreadStart(const ThreadStart* ts) {
    struct Start {
        void (*fn)(void*);
        void* arg;
    };
    auto* s = new Start{ts->fn, ts->arg};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int err = pthread_create(
        &tid, &attr,
        [](void* p) -> void* {
            Start st = *static_cast<Start*>(p);
            delete static_cast<Start*>(p);
            st.fn(st.arg);
            return nullptr;
        },
        s);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&attr);
    if (err != 0) delete s;
    return err;
}

inline void useTestThreadStart() {
    setThreadStartHook(testThreadStart, true);
}

// Sanitizer builds run an order of magnitude slower: big iteration counts
// are scaled down there (the interleavings, not the volume, are the point).
#if defined(GORT_TSAN) || defined(GORT_ASAN)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
constexpr int scaled(int n) {
    return kSanitized ? n / 20 : n;
}

// spawn runs f as a goroutine. Returns the goroutine id.
inline int64_t spawn(std::function<void()> f, const GoOptions& opts = {}) {
    auto* fn = new std::function<void()>(std::move(f));
    int64_t id = 0;
    int rc = gort::go(
        [](void* arg) {
            auto* p = static_cast<std::function<void()>*>(arg);
            (*p)();
            delete p;
        },
        fn, opts, &id);
    if (rc != kOK) {
        delete fn;
        ADD_FAILURE() << "go failed: " << rc;
    }
    return id;
}

// runMain runs f as a goroutine locked to the calling thread and returns
// when it finishes.
inline void runMain(std::function<void()> f) {
    int rc =
        gort::runOnThisThread([](void* arg) { (*static_cast<std::function<void()>*>(arg))(); }, &f);
    ASSERT_EQ(rc, kOK);
}

// spawnAndWait runs f as an ordinary goroutine (not locked to a thread,
// like Go's main goroutine) and waits for it to finish. A locked goroutine
// hands its P across threads whenever it blocks, which costs a thread
// wakeup per block: heavy channel traffic belongs in goroutines.
inline void spawnAndWait(std::function<void()> f) {
    Sema done;  // on this stack: Sema allows that (sema.h)
    spawn([&] {
        f();
        done.release();
    });
    done.acquire();
}

// RuntimeTest starts the runtime with procs() Ps (and cgo() mode) and shuts
// it down after the test, requiring every goroutine to have finished.
class RuntimeTest : public ::testing::Test {
  protected:
    virtual int procs() const { return 2; }
    virtual bool cgo() const { return false; }
    // Ps sysmon may lend during stalls (Config::maxLentProcs).
    virtual int32_t maxLentProcs() const { return 0; }
    void SetUp() override {
        if (cgo()) useTestThreadStart();
        Config c;
        c.maxprocs = procs();
        c.cgo = cgo();
        c.maxLentProcs = maxLentProcs();
        ASSERT_EQ(gort::init(c), kOK);
    }
    void TearDown() override { EXPECT_EQ(gort::shutdown(5'000'000'000), kOK); }
};

// OnePTest is RuntimeTest on a single P: goroutines interleave only where
// they block or yield. So no P is ever lent: a thread that sleeps in the
// kernel for a moment (a sanitizer's own lock, a page fault on a loaded
// machine) would otherwise count as a stall and get a second P.
class OnePTest : public RuntimeTest {
  protected:
    int procs() const override { return 1; }
    int32_t maxLentProcs() const override { return -1; }
};

// ModeTest runs each test in both thread-creation modes: native
// (newosproc) and cgo (the thread-start hook).
class ModeTest : public RuntimeTest, public ::testing::WithParamInterface<bool> {
  protected:
    bool cgo() const override { return GetParam(); }
};

inline std::string modeName(const ::testing::TestParamInfo<bool>& info) {
    return info.param ? "cgo" : "native";
}

#define GORT_INSTANTIATE_MODES(suite)                                      \
    INSTANTIATE_TEST_SUITE_P(Modes, suite, ::testing::Values(false, true), \
                             ::gort::testing::modeName)

// waitUntil polls cond (yielding) until it holds or timeoutNs passes; for
// conditions that only the kernel or another thread can make true.
template <class F>
bool waitUntil(F cond, int64_t timeoutNs = 5'000'000'000) {
    int64_t deadline = nanotime() + timeoutNs;
    while (!cond()) {
        if (nanotime() > deadline) return false;
        if (getg() != nullptr) {
            gort::sleep(100'000);
        } else {
            usleep(100);
        }
    }
    return true;
}

// yieldUntil yields until cond holds; for conditions that other goroutines
// make true (the condition is what synchronises).
template <class F>
void yieldUntil(F cond) {
    while (!cond()) gosched();
}

}  // namespace gort::testing
