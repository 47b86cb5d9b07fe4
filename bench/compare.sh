#!/usr/bin/env bash
# Runs gort's benchmarks and the anchors (../shared/anchors/run.sh: the same
# workloads on the real Go runtime, Boost.Fiber, plain C and Python's own
# tools: greenlet, asyncio, gevent, threads, ctypes, cffi) in one go,
# prints every raw line of both sides, then a table of each gort row beside
# its peers with the ratios (bench/report.py). See bench/README.md.
#
# Usage, from the repository root:
#   bench/compare.sh [--scale] [--plot out.png]
#     --scale         also the scale run (bench/scale.sh), with Go's W1 at the
#                     same sizes when the anchors exist
#     --scale-only    the scale run alone (with Go's W1)
#     --plot FILE     draw the table: one panel per workload, every row as the
#                     ratio to the best peer, log scale (python3-matplotlib;
#                     installed with apt-get when missing and run as root)
# Environment: ONLY (regex on workloads, e.g. ONLY='W1|W3'; 'W1' also
# matches W10-W12, so write 'W1$'), REPS (rounds, a fresh process per program
# per round; medians are reported; default 7), BUILD_DIR (default build),
# ANCHORS (default ../shared/anchors), W12_SECONDS (idle-cost interval,
# default 10; W12 runs in the first round only), SCALE_REPS (default 1) and
# SCALE_STAT (median or best, for both sides; see bench/scale.sh), W9_SPAWN_N
# W9_SWITCH_N W9_CHAN_N W9_CALL_N W9_CB_N (W9's sizes, for both sides).
# W9 (Python: bench/w9_python.py on the gort module, /usr/bin/python3) also
# builds the gort_python and gort_ffi_testlib targets.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ONLY=${ONLY:-.}
REPS=${REPS:-7}
BUILD_DIR=${BUILD_DIR:-build}
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors}
W12_SECONDS=${W12_SECONDS:-10}
PY=/usr/bin/python3
B=$BUILD_DIR/bench

SCALE=0
PLOT=
while [[ $# -gt 0 ]]; do
    case $1 in
        --scale) SCALE=1 ;;
        --scale-only) SCALE=2 ;;
        --plot)
            [[ $# -ge 2 ]] || { echo "--plot needs a file name" >&2; exit 2; }
            PLOT=$2
            shift
            ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [[ -n $PLOT ]] && ! "$PY" -c 'import matplotlib' 2>/dev/null; then
    if [[ $(id -u) -eq 0 ]]; then
        echo "# installing python3-matplotlib" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib >/dev/null
    else
        echo "--plot needs python3-matplotlib: sudo apt-get install python3-matplotlib" >&2
        exit 1
    fi
fi

W9_SPAWN_N=${W9_SPAWN_N:-100000} W9_SWITCH_N=${W9_SWITCH_N:-1000000} W9_CHAN_N=${W9_CHAN_N:-100000}
W9_CALL_N=${W9_CALL_N:-1000000} W9_CB_N=${W9_CB_N:-200000}
export W9_SPAWN_N W9_SWITCH_N W9_CHAN_N W9_CALL_N W9_CB_N # the anchors' run.sh reads them
TARGETS=(--target gort_bench)
[[ W9 =~ $ONLY ]] && TARGETS+=(--target gort_python --target gort_ffi_testlib)
if [[ -f $BUILD_DIR/build.ninja ]]; then
    cmake --build "$BUILD_DIR" "${TARGETS[@]}" >/dev/null
else
    BUILD_DIR=$BUILD_DIR ./build.sh build >/dev/null
fi

WORK=$(mktemp -d /tmp/gort-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
OURS=$WORK/ours.txt THEIRS=$WORK/theirs.txt
: >"$OURS"
: >"$THEIRS"

# s WORKLOAD CMD...: one sample of ours if WORKLOAD matches $ONLY.
s() {
    local w=$1
    shift
    [[ $w =~ $ONLY ]] || return 0
    if ! "$@" >>"$OURS"; then echo "FAILED: $*" >&2; fi
}
one_round() { # $1 = round number
    for p in 1 2; do
        s W1 env GOMAXPROCS=$p "$B/w1_spawn"
        s W1 env GOMAXPROCS=$p FROM=runmain "$B/w1_spawn"
        s W1 env GOMAXPROCS=$p FROM=mainthread "$B/w1_spawn"
        s W1 env GOMAXPROCS=$p "$B/w1_spawn_cxx"
    done
    s W2 env GOMAXPROCS=1 "$B/w2_yield"
    s W2 env GOMAXPROCS=1 "$B/w2_yield_cxx"
    for p in 1 2; do
        s W3 env GOMAXPROCS=$p "$B/w3_chan"
        s W3 env GOMAXPROCS=$p FROM=runmain "$B/w3_chan"
        s W3 env GOMAXPROCS=$p FROM=mainthread "$B/w3_chan"
        s W3 env GOMAXPROCS=$p "$B/w3_chan_cxx"
    done
    s W3 env GOMAXPROCS=1 TRACE="$WORK/w3-trace.json" "$B/w3_chan"
    s W4 env GOMAXPROCS=1 "$B/w4_cgocall"
    s W5 env GOMAXPROCS=2 "$B/w5_callback"
    s W6 env GOMAXPROCS=1 "$B/w6_newm"
    s W6 env GOMAXPROCS=1 CGO=1 "$B/w6_newm"
    s W7 env GOMAXPROCS=1 "$B/w7_memory"
    s W8 env GOMAXPROCS=1 "$B/w8_handoff"
    s W8 env GOMAXPROCS=1 BLOCK=uncoop "$B/w8_handoff"
    # W9: gort's Python module (it sets its own GOMAXPROCS: 1, then 2). Its
    # loops hold the P for seconds on purpose: no stall report.
    s W9 env PYTHONPATH="$BUILD_DIR/python" GORT_STALLREPORT=0 "$PY" "$ROOT/bench/w9_python.py" \
        "$W9_SPAWN_N" "$W9_SWITCH_N" "$W9_CHAN_N" "$W9_CALL_N" "$W9_CB_N"
    for p in 1 2; do
        s W10 env GOMAXPROCS=$p "$B/w10_fanout"
        s W10 env GOMAXPROCS=$p "$B/w10_fanout_cxx"
        s W11 env GOMAXPROCS=$p "$B/w11_mutex"
        s W11 env GOMAXPROCS=$p "$B/w11_mutex_cxx"
    done
    if [[ $1 == 1 ]]; then # an average over seconds already
        for p in 1 2; do s W12 env GOMAXPROCS=$p "$B/idle_cost" "$W12_SECONDS"; done
    fi
}
HAVE_ANCHORS=0
[[ -f $ANCHORS/run.sh ]] && HAVE_ANCHORS=1
[[ $HAVE_ANCHORS == 1 ]] || echo "# no anchors at $ANCHORS: gort only" >&2
# The anchors' W9 needs Python's peers (greenlet, gevent, cffi: Debian
# python3-*, bash ../shared/anchors/install.sh). Without them a full run
# leaves out their W9 (gort's W9 rows still run); a run asking for W9 stops.
AONLY=$ONLY
if [[ $HAVE_ANCHORS == 1 && W9 =~ $ONLY ]]; then
    for mod in greenlet gevent cffi; do
        "$PY" -c "import $mod" 2>/dev/null && continue
        if [[ $ONLY != . ]]; then
            echo "the anchors' W9 needs python3-$mod: bash $ANCHORS/install.sh (as root)" >&2
            exit 1
        fi
        echo "# no python3-$mod: the anchors' W9 is left out" >&2
        AONLY='^W([1-8]|10|11)$'
        break
    done
fi
# Each round runs gort's programs and then one round of the anchors, so both
# sides see the same machine load (the machine is shared); the medians are
# taken over the rounds on both sides.
MAIN_REPS=$REPS
[[ $SCALE == 2 ]] && MAIN_REPS=0
for ((r = 1; r <= MAIN_REPS; r++)); do
    echo "# gort round $r/$REPS ($(date +%T))" >&2
    one_round "$r"
    if [[ $HAVE_ANCHORS == 1 ]]; then
        echo "# anchors round $r/$REPS ($(date +%T))" >&2
        ONLY=$AONLY REPS=1 bash "$ANCHORS/run.sh" >>"$THEIRS" 2>"$WORK/anchors.err" ||
            { cat "$WORK/anchors.err" >&2; exit 1; }
        # The machine description, once.
        if [[ $r == 1 ]]; then sed -n '/^# building/q; p' "$WORK/anchors.err" >&2; fi
    fi
done

if [[ $SCALE == 2 ]]; then
    :
elif [[ -n $PLOT ]]; then
    "$PY" "$ROOT/bench/report.py" table "$OURS" "$THEIRS" --plot "$PLOT"
else
    "$PY" "$ROOT/bench/report.py" table "$OURS" "$THEIRS"
fi

if [[ $SCALE != 0 ]]; then
    echo
    SCALED=$WORK/scale.txt GOSCALED=$WORK/goscale.txt
    : >"$GOSCALED"
    BUILD_DIR=$BUILD_DIR REPS=${SCALE_REPS:-1} STAT=${SCALE_STAT:-median} ONLY=$ONLY \
        bash "$ROOT/bench/scale.sh" >"$SCALED"
    if [[ $HAVE_ANCHORS == 1 && W1 =~ $ONLY ]] && command -v go >/dev/null; then
        # The anchors' W1 program at the scale run's sizes (as run.sh's W1_N
        # would; built alone, in GOPATH mode with throw-away caches).
        echo "# Go W1 at scale" >&2
        GOCACHE=$WORK/gocache GOPATH=$WORK/gopath GO111MODULE=off GOFLAGS= \
            go build -o "$WORK/go_w1_spawn" "$ANCHORS/go/w1_spawn.go"
        for ((r = 1; r <= ${SCALE_REPS:-1}; r++)); do
            for n in 10000 100000 1000000 10000000; do
                for p in 1 2; do
                    GOMAXPROCS=$p "$WORK/go_w1_spawn" $n |
                        awk -v s="-n$n" 'NF == 4 { $2 = $2 s; print }' >>"$GOSCALED"
                done
            done
        done
    fi
    "$PY" "$ROOT/bench/report.py" scale "$SCALED" "$GOSCALED" "${SCALE_STAT:-median}"
fi
