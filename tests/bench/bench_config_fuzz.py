#!/usr/bin/env python3
"""Benchmark: the configuration fuzzer (tests/unit/config_fuzz.py) on a large budget.

    .venv/bin/python tests/bench/bench_config_fuzz.py [--cases N] [--seconds S] [--seed K]
    .venv/bin/python -m pytest -s tests/bench/bench_config_fuzz.py      # 20 000 cases

Prints cases, accepted/refused, daemon runs, the slowest case, peak RSS and every unexpected
outcome (seed and case index reproduce it); exit 1 if there was any.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from config_fuzz import run


def fuzz(cases: int | None, seconds: float | None, seed: int):
    os.environ.pop("DISPLAY", None)
    with tempfile.TemporaryDirectory(prefix="pb-config-fuzz-") as d:
        report = run(Path(d), seed=seed, cases=cases, seconds=seconds, daemon_every=25)
    print(f"config fuzz, seed {seed}: {report.line()}")
    for u in report.unexpected[:50]:
        print("  UNEXPECTED", u)
    return report


def test_config_fuzz_large_budget():
    report = fuzz(20_000, None, 1)
    assert report.unexpected == []


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    sys.exit(1 if fuzz(a.cases, a.seconds, a.seed).unexpected else 0)
