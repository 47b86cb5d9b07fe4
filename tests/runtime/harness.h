// Test helpers: start the runtime around a test, run C++ callables as
// goroutines, and run a test body as the main goroutine.
#pragma once

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <functional>
#include <utility>

#include "runtime/runtime.h"
#include "runtime/sema.h"

namespace gort::testing {

inline pid_t gettid() { return pid_t(syscall(SYS_gettid)); }

// Sanitizer builds run an order of magnitude slower: big iteration counts
// are scaled down there (the interleavings, not the volume, are the point).
#if defined(GORT_TSAN) || defined(GORT_ASAN)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
constexpr int scaled(int n) { return kSanitized ? n / 20 : n; }

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
    int rc = gort::runOnThisThread(
        [](void* arg) { (*static_cast<std::function<void()>*>(arg))(); }, &f);
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
    void SetUp() override {
        Config c;
        c.maxprocs = procs();
        c.cgo = cgo();
        ASSERT_EQ(gort::init(c), kOK);
    }
    void TearDown() override { EXPECT_EQ(gort::shutdown(5'000'000'000), kOK); }
};

}  // namespace gort::testing
