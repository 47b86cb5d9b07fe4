#!/usr/bin/python3
"""The timeline plot (python/gort/_trace_plot.py, `python3 -m gort.trace
plot`): a scenario's trace drawn to a PNG with one row per M; a broken file
is an error message and exit status 1, not a traceback.

Usage: check_plot.py TRACE_SCENARIOS PLOT_SCRIPT WORKDIR
"""
import os
import subprocess
import sys

prog, script, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
trace, png = os.path.join(work, "plot.json"), os.path.join(work, "timeline.png")
failures = 0
r = subprocess.run([prog, "cgocall_retake", trace], stdout=subprocess.DEVNULL, timeout=120)
if r.returncode != 0:
    failures += 1
r = subprocess.run(["/usr/bin/python3", script, trace, "-o", png], stdout=subprocess.PIPE,
                   timeout=120)
out = r.stdout.decode()
if r.returncode != 0 or not out.startswith(png) or int(out.split(": ")[1].split()[0]) < 3:
    print("plot failed:", out, file=sys.stderr)
    failures += 1
with open(png, "rb") as f:
    if f.read(8) != b"\x89PNG\r\n\x1a\n":
        print("not a PNG", file=sys.stderr)
        failures += 1
bad = os.path.join(work, "bad.json")
with open(bad, "w") as f:
    f.write("{not json")
r = subprocess.run(["/usr/bin/python3", script, bad, "-o", png], stderr=subprocess.PIPE,
                   timeout=120)
if r.returncode != 1 or b"Traceback" in r.stderr or b"gort.trace plot" not in r.stderr:
    print("bad input not reported cleanly:", r.stderr.decode(), file=sys.stderr)
    failures += 1
print("plot: %d passed, %d failed" % (0 if failures else 1, failures))
sys.exit(1 if failures else 0)
