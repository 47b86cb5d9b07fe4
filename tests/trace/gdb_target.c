/* The process the gdb helper is tested against (check_gdb.py): goroutines
 * parked in known functions, one of them named and one locked to its thread;
 * prints `ready PID RECEIVER_GOID LOCKED_GOID` and waits to be killed. */
#include <stdio.h>
#include <unistd.h>

#include "gort.h"

static gort_chan* never;
static gort_waitgroup* wg;
static gort_waitgroup* parked;

__attribute__((noinline)) static void gdb_parked_recv(void* arg) {
    (void)arg;
    long v;
    int ok;
    gort_waitgroup_done(parked);
    gort_chan_recv(never, &v, &ok);
}

__attribute__((noinline)) static void gdb_locked_wait(void* arg) {
    (void)arg;
    gort_lock_os_thread();
    gort_waitgroup_done(parked);
    gort_waitgroup_wait(wg);
    gort_unlock_os_thread(); /* not a tail call: this frame stays */
}

int main(void) {
    if (gort_init(NULL) != GORT_OK) return 1;
    never = gort_chan_make(sizeof(long), 0);
    wg = gort_waitgroup_make();
    parked = gort_waitgroup_make();
    gort_waitgroup_add(wg, 1);
    gort_waitgroup_add(parked, 2);
    int64_t recv_id = 0, locked_id = 0;
    gort_go_opts o = {sizeof o, 0, "gdb-receiver", 0, NULL, NULL, NULL};
    if (gort_go_ex(&o, gdb_parked_recv, NULL, &recv_id) != GORT_OK) return 1;
    gort_go_opts o2 = {sizeof o2, 0, NULL, 0, NULL, NULL, NULL};
    if (gort_go_ex(&o2, gdb_locked_wait, NULL, &locked_id) != GORT_OK) return 1;
    gort_waitgroup_wait(parked);
    /* Both have called their parking function; give them the moment to park
     * (the checker also waits until gdb sees them waiting). */
    printf("ready %d %lld %lld\n", (int)getpid(), (long long)recv_id, (long long)locked_id);
    fflush(stdout);
    for (;;) pause();
}
