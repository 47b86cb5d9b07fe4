"""Draw a gort execution trace (Chrome trace event JSON) as a timeline:

    python3 -m gort.trace plot trace.json -o timeline.png

One row per M (thread) over time, each goroutine run a bar coloured by
goroutine, C calls (cgocalls, blocking regions, callbacks) hatched over it,
idle Ms in grey, handoffs, retakes and thread creations marked. Needs
matplotlib (Debian: python3-matplotlib). Also runs as a script.
"""
import argparse
import json
import sys

MARKS = {  # instant name prefix -> (marker, colour, legend)
    "retake": ("v", "red", "P retaken (sysmon)"),
    "handoffp": ("^", "darkorange", "P handed off"),
    "newm": ("*", "black", "new M"),
    "handoff to template": ("P", "purple", "newm via template thread"),
    "steal": ("x", "teal", "steal"),
}


def load(path):
    with open(path) as f:
        doc = json.load(f)
    return doc["traceEvents"], doc.get("otherData", {})


def tracks(events):
    """{tid: name}, and per tid the (begin, end, event) slices, nesting kept."""
    names, slices, stacks = {}, {}, {}
    for e in events:
        ph, tid = e.get("ph"), e.get("tid")
        if ph == "M" and e.get("name") == "thread_name":
            names[tid] = e["args"]["name"]
        elif ph == "B":
            stacks.setdefault(tid, []).append(e)
        elif ph == "E" and stacks.get(tid):
            b = stacks[tid].pop()
            slices.setdefault(tid, []).append((b["ts"], e["ts"], b, len(stacks[tid])))
    return names, slices


def plot(path, out, title=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    events, other = load(path)
    names, slices = tracks(events)
    tids = sorted(t for t in set(names) | set(slices) if t in slices or t in names)
    row = {t: i for i, t in enumerate(tids)}
    fig, ax = plt.subplots(figsize=(14, 1.0 + 0.45 * max(len(tids), 1)))
    cmap = plt.get_cmap("tab20")
    t0 = min((e["ts"] for e in events if "ts" in e), default=0.0)
    ms = lambda us: (us - t0) / 1000.0
    # One broken_barh call per row and colour (a trace has many thousand slices).
    runs, calls, idle = {}, {}, {}
    for tid, sl in slices.items():
        y = row[tid]
        for b, e, ev, depth in sl:
            cat = ev.get("cat")
            span = (ms(b), max(ms(e) - ms(b), 1e-4))
            if cat == "goroutine":
                goid = ev.get("args", {}).get("goid", 0)
                runs.setdefault((y, goid % 20), []).append(span)
            elif cat in ("cgo", "syscall", "callback"):
                calls.setdefault((y, cat == "callback"), []).append(span)
            elif cat == "sched":
                idle.setdefault(y, []).append(span)
    for (y, colour), spans in runs.items():
        ax.broken_barh(spans, (y - 0.4, 0.8), facecolors=cmap(colour), edgecolor="none")
    for (y, callback), spans in calls.items():
        ax.broken_barh(spans, (y - 0.3, 0.6), facecolors="none", edgecolor="black",
                       hatch="..." if callback else "///", linewidth=0.3)
    for y, spans in idle.items():
        ax.broken_barh(spans, (y - 0.15, 0.3), facecolors="lightgrey", edgecolor="none")
    seen = set()
    for e in events:
        if e.get("ph") != "i" or e.get("tid") not in row:
            continue
        for prefix, (marker, colour, label) in MARKS.items():
            if e["name"].startswith(prefix):
                ax.plot([ms(e["ts"])], [row[e["tid"]] + 0.45], marker=marker, color=colour,
                        markersize=6, linestyle="none", label=None if label in seen else label)
                seen.add(label)
                break
    ax.set_yticks(range(len(tids)))
    ax.set_yticklabels([names.get(t, "M%s" % t)[:60] for t in tids], fontsize=7)
    ax.set_ylim(-0.7, len(tids) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel("time (ms)")
    dropped = other.get("dropped_events", 0)
    ax.set_title(title or "gort scheduler: goroutines on Ms (colour: goroutine; hatched: C "
                 "calls; grey: idle)" + (", %d events dropped" % dropped if dropped else ""),
                 fontsize=9)
    if seen:
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return len(tids)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m gort.trace plot",
                                description="draw a gort trace as a timeline (one row per M)")
    p.add_argument("trace", help="the trace (JSON) gort.trace / gort_trace_start wrote")
    p.add_argument("-o", "--output", default="timeline.png", help="image file (png, svg, pdf)")
    p.add_argument("--title", help="the plot's title")
    a = p.parse_args(argv)
    try:
        n = plot(a.trace, a.output, a.title)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("gort.trace plot: %s: %s" % (a.trace, e), file=sys.stderr)
        return 1
    print("%s: %d tracks" % (a.output, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
