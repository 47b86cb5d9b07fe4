// Basic definitions shared by every runtime file: attributes, sanitizer
// detection, the clock, the fatal-error entry points and the runtime's
// allocation policy.
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
#define GORT_ALWAYS_INLINE __attribute__((always_inline)) inline
// GORT_RACY_READER marks a function that reads other threads' state
// without synchronisation on purpose (goroutine dumps, which never stop the
// world and tolerate a stale or torn value): ThreadSanitizer does not
// instrument it.
#define GORT_RACY_READER __attribute__((no_sanitize("thread")))
#define GORT_LIKELY(x) __builtin_expect(!!(x), 1)
#define GORT_UNLIKELY(x) __builtin_expect(!!(x), 0)

// Sanitizers, as the compiler says (never a per-target define: the layout of
// the runtime's structures does not depend on them).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORT_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define GORT_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(GORT_ASAN)
#define GORT_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(GORT_TSAN)
#define GORT_TSAN 1
#endif

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

// Allocation policy. The runtime's own structures (Ms, Ps, timer heaps, the
// lists it keeps) are allocated with rtnew/rtalloc: running out of memory
// there is fatal ("gort: fatal error: out of memory ..."), as in Go. Only
// objects a user asks for (a goroutine, a channel, a wait group...) are
// allocated with new (std::nothrow) and turn into GORT_ENOMEM. No C++
// exception is ever thrown by the runtime.
[[noreturn]] void throwOOM(const char* what, size_t size);

template <class T, class... Args>
T* rtnew(Args&&... args) {
    void* mem = ::operator new(sizeof(T), std::align_val_t(alignof(T)), std::nothrow);
    if (mem == nullptr) throwOOM(__PRETTY_FUNCTION__, sizeof(T));
    return new (mem) T(std::forward<Args>(args)...);
}

// tryNew is new (std::nothrow) for objects a user asked for: null when
// memory ran out. Objects from rtnew and tryNew are freed with rtdelete.
template <class T, class... Args>
T* tryNew(Args&&... args) {
    void* mem = ::operator new(sizeof(T), std::align_val_t(alignof(T)), std::nothrow);
    if (mem == nullptr) return nullptr;
    return new (mem) T(std::forward<Args>(args)...);
}

template <class T>
void rtdelete(T* p) {
    if (p == nullptr) return;
    p->~T();
    ::operator delete(p, std::align_val_t(alignof(T)));
}

// rtalloc and rtrealloc are malloc and realloc that never return null.
void* rtalloc(size_t size, const char* what);
void* rtrealloc(void* p, size_t size, const char* what);

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
