// Basic definitions shared by every runtime file: attributes, the clock,
// and the fatal-error entry points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

// GORT_NOINLINE_NOIPA keeps a function opaque to the optimiser: it is never
// inlined and no facts about it (pure, const, what it reads) are propagated
// into callers. The thread-local accessors use it so that no caller can keep
// a thread-local address across a goroutine switch.
#if defined(__clang__)
#define GORT_NOINLINE_NOIPA __attribute__((noinline, optnone))
#else
#define GORT_NOINLINE_NOIPA __attribute__((noinline, noipa))
#endif
#define GORT_NOINLINE __attribute__((noinline))
#define GORT_LIKELY(x) __builtin_expect(!!(x), 1)
#define GORT_UNLIKELY(x) __builtin_expect(!!(x), 0)

namespace gort {

// nanotime returns CLOCK_MONOTONIC in nanoseconds.
int64_t nanotime();

// fatal prints "gort: fatal error: <msg>", dumps the goroutines and aborts.
// It is for broken invariants only (Go's throw); misuse through a public
// interface returns an error instead.
[[noreturn]] void fatal(const char* msg);

// fatalf is fatal with a formatted message.
[[noreturn]] void fatalf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// printerr writes a formatted line to stderr without allocating (safe in
// signal handlers as long as the format is simple).
void printerr(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// NoDestructor<T> holds a T that is constructed on first use and never
// destroyed: runtime state must outlive every thread that may still touch
// it at process exit, and must not run destructors when libgort is unloaded
// (shutdown frees what it holds explicitly).
template <class T>
class NoDestructor {
  public:
    template <class... Args>
    explicit NoDestructor(Args&&... args) {
        new (storage_) T(std::forward<Args>(args)...);
    }
    T* get() { return std::launder(reinterpret_cast<T*>(storage_)); }
    T* operator->() { return get(); }
    T& operator*() { return *get(); }

  private:
    alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace gort
