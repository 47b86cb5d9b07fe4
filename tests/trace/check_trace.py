#!/usr/bin/python3
"""Runs a trace scenario (trace_scenarios SCENARIO OUT.json) and checks the
Chrome trace event JSON it wrote.

Every trace: valid JSON; every B has its E on the same track, properly
nested; timestamps never decrease along a track; every flow end has its
start; tracks are named; otherData says how many events were dropped and
what stamped them ($GORT_TRACE_CLOCK=monotonic: clock_gettime); no event
lies after the time the program measured around the trace (the mapping
of the TSC's ticks onto nanotime).
Then the scenario's own facts (see trace_scenarios.c).

Usage: check_trace.py PROGRAM SCENARIO WORKDIR
"""
import json
import os
import subprocess
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("CHECK failed:", what, file=sys.stderr)


def load(path):
    with open(path) as f:
        return json.load(f)


def generic(doc):
    evs = doc["traceEvents"]
    check(isinstance(evs, list) and evs, "traceEvents is a non-empty list")
    other = doc.get("otherData", {})
    check("dropped_events" in other, "otherData.dropped_events is there")
    stacks, last, names = {}, {}, {}
    flow_s, flow_f = set(), set()
    for e in evs:
        ph, tid = e["ph"], e.get("tid")
        if ph == "M":
            if e["name"] == "thread_name":
                names[tid] = e["args"]["name"]
            continue
        ts = e["ts"]
        check(ts >= last.get(tid, 0), "ts never decreases on track %s (%s < %s)"
              % (tid, ts, last.get(tid)))
        last[tid] = ts
        st = stacks.setdefault(tid, [])
        if ph == "B":
            st.append(e)
        elif ph == "E":
            check(st, "an E on track %s has its B (at %s)" % (tid, ts))
            if st:
                st.pop()
        elif ph == "s":
            flow_s.add(e["id"])
        elif ph == "f":
            flow_f.add(e["id"])
    for tid, st in stacks.items():
        check(not st, "every B on track %s has its E (%d open: %s)"
              % (tid, len(st), [b["name"] for b in st[:3]]))
        check(tid in names, "track %s is named" % tid)
    check(flow_f <= flow_s, "every flow end has its start (%d orphans)" % len(flow_f - flow_s))
    return evs, names, other


def slices(evs):
    """(tid, name, cat, begin, end, args) for every B/E pair."""
    out, stacks = [], {}
    for e in evs:
        if e["ph"] == "B":
            stacks.setdefault(e["tid"], []).append(e)
        elif e["ph"] == "E":
            b = stacks[e["tid"]].pop()
            args = dict(b.get("args", {}))
            args.update(e.get("args", {}))
            out.append((e["tid"], b["name"], b.get("cat"), b["ts"], e["ts"], args))
    return out


def instants(evs, prefix):
    return [e for e in evs if e["ph"] == "i" and e["name"].startswith(prefix)]


def locked_newm(evs, names, facts):
    handoffs = instants(evs, "handoff to template thread")
    check(handoffs, "a newm was handed to the template thread")
    tmpl = [t for t, n in names.items() if "template thread" in n and "made by" not in n]
    check(len(tmpl) == 1, "one track is the template thread's: %s" % names)
    newms = [e for e in instants(evs, "newm M") if e["tid"] in tmpl]
    check(newms and all(e["args"]["by_template_thread"] for e in newms),
          "the template thread made the new M (by_template_thread)")
    made = set(e["args"]["m"] for e in newms)
    queued = set(e["args"]["m"] for e in handoffs)
    check(queued & made, "the M queued for the template thread is the one it made")
    check(any("made by the template thread" in names.get(m, "") for m in made),
          "the new M's track says the template thread made it: %s" % names)


def cgocall_retake(evs, names, facts):
    sl = slices(evs)
    calls = [s for s in sl if s[1].startswith("cgocall")]
    check(calls, "the cgocall is a slice")
    check(any("block_in_c" in s[1] for s in calls), "the cgocall slice names the C function")
    if not calls:
        return
    call = max(calls, key=lambda s: s[4] - s[3])
    check(call[4] - call[3] >= 90000, "the cgocall slice lasts the call (%s us)"
          % (call[4] - call[3]))
    # The slice lies inside the call as its caller timed it: the ticks map
    # onto nanotime at the right rate.
    check(call[4] - call[3] <= float(facts["call_us"]) * 1.0005 + 2,
          "the slice (%.3f us) is no longer than the timed call (%s us)"
          % (call[4] - call[3], facts["call_us"]))
    retakes = [e for e in instants(evs, "retake P0") if call[3] <= e["ts"] <= call[4]]
    check(retakes, "sysmon retook P0 during the call")
    others = [s for s in sl if s[2] == "goroutine" and s[0] != call[0]
              and call[3] <= s[3] <= call[4]]
    check(others, "another goroutine ran on another M during the call")
    if retakes and others:
        check(min(s[3] for s in others) >= min(e["ts"] for e in retakes),
              "it ran after the retake")


def gap(evs, names, facts):
    goid = int(facts["sleeper_goid"])
    parks = [e for e in instants(evs, "park G%d" % goid) if e["args"]["reason"] == "sleep"]
    check(len(parks) == 1, "the sleeper parked once to sleep (%d)" % len(parks))
    if not parks:
        return
    after = [e for e in evs if e["ph"] == "B" and e.get("cat") == "goroutine"
             and e["args"]["goid"] == goid and e["ts"] > parks[0]["ts"]]
    check(after, "the sleeper ran again")
    if after:
        d = after[0]["ts"] - parks[0]["ts"]
        slept = float(facts["slept_us"])
        check(4.5e6 <= d <= slept * 1.0005 + 2,
              "the sleep in the trace (%.3f us) is the sleep as timed (%.3f us)" % (d, slept))


def callback(evs, names, facts):
    tid = int(facts["callback_tid"])
    goid = int(facts["callback_goid"])
    tracks = [t for t, n in names.items() if "tid %d" % tid in n]
    check(len(tracks) == 1, "one track is the C thread's (tid %d): %s" % (tid, names))
    if not tracks:
        return
    check("extra M of a C thread" in names[tracks[0]] and "c-worker" in names[tracks[0]],
          "the track says it is a C thread's extra M, with its name: %s" % names[tracks[0]])
    sl = [s for s in slices(evs) if s[0] == tracks[0]]
    cbs = [s for s in sl if s[1].startswith("callback") and "in_callback" in s[1]]
    check(cbs, "the callback is a slice on that thread's track, naming the function")
    runs = [s for s in sl if s[2] == "goroutine" and s[5].get("goid") == goid]
    check(runs, "the callback's goroutine runs on that track")
    check(any(s[5].get("resumed") for s in cbs),
          "the callback slice reopens after the goroutine parked inside it")


def pingpong(evs, names, facts):
    parks = instants(evs, "park G")
    check(len(parks) >= 1000, "parks are instants (%d)" % len(parks))
    check(any(e["args"]["reason"].startswith("chan") for e in parks), "with their reason")
    check(len(instants(evs, "unpark G")) >= 1000, "unparks are instants")
    flows = [e for e in evs if e["ph"] == "f"]
    check(len(flows) >= 1000, "flows lead from unparks to runs (%d)" % len(flows))
    runs = [e for e in evs if e["ph"] == "B" and e.get("cat") == "goroutine"]
    check(any(e["name"] == 'G%d echo "0"' % e["args"]["goid"] for e in runs),
          "goroutine slices carry the goroutine's name")
    check(any(e["ph"] == "C" for e in evs), "counters are there")
    check(any(e["ph"] == "C" and e["name"] == "idle" for e in evs), "idle Ps and Ms counted")


def drops(evs, names, facts, other):
    check(other["dropped_events"] > 0, "events were dropped with a one-chunk buffer")
    check(instants(evs, "gort: "), "the drop is said in the trace")


def config(evs, names, facts):
    check(len(instants(evs, "park G")) > 100, "the trace from trace_path has the run")


def one_track_each(evs, what):
    """Each track is described once, and each M has one track: two Ms that
    took the same buffer would share a track."""
    described = {}
    for e in evs:
        if e["ph"] == "M" and e["name"] == "thread_name":
            described[e["tid"]] = described.get(e["tid"], 0) + 1
    check(all(n == 1 for n in described.values()),
          "%s: every track is described once: %s" % (what, described))
    runs = [e for e in evs if e["ph"] == "B" and e.get("cat") == "goroutine"]
    check(runs, "%s: goroutines ran" % what)


def sessions(evs, names, facts, path):
    n = int(facts["sessions"])
    one_track_each(evs, "the last session")
    for i in range(n - 1):
        doc = load("%s.%d" % (path, i))
        one_track_each(generic(doc)[0], "session %d" % i)


def clock(evs, other, facts):
    want = {"monotonic": ["clock_gettime"]}.get(os.environ.get("GORT_TRACE_CLOCK"),
                                                ["tsc", "clock_gettime"])
    check(other.get("stamps") in want, "stamps %s, one of %s" % (other.get("stamps"), want))
    if "traced_us" in facts:
        span = max(e["ts"] for e in evs if "ts" in e)
        traced = float(facts["traced_us"])
        check(span <= traced * 1.001 + 1, "events within the traced time (%.3f > %.3f us)"
              % (span, traced))


def main():
    prog, scenario, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, scenario + ".json")
    env = dict(os.environ)
    if scenario == "drops":
        env["GORT_TRACE_BUFFER"] = "64K"
    r = subprocess.run([prog, scenario, path], env=env, stdout=subprocess.PIPE, timeout=240)
    check(r.returncode == 0, "%s %s exits 0 (got %d)" % (prog, scenario, r.returncode))
    facts = dict(l.split(None, 1) for l in r.stdout.decode().splitlines() if " " in l)
    if scenario != "badinput":
        doc = load(path)
        evs, names, other = generic(doc)
        clock(evs, other, facts)
        if scenario == "drops":
            drops(evs, names, facts, other)
        elif scenario == "sessions":
            check(other["dropped_events"] == 0, "nothing dropped")
            sessions(evs, names, facts, path)
        else:
            check(other["dropped_events"] == 0, "nothing dropped")
            globals()[scenario](evs, names, facts)
    else:
        generic(load(path))
    print("%s: %d passed, %d failed" % (scenario, 0 if failures else 1, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
