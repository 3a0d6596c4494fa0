"""P3: CPU used by `watch` over 60 s idle with one mouse and the X poller on (goal <= 0.1 %).

Runs `phantombutton --virtual watch` (one M705 on the virtual receiver) against a real Xvfb
with the default poll interval (0.25 s). Idle, the watcher sleeps in select() on its sources
and the X connection (XI2 raw button and hierarchy events wake it), queries the X master every
2 s and the slaves every 10 s; while anything is held it polls every 0.25 s.
Before (H4: every tick QueryDeviceState of master + every slave, device list every 2 s):
0.267 %.
CPU = utime+stime from /proc/<pid>/stat between 5 s after start (imports done) and the end.
Run: PB_BENCH_SECONDS=60 .venv/bin/python -m pytest tests/bench/bench_watch_p3.py -s
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest


def cpu_seconds(pid: int) -> float:
    """On-CPU time of the whole process: its CPU-time clock (ns resolution; clockid
    MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)), else utime+stime from /proc (jiffies:
    10 ms steps, too coarse for a 0.1 % goal)."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)
    except OSError:
        pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_p3_idle_cpu():
    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb not installed")
    seconds = float(os.environ.get("PB_BENCH_SECONDS", "60"))
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-noreset", "-nolisten", "tcp"], pass_fds=(w,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        display = ":" + f.readline().strip()
    try:
        env = dict(os.environ, DISPLAY=display)
        env.pop("WAYLAND_DISPLAY", None)
        proc = subprocess.Popen([sys.executable, "-m", "phantombutton.cli.main", "--virtual", "watch",
                                 "--json", "--duration", str(seconds + 6)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(5)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
        out, err = proc.communicate(timeout=30)
    finally:
        xvfb.terminate()
        xvfb.wait(5)
    assert proc.returncode == 0, err
    assert "no X display" not in out   # the X poller was really on
    pct = (c1 - c0) / (t1 - t0) * 100
    print(f"\nP3 watch idle CPU with X poller (0.25 s) over {t1 - t0:.0f} s: {pct:.3f} % "
          f"({(c1 - c0) * 1000:.0f} ms CPU; goal <= 0.1 %)")
    assert pct <= 0.1 * 5   # the goal is reported above; fail only far beyond it (noisy host)
