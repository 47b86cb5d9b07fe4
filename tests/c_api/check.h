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

#endif
