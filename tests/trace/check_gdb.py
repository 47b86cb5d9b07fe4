#!/usr/bin/python3
"""The gdb helper (tools/gdb/gort.py) against a live process with parked
goroutines, and against a core file of it: the kernel's (the target is
killed with SIGABRT, RLIMIT_CORE unlimited, core_pattern a plain file name),
else gdb's gcore. (gcore cannot read goroutine stacks on kernels with
MADV_GUARD_INSTALL: a read across a guard marker fails and gdb writes zeros
for the whole range; the kernel's dump skips only the guard pages.)

Usage: check_gdb.py GDB_TARGET GORT_PY WORKDIR
"""
import os
import resource
import signal
import subprocess
import sys
import time

failures = []


def check(cond, what, out=""):
    if not cond:
        failures.append(what)
        print("CHECK failed:", what, file=sys.stderr)
        if out:
            print(out, file=sys.stderr)


def gdb(args, script):
    cmd = ["gdb", "-batch", "-nx", "-q", "-ex", "set debuginfod enabled off",
           "-ex", "source " + script] + args
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    return r.stdout.decode(errors="replace")


def checks(out, recv, locked, where):
    check("gdb-receiver" in out and "chan receive" in out,
          "%s: info goroutines lists the named receiver, waiting on a channel" % where, out)
    check("semacquire" in out and "M" in out, "%s: the locked one waits, locked to its M" % where)
    check("gdb_parked_recv" in out, "%s: goroutine %d bt shows its parking function" % (where, recv), out)
    check("gort::gopark" in out or "gopark" in out, "%s: ... from gopark up" % where)
    check("gdb_locked_wait" in out, "%s: goroutine %d bt too" % (where, locked))
    check("gomaxprocs=" in out and "  P0: " in out and " sysmon" in out,
          "%s: info gort shows Ps and Ms" % where, out)


def kernel_core(work, pid):
    for name in ("core.%d" % pid, "core"):
        path = os.path.join(work, name)
        if os.path.exists(path):
            return path
    return None


def main():
    target, script, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    for name in os.listdir(work):
        if name.startswith("core"):
            os.unlink(os.path.join(work, name))
    gcore = os.path.join(work, "gcore.core")

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    p = subprocess.Popen([target], stdout=subprocess.PIPE, cwd=work, preexec_fn=allow_core)
    pid = p.pid
    try:
        line = p.stdout.readline().decode().split()
        check(line and line[0] == "ready", "the target starts")
        recv, locked = int(line[2]), int(line[3])
        cmds = ["-ex", "info goroutines", "-ex", "goroutine %d bt" % recv,
                "-ex", "goroutine %d bt" % locked, "-ex", "info gort"]
        # The target said both goroutines are about to park: wait until gdb
        # sees them parked (bounded).
        for _ in range(50):
            live = gdb(["-p", str(pid)] + cmds + ["-ex", "gcore " + gcore], script)
            if live.count("waiting") >= 2:
                break
            time.sleep(0.1)
        checks(live, recv, locked, "live")
    finally:
        p.send_signal(signal.SIGABRT)
        p.wait()
    core = kernel_core(work, pid)
    if core is None:
        print("no kernel core dump (core_pattern %s): using gdb's gcore"
              % open("/proc/sys/kernel/core_pattern").read().strip(), file=sys.stderr)
        core = gcore if os.path.exists(gcore) else None
    check(core is not None, "a core file was written")
    if core is not None:
        dead = gdb([target, core] + cmds, script)
        checks(dead, recv, locked, "core " + os.path.basename(core))
    for name in os.listdir(work):
        if name.startswith("core") or name.startswith("gcore"):
            os.unlink(os.path.join(work, name))
    print("gdb: %d passed, %d failed" % (0 if failures else 1, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
