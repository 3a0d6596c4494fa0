"""P2 (host pipeline): time from the phantom DJ report to the kernel state released.

The virtual receiver emits the DJ mouse report with HID button 16; the virtual source turns
it into a KeyEvent through the kernel model, the real Detector flags it (unknown-button),
the real release chain writes the release and verifies it by reading the state back.
Measured per trial from `press()` to the verified release. Goal: p99 <= 8 ms (one report
interval at 125 Hz). Run: .venv/bin/python -m pytest tests/bench/bench_watch_p2.py -s
"""

from __future__ import annotations

import statistics
import time


def trial(n: int = 300) -> list[float]:
    from phantombutton.detect.reassert import Releases
    from phantombutton.detect.rules import Detector
    from phantombutton.virtual.platform import VirtualPlatform
    from phantombutton.recovery.live import LiveLayers
    from phantombutton.recovery.watcher import Watcher
    from phantombutton.virtual.receiver import VirtualReceiver

    model = VirtualReceiver("default")
    source = VirtualPlatform(receiver=model).source()
    w = Watcher(source, Detector(), layers=LiveLayers(nodes=source), fix=True, poll_interval=0.25)
    w.start()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        model.press(1, 0x8000)
        released = None
        while released is None:
            for ev in w.step():
                if ev.kind == "released":
                    released = time.perf_counter()
        out.append(released - t0)
        assert 0x11F not in source.held_keys("virtual:1")
        model.press(1, 0)          # the mouse's own release report clears HID's cache
        w.step()
        w.releases = Releases(w.reassert)   # each trial is a new phantom
    return out


def test_p2_host_pipeline():
    times = sorted(trial())
    p50 = statistics.median(times) * 1000
    p99 = times[int(len(times) * 0.99) - 1] * 1000
    print(f"\nP2 host pipeline (virtual receiver -> detector -> chain -> verified): "
          f"n={len(times)} p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {times[-1] * 1000:.3f} ms (goal p99 <= 8 ms)")
    assert p99 <= 8.0
