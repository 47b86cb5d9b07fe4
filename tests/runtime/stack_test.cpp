// Goroutine stacks: sizes, guard pages, overflow reports, reuse.
#include <sys/mman.h>

#include <atomic>
#include <cstring>

#include "runtime/proc.h"
#include "runtime/stack.h"
#include "runtime/sync.h"
#include "tests/runtime/harness.h"
#if defined(GORT_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace gort::testing {
namespace {

class Stacks : public RuntimeTest {};

// recurse uses about 1 KiB of stack per level and cannot be turned into a
// loop by the compiler.
__attribute__((noinline)) int recurse(int depth) {
    volatile char frame[1024];
    memset(const_cast<char*>(frame), depth & 0xff, sizeof frame);
    if (depth == 0) return frame[0];
    return recurse(depth - 1) + frame[depth % sizeof frame];
}

TEST_F(Stacks, DefaultSizeHoldsItsFrames) {
    std::atomic<int> result{-1};
    runMain([&] {
        WaitGroup wg;
        wg.add(1);
        // 100 KiB of frames fit in the default 128 KiB.
        spawn([&] {
            result.store(recurse(100) >= 0 ? 1 : 0);
            wg.done();
        });
        wg.wait();
    });
    EXPECT_EQ(result.load(), 1);
}

TEST_F(Stacks, PerSpawnSizeIsHonoured) {
    std::atomic<size_t> size{0};
    std::atomic<int> result{-1};
    runMain([&] {
        WaitGroup wg;
        wg.add(1);
        GoOptions o;
        o.stackSize = 4 << 20;
        spawn(
            [&] {
                size.store(getg()->stack.size());
                result.store(recurse(3000) >= 0 ? 1 : 0);  // ~3 MiB deep
                wg.done();
            },
            o);
        wg.wait();
    });
    EXPECT_EQ(size.load(), size_t(4) << 20);
    EXPECT_EQ(result.load(), 1);
}

TEST_F(Stacks, GuardPageIsInaccessible) {
    Stack s = stackalloc(stackRoundSize(0));
    ASSERT_TRUE(s);
    // mincore works on mapped pages only; the guard is mapped but marked:
    // probe it in a child process instead, where the fault is harmless.
    EXPECT_DEATH(
        {
            volatile char* p = reinterpret_cast<volatile char*>(s.lo - 1);
            *p = 1;
        },
        "");
    EXPECT_TRUE(stackGuardContains(s, s.lo - 1));
    EXPECT_FALSE(stackGuardContains(s, s.lo));
    stackfree(s);
}

TEST_F(Stacks, OverflowIsReportedWithIdAndSize) {
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";
    EXPECT_DEATH(runMain([&] {
                     WaitGroup wg;
                     wg.add(1);
                     spawn([&] {
                         recurse(1 << 20);
                         wg.done();
                     });
                     wg.wait();
                 }),
                 "gort: fatal error: stack overflow.*goroutine [0-9]+ .*stack of 131072 bytes");
}

TEST_F(Stacks, OverflowOfCustomSizeIsReported) {
    ::testing::FLAGS_gtest_death_test_style = "threadsafe";
    EXPECT_DEATH(runMain([&] {
                     WaitGroup wg;
                     wg.add(1);
                     GoOptions o;
                     o.stackSize = 32 * 1024;
                     o.name = "deep";
                     spawn(
                         [&] {
                             recurse(1 << 20);
                             wg.done();
                         },
                         o);
                     wg.wait();
                 }),
                 "gort: fatal error: stack overflow.*goroutine [0-9]+ deep .*stack of 32768 bytes");
}

TEST_F(Stacks, ManyStacksUseFewMappings) {
    // 20,000 goroutines parked at once, each on its own guarded stack, must
    // not use a mapping per stack (vm.max_map_count is 65530 by default).
#if defined(GORT_TSAN)
    GTEST_SKIP() << "ThreadSanitizer maps memory for every fiber it tracks";
#endif
    const int kN = scaled(20'000);
    auto mappings = [] {
        FILE* f = fopen("/proc/self/maps", "r");
        int n = 0;
        for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
        fclose(f);
        return n;
    };
    int before = mappings(), during = 0;
    WaitGroup started, release, finished;
    runMain([&] {
        started.add(kN);
        release.add(1);
        finished.add(kN);
        for (int i = 0; i < kN; i++) {
            spawn([&] {
                started.done();
                release.wait();
                finished.done();
            });
        }
        started.wait();
        during = mappings();
        release.done();
        finished.wait();
    });
    EXPECT_LT(during - before, kN / 10);
}

// Memory the stacks give back to the kernel carries no ASan poison: the
// redzones of a frame that never returned would be inherited by whatever is
// mapped there next (a dlopen'ed library's data: c_api.dlopen_dlclose_100
// failed a third of its ASan runs in a report about its own globals).
TEST(StackMemory, ReleasedArenasLeaveNoPoison) {
#if !defined(GORT_ASAN)
    GTEST_SKIP() << "checks AddressSanitizer's shadow memory";
#else
    Stack s = stackalloc(stackRoundSize(0));  // the runtime is down: no stack in use
    ASSERT_TRUE(s);
    auto* frame = reinterpret_cast<char*>(s.hi - 4096);
    __asan_poison_memory_region(frame, 64);  // a redzone left behind
    ASSERT_NE(__asan_region_is_poisoned(frame, 64), nullptr);
    stackfree(s);
    stackReleaseAll();
    EXPECT_EQ(__asan_region_is_poisoned(reinterpret_cast<void*>(s.lo), s.size()), nullptr);
#endif
}

}  // namespace
}  // namespace gort::testing
