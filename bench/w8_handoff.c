/* W8 handoff: with GOMAXPROCS=1, a goroutine blocks 200 ms in C (usleep)
 * while a second goroutine is runnable; reports, per trial, the delay from
 * just before the C call to the moment the second goroutine first runs, in
 * us, like ../shared/anchors/go/w8_handoff.go, through gort.h. The first
 * trial of the process is labelled -fresh.
 *   gort-P1         the call goes through gort_cgocall: the second
 *                   goroutine runs once sysmon takes the P from the blocked
 *                   M and hands it to another
 *   gort-uncoop-P1  (BLOCK=uncoop) a plain usleep, not through
 *                   gort_cgocall: the runtime is not told, as with a C
 *                   library that blocks behind the program's back; today
 *                   nothing can run until it returns (~SLEEP_MS)
 * Usage: GOMAXPROCS=1 [BLOCK=cgocall|uncoop] w8_handoff [TRIALS] [SLEEP_MS]
 *        (defaults 5, 200) */
#include <stdatomic.h>
#include <unistd.h>

#include "gortbench.h"

struct trial {
    atomic_int stop;
    _Atomic double first_run;
    gort_chan* done;
};

static void counter(void* arg) {
    struct trial* t = (struct trial*)arg;
    atomic_store(&t->first_run, bench_now_ns());
    for (long c = 1; !atomic_load_explicit(&t->stop, memory_order_relaxed); c++) {
        if (c % 1024 == 0) BENCH_OK(gort_gosched());
    }
    BENCH_OK(gort_chan_close(t->done));
}

static void block_in_c(void* arg) {
    usleep((useconds_t)(*(long*)arg * 1000));
}

static double trial(long sleep_ms, int uncoop) {
    struct trial t;
    atomic_init(&t.stop, 0);
    atomic_init(&t.first_run, 0.0);
    t.done = BENCH_PTR(gort_chan_make(0, 0));
    BENCH_OK(gort_go(counter, &t));
    /* The counter goroutine is now runnable but cannot run: this goroutine
     * holds the only P until it blocks inside C. */
    double start = bench_now_ns();
    if (uncoop) {
        block_in_c(&sleep_ms);
    } else {
        BENCH_OK(gort_cgocall(block_in_c, &sleep_ms));
    }
    atomic_store(&t.stop, 1);
    BENCH_OK(gort_chan_recv(t.done, NULL, NULL));
    BENCH_OK(gort_chan_release(t.done));
    return atomic_load(&t.first_run) - start;
}

struct main_args {
    long trials, sleep_ms;
    int uncoop;
};

static void measure(void* p) {
    struct main_args* a = (struct main_args*)p;
    const char* variant = a->uncoop ? "-uncoop" : "";
    for (long i = 0; i < a->trials; i++) {
        double d = trial(a->sleep_ms, a->uncoop);
        printf("W8-handoff gort%s-P1%s %.1f us\n", variant, i == 0 ? "-fresh" : "", d / 1e3);
        fflush(stdout);
    }
}

int main(int argc, char** argv) {
    const char* block = bench_env("BLOCK", "cgocall");
    struct main_args a = {bench_arg(argc, argv, 1, 5), bench_arg(argc, argv, 2, 200),
                          strcmp(block, "uncoop") == 0};
    if (!a.uncoop && strcmp(block, "cgocall") != 0) bench_die("BLOCK: want cgocall or uncoop");
    if (bench_procs() != 1) bench_die("w8_handoff: run with GOMAXPROCS=1");
    bench_init(1, 1);
    bench_run(BENCH_GOROUTINE, measure, &a);
    bench_shutdown();
    return 0;
}
