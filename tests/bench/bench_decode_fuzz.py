"""Benchmark: decode >= 10^5 random frames; only FrameError may escape, no line may be
undecodable or span lines. Prints the rate.

    .venv/bin/python tests/bench/bench_decode_fuzz.py [N] [SEED]
"""

from __future__ import annotations

import random
import sys
import time

from phantombutton.hidpp.decode import UNDECODABLE, describe
from phantombutton.hidpp.errors import FrameError
from phantombutton.hidpp.frames import REPORT_LENGTH, ReportId

_SUBS = [0x80, 0x81, 0x82, 0x83, 0x8F, 0xFF, 0x40, 0x41, 0x42, 0x4A, 0x4B, 0x49, 0x00, 0x01, 0x07, 0x0D]
_ADDRS = [0x00, 0x01, 0x02, 0x07, 0x0D, 0x63, 0xB2, 0xB5, 0xF1, 0x1E, 0x0B]


def random_frame(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.05:  # garbage of any length
        return rng.randbytes(rng.randrange(0, 70))
    rid = rng.choice(list(ReportId))
    n = rng.randrange(20, 65) if rid is ReportId.VERY_LONG else REPORT_LENGTH[rid]
    body = bytearray(rng.randbytes(n))
    body[0] = rid
    if rng.random() < 0.5:
        body[1] = rng.choice((0xFF, 1, 2, 3))
    if rng.random() < 0.7:
        body[2] = rng.choice(_SUBS) if rid not in (ReportId.DJ_SHORT, ReportId.DJ_LONG) else rng.choice(
            (0x01, 0x02, 0x03, 0x40, 0x41, 0x42, 0x7F, 0x80, 0x81))
    if rng.random() < 0.7:
        body[3] = rng.choice(_ADDRS)
    if rng.random() < 0.3 and n > 4:
        body[4] = rng.choice((0x03, 0x20, 0x21, 0x30, 0x40, 0x45, 0x01, 0x02))
    return bytes(body)


def run(n: int = 100_000, seed: int = 1) -> dict[str, float]:
    rng = random.Random(seed)
    frames = [random_frame(rng) for _ in range(n)]
    names = {1: "MX Master 3", 2: "M705"}
    rejected = 0
    t0 = time.perf_counter()
    for i, data in enumerate(frames):
        try:
            line = describe(data, names, outgoing=bool(i & 1))
        except FrameError:
            rejected += 1
            continue
        if UNDECODABLE in line or len(line.splitlines()) != 1:
            raise AssertionError(f"{data.hex(' ')} -> {line!r}")
    dt = time.perf_counter() - t0
    return {"frames": n, "rejected": rejected, "seconds": dt, "rate": n / dt}


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    r = run(n, seed)
    print(f"decoded {r['frames']} random frames ({r['rejected']} rejected with FrameError) "
          f"in {r['seconds']:.2f} s: {r['rate']:,.0f} frames/s; nothing else escaped")
