/* The C API fuzzer: LLVMFuzzerTestOneInput runs an input as a program of
 * gort.h calls on a few goroutines and threads (the design is in fuzz.h;
 * the main thread's exact model in fuzz_model.c).
 *
 * Opcodes (byte % kOps), each followed by its argument bytes:
 *   shared channels: send (timed, try), receive (timed, try), close,
 *   select (1-4 cases: shared, nil and garbage channels, bad directions;
 *   blocking with a timeout or not), make (replacing the slot's channel),
 *   gort_after (kept, or received and released), retain/release (balanced,
 *   or a bare release: double release, use after release);
 *   shared wait groups and mutexes (make, add, done, timed wait, timed
 *   lock, unlock); spawn (gort_go, gort_go_ex with good and bad options and
 *   switch hooks) running a slice of the input as the goroutine's program;
 *   gosched, sleep, goid, num_goroutine, stats, gomaxprocs (good and bad);
 *   lock/unlock thread; a cgocall, a blocking region, a callback and a
 *   plain thread, each running a slice of the input; garbage handles into
 *   every kind of call; the private model's operations (main thread);
 *   shutdown and init with good and bad configurations (main thread; from
 *   a goroutine shutdown must say GORT_EDEADLK); gort_run_main. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

int fuzz_running;

void fuzz_fail(const char* what, long long got, long long want) {
    fprintf(stderr, "gort fuzz: %s: got %lld, want %lld\n", what, got, want);
    abort();
}

int fuzz_expect(const char* call, int rc, const int* allowed, int n) {
    for (int i = 0; i < n; i++) {
        if (rc == allowed[i]) return rc;
    }
    fprintf(stderr, "gort fuzz: %s returned %d (%s), which gort.h does not allow there\n", call, rc,
            gort_strerror(rc));
    abort();
}

/* OP marks the operations run() dispatches to: never inlined into run().
 * Goroutines with the smallest stack gort.h allows (16 KiB) run the
 * interpreter nested kMaxDepth deep; inlined, every operation's locals
 * lived in each run() frame at once (AddressSanitizer gives every local its
 * own slot and redzones: 3.9 KiB a frame), and a select three levels down
 * overflowed the stack: a fatal error the harness caused, not the runtime. */
#define OP static __attribute__((noinline))

enum { kShared = 4, kMaxActors = 16, kMaxDepth = 3, kMaxOps = 200, kOps = 24, kBuf = 64 };

static _Atomic(gort_chan*) sh_chan[kShared];
static _Atomic(gort_waitgroup*) sh_wg[kShared];
static _Atomic(gort_mutex*) sh_mu[kShared];

/* Where an actor's code runs: goroutine code (a goroutine, a callback,
 * gort_run_main's goroutine), or not (the main thread, a plain thread, C
 * code inside a cgocall or a blocking region). */
typedef enum { ON_MAIN, ON_GOROUTINE, ON_THREAD, IN_C, IN_REGION, IN_CALLBACK } Where;

typedef struct {
    Where where;
    int depth, locks;
    int under_g; /* C code (a cgocall, a region) that a goroutine called */
} Actor;

static int goroutine_code(const Actor* a) {
    return a->where == ON_GOROUTINE || a->where == IN_CALLBACK;
}

/* child_actor: what runs at `where`, started from parent. */
static Actor child_actor(const Actor* parent, Where where) {
    Actor c = {where, parent->depth + 1, 0, 0};
    if (where == IN_C || where == IN_REGION) c.under_g = goroutine_code(parent) || parent->under_g;
    return c;
}

static atomic_int live_actors;
static pthread_mutex_t threads_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t threads[kMaxActors];
static int nthreads;
static atomic_long hook_calls;

static void run(Prog pr, Actor* a);

static const int64_t kTimeouts[] = {0, 1, 1000, 20000};
static const size_t kElems[] = {0, 1, 8, 64};
static const size_t kCaps[] = {0, 1, 2, 4};

/* garbage: a value that is not a live handle of the kind asked for (or,
 * rarely, one the input guessed: then the call simply works). */
static void* garbage(Prog* pr) {
    static char not_a_handle[16];
    switch (take(pr) % 5) {
        case 0:
            return NULL;
        case 1:
            return (void*)(uintptr_t)1;
        case 2:
            return not_a_handle;
        case 3: /* a handle of another kind */
            return (void*)atomic_load(&sh_wg[take(pr) % kShared]);
        default: {
            uint64_t v = 0;
            for (int i = 0; i < 8; i++) v = v << 8 | take(pr);
            return (void*)(uintptr_t)v;
        }
    }
}

/* ---- shared channels ----------------------------------------------------------- */

static gort_chan* pick_chan(Prog* pr) {
    uint8_t b = take(pr);
    if (b >= 0xF0) return garbage(pr);
    return atomic_load(&sh_chan[b % kShared]);
}

OP void op_send(Prog* pr, int timed) {
    gort_chan* ch = pick_chan(pr);
    uint8_t v[kBuf];
    for (int i = 0; i < 8; i++) v[i] = take(pr);
    memset(v + 8, 0, sizeof v - 8);
    if (timed) {
        int64_t t = kTimeouts[take(pr) & 3];
        EXPECT("gort_chan_send_timeout", gort_chan_send_timeout(ch, v, t), GORT_OK, GORT_ECLOSED,
               GORT_EINVAL, GORT_ENOTINIT, GORT_ETIMEDOUT, GORT_EAGAIN);
    } else {
        EXPECT("gort_chan_try_send", gort_chan_try_send(ch, v), GORT_OK, GORT_EAGAIN, GORT_ECLOSED,
               GORT_EINVAL, GORT_ENOTINIT);
    }
}

OP void op_recv(Prog* pr, int timed) {
    gort_chan* ch = pick_chan(pr);
    uint8_t v[kBuf];
    int ok;
    if (timed) {
        int64_t t = kTimeouts[take(pr) & 3];
        EXPECT("gort_chan_recv_timeout", gort_chan_recv_timeout(ch, v, &ok, t), GORT_OK,
               GORT_EINVAL, GORT_ENOTINIT, GORT_ETIMEDOUT, GORT_EAGAIN);
    } else {
        EXPECT("gort_chan_try_recv", gort_chan_try_recv(ch, v, &ok), GORT_OK, GORT_EAGAIN,
               GORT_EINVAL, GORT_ENOTINIT);
    }
    (void)gort_chan_len(ch);
    (void)gort_chan_cap(ch);
}

OP void op_select(Prog* pr) {
    gort_select_case cs[4];
    uint8_t bufs[4][kBuf];
    uint8_t b = take(pr);
    size_t n = (size_t)(b & 3) + 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = take(pr);
        cs[i].ch = (c & 0xC0) == 0xC0 ? NULL : pick_chan(pr);
        cs[i].dir = (c & 0x30) == 0x30 ? (int)(c & 7)
                    : (c & 1)          ? GORT_SELECT_SEND
                                       : GORT_SELECT_RECV;
        memset(bufs[i], c, sizeof bufs[i]);
        cs[i].elem = (c & 0x08) ? NULL : bufs[i];
        cs[i].ok = -1;
    }
    size_t chosen = 0;
    if (b & 4) {
        EXPECT("gort_select", gort_select(cs, n, 0, &chosen), GORT_OK, GORT_EAGAIN, GORT_ECLOSED,
               GORT_EINVAL, GORT_ENOTINIT);
    } else {
        int64_t t = kTimeouts[(b >> 4) & 3];
        EXPECT("gort_select_timeout", gort_select_timeout(cs, n, t, &chosen), GORT_OK, GORT_EAGAIN,
               GORT_ECLOSED, GORT_EINVAL, GORT_ENOTINIT, GORT_ETIMEDOUT);
    }
}

/* put_chan: a new channel in a shared slot; the old one loses the slot's
 * reference (it may already be dead: a bare release got it). */
static void put_chan(int slot, gort_chan* ch) {
    gort_chan* old = atomic_exchange(&sh_chan[slot], ch);
    if (old != NULL) {
        EXPECT("gort_chan_release(replaced)", gort_chan_release(old), GORT_OK, GORT_EINVAL,
               GORT_ENOTINIT);
    }
}

OP void op_make_chan(Prog* pr) {
    uint8_t b = take(pr);
    gort_chan* ch = gort_chan_make(kElems[b & 3], kCaps[(b >> 2) & 3]);
    if (ch == NULL && errno != EPERM) fuzz_fail("gort_chan_make failed, errno", errno, 0);
    if (ch != NULL) put_chan((b >> 4) % kShared, ch);
}

OP void op_after(Prog* pr) {
    uint8_t b = take(pr);
    int64_t ns = (int64_t)(b & 0x3F) * 500;
    gort_chan* t = gort_after(ns);
    if (t == NULL) {
        if (errno != EPERM) fuzz_fail("gort_after failed, errno", errno, 0);
        return;
    }
    if (b & 0x40) {
        put_chan((b >> 7) % kShared, t); /* kept: anyone may receive it */
        return;
    }
    /* Certain to fire: the one blocking receive without a timeout. */
    int64_t when = 0;
    int ok = 0;
    EXPECT("gort_chan_recv(after)", gort_chan_recv(t, &when, &ok), GORT_OK);
    if (ok != 1 || when <= 0) fuzz_fail("gort_after fired without a time, ok", ok, 1);
    EXPECT("gort_chan_release(after)", gort_chan_release(t), GORT_OK);
    EXPECT("gort_chan_release(after, twice)", gort_chan_release(t), GORT_EINVAL);
}

/* Retain and release, balanced or not (a bare release may kill a shared
 * handle under everyone's feet: they must all get GORT_EINVAL, no more). */
OP void op_refs(Prog* pr) {
    uint8_t b = take(pr);
    int slot = (b >> 2) % kShared;
    void* h = (b & 3) == 0   ? (void*)atomic_load(&sh_chan[slot])
              : (b & 3) == 1 ? (void*)atomic_load(&sh_wg[slot])
              : (b & 3) == 2 ? (void*)atomic_load(&sh_mu[slot])
                             : garbage(pr);
    int kind = (b & 3) == 3 ? (int)(take(pr) % 3) : (int)(b & 3);
    int bare = (b & 0x60) == 0x60;
    int rc;
#define REFS(kind, type)                                                                        \
    do {                                                                                        \
        if (!bare) {                                                                            \
            rc = EXPECT("gort_" #kind "_retain", gort_##kind##_retain((type*)h), GORT_OK,       \
                        GORT_EINVAL, GORT_ENOTINIT);                                            \
            if (rc != GORT_OK) break;                                                           \
        }                                                                                       \
        EXPECT("gort_" #kind "_release", gort_##kind##_release((type*)h), GORT_OK, GORT_EINVAL, \
               GORT_ENOTINIT);                                                                  \
    } while (0)
    if (kind == 0) {
        REFS(chan, gort_chan);
    } else if (kind == 1) {
        REFS(waitgroup, gort_waitgroup);
    } else {
        REFS(mutex, gort_mutex);
    }
#undef REFS
}

/* ---- shared wait groups and mutexes ---------------------------------------------- */

OP void op_waitgroup(Prog* pr) {
    uint8_t b = take(pr);
    int slot = (b >> 3) % kShared;
    gort_waitgroup* wg = (b & 0x80) ? garbage(pr) : atomic_load(&sh_wg[slot]);
    switch (b & 7) {
        case 0: {
            gort_waitgroup* n = gort_waitgroup_make();
            if (n == NULL) {
                if (errno != EPERM) fuzz_fail("gort_waitgroup_make failed, errno", errno, 0);
                return;
            }
            gort_waitgroup* old = atomic_exchange(&sh_wg[slot], n);
            if (old != NULL) {
                EXPECT("gort_waitgroup_release(replaced)", gort_waitgroup_release(old), GORT_OK,
                       GORT_EINVAL, GORT_ENOTINIT);
            }
            return;
        }
        case 1:
        case 2: {
            int64_t d = (int8_t)take(pr);
            if (d == -128) d = INT64_MIN;
            if (d == 127) d = INT64_MAX;
            EXPECT("gort_waitgroup_add", gort_waitgroup_add(wg, d), GORT_OK, GORT_EINVAL,
                   GORT_EOVERFLOW, GORT_ENOTINIT);
            return;
        }
        case 3:
        case 4:
            EXPECT("gort_waitgroup_done", gort_waitgroup_done(wg), GORT_OK, GORT_EINVAL,
                   GORT_ENOTINIT);
            return;
        default:
            EXPECT("gort_waitgroup_wait_timeout",
                   gort_waitgroup_wait_timeout(wg, kTimeouts[take(pr) & 3]), GORT_OK,
                   GORT_ETIMEDOUT, GORT_EINVAL, GORT_ENOTINIT);
            return;
    }
}

OP void op_mutex(Prog* pr) {
    uint8_t b = take(pr);
    int slot = (b >> 3) % kShared;
    gort_mutex* mu = (b & 0x80) ? garbage(pr) : atomic_load(&sh_mu[slot]);
    switch (b & 3) {
        case 0: {
            gort_mutex* n = gort_mutex_make();
            if (n == NULL) {
                if (errno != EPERM) fuzz_fail("gort_mutex_make failed, errno", errno, 0);
                return;
            }
            gort_mutex* old = atomic_exchange(&sh_mu[slot], n);
            if (old != NULL) {
                EXPECT("gort_mutex_release(replaced)", gort_mutex_release(old), GORT_OK,
                       GORT_EINVAL, GORT_ENOTINIT);
            }
            return;
        }
        case 1:
            EXPECT("gort_mutex_lock_timeout", gort_mutex_lock_timeout(mu, kTimeouts[take(pr) & 3]),
                   GORT_OK, GORT_ETIMEDOUT, GORT_EINVAL, GORT_ENOTINIT);
            return;
        default:
            EXPECT("gort_mutex_unlock", gort_mutex_unlock(mu), GORT_OK, GORT_EINVAL, GORT_ENOTINIT);
            return;
    }
}

/* ---- actors ---------------------------------------------------------------------- */

typedef struct {
    Prog pr;
    Actor a;
} Start;

static Start* new_start(Prog* pr, Actor* parent, Where where) {
    Start* s = malloc(sizeof *s);
    s->pr = sub(pr, take(pr) % 64);
    s->a = child_actor(parent, where);
    return s;
}

/* actor_may_start: depth and count limits (the count is given back by
 * actor_done). */
static int actor_may_start(const Actor* a) {
    if (a->depth >= kMaxDepth) return 0;
    if (atomic_fetch_add(&live_actors, 1) >= kMaxActors) {
        atomic_fetch_sub(&live_actors, 1);
        return 0;
    }
    return 1;
}

static void actor_done(void) {
    atomic_fetch_sub(&live_actors, 1);
}

static void unlock_all(Actor* a) {
    for (; a->locks > 0; a->locks--) {
        EXPECT("gort_unlock_os_thread", gort_unlock_os_thread(), GORT_OK, GORT_ENOTINIT);
    }
}

static void goroutine_main(void* p) {
    Start* s = p;
    run(s->pr, &s->a);
    /* Exit locked now and then: the thread goes with the goroutine. */
    if (s->a.locks > 0 && (s->pr.n & 1)) s->a.locks = 0;
    unlock_all(&s->a);
    free(s);
    actor_done();
}

static void count_hook(void* arg) {
    (void)arg;
    atomic_fetch_add(&hook_calls, 1);
}

OP void op_spawn(Prog* pr, Actor* a) {
    uint8_t b = take(pr);
    if (!actor_may_start(a)) return;
    Start* s = new_start(pr, a, ON_GOROUTINE);
    int rc;
    if (b & 1) {
        rc = EXPECT("gort_go", gort_go(goroutine_main, s), GORT_OK, GORT_ENOTINIT);
    } else {
        static const size_t stacks[] = {0, 16384, 65536, 1, (size_t)2 << 30, 12345};
        union {
            gort_go_opts o;
            unsigned char raw[sizeof(gort_go_opts) + 16];
        } u;
        memset(&u, 0, sizeof u);
        u.o.struct_size = (b & 0x06) == 0x06 ? 4 : (uint32_t)sizeof(gort_go_opts);
        if ((b & 0x18) == 0x18) {
            u.o.struct_size = sizeof u;                 /* a newer caller's struct... */
            u.raw[sizeof(gort_go_opts) + 3] = take(pr); /* ...asking for more, maybe */
        }
        u.o.stack_size = stacks[take(pr) % 6];
        u.o.name = (b & 0x20) ? "fuzz" : NULL;
        u.o.flags = (b & 0x40) ? GORT_GO_RESUME_AFFINITY : (b & 0x80) ? 0x80u : 0;
        if (b & 0x10) {
            u.o.on_park = count_hook;
            u.o.on_resume = count_hook;
        }
        int64_t goid = 0;
        rc = EXPECT("gort_go_ex", gort_go_ex(&u.o, goroutine_main, s, &goid), GORT_OK, GORT_EINVAL,
                    GORT_ENOMEM, GORT_ENOTINIT);
        if (rc == GORT_OK && goid <= 0) fuzz_fail("gort_go_ex: goid", goid, 1);
    }
    if (rc != GORT_OK) {
        free(s);
        actor_done();
    }
}

static void* thread_main(void* p) {
    Start* s = p;
    run(s->pr, &s->a);
    unlock_all(&s->a);
    free(s);
    actor_done();
    return NULL;
}

OP void op_thread(Prog* pr, Actor* a) {
    if (!actor_may_start(a)) return;
    Start* s = new_start(pr, a, ON_THREAD);
    pthread_mutex_lock(&threads_mu);
    int made =
        nthreads < kMaxActors && pthread_create(&threads[nthreads], NULL, thread_main, s) == 0;
    if (made) nthreads++;
    pthread_mutex_unlock(&threads_mu);
    if (!made) {
        free(s);
        actor_done();
    }
}

/* nested: run a slice of the input inline, somewhere else (C code, a
 * region, a callback). */
typedef struct {
    Prog pr;
    Actor a;
} Nested;

static void nested_body(void* p) {
    Nested* n = p;
    run(n->pr, &n->a);
    unlock_all(&n->a);
}

OP void op_nested(Prog* pr, Actor* a, Where where) {
    if (a->depth >= kMaxDepth) return;
    Nested n = {sub(pr, take(pr) % 64), child_actor(a, where)};
    if (where == IN_C) {
        errno = 0;
        EXPECT("gort_cgocall", gort_cgocall(nested_body, &n), GORT_OK, GORT_ENOTINIT);
    } else if (where == IN_REGION) {
        int rc = EXPECT("gort_blocking_begin", gort_blocking_begin(), GORT_OK, GORT_EINVAL,
                        GORT_ENOTINIT);
        nested_body(&n);
        if (rc == GORT_OK) {
            EXPECT("gort_blocking_end", gort_blocking_end(), GORT_OK, GORT_EINVAL, GORT_ENOTINIT);
        }
    } else {
        EXPECT("gort_callback", gort_callback(nested_body, &n), GORT_OK, GORT_ENOTINIT);
    }
}

/* ---- the rest ------------------------------------------------------------------------ */

OP void op_misc(Prog* pr, Actor* a) {
    uint8_t b = take(pr);
    switch (b % 8) {
        case 0:
            EXPECT("gort_gosched", gort_gosched(), GORT_OK, GORT_ENOTINIT, GORT_ENOTGOROUTINE);
            break;
        case 1:
            EXPECT("gort_sleep", gort_sleep((int64_t)(b >> 3) * 1000 - 2000), GORT_OK,
                   GORT_ENOTINIT, GORT_ENOTGOROUTINE);
            break;
        case 2: {
            int64_t id = gort_goid();
            if (goroutine_code(a) && id <= 0) fuzz_fail("gort_goid on a goroutine", id, 1);
            break;
        }
        case 3: {
            int n = gort_num_goroutine();
            if (n < 0 && n != GORT_ENOTINIT) fuzz_fail("gort_num_goroutine", n, 0);
            if (goroutine_code(a) && n < 1) fuzz_fail("gort_num_goroutine on a goroutine", n, 1);
            break;
        }
        case 4: {
            static const int procs[] = {0, 1, 2, 3, 4, -5, 1025, 1 << 30};
            int r = gort_gomaxprocs(procs[(b >> 3) & 7]);
            if (r < 1 && r != GORT_EINVAL && r != GORT_ENOTINIT) fuzz_fail("gort_gomaxprocs", r, 1);
            if (r == GORT_EINVAL && procs[(b >> 3) & 7] <= 1024)
                fuzz_fail("gomaxprocs EINVAL", r, 1);
            break;
        }
        case 5: {
            gort_stats s;
            static const size_t sizes[] = {sizeof(gort_stats), 8, 0, 64};
            size_t size = sizes[(b >> 3) & 3];
            int rc = gort_get_stats((b & 0x20) ? NULL : &s, size);
            EXPECT("gort_get_stats", rc, GORT_OK, GORT_EINVAL, GORT_ENOTINIT);
            if ((b & 0x20) && rc == GORT_OK) fuzz_fail("gort_get_stats(NULL)", rc, GORT_EINVAL);
            break;
        }
        case 6:
            if (gort_strerror(-(int)(b >> 3)) == NULL) fuzz_fail("gort_strerror NULL", 0, 1);
            if (gort_version() != GORT_VERSION) fuzz_fail("gort_version", gort_version(), 0);
            break;
        default:
            EXPECT("gort_cgocall(NULL)", gort_cgocall(NULL, NULL), GORT_EINVAL);
            EXPECT("gort_go(NULL)", gort_go(NULL, NULL), GORT_EINVAL, GORT_ENOTINIT);
            EXPECT("gort_callback(NULL)", gort_callback(NULL, NULL), GORT_EINVAL);
            break;
    }
}

OP void op_lock(Prog* pr, Actor* a) {
    if (take(pr) & 1 || a->locks == 0) {
        int rc = EXPECT("gort_lock_os_thread", gort_lock_os_thread(), GORT_OK, GORT_EOVERFLOW,
                        GORT_ENOTINIT);
        if (rc == GORT_OK) a->locks++;
    } else {
        EXPECT("gort_unlock_os_thread", gort_unlock_os_thread(), GORT_OK, GORT_ENOTINIT);
        a->locks--;
    }
}

/* Garbage handles into calls of every kind: GORT_EINVAL (or a guessed
 * live handle's ordinary result). */
OP void op_garbage(Prog* pr) {
    void* h = garbage(pr);
    uint8_t v[kBuf] = {0};
    int ok;
    switch (take(pr) % 6) {
        case 0:
            EXPECT("gort_chan_close(garbage)", gort_chan_close(h), GORT_EINVAL, GORT_OK,
                   GORT_ECLOSED, GORT_ENOTINIT);
            break;
        case 1:
            EXPECT("gort_chan_recv_timeout(garbage)", gort_chan_recv_timeout(h, v, &ok, 0),
                   GORT_EINVAL, GORT_OK, GORT_ETIMEDOUT, GORT_EAGAIN, GORT_ENOTINIT);
            break;
        case 2:
            EXPECT("gort_waitgroup_wait_timeout(garbage)", gort_waitgroup_wait_timeout(h, 0),
                   GORT_EINVAL, GORT_OK, GORT_ETIMEDOUT, GORT_ENOTINIT);
            break;
        case 3:
            EXPECT("gort_mutex_unlock(garbage)", gort_mutex_unlock(h), GORT_EINVAL, GORT_OK,
                   GORT_ENOTINIT);
            break;
        case 4: {
            gort_select_case c = {h, GORT_SELECT_RECV, v, 0};
            size_t chosen;
            EXPECT("gort_select(garbage)", gort_select(&c, 1, 0, &chosen), GORT_EINVAL, GORT_OK,
                   GORT_EAGAIN, GORT_ENOTINIT);
            EXPECT("gort_select(NULL cases)", gort_select(NULL, 2, 0, &chosen), GORT_EINVAL,
                   GORT_ENOTINIT);
            break;
        }
        default:
            if (gort_chan_len(h) > 4 || gort_chan_cap(h) > 4) fuzz_fail("len/cap of garbage", 0, 0);
            break;
    }
}

/* wait_actors: every actor started so far has finished (they all end by
 * construction; 10 s means a hang). */
static void wait_actors(void) {
    for (int i = 0; atomic_load(&live_actors) > 0; i++) {
        if (i > 500000) fuzz_fail("actors still running after 10 s", atomic_load(&live_actors), 0);
        usleep(20);
    }
    pthread_mutex_lock(&threads_mu);
    for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
    nthreads = 0;
    pthread_mutex_unlock(&threads_mu);
}

/* init_from: gort_init with a configuration from the input: a bad one is
 * GORT_EINVAL; a good one starts the runtime, or is GORT_EALREADY. */
static int init_from(Prog* pr) {
    gort_config c;
    gort_config_init(&c);
    uint8_t b = take(pr);
    static const int32_t procs[] = {0, 1, 2, 4, 1024, 1025, -1, 3};
    static const size_t stacks[] = {0, 16384, 131072, 4096};
    c.maxprocs = procs[b & 7];
    c.stack_size = stacks[(b >> 3) & 3];
    c.cgo = (b & 0x20) ? 0 : 1;
    c.flags = (b & 0xC0) == 0xC0 ? 0x100u : GORT_CONFIG_QUIET_STALLS;
    int bad = c.maxprocs > 1024 || c.maxprocs < 0 || c.stack_size == 4096 || c.flags == 0x100u;
    int rc = gort_init(&c);
    if (bad && rc != GORT_EINVAL) fuzz_fail("gort_init with a bad configuration", rc, GORT_EINVAL);
    if (!bad && rc != (fuzz_running ? GORT_EALREADY : GORT_OK)) {
        fuzz_fail("gort_init with a good configuration", rc, fuzz_running ? GORT_EALREADY : 0);
    }
    if (rc == GORT_OK && c.maxprocs > 0 && gort_gomaxprocs(0) != c.maxprocs) {
        fuzz_fail("GOMAXPROCS after init", gort_gomaxprocs(0), c.maxprocs);
    }
    return rc;
}

static void init_default(void) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = 2;
    c.flags = GORT_CONFIG_QUIET_STALLS;
    if (gort_init(&c) != GORT_OK) fuzz_fail("gort_init(defaults)", 0, 0);
    fuzz_running = 1;
}

OP void op_lifecycle(Prog* pr, Actor* a) {
    uint8_t b = take(pr);
    if (a->where != ON_MAIN || a->depth != 0) {
        /* Only the main thread starts and stops runtimes (its model knows);
         * the runtime cannot stop while this actor lives. */
        if (!fuzz_running) return;
        /* From a goroutine (or C code it called): it would wait for itself. */
        if (goroutine_code(a) || a->under_g) {
            EXPECT("gort_shutdown(from a goroutine)", gort_shutdown(0), GORT_EDEADLK);
        }
        EXPECT("gort_init(while running)", gort_init(NULL), GORT_EALREADY);
        return;
    }
    wait_actors();
    if (fuzz_running && (b & 1)) {
        int rc = EXPECT("gort_shutdown", gort_shutdown(kTimeouts[(b >> 1) & 3] * 100), GORT_OK,
                        GORT_EBUSY);
        if (rc == GORT_OK) {
            fuzz_running = 0;
            model_after_shutdown();
            for (int i = 0; i < kShared; i++) { /* freed with the runtime */
                atomic_store(&sh_chan[i], NULL);
                atomic_store(&sh_wg[i], NULL);
                atomic_store(&sh_mu[i], NULL);
            }
            EXPECT("gort_shutdown(again)", gort_shutdown(0), GORT_ENOTINIT);
        }
    } else if (!fuzz_running) {
        if (init_from(pr) == GORT_OK) fuzz_running = 1;
    } else {
        init_from(pr);
    }
}

static void run_main_body(void* p) {
    Nested* n = p;
    run(n->pr, &n->a);
    unlock_all(&n->a);
}

OP void op_run_main(Prog* pr, Actor* a) {
    if (a->where != ON_MAIN || a->depth != 0) {
        if (goroutine_code(a)) {
            EXPECT("gort_run_main(from a goroutine)", gort_run_main(run_main_body, NULL),
                   GORT_EDEADLK);
        }
        return;
    }
    Nested n = {sub(pr, take(pr) % 64), {IN_CALLBACK, 1, 0, 0}};
    EXPECT("gort_run_main", gort_run_main(run_main_body, &n), GORT_OK, GORT_ENOTINIT);
}

/* GORT_FUZZ_TRACE=1: each operation on stderr as it starts (to read what a
 * crashing or hanging input does). */
static int tracing = -1;

static void run(Prog pr, Actor* a) {
    if (tracing < 0) tracing = getenv("GORT_FUZZ_TRACE") != NULL;
    for (int ops = 0; pr.n > 0 && ops < kMaxOps; ops++) {
        uint8_t op = take(&pr) % kOps;
        if (tracing) {
            fprintf(stderr, "fuzz: %*s[%d where %d] op %d, %zu bytes left\n", 2 * a->depth, "",
                    a->depth, (int)a->where, op, pr.n);
        }
        switch (op) {
            case 0:
            case 1:
                op_send(&pr, op == 0);
                break;
            case 2:
            case 3:
                op_recv(&pr, op == 2);
                break;
            case 4:
                EXPECT("gort_chan_close", gort_chan_close(pick_chan(&pr)), GORT_OK, GORT_ECLOSED,
                       GORT_EINVAL, GORT_ENOTINIT);
                break;
            case 5:
                op_select(&pr);
                break;
            case 6:
                op_make_chan(&pr);
                break;
            case 7:
                op_after(&pr);
                break;
            case 8:
                op_refs(&pr);
                break;
            case 9:
                op_waitgroup(&pr);
                break;
            case 10:
                op_mutex(&pr);
                break;
            case 11:
                op_spawn(&pr, a);
                break;
            case 12:
                op_misc(&pr, a);
                break;
            case 13:
                op_lock(&pr, a);
                break;
            case 14:
                op_nested(&pr, a, IN_C);
                break;
            case 15:
                op_nested(&pr, a, IN_REGION);
                break;
            case 16:
                op_thread(&pr, a);
                break;
            case 17:
                op_nested(&pr, a, IN_CALLBACK);
                break;
            case 18:
                op_garbage(&pr);
                break;
            case 19:
            case 20:
                if (a->where == ON_MAIN && a->depth == 0) {
                    model_op(&pr);
                } else {
                    op_misc(&pr, a);
                }
                break;
            case 21:
                op_lifecycle(&pr, a);
                break;
            case 22:
                op_run_main(&pr, a);
                break;
            default:
                op_misc(&pr, a);
                break;
        }
    }
}

/* ---- the entry point ---------------------------------------------------------------- */

static void release_shared(void) {
    for (int i = 0; i < kShared; i++) {
        gort_chan* c = atomic_exchange(&sh_chan[i], NULL);
        for (int k = 0; c != NULL && k < 1000 && gort_chan_release(c) == GORT_OK; k++) {
        }
        gort_waitgroup* w = atomic_exchange(&sh_wg[i], NULL);
        for (int k = 0; w != NULL && k < 1000 && gort_waitgroup_release(w) == GORT_OK; k++) {
        }
        gort_mutex* m = atomic_exchange(&sh_mu[i], NULL);
        for (int k = 0; m != NULL && k < 1000 && gort_mutex_release(m) == GORT_OK; k++) {
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (!fuzz_running) init_default();
    Prog pr = {data, size};
    Actor main_actor = {ON_MAIN, 0, 0, 0};
    run(pr, &main_actor);
    unlock_all(&main_actor);
    wait_actors();
    if (!fuzz_running) init_default();
    release_shared();
    model_release_all();
    /* Every goroutine is gone (those that ended may still be leaving). */
    for (int i = 0; gort_num_goroutine() != 0; i++) {
        if (i > 200000) fuzz_fail("goroutines left after the input", gort_num_goroutine(), 0);
        usleep(50);
    }
    return 0;
}
