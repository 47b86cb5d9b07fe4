/* 10,000+ foreign threads (issue 11, bug 6 and the extra-M pool), in both
 * thread-creation modes, while GOMAXPROCS flips:
 *   - a rolling churn: up to kLive threads alive at once, kThreads in all,
 *     each making its first callback (needm) and then more: a blocking
 *     request to a pool of server goroutines, answered on a channel of its
 *     own; direct calls from the bound thread (timed channel operations);
 *     a goroutine spawned and waited for; callbacks nested through a
 *     cgocall; gort_lock_os_thread inside a callback; then it exits (its M
 *     goes back to the pool through the key's destructor);
 *   - a burst: kBurst threads released by a barrier make their first
 *     callback at the same moment.
 * Exact: replies == requests (each checked against its request), spawned
 * == finished, every thread bound exactly once (gort_stats
 * foreign_threads_bound), and afterwards no extra M in use and only a few
 * pooled (the pool does not keep the size of the burst). */
#include "stress.h"

enum { kServers = 4, kLive = 128 };

static gort_chan* requests;
static gort_waitgroup* spawned_wg;
static atomic_llong n_requests, n_replies, bad_replies, n_spawned, n_finished, n_nested;
static atomic_llong n_locked, threads_done, direct_ops;
static atomic_int stop_flipping;

typedef struct {
    uint64_t token;
    gort_chan* reply;
} Request;

static void server(void* arg) {
    (void)arg;
    for (;;) {
        Request q;
        int ok;
        CHECK_OK(gort_chan_recv(requests, &q, &ok));
        if (!ok) break;
        uint64_t answer = q.token * 0x9E3779B97F4A7C15ULL + 1;
        CHECK_OK(gort_chan_send(q.reply, &answer));
    }
}

typedef struct {
    stress_rng rng;
    gort_chan* reply;
} Thread;

static void ask(void* arg) {
    Thread* t = arg;
    Request q = {stress_next(&t->rng), t->reply};
    CHECK_OK(gort_chan_send(requests, &q));
    atomic_fetch_add(&n_requests, 1);
    uint64_t answer = 0;
    int ok;
    CHECK_OK(gort_chan_recv(t->reply, &answer, &ok));
    CHECK_EQ(ok, 1);
    if (answer != q.token * 0x9E3779B97F4A7C15ULL + 1) atomic_fetch_add(&bad_replies, 1);
    atomic_fetch_add(&n_replies, 1);
}

static void child(void* arg) {
    (void)arg;
    atomic_fetch_add(&n_finished, 1);
    CHECK_OK(gort_waitgroup_done(spawned_wg));
}

static void in_c(void* arg) {
    CHECK_OK(gort_callback(ask, arg)); /* C calling back from a cgocall */
}

static void nested(void* arg) {
    CHECK_OK(gort_cgocall(in_c, arg));
    atomic_fetch_add(&n_nested, 1);
}

static void locked(void* arg) {
    pid_t me = stress_tid();
    CHECK_OK(gort_lock_os_thread());
    ask(arg);
    CHECK_OK(gort_gosched());
    CHECK_EQ(stress_tid(), me);
    CHECK_OK(gort_unlock_os_thread());
    atomic_fetch_add(&n_locked, 1);
}

static void* foreign(void* arg) {
    Thread t = {stress_rng_for((uint64_t)(uintptr_t)arg), NULL};
    t.reply = gort_chan_make(sizeof(uint64_t), stress_below(&t.rng, 2));
    CHECK(t.reply != NULL); /* made before the first callback: from a plain thread */
    CHECK_OK(gort_callback(ask, &t));
    int n = (int)stress_below(&t.rng, 4);
    for (int i = 0; i < n; i++) {
        switch (stress_below(&t.rng, 5)) {
            case 0:
                CHECK_OK(gort_callback(ask, &t));
                break;
            case 1: {
                /* Direct calls from the bound thread. */
                uint64_t v = 7;
                CHECK_EQ(gort_chan_recv_timeout(t.reply, &v, NULL, 10000), GORT_ETIMEDOUT);
                atomic_fetch_add(&direct_ops, 1);
                break;
            }
            case 2:
                CHECK_OK(gort_waitgroup_add(spawned_wg, 1));
                CHECK_OK(gort_go(child, NULL));
                atomic_fetch_add(&n_spawned, 1);
                break;
            case 3:
                CHECK_OK(gort_callback(nested, &t));
                break;
            default:
                CHECK_OK(gort_callback(locked, &t));
                break;
        }
    }
    CHECK_OK(gort_chan_release(t.reply));
    atomic_fetch_add(&threads_done, 1);
    return NULL;
}

static void* flipper(void* arg) {
    (void)arg;
    stress_rng r = stress_rng_for(99);
    while (!atomic_load(&stop_flipping)) {
        CHECK(gort_gomaxprocs(1 + (int)stress_below(&r, 4)) >= 1);
        stress_sleep_ns(300000);
    }
    return NULL;
}

static pthread_attr_t small_stack;

static void churn(long total) {
    pthread_t live[kLive];
    int head = 0, count = 0;
    for (long made = 0; made < total; made++) {
        if (count == kLive) {
            CHECK_EQ(pthread_join(live[head], NULL), 0);
            head = (head + 1) % kLive;
            count--;
        }
        int slot = (head + count) % kLive;
        int rc = pthread_create(&live[slot], &small_stack, foreign, (void*)(uintptr_t)(made + 1));
        CHECK_EQ(rc, 0);
        if (rc != 0) break;
        count++;
    }
    for (; count > 0; count--, head = (head + 1) % kLive) pthread_join(live[head], NULL);
}

static pthread_barrier_t burst_barrier;

static void* burst_thread(void* arg) {
    pthread_barrier_wait(&burst_barrier);
    return foreign(arg);
}

static void noop(void* arg) {
    (void)arg;
}

static void test_foreign_threads(void) {
    CHECK_OK(stress_init(2));
    requests = gort_chan_make(sizeof(Request), 0);
    spawned_wg = gort_waitgroup_make();
    for (int i = 0; i < kServers; i++) CHECK_OK(gort_go(server, NULL));
    CHECK_OK(gort_callback(noop, NULL)); /* this thread bound before counting */
    gort_stats s0, s1, s2;
    CHECK_OK(gort_get_stats(&s0, sizeof s0));
    pthread_attr_init(&small_stack);
    pthread_attr_setstacksize(&small_stack, 128 * 1024);
    pthread_t flip;
    pthread_create(&flip, NULL, flipper, NULL);

    stress_phase("churn");
    long total = STRESS_N(20000);
    churn(total);
    CHECK_EQ(atomic_load(&threads_done), total);

    stress_phase("burst");
    long burst = STRESS_N(3000);
    pthread_t* th = calloc((size_t)burst, sizeof *th);
    pthread_barrier_init(&burst_barrier, NULL, (unsigned)burst);
    long created = 0;
    for (long i = 0; i < burst; i++) {
        if (pthread_create(&th[i], &small_stack, burst_thread, (void*)(uintptr_t)(total + i + 1))) {
            break;
        }
        created++;
    }
    CHECK_EQ(created, burst);
    for (long i = 0; i < created; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&burst_barrier);
    free(th);
    atomic_store(&stop_flipping, 1);
    pthread_join(flip, NULL);
    CHECK_OK(gort_waitgroup_wait(spawned_wg));
    CHECK_OK(gort_get_stats(&s1, sizeof s1));

    stress_phase("checking");
    long all = total + burst;
    CHECK_EQ(atomic_load(&threads_done), all);
    CHECK_EQ(atomic_load(&n_requests), atomic_load(&n_replies));
    CHECK_EQ(atomic_load(&bad_replies), 0);
    CHECK_EQ(atomic_load(&n_spawned), atomic_load(&n_finished));
    CHECK_EQ(s1.foreign_threads_bound - s0.foreign_threads_bound, all);
    /* The pool: nothing in use but this thread's M, a few spares. */
    CHECK(s1.extra_ms_in_use <= 1);
    CHECK(s1.extra_ms_pooled <= 16);
    fprintf(
        stderr,
        "  %ld foreign threads (%ld at once at the burst): %lld requests answered, %lld nested, "
        "%lld locked, %lld spawned; extra Ms pooled %llu, in use %llu, threads %llu\n",
        all, burst, atomic_load(&n_replies), atomic_load(&n_nested), atomic_load(&n_locked),
        atomic_load(&n_spawned), (unsigned long long)s1.extra_ms_pooled,
        (unsigned long long)s1.extra_ms_in_use, (unsigned long long)s1.ms_total);
    CHECK_OK(gort_chan_close(requests));
    CHECK_OK(gort_chan_release(requests));
    CHECK_OK(gort_waitgroup_release(spawned_wg));
    CHECK_OK(gort_shutdown(10LL * 1000000000));
    (void)s2;
    stress_figure("foreign_threads", all);
    stress_figure("burst_threads", burst);
    stress_figure("callbacks", (long long)(s1.callbacks - s0.callbacks));
    stress_figure("requests", atomic_load(&n_replies));
    pthread_attr_destroy(&small_stack);
}

static void progress(void) {
    fprintf(stderr, "  threads done %lld, requests %lld, replies %lld\n",
            atomic_load(&threads_done), atomic_load(&n_requests), atomic_load(&n_replies));
}

int main(void) {
    stress_setup("stress.threads", 90);
    stress_progress = progress;
    STRESS_RUN(test_foreign_threads);
    return stress_finish();
}
