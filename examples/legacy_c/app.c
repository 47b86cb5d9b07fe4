/*
 * legacy_c: an old-style C application that embeds gort.
 *
 * The application has what old C code bases have:
 *   - its own pthreads (a small pool of "sensor" threads that report
 *     readings by calling into the runtime: gort_callback);
 *   - a thread-affine library ("libledger": it must only ever be called from
 *     the thread that opened it), kept on one goroutine with
 *     gort_lock_os_thread;
 *   - blocking C calls (a slow "device read"), made from goroutines with
 *     gort_cgocall so they do not hold up the scheduler;
 *   - its own thread-start hook, which names every thread the runtime
 *     creates ("gort-m<N>") and counts them.
 * At the end it prints what happened and the runtime's statistics.
 * docs/guide.md explains the terms (goroutine, M, P, template thread,
 * cgocall, callback) and has a recipe for each of the above.
 *
 * Build:  cc app.c $(pkg-config --cflags --libs gort)
 *   or with CMake (find_package(gort), target gort::gort).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gort.h>

#define N_SENSORS 3
#define READINGS_PER_SENSOR 20
#define N_DEVICE_READERS 4

/* ------------------------------------------------------------------------
 * libledger: a thread-affine library (think of an old database client
 * or GUI toolkit keeping thread-local state).
 */
static pthread_t ledger_owner;
static int ledger_open_flag = 0;
static long ledger_total = 0;
static long ledger_entries = 0;

static void ledger_open(void) {
    ledger_owner = pthread_self();
    ledger_open_flag = 1;
}

static void ledger_add(long amount) {
    if (!ledger_open_flag || !pthread_equal(ledger_owner, pthread_self())) {
        fprintf(stderr, "libledger: called from a foreign thread!\n");
        abort();
    }
    ledger_total += amount;
    ledger_entries++;
}

/* ------------------------------------------------------------------------
 * The thread-start hook: the runtime asks us for each of its threads.
 */
static int threads_started = 0;
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;

struct start_info {
    gort_fn fn;
    void* arg;
    int n;
};

static void* named_thread(void* p) {
    struct start_info si = *(struct start_info*)p;
    char name[16];
    free(p);
    snprintf(name, sizeof name, "gort-m%d", si.n);
    pthread_setname_np(pthread_self(), name);
    si.fn(si.arg);
    return NULL;
}

static int start_named_thread(const gort_thread_start* ts) {
    pthread_attr_t attr;
    pthread_t t;
    int err;
    struct start_info* si = malloc(sizeof *si);
    if (si == NULL) return 12; /* ENOMEM */
    si->fn = ts->fn;
    si->arg = ts->arg;
    pthread_mutex_lock(&hook_lock);
    si->n = ++threads_started;
    pthread_mutex_unlock(&hook_lock);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (ts->stack_size != 0) pthread_attr_setstacksize(&attr, ts->stack_size);
    err = pthread_create(&t, &attr, named_thread, si);
    pthread_attr_destroy(&attr);
    if (err != 0) free(si);
    return err;
}

/* ------------------------------------------------------------------------
 * Goroutines.
 */
static gort_chan* ledger_requests; /* long amounts for the ledger goroutine */
static gort_waitgroup* ledger_done;

/* The ledger goroutine: locked to its thread, it owns libledger. */
static void ledger_server(void* arg) {
    long amount;
    int ok;
    (void)arg;
    gort_lock_os_thread();
    ledger_open();
    while (gort_chan_recv(ledger_requests, &amount, &ok) == GORT_OK && ok) {
        gort_sleep(100000); /* parks: the thread is kept for us meanwhile */
        ledger_add(amount);
    }
    gort_unlock_os_thread();
    gort_waitgroup_done(ledger_done);
}

/* A slow device read: blocking C, 5 ms. */
static void device_read(void* arg) {
    usleep(5000);
    *(long*)arg = 1000;
}

static gort_waitgroup* readers_done;

static void device_reader(void* arg) {
    int i;
    (void)arg;
    for (i = 0; i < 5; i++) {
        long value = 0;
        gort_cgocall(device_read, &value); /* the processor serves others meanwhile */
        gort_chan_send(ledger_requests, &value);
    }
    gort_waitgroup_done(readers_done);
}

/* ------------------------------------------------------------------------
 * The application's own threads: sensors calling into the runtime.
 */
static void report_reading(void* arg) {
    /* Runs as goroutine code on the sensor's own thread. */
    gort_chan_send(ledger_requests, arg);
}

static void* sensor_thread(void* arg) {
    long id = (long)arg, i;
    for (i = 0; i < READINGS_PER_SENSOR; i++) {
        long reading = id;
        gort_callback(report_reading, &reading);
        usleep(1000);
    }
    return NULL;
}

static void app_main(void* arg) {
    pthread_t sensors[N_SENSORS];
    long i;
    (void)arg;
    ledger_requests = gort_chan_make(sizeof(long), 8);
    ledger_done = gort_waitgroup_make();
    readers_done = gort_waitgroup_make();
    gort_waitgroup_add(ledger_done, 1);
    gort_go(ledger_server, NULL);

    gort_waitgroup_add(readers_done, N_DEVICE_READERS);
    for (i = 0; i < N_DEVICE_READERS; i++) gort_go(device_reader, NULL);
    for (i = 0; i < N_SENSORS; i++)
        pthread_create(&sensors[i], NULL, sensor_thread, (void*)(i + 1));

    for (i = 0; i < N_SENSORS; i++) pthread_join(sensors[i], NULL);
    gort_waitgroup_wait(readers_done);
    gort_chan_close(ledger_requests); /* the ledger goroutine finishes */
    gort_waitgroup_wait(ledger_done);
    gort_chan_release(ledger_requests);
    gort_waitgroup_release(ledger_done);
    gort_waitgroup_release(readers_done);
}

int main(void) {
    gort_config config;
    gort_stats st;
    long want_total = N_DEVICE_READERS * 5 * 1000L;
    long want_entries = N_DEVICE_READERS * 5 + N_SENSORS * READINGS_PER_SENSOR;
    int i, rc;

    for (i = 1; i <= N_SENSORS; i++) want_total += i * READINGS_PER_SENSOR;

    printf(
        "legacy_c: see docs/guide.md for goroutine, M (OS thread), P (processor), template"
        " thread, cgocall, callback\n");

    gort_set_thread_start(start_named_thread);
    gort_config_init(&config);
    config.maxprocs = 2;
    rc = gort_init(&config);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    rc = gort_run_main(app_main, NULL);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_run_main: %s\n", gort_strerror(rc));
        return 1;
    }

    st.struct_size = sizeof st;
    gort_get_stats(&st, sizeof st);
    printf("legacy_c: libledger got %ld entries, total %ld (want %ld, %ld)\n", ledger_entries,
           ledger_total, want_entries, want_total);
    printf("legacy_c: the thread-start hook started %d named threads (the runtime's Ms)\n",
           threads_started);
    printf("gort stats: GOMAXPROCS (Ps)=%d goroutines created=%llu live=%llu\n", st.maxprocs,
           (unsigned long long)st.goroutines_created, (unsigned long long)st.goroutines_live);
    printf(
        "  Ms (OS threads): total=%llu idle=%llu by hook=%llu native=%llu via template thread=%llu"
        " exited locked=%llu\n",
        (unsigned long long)st.ms_total, (unsigned long long)st.ms_idle,
        (unsigned long long)st.ms_created_hook, (unsigned long long)st.ms_created_native,
        (unsigned long long)st.template_handoffs, (unsigned long long)st.ms_exited_locked);
    printf("  cgocalls=%llu callbacks=%llu foreign threads bound=%llu P retakes=%llu steals=%llu\n",
           (unsigned long long)st.cgocalls, (unsigned long long)st.callbacks,
           (unsigned long long)st.foreign_threads_bound, (unsigned long long)st.p_retakes,
           (unsigned long long)st.steals);
    printf(
        "  (cgocall: a goroutine calling blocking C; callback: a C thread calling in;\n"
        "   P retake: sysmon handing the P of an M blocked in C to another M)\n");

    rc = gort_shutdown(5000000000LL);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_shutdown: %s\n", gort_strerror(rc));
        return 1;
    }
    if (ledger_entries != want_entries || ledger_total != want_total ||
        threads_started != (int)st.ms_created_hook) {
        fprintf(stderr, "legacy_c: wrong results\n");
        return 1;
    }
    printf("legacy_c: ok\n");
    return 0;
}
