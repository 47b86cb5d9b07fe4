/* Deadlock detection seen from C (issue 11, bug 8, and Go's scenarios):
 *   - gort_run_main's goroutine waits on a wait group or channel that a
 *     plain pthread it created (which has no M yet) resolves 50 ms later:
 *     no false "all goroutines are asleep - deadlock!";
 *   - a real deadlock (nothing anywhere can resolve it) is still reported
 *     (LockedDeadlock: the main goroutine blocked for good);
 *   - LockOSThreadExit in cgo mode: a pthread-key destructor runs on the
 *     thread of a goroutine that exits locked (the thread really exits).
 * Deaths run in a child process (`deadlock_test --child NAME`). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gort.h"

static const char* self;

static int init_runtime(int procs) {
    gort_config c;
    gort_config_init(&c);
    c.maxprocs = procs;
    c.cgo = check_cgo_mode();
    return gort_init(&c);
}

struct plain {
    gort_waitgroup* wg;
    gort_chan* ch;
    int how; /* 0: waitgroup_done, 1: chan_try_send, 2: chan_close */
};

static void* resolver(void* arg) {
    struct plain* p = arg;
    usleep(50000);
    int v = 7;
    switch (p->how) {
        case 0:
            CHECK_OK(gort_waitgroup_done(p->wg));
            break;
        case 1:
            CHECK_OK(gort_chan_try_send(p->ch, &v));
            break;
        case 2:
            CHECK_OK(gort_chan_close(p->ch));
            break;
    }
    return NULL;
}

static void main_waits_on_plain_thread(void* arg) {
    struct plain* p = arg;
    pthread_t th;
    pthread_create(&th, NULL, resolver, p);
    int v = 0, ok = 0;
    switch (p->how) {
        case 0:
            CHECK_OK(gort_waitgroup_wait(p->wg));
            break;
        case 1:
            CHECK_OK(gort_chan_recv(p->ch, &v, &ok));
            CHECK_EQ(v, 7);
            break;
        case 2:
            CHECK_OK(gort_chan_recv(p->ch, &v, &ok));
            CHECK_EQ(ok, 0);
            break;
    }
    pthread_join(th, NULL);
}

static void test_plain_thread_can_resolve(void) {
    for (int procs = 1; procs <= 2; procs++) {
        CHECK_OK(init_runtime(procs));
        for (int how = 0; how < 3; how++) {
            struct plain p = {gort_waitgroup_make(), gort_chan_make(sizeof(int), 1), how};
            CHECK_OK(gort_waitgroup_add(p.wg, 1));
            CHECK_OK(gort_run_main(main_waits_on_plain_thread, &p)); /* no abort */
            CHECK_OK(gort_waitgroup_release(p.wg));
            CHECK_OK(gort_chan_release(p.ch));
        }
        CHECK_OK(gort_shutdown(-1));
    }
}

static void block_forever(void* arg) {
    gort_chan* ch = arg;
    int v;
    gort_chan_recv(ch, &v, NULL);
}

static void locked_block(void* arg) {
    gort_lock_os_thread();
    block_forever(arg);
}

static int child(const char* name) {
    init_runtime(1);
    gort_chan* ch = gort_chan_make(sizeof(int), 0);
    if (strcmp(name, "main-blocks") == 0) {
        gort_run_main(block_forever, ch);
    } else if (strcmp(name, "locked-and-main-block") == 0) {
        gort_go(locked_block, ch); /* Go's LockedDeadlock2 */
        gort_run_main(block_forever, ch);
    }
    return 0; /* not reached when the deadlock is reported */
}

static void test_real_deadlock_reported(void) {
    const char* names[] = {"main-blocks", "locked-and-main-block"};
    for (int i = 0; i < 2; i++) {
        char out[8192];
        int st = run_child(self, names[i], out, sizeof out);
        CHECK_KILLED_BY(st, SIGABRT);
        CHECK(strstr(out, "fatal error: all goroutines are asleep - deadlock!") != NULL);
    }
}

/* LockOSThreadExit in cgo mode: a goroutine that exits locked takes its
 * thread with it: a pthread-key destructor set there runs. */
static pthread_key_t key;
static atomic_int destructed;
static void on_thread_exit(void* v) {
    (void)v;
    atomic_fetch_add(&destructed, 1);
}

static void lock_set_key_and_exit(void* arg) {
    gort_waitgroup* wg = arg;
    gort_lock_os_thread();
    pthread_setspecific(key, (void*)1);
    gort_waitgroup_done(wg);
    /* exits locked */
}

static void test_locked_exit_runs_thread_destructors(void) {
    pthread_key_create(&key, on_thread_exit);
    CHECK_OK(init_runtime(2));
    gort_waitgroup* wg = gort_waitgroup_make();
    for (int i = 0; i < 10; i++) {
        CHECK_OK(gort_waitgroup_add(wg, 1));
        CHECK_OK(gort_go(lock_set_key_and_exit, wg));
        CHECK_OK(gort_waitgroup_wait(wg));
    }
    for (int i = 0; i < 5000 && atomic_load(&destructed) < 10; i++) usleep(1000);
    CHECK_EQ(atomic_load(&destructed), 10);
    gort_stats s;
    CHECK_OK(gort_get_stats(&s, sizeof s));
    CHECK_EQ(s.ms_exited_locked, 10);
    CHECK_OK(gort_waitgroup_release(wg));
    CHECK_OK(gort_shutdown(-1));
    pthread_key_delete(key);
}

int main(int argc, char** argv) {
    self = argv[0];
    if (argc > 2 && strcmp(argv[1], "--child") == 0) {
        alarm(20);
        return child(argv[2]);
    }
    RUN(test_plain_thread_can_resolve);
    RUN(test_real_deadlock_reported);
    RUN(test_locked_exit_runs_thread_destructors);
    return check_failures != 0;
}
