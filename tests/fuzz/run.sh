#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS [libFuzzer arguments...]
#
# Builds the C API fuzzer (tests/fuzz/fuzz_api.c) with clang in its own
# build folder ($FUZZ_BUILD_DIR, default build-fuzz): libgort and the
# target with ASan+UBSan (GORT_SANITIZE=address) and libFuzzer's coverage
# instrumentation, so the fuzzer sees the runtime's branches too. Then:
#   1. every input of the committed corpus (tests/fuzz/corpus) once;
#   2. fuzzing for SECONDS seconds from that corpus (new inputs go to
#      $FUZZ_BUILD_DIR/fuzz-corpus, never into the committed one).
# A crash, a sanitizer report, an input that runs longer than 20 s (a
# hang: the interpreter cannot block for good by construction) or a leak
# fails: the input is left in $FUZZ_BUILD_DIR/fuzz-artifacts/ and the exit
# status is non-zero. The default gcc build is not touched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs=${1:?usage: tests/fuzz/run.sh SECONDS [libFuzzer arguments...]}
shift
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
command -v clang >/dev/null || { echo "run.sh: clang is missing (apt-get install clang)" >&2; exit 1; }

mkdir -p "$BUILD"

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
    -DGORT_SANITIZE=address -DGORT_FUZZ=ON -DGORT_BUILD_BENCH=OFF -DGORT_BUILD_EXAMPLES=OFF \
    >/dev/null
cmake --build "$BUILD" --target fuzz_api

fuzzer="$BUILD/tests/fuzz/fuzz_api"
corpus="$BUILD/fuzz-corpus"
artifacts="$BUILD/fuzz-artifacts/"
mkdir -p "$corpus" "$artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:handle_segv=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
common=(-timeout=20 -rss_limit_mb=6144 -max_len=4096 -artifact_prefix="$artifacts")

echo "=== fuzz: the committed corpus, once ==="
"$fuzzer" "${common[@]}" -runs=0 tests/fuzz/corpus

echo "=== fuzz: $secs s from the corpus ==="
"$fuzzer" "${common[@]}" -max_total_time="$secs" -print_final_stats=1 "$@" "$corpus" tests/fuzz/corpus
