"""Benchmark: the capture fuzzer (tests/unit/capture_fuzz.py) on a large budget, in a child
process capped at 1 GiB of address space (a runaway allocation becomes a MemoryError, which
main() would report as an internal error: a finding). Prints cases, unexpected exits, the
slowest case and the peak RSS.

    .venv/bin/python tests/bench/bench_fuzz_capture.py [CASES] [SEED]
    .venv/bin/python -m pytest -s tests/bench/bench_fuzz_capture.py
"""

from __future__ import annotations

import collections
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from capture_fuzz import case, describe, run_case  # noqa: E402

CASES = 3000
SEED = 1
CAP_BYTES = 1 << 30


def run(n: int = CASES, seed: int = SEED) -> dict:
    resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))
    exits: collections.Counter = collections.Counter()
    failures = []
    slowest = (0.0, "")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for i in range(n):
            c = case(seed, i)
            o = run_case(c, Path(d))
            exits[(c.reader, o.rc)] += 1
            if o.seconds > slowest[0]:
                slowest = (o.seconds, f"({seed}, {i}) {c.reader} {c.mutation}")
            if o.problem:
                failures.append(describe(c, o))
    return {"cases": n, "seed": seed, "seconds": round(time.perf_counter() - t0, 1),
            "exits": dict(sorted(exits.items(), key=str)), "unexpected": len(failures),
            "failures": failures[:20], "slowest_s": round(slowest[0], 3), "slowest_case": slowest[1],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def test_bench_fuzz_capture():
    import subprocess

    # a child, so the address-space cap does not bind pytest itself
    p = subprocess.run([sys.executable, __file__], capture_output=True, text=True, timeout=3600)
    print(p.stdout, p.stderr)
    assert p.returncode == 0


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else CASES
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else SEED
    result = run(n, seed)
    for k, v in result.items():
        if k == "failures":
            for f in v:
                print("  FAIL", f)
        else:
            print(f"{k}: {v}")
    sys.exit(1 if result["unexpected"] else 0)
