#!/usr/bin/env bash
# How gort's costs grow with size: the same programs as bench/compare.sh at
# several sizes, printed in the same `workload impl value unit` format with
# the size in the impl (gort-P1-n10000000: 10^7 goroutines; -w10: 10
# workers; -pairs100: 100 ping-pong pairs).
#
#   W1  spawn 10^4 .. 10^7 goroutines, at 1 and 2 Ps          ns/goroutine
#   W7  10^4 .. 10^6 goroutines parked at once, 1 P           bytes/goroutine,
#       and the process's VmRSS with 10^6 parked (W7-rss)      MiB
#   W10 fan-out/fan-in with 10 .. 10,000 workers, 1 and 2 Ps  ns/item
#   W3  1 .. 1,000 concurrent ping-pong pairs at 2 Ps          roundtrips/s (total)
#
# Each size is one process of about a second (10^6 parked goroutines take
# longer: most of it is the kernel faulting in and freeing 4 GiB). Go's W1 at
# the same sizes: bench/compare.sh --scale (which may read the anchors).
#
# Usage, from the repository root:   bench/scale.sh
# Environment: BUILD_DIR (default build; built if missing), REPS (processes
# per size; default 1), STAT (median, the default, or best: the lowest time
# or the highest rate of the REPS, for a loaded machine), ONLY (regex on
# workloads).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
REPS=${REPS:-1}
STAT=${STAT:-median}
[[ $STAT == median || $STAT == best ]] || { echo "STAT: median or best" >&2; exit 2; }
ONLY=${ONLY:-.}
BUILD_DIR=${BUILD_DIR:-build}
B=$BUILD_DIR/bench

if [[ ! -x $B/w1_spawn || ! -x $B/w10_fanout ]]; then
    BUILD_DIR=$BUILD_DIR ./build.sh build >/dev/null
fi

SAMPLES=$(mktemp /tmp/gort-scale.XXXXXX)
trap 'rm -f "$SAMPLES"' EXIT

# z SUFFIX WORKLOAD CMD...: runs CMD if WORKLOAD matches $ONLY and appends
# SUFFIX to the impl of every line it prints.
z() {
    local suffix=$1 w=$2
    shift 2
    [[ $w =~ $ONLY ]] || return 0
    if ! "$@" | awk -v s="$suffix" 'NF == 4 { $2 = $2 s; print }' >>"$SAMPLES"; then
        echo "FAILED: $*" >&2
    fi
}

for ((r = 1; r <= REPS; r++)); do
    echo "# scale round $r/$REPS" >&2
    for n in 10000 100000 1000000 10000000; do
        for p in 1 2; do z "-n$n" W1 env GOMAXPROCS=$p "$B/w1_spawn" $n; done
    done
    for n in 10000 100000 1000000; do
        z "-n$n" W7 env GOMAXPROCS=1 "$B/w7_memory" $n $((n == 1000000))
    done
    for w in 10 100 1000 10000; do
        for p in 1 2; do z "-w$w" W10 env GOMAXPROCS=$p "$B/w10_fanout" 1000000 $w; done
    done
    for k in 1 10 100 1000; do
        z "-pairs$k" W3 env GOMAXPROCS=2 "$B/w3_chan" 1000000 $k
    done
done

# Medians (or the best) over the rounds, in the order first seen.
awk -v stat="$STAT" '
    { key = $1 " " $2; if (!(key in n)) { order[++k] = key; unit[key] = $4 }
      v[key, ++n[key]] = $3 }
    END {
        for (i = 1; i <= k; i++) {
            key = order[i]; m = n[key]
            for (a = 1; a <= m; a++) x[a] = v[key, a]
            for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
            med = m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
            if (stat == "best") med = unit[key] ~ /\/s$/ ? x[m] : x[1]
            printf "%s %s %s\n", key, (med >= 100 ? sprintf("%.0f", med) : sprintf("%.1f", med)), unit[key]
        }
    }' "$SAMPLES"
