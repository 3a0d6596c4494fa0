"""Benchmark: what `info` costs on the virtual receiver (C52B + M705 101B), and cold start.

    .venv/bin/python tests/bench/bench_info.py [RUNS]

Prints
- HID++ requests `info` and `list` send (counted at the transport: every report written) on
  the profiles "default" and "mixed", split into receiver and slots, and how many of them ask
  about an empty slot (a 0xB5 pairing read of, or a request to, a slot with no device); the
  same for `get` and `set`;
- wall time of `info` in process with zero latency (our overhead) and with the real M705's
  round trip (10-50 ms per request, docs/hidpp.md) simulated by the model's latency;
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


def run_cli(*args: str, profile: str = "default") -> tuple[int, float, Counter]:
    _written.clear()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--virtual", "--profile", profile, *args])
    dt = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"phantombutton --virtual --profile {profile} {' '.join(args)} exited {code}")
    by_target = Counter("receiver" if w[1] == 0xFF else f"slot {w[1]}" for w in _written if w[0] in (0x10, 0x11))
    return len(_written), dt, by_target


def empty_slot_requests(occupied: set[int]) -> int:
    """Requests of the last run about a slot with no device: 0xB5 0x2n/0x3n/0x4n pairing
    reads of slot n+1 on the receiver, or any request addressed to the slot itself."""
    n = 0
    for w in _written:
        if w[0] not in (0x10, 0x11):
            continue
        if w[1] == 0xFF and w[2] == 0x83 and w[3] == 0xB5 and w[4] >> 4 in (2, 3, 4):
            n += (w[4] & 0x0F) + 1 not in occupied
        elif w[1] != 0xFF:
            n += w[1] not in occupied
    return n


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

    from phantombutton.virtual.profiles import build

    for profile in ("default", "mixed"):
        occupied = set(build(profile))
        for args in (["info"], ["list"]):
            n, _, split = run_cli(*args, profile=profile)
            print(f"requests  {profile:<8} {' '.join(args):<19} {n:>3}  empty-slot {empty_slot_requests(occupied)}  "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(split.items()))})")
    for args in (["get", "m705", "side-scroll"], ["set", "m705", "side-scroll", "off"]):
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
