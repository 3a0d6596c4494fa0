"""The capture fuzzer on a small budget (a few seconds); tests/bench/bench_fuzz_capture.py
runs it on a large one. See capture_fuzz.py for the mutations and the property."""

from __future__ import annotations

import resource
import time

from capture_fuzz import case, describe, run_case

SEED = 20261201
BUDGET = 4.0        # seconds
MIN_CASES = 40


def test_mutated_captures_give_documented_exits_and_one_line(tmp_path):
    t0 = time.monotonic()
    failures, n, slowest = [], 0, 0.0
    while n < MIN_CASES or time.monotonic() - t0 < BUDGET:
        c = case(SEED, n)
        o = run_case(c, tmp_path)
        slowest = max(slowest, o.seconds)
        if o.problem:
            failures.append(describe(c, o))
        n += 1
    assert not failures, f"{len(failures)} of {n} cases:\n" + "\n".join(failures[:10])
    assert slowest < 5.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 600 * 1024   # KiB: nothing ran away
