"""Benchmark: what `info` costs on the virtual receiver (C52B + M705 101B), and cold start.

    .venv/bin/python tests/bench/bench_info.py [RUNS]

Prints
- HID++ requests `info` sends (counted at the transport: every report written), split into
  receiver and M705, and the same for `list`, `get` and `set`;
- wall time of `info` in process with zero latency (our overhead) and with the real M705's
  round trip (10-50 ms per request, facts/hidpp.md) simulated by the model's latency;
- cold start of `phantombutton --help` and `phantombutton --virtual info` (fresh processes;
  goal for --help <= 150 ms).
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import time
from collections import Counter

from phantombutton.cli.main import main
from phantombutton.transport import virtual as vt

EXE = os.path.join(os.path.dirname(sys.executable), "phantombutton")
_written: list[bytes] = []
_latency = 0.0


class CountingTransport(vt.VirtualTransport):
    def __init__(self, receiver, *a, **k):
        receiver.latency = _latency
        super().__init__(receiver, *a, **k)

    def write(self, data: bytes) -> None:
        _written.append(bytes(data))
        super().write(data)


def run_cli(*args: str) -> tuple[int, float, Counter]:
    _written.clear()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--virtual", *args])
    dt = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"phantombutton --virtual {' '.join(args)} exited {code}")
    by_target = Counter("receiver" if w[1] == 0xFF else f"slot {w[1]}" for w in _written if w[0] in (0x10, 0x11))
    return len(_written), dt, by_target


def cold(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([EXE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return times


def main_bench(runs: int = 20) -> None:
    global _latency
    vt.VirtualTransport = CountingTransport  # open_receivers looks it up at call time
    import phantombutton.devices.open  # noqa: F401

    for args in (["info"], ["list"], ["get", "m705", "side-scroll"], ["set", "m705", "side-scroll", "off"]):
        n, _, split = run_cli(*args)
        print(f"requests  {' '.join(args):<28} {n:>3}  ({', '.join(f'{k} {v}' for k, v in sorted(split.items()))})")

    times = [run_cli("info")[1] for _ in range(runs)]
    print(f"info, no latency       median {statistics.median(times) * 1000:7.2f} ms  "
          f"min {min(times) * 1000:.2f} ms  ({runs} runs, in process)")
    for latency in (0.010, 0.030):
        _latency = latency
        n, dt, _ = run_cli("info")
        print(f"info, {latency * 1000:.0f} ms/request  {dt * 1000:7.1f} ms  ({n} requests)")
    _latency = 0.0

    for args, goal in ((["--help"], 0.150), (["--virtual", "info"], None)):
        t = cold(args, max(5, runs // 2))
        verdict = "" if goal is None else ("  goal <= 150 ms: met" if statistics.median(t) <= goal
                                           else "  goal <= 150 ms: MISSED")
        print(f"cold start phantombutton {' '.join(args):<16} median {statistics.median(t) * 1000:6.1f} ms  "
              f"min {min(t) * 1000:6.1f} ms  max {max(t) * 1000:6.1f} ms{verdict}")


if __name__ == "__main__":
    main_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
