// fork/exec under execLock (bridge/fork_exec.cpp): Go's Test18146 shape,
// and bad input.
#include "bridge/fork_exec.h"

#include <errno.h>
#include <sys/wait.h>

#include <atomic>

#include "runtime/sync.h"
#include "tests/runtime/harness.h"

namespace gort::testing {
namespace {

class ForkExec : public ModeTest {};
GORT_INSTANTIATE_MODES(ForkExec);

// fork/exec takes execLock for writing: while threads are being created
// and destroyed as fast as possible it must neither deadlock nor fail.
TEST_P(ForkExec, DuringThreadCreationStorm) {
    const int kChildren = scaled(200) + 10;
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, churned{0};
    runMain([&] {
        WaitGroup wg;
        wg.add(3);
        for (int i = 0; i < 2; i++) {
            spawn([&] {
                while (!stop.load()) {
                    spawnAndWait([&] {
                        lockOSThread();  // exits locked: a thread dies, another is made
                        churned.fetch_add(1);
                    });
                }
                wg.done();
            });
        }
        spawn([&] {
            for (int i = 0; i < kChildren; i++) {
                char arg0[] = "true";
                char* argv[] = {arg0, nullptr};
                pid_t pid = 0;
                int err = bridge::forkExec("/bin/true", argv, nullptr, &pid);
                EXPECT_EQ(err, 0);
                int status = 0;
                if (err == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                    WEXITSTATUS(status) == 0) {
                    ok.fetch_add(1);
                }
            }
            stop.store(true);
            wg.done();
        });
        wg.wait();
    });
    EXPECT_EQ(ok.load(), kChildren);
    EXPECT_GT(churned.load(), 0);
}

TEST(ForkExecInput, BadInput) {
    pid_t pid;
    char* argv[] = {nullptr};
    EXPECT_EQ(bridge::forkExec(nullptr, argv, nullptr, &pid), EINVAL);
    EXPECT_EQ(bridge::forkExec("/bin/true", nullptr, nullptr, &pid), EINVAL);
    char arg0[] = "x";
    char* argv2[] = {arg0, nullptr};
    EXPECT_EQ(bridge::forkExec("/nonexistent/program", argv2, nullptr, &pid), ENOENT);
}

}  // namespace
}  // namespace gort::testing
