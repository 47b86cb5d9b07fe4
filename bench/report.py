"""bench/compare.sh's report: gort's rows beside their peers.

    report.py table OURS THEIRS [--plot out.png]
    report.py scale OURS [THEIRS [median|best]]

OURS and THEIRS hold raw `workload impl value unit` samples of gort and of
the anchors (../shared/anchors/run.sh), several rounds each: medians are
used, and their spread goes to stderr. `table` prints every row of both, then one line per gort
row with its peers and the ratios (W9's peers are Python's tools: the
standard library's first, asyncio, threads or ctypes, then the best of the
others: greenlet, gevent, cffi, asyncio's executor); --plot draws one panel per workload with
every gort row and every peer as the ratio to the best peer at the same
thread count (log scale; plain C rows are drawn as limits, not peers).
`scale` prints the scale run's rows (OURS: already aggregated by
bench/scale.sh; THEIRS: Go's raw samples, aggregated the same way) grouped
by workload, each size as a ratio to the smallest. Needs only the standard library (and
python3-matplotlib for --plot).
"""

import re
import sys
from collections import OrderedDict

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def read_samples(path):
    """{(workload, impl, unit): median} in the order first seen."""
    return OrderedDict((k, median(xs)) for k, xs in read_all(path).items())


def read_all(path):
    """{(workload, impl, unit): [every sample]} in the order first seen."""
    rows = OrderedDict()
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        f = line.split()
        if len(f) != 4 or line.startswith("#"):
            continue
        try:
            v = float(f[2])
        except ValueError:
            continue
        rows.setdefault((f[0], f[1], f[3]), []).append(v)
    return rows


def threads(impl):
    m = re.search(r"-[PT](\d+)", impl)
    return int(m.group(1)) if m else None


def is_gort(impl):
    return impl.startswith("gort-") or impl.startswith("gortcxx-")


# W9 (Python): the standard library's tool for the job first (asyncio
# tasks, threads for blocking C calls, ctypes), then the best of the other
# Python peers (greenlet, gevent, cffi, asyncio's executor) as the second.
W9_FIRST = {"W9-python-spawn": "asyncio", "W9-python-switch": "asyncio",
            "W9-python-chan": "asyncio", "W9-python-blockingc": "thread",
            "W9-python-ccall": "ctypes"}


def w9_where(impl):
    """W9-python-callback: where C calls from (cthread or here), else ''."""
    m = re.search(r"-(cthread|here)\b", impl)
    return m.group(1) if m else ""


def go_peer(w, impl):
    """The first peer of a gort row: Go's row (W9: a Python tool's)."""
    if w.startswith("W9"):
        where = w9_where(impl)
        return f"ctypes-{where}" if where else W9_FIRST.get(w, "-")
    suffix = re.sub(r"^gort(cxx)?-", "", impl)
    # Where the driver runs, or how the call is made: Go's row is its
    # ordinary one (Go's main goroutine is not locked; Go has no ffi; the
    # trace row is gort's own tracer on).
    suffix = re.sub(r"^(runmain|mainthread|ffi|uncoop|trace)-", "", suffix)
    suffix = re.sub(r"^gthread", "gothread", suffix)  # W5: the anchors' name
    return "go-" + suffix


def other_peer(w, impl, theirs):
    """The second peer: a C limit or libffi where one applies, else the best
    Boost.Fiber row at the same number of threads."""
    if w.startswith("W4"):
        return "c-libffi" if "-ffi-" in impl else "c-direct"
    if w.startswith("W6"):
        return "c-pthread"
    if w.startswith("W9"):
        first, where = go_peer(w, impl), w9_where(impl)
        rest = [(v, i) for (tw, i), (v, _) in theirs.items()
                if tw == w and i != first and w9_where(i) == where]
        return min(rest)[1] if rest else None
    n = threads(impl)
    boosts = [(v, i) for (tw, i), (v, _) in theirs.items()
              if tw == w and i.startswith("boost") and threads(i) == n]
    return min(boosts)[1] if boosts else None


def theirs_of(path):
    """{(workload, impl): (value, unit)} of the anchors' medians."""
    return OrderedDict(((w, i), (v, u)) for (w, i, u), v in read_samples(path).items())


def table(ours_path, theirs_path, plot_path=None):
    ours = read_samples(ours_path)
    theirs = theirs_of(theirs_path)
    for path in (ours_path, theirs_path):
        for (w, impl, unit), xs in read_all(path).items():
            print(f"{w} {impl} {fmt(median(xs))} {unit}")
            print(f"# {w} {impl} {fmt(median(xs))} {unit} min={fmt(min(xs))} max={fmt(max(xs))} "
                  f"n={len(xs)}", file=sys.stderr)
    print()
    print(f"{'workload':<20} {'gort':<24} {'value':>9}  {'go (W9: py)':<16} {'value':>9} {'gort/go':>8}"
          f"  {'other peer':<28} {'value':>9} {'ratio':>7}   unit")
    for (w, impl, unit), v in ours.items():
        g = go_peer(w, impl)
        gv = theirs.get((w, g), (None,))[0]
        o = other_peer(w, impl, theirs)
        ov = theirs.get((w, o), (None,))[0] if o else None
        r1 = f"{v / gv:.2f}" if gv else "-"
        r2 = f"{v / ov:.2f}" if ov else "-"
        print(f"{w:<20} {impl:<24} {fmt(v):>9}  {g if gv else '-':<16} {fmt(gv):>9} {r1:>8}"
              f"  {o if ov else '-':<28} {fmt(ov):>9} {r2:>7}   {unit}")
    if plot_path:
        plot(ours, theirs, plot_path)


def same_unit(a, b):
    """Units that measure the same thing (Boost's rows count fibers,
    greenlet's greenlets)."""
    def norm(u):
        return u.replace("/fiber", "/goroutine").replace("/greenlet", "/task")
    return norm(a) == norm(b)


def panels(ours, theirs):
    """[(workload, unit, [(impl, value, kind, ratio)])] for every workload
    with gort rows and at least one peer of the same unit. A row's ratio is
    its value over the best peer's at the same thread count (the best peer
    overall for rows without one); plain C rows are limits, never best."""
    out = []
    for w in OrderedDict((w, None) for (w, _, _) in ours):
        for unit in OrderedDict((u, None) for (ww, _, u) in ours if ww == w):
            rows = [(i, v, "gortcxx" if i.startswith("gortcxx") else "gort")
                    for (ww, i, u), v in ours.items() if ww == w and u == unit]
            peers = [(i, v, i.split("-")[0]) for (ww, i), (v, u) in theirs.items()
                     if ww == w and same_unit(u, unit) and v > 0]
            real = [(i, v) for i, v, k in peers if k != "c"]
            if not real:
                continue
            best_all = min(v for _, v in real)

            def best(impl):
                if w.startswith("W9"):  # Python's peers: C calling from the same place
                    same = [v for i, v in real if w9_where(i) == w9_where(impl)]
                    return min(same) if same else best_all
                same = [v for i, v in real if threads(i) == threads(impl)]
                return min(same) if same and threads(impl) is not None else best_all

            out.append((w, unit, [(i, v, k, v / best(i)) for i, v, k in rows + peers]))
    return out


def plot(ours, theirs, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--plot needs python3-matplotlib (apt-get install python3-matplotlib)")
    ps = panels(ours, theirs)
    if not ps:
        sys.exit("--plot: no workload has both gort rows and peers")
    colours = {"gort": "#1f5fbf", "gortcxx": "#8fb3e8", "go": "#2ca02c", "boost": "#ff7f0e",
               "c": "#9a9a9a"}
    cols = 3
    nrows = (len(ps) + cols - 1) // cols
    heights = [0.28 * max(len(p[2]) for p in ps[r * cols:(r + 1) * cols]) + 1.2
               for r in range(nrows)]
    fig, axes = plt.subplots(nrows, cols, figsize=(6.5 * cols, sum(heights) + 0.6),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax in axes.flat[len(ps):]:
        ax.axis("off")
    order = {"gort": 0, "gortcxx": 1, "go": 2, "boost": 3, "c": 4}
    for ax, (w, unit, rows) in zip(axes.flat, ps):
        rows = sorted(rows, key=lambda r: (threads(r[0]) or 0, order.get(r[2], 5), r[0]))[::-1]
        ratios = [r[3] for r in rows]
        ax.barh([r[0] for r in rows], ratios, color=[colours.get(r[2], "#bcbd22") for r in rows])
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlim(min(ratios + [1.0]) / 2, max(ratios + [1.0]) * 5)
        for y, (impl, v, _, r) in enumerate(rows):
            ax.text(r * 1.08, y, f"{r:.2f}x  ({fmt(v)})", va="center", fontsize=7)
        ax.set_title(f"{w}  ({unit})", fontsize=9)
        ax.tick_params(axis="both", labelsize=7)
    fig.suptitle("gort beside its peers: value / best peer's value at the same thread count "
                 "(log scale, lower is better).\nBlue: gort through gort.h (dark) and the "
                 "internal C++ API (light); green: Go; orange: Boost.Fiber; grey: plain C, a "
                 "limit rather than a peer; olive: Python's tools (W9).", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (sum(heights) + 0.6)))
    fig.savefig(path, dpi=110)
    print(f"# plot written to {path}", file=sys.stderr)


def best(unit, xs):
    """The best sample: the highest rate, or the lowest cost."""
    return max(xs) if unit.endswith("/s") else min(xs)


def scale(ours_path, theirs_path=None, stat="median"):
    rows = read_samples(ours_path)
    if theirs_path:
        for (w, impl, unit), xs in read_all(theirs_path).items():
            rows[(w, impl, unit)] = best(unit, xs) if stat == "best" else median(xs)
    for (w, impl, unit), v in rows.items():
        print(f"{w} {impl} {fmt(v)} {unit}")
    print()
    # Group by workload and impl without its size; ratio to the smallest size.
    groups = OrderedDict()
    for (w, impl, unit), v in rows.items():
        m = re.match(r"(.*)-(n|w|pairs)(\d+)$", impl)
        if not m:
            continue
        groups.setdefault((w, m.group(1), m.group(2), unit), []).append((int(m.group(3)), v))
    print(f"{'workload':<20} {'impl':<16} {'unit':<16} sizes (value, x smallest size)")
    for (w, base, kind, unit), pts in groups.items():
        pts.sort()
        first = pts[0][1]
        cells = "  ".join(f"{kind}{n:<9} {fmt(v):>8} ({v / first:.2f}x)" for n, v in pts)
        print(f"{w:<12} {base:<16} {unit:<16} {cells}")


def main(argv):
    if len(argv) >= 4 and argv[1] == "table":
        plot_path = None
        if len(argv) == 6 and argv[4] == "--plot":
            plot_path = argv[5]
        elif len(argv) != 4:
            sys.exit(__doc__)
        table(argv[2], argv[3], plot_path)
    elif len(argv) in (3, 4, 5) and argv[1] == "scale":
        scale(argv[2], argv[3] if len(argv) >= 4 else None, argv[4] if len(argv) == 5 else "median")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
