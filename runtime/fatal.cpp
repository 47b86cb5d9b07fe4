// Fatal errors (Go's throw): the message, then the goroutine dump
// (dump.cpp's printer), then abort. Also the allgs list the dumps read.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/gmp.h"
#include "runtime/traceback.h"

namespace gort {

namespace {

void writeAll(const char* buf, size_t n) {
    while (n > 0) {
        ssize_t w = write(2, buf, n);
        if (w <= 0) return;
        buf += w;
        n -= size_t(w);
    }
}

void vprinterr(const char* fmt, va_list ap) {
    char buf[1024];
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    if (n < 0) return;
    if (size_t(n) > sizeof buf - 2) n = int(sizeof buf - 2);
    buf[n++] = '\n';
    writeAll(buf, size_t(n));
}

std::atomic<int> dying{0};

}  // namespace

int64_t nanotime() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void printerr(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprinterr(fmt, ap);
    va_end(ap);
}

void throwOOM(const char* what, size_t size) {
    fatalf("out of memory allocating %zu bytes (%s)", size, what);
}

void* rtalloc(size_t size, const char* what) {
    void* p = malloc(size);
    if (p == nullptr) throwOOM(what, size);
    return p;
}

void* rtrealloc(void* p, size_t size, const char* what) {
    void* n = realloc(p, size);
    if (n == nullptr) throwOOM(what, size);
    return n;
}

void fatal(const char* msg) {
    fatalf("%s", msg);
}

void fatalf(const char* fmt, ...) {
    if (dying.fetch_add(1) > 0) {
        // Another thread is already reporting; let it finish.
        for (;;) pause();
    }
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printerr("gort: fatal error: %s", buf);
    printerr("%s", "");
    dumpgoroutines(getg());
    abort();
}

void allgadd(G* gp) {
    LockGuard g(sched.allglock);
    if (sched.allglen == sched.allgcap) {
        int64_t cap = sched.allgcap == 0 ? 1024 : sched.allgcap * 2;
        constexpr size_t kSlot = sizeof(sched.allgs[0]);  // NOLINT(bugprone-sizeof-expression)
        auto** n = static_cast<G**>(rtalloc(size_t(cap) * kSlot, "allgs"));
        if (sched.allglen > 0) memcpy(n, sched.allgs, size_t(sched.allglen) * kSlot);
        G** old = sched.allgs;
        sched.allgs = n;  // dumps read without the lock: publish the full copy
        sched.allgcap = cap;
        free(old);
    }
    gp->allgIndex = sched.allglen;
    sched.allgs[sched.allglen++] = gp;
}

void allgremove(G* gp) {
    LockGuard g(sched.allglock);
    int64_t i = gp->allgIndex;
    if (i < 0 || i >= sched.allglen || sched.allgs[i] != gp) fatal("allgremove: G not in allgs");
    G* last = sched.allgs[--sched.allglen];
    sched.allgs[i] = last;
    last->allgIndex = i;
    gp->allgIndex = -1;
}

}  // namespace gort
