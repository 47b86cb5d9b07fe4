/* The C library of test_ffi.py: every scalar type both ways, structs by
 * value (small, large, nested, mixed float/int), callbacks of every return
 * type, a library that calls a callback from its own worker threads, and a
 * blocking call. Built by tests/python/CMakeLists.txt. */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#define IDENTITY(T, name)          \
    T id_##name(T x) {             \
        return x;                  \
    }                              \
    T cb_##name(T (*cb)(T), T x) { \
        return cb(x);              \
    }
IDENTITY(bool, bool)
IDENTITY(int8_t, int8)
IDENTITY(uint8_t, uint8)
IDENTITY(int16_t, int16)
IDENTITY(uint16_t, uint16)
IDENTITY(int32_t, int32)
IDENTITY(uint32_t, uint32)
IDENTITY(int64_t, int64)
IDENTITY(uint64_t, uint64)
IDENTITY(float, float)
IDENTITY(double, double)
IDENTITY(void*, pointer)
IDENTITY(size_t, size_t)
IDENTITY(ssize_t, ssize_t)
IDENTITY(long, long)
IDENTITY(unsigned long, ulong)

/* Many arguments of mixed types. */
double mix(int8_t a, uint16_t b, int32_t c, int64_t d, float e, double f, uint8_t g, void* h) {
    return a + b + c + (double)d + e + f + g + (h != 0 ? 1000 : 0);
}

struct small {
    int32_t a;
    int8_t b;
};
struct mixed {
    float f;
    int32_t i;
    double d;
};
struct big {
    double d[4];
    int64_t n;
};
struct nested {
    struct small s;
    struct mixed m;
    uint8_t tail;
};

struct small small_make(int32_t a, int8_t b) {
    struct small s = {a, b};
    return s;
}
int64_t small_sum(struct small s) {
    return s.a + s.b;
}
struct mixed mixed_scale(struct mixed m, double k) {
    m.f = (float)(m.f * k);
    m.i = (int32_t)(m.i * k);
    m.d *= k;
    return m;
}
struct big big_make(double base, int64_t n) {
    struct big b = {{base, base + 1, base + 2, base + 3}, n};
    return b;
}
double big_sum(struct big b) {
    return b.d[0] + b.d[1] + b.d[2] + b.d[3] + (double)b.n;
}
struct nested nested_bump(struct nested n) {
    n.s.a += 1;
    n.s.b += 1;
    n.m.f += 1;
    n.m.i += 1;
    n.m.d += 1;
    n.tail += 1;
    return n;
}
size_t sizeof_small(void) {
    return sizeof(struct small);
}
size_t sizeof_mixed(void) {
    return sizeof(struct mixed);
}
size_t sizeof_big(void) {
    return sizeof(struct big);
}
size_t sizeof_nested(void) {
    return sizeof(struct nested);
}
size_t offsetof_nested_m(void) {
    return offsetof(struct nested, m);
}
size_t offsetof_nested_tail(void) {
    return offsetof(struct nested, tail);
}

/* A callback taking and returning a struct. */
struct small cb_small(struct small (*cb)(struct small, int32_t), struct small s, int32_t k) {
    return cb(s, k);
}

/* The library's own worker threads call cb concurrently. */
struct job {
    int64_t (*cb)(int64_t);
    int64_t calls;
    int64_t sum;
};
static void* worker(void* p) {
    struct job* j = p;
    for (int64_t i = 0; i < j->calls; i++) j->sum += j->cb(i);
    return 0;
}
int64_t run_threads(int64_t (*cb)(int64_t), int32_t nthreads, int64_t calls) {
    pthread_t t[64];
    struct job jobs[64];
    if (nthreads > 64) return -1;
    for (int i = 0; i < nthreads; i++) {
        jobs[i].cb = cb;
        jobs[i].calls = calls;
        jobs[i].sum = 0;
        if (pthread_create(&t[i], 0, worker, &jobs[i]) != 0) return -1;
    }
    int64_t sum = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], 0);
        sum += jobs[i].sum;
    }
    return sum;
}

/* A blocking call. */
void sleep_ms(int32_t ms) {
    usleep((useconds_t)ms * 1000);
}

/* Writes into a caller's buffer. */
int32_t fill(uint8_t* buf, int32_t n, uint8_t v) {
    for (int32_t i = 0; i < n; i++) buf[i] = v;
    return n;
}

/* The W9 ffi workloads (bench/w9_python.py), the same as the Python peers'
 * C library in the benchmark anchors: an empty function; a callback called n times from a
 * thread the library creates and from the calling thread. */
void empty(void) {}

struct w9job {
    int (*cb)(int);
    long n;
    long sum;
};
static void* w9run(void* p) {
    struct w9job* j = p;
    for (long i = 0; i < j->n; i++) j->sum += j->cb((int)(i & 0xff));
    return 0;
}
long call_from_thread(int (*cb)(int), long n) {
    struct w9job j = {cb, n, 0};
    pthread_t t;
    if (pthread_create(&t, 0, w9run, &j) != 0) return -1;
    pthread_join(t, 0);
    return j.sum;
}
long call_here(int (*cb)(int), long n) {
    struct w9job j = {cb, n, 0};
    w9run(&j);
    return j.sum;
}
