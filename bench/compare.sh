#!/usr/bin/env bash
# Runs gort's benchmarks and the anchors (../shared/anchors/run.sh: the same
# workloads on the real Go runtime and Boost.Fiber) in one go, prints every
# raw line of both sides, then a table of gort beside Go and Boost with the
# ratios gort/go and gort/boost.
#
# Usage, from the repository root:   bench/compare.sh
# Environment: ONLY (regex on workloads, e.g. ONLY='W1|W3'), REPS (rounds,
# a fresh process per program per round; medians are reported; default 7),
# BUILD_DIR (default build), ANCHORS (default ../shared/anchors).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ONLY=${ONLY:-.}
REPS=${REPS:-7}
BUILD_DIR=${BUILD_DIR:-build}
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors}
B=$BUILD_DIR/bench

./build.sh build >/dev/null
OURS=$(mktemp /tmp/gort-bench.XXXXXX)
THEIRS=$(mktemp /tmp/gort-anchors.XXXXXX)
trap 'rm -f "$OURS" "$THEIRS"' EXIT

# s WORKLOAD CMD...: one sample of ours if WORKLOAD matches $ONLY.
s() {
    local w=$1
    shift
    [[ $w =~ $ONLY ]] || return 0
    if ! "$@" >>"$OURS"; then echo "FAILED: $*" >&2; fi
}
one_round() {
    s W1 env GOMAXPROCS=1 "$B/w1_spawn"
    s W1 env GOMAXPROCS=2 "$B/w1_spawn"
    s W2 env GOMAXPROCS=1 "$B/w2_yield"
    s W3 env GOMAXPROCS=1 "$B/w3_chan"
    s W3 env GOMAXPROCS=2 "$B/w3_chan"
    s W4 env GOMAXPROCS=1 "$B/w4_cgocall"
    s W5 env GOMAXPROCS=2 "$B/w5_callback"
    s W6 env GOMAXPROCS=1 "$B/w6_newm"
    s W6 env GOMAXPROCS=1 CGO=1 "$B/w6_newm"
    s W7 env GOMAXPROCS=1 "$B/w7_memory"
    s W8 env GOMAXPROCS=1 "$B/w8_handoff"
}
for ((r = 1; r <= REPS; r++)); do
    echo "# gort round $r/$REPS" >&2
    one_round
done

if [[ -x $ANCHORS/run.sh || -f $ANCHORS/run.sh ]]; then
    ONLY=$ONLY REPS=$REPS bash "$ANCHORS/run.sh" >"$THEIRS"
else
    echo "# no anchors at $ANCHORS: gort only" >&2
fi

/usr/bin/python3 - "$OURS" "$THEIRS" <<'PYEOF'
import re, sys
from collections import OrderedDict

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

def fmt(v):
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"

ours = OrderedDict()
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4:
        ours.setdefault((f[0], f[1], f[3]), []).append(float(f[2]))
theirs = OrderedDict()
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) == 4:
        theirs[(f[0], f[1])] = (float(f[2]), f[3])

# Raw lines of both sides (gort medians, anchors as printed).
for (w, impl, unit), xs in ours.items():
    print(f"{w} {impl} {fmt(median(xs))} {unit}")
for (w, impl), (v, unit) in theirs.items():
    print(f"{w} {impl} {fmt(v)} {unit}")

def threads(impl):
    m = re.search(r"-[PT](\d+)", impl)
    return int(m.group(1)) if m else None

print()
print(f"{'workload':<12} {'gort':<20} {'value':>10}  {'go':<12} {'value':>10} {'gort/go':>8}  "
      f"{'boost (best, same threads)':<28} {'value':>10} {'gort/boost':>10}")
for (w, impl, unit), xs in ours.items():
    v = median(xs)
    n = threads(impl)
    suffix = impl[len("gort-"):]
    suffix = re.sub(r"^gthread", "gothread", suffix)  # W5: the anchors' name for it
    go = theirs.get((w, "go-" + suffix))
    if go is None:
        go = next(((k[1], x) for k, x in theirs.items() if k[0] == w and k[1].startswith("go") and threads(k[1]) == n), None)
        golabel, goval = (go[0], go[1][0]) if go else ("-", None)
    else:
        golabel, goval = "go-" + suffix, go[0]
    boosts = [(k[1], x[0]) for k, x in theirs.items()
              if k[0] == w and k[1].startswith("boost") and threads(k[1]) == n]
    blabel, bval = min(boosts, key=lambda t: t[1]) if boosts else ("-", None)
    r1 = f"{v / goval:.2f}" if goval else "-"
    r2 = f"{v / bval:.2f}" if bval else "-"
    print(f"{w:<12} {impl:<20} {fmt(v):>10}  {golabel:<12} {fmt(goval) if goval else '-':>10} {r1:>8}  "
          f"{blabel:<28} {fmt(bval) if bval else '-':>10} {r2:>10}   {unit}")
PYEOF
