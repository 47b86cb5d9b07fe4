/* A minimal test harness for C: CHECK records a failure and goes on; each
 * test program returns non-zero if anything failed. */
#ifndef GORT_TEST_CHECK_H
#define GORT_TEST_CHECK_H

#include <stdio.h>

static int check_failures = 0;

/* Sanitizer builds run an order of magnitude slower: big iteration counts are
 * scaled down under ThreadSanitizer (the interleavings, not the volume, are
 * the point). AddressSanitizer keeps them (its leak check wants the volume). */
#if defined(__SANITIZE_THREAD__)
#define CHECK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHECK_TSAN 1
#endif
#endif
#ifdef CHECK_TSAN
#define SCALED(n) ((n) / 20 > 0 ? (n) / 20 : 1)
#else
#define SCALED(n) (n)
#endif

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                        \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                    \
    do {                                                                                  \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                   \
        if (check_a_ != check_b_) {                                                       \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__, \
                    __LINE__, #a, check_a_, #b, check_b_);                                \
            check_failures++;                                                             \
        }                                                                                 \
    } while (0)

#define CHECK_OK(expr) CHECK_EQ((expr), GORT_OK)

#define RUN(test)                                                                       \
    do {                                                                                \
        int before_ = check_failures;                                                   \
        test();                                                                         \
        fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #test); \
    } while (0)

/* ---- helpers for tests that run in both thread-creation modes, and for
 * scenarios that must run in a child process (a death, a signal) ---------- */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* check_cgo_mode: 1 (threads through the thread-start hook, the default) or
 * 0 (native), from $GORT_TEST_CGO; ctest runs such tests once in each. */
static inline int check_cgo_mode(void) {
    const char* s = getenv("GORT_TEST_CGO");
    return s != NULL && strcmp(s, "0") == 0 ? 0 : 1;
}

/* run_child runs `self --child name` and collects its stderr (at most n-1
 * bytes, NUL-terminated); returns its wait status. */
static inline int run_child(const char* self, const char* name, char* out, size_t n) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, "--child", name, (char*)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while (got < n - 1 && (r = read(fds[0], out + got, n - 1 - got)) > 0) got += (size_t)r;
    out[got] = 0;
    char sink[256];
    while (read(fds[0], sink, sizeof sink) > 0) {
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

#define CHECK_KILLED_BY(status, sig) CHECK(WIFSIGNALED(status) && WTERMSIG(status) == (sig))

/* A sanitizer build handles the faults nobody else handles itself: it
 * reports "DEADLYSIGNAL" and exits non-zero instead of dying of the signal.
 * CHECK_FAULTED accepts that as the death by sig it stands for. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHECK_SANITIZED 1
#else
#define CHECK_SANITIZED 0
#endif
#define CHECK_FAULTED(status, sig, out)                                        \
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == (sig)) ||                \
          (CHECK_SANITIZED && WIFEXITED(status) && WEXITSTATUS(status) != 0 && \
           strstr((out), "DEADLYSIGNAL") != NULL))
#define CHECK_EXITED(status, code) CHECK(WIFEXITED(status) && WEXITSTATUS(status) == (code))

#endif
