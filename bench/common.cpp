#include "bench/common.h"

namespace bench {

void start(int procs) {
    gort::Config c;
    c.maxprocs = procs;
    if (gort::init(c) != gort::kOK) {
        fprintf(stderr, "gort init failed\n");
        exit(1);
    }
}

void stop() {
    if (gort::shutdown(30'000'000'000) != gort::kOK) {
        fprintf(stderr, "gort shutdown failed\n");
        exit(1);
    }
}

}  // namespace bench
