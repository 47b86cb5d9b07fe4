#include "bench/common.h"

#include "bridge/thread_start.h"

namespace bench {

void start(int procs, bool cgo) {
    if (cgo) gort::bridge::useDefaultThreadStart();
    gort::Config c;
    c.maxprocs = procs;
    c.cgo = cgo;
    if (gort::init(c) != gort::kOK) {
        fprintf(stderr, "gort init failed\n");
        exit(1);
    }
}

void stop() {
    if (gort::shutdown(10'000'000'000) != gort::kOK) {
        fprintf(stderr, "gort shutdown failed\n");
        exit(1);
    }
}

}  // namespace bench
