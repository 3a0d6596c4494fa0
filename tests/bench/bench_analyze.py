#!/usr/bin/env python3
"""Benchmark P4: `phantombutton analyze` against `libinput analyze recording` on one file.

    .venv/bin/python tests/bench/bench_analyze.py [--sizes 100000,1000000] [--no-libinput]

For each size, a synthetic capture (clicks, long drags, wheel; written by the real
CaptureWriter) is generated once into $PB_BENCH_CACHE (/tmp/phantombutton-bench), then both tools run on the same
file as separate processes (end to end: interpreter start, imports, parsing, output).
Wall time and peak RSS come from wait4() of each child. Goals: ratio >= 50x, analyze's
peak memory flat and <= 64 MB whatever the size.

`libinput analyze recording` runs `/usr/bin/env python3`: Debian's python3 (with
python3-libevdev and python3-yaml) must come first on PATH; this script arranges that.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PB_BENCH_CACHE", "/tmp/phantombutton-bench"))   # 85 MB at 1M events
PY = REPO / ".venv" / "bin" / "python"


def generate(n: int) -> tuple[Path, int]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"clean-{n}.yml"
    count_file = path.with_suffix(".count")
    if not (path.exists() and count_file.exists()):
        sys.path[:0] = [str(REPO), str(REPO / "tests" / "unit")]
        from synthetic import write_clean

        count = write_clean(path, n_events=n)
        count_file.write_text(str(count))
    return path, int(count_file.read_text())


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, exit status) of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_maxrss, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--no-libinput", action="store_true", help="measure analyze only")
    args = ap.parse_args()
    libinput = shutil.which("libinput")
    env = {**os.environ, "PATH": "/usr/bin:/bin:" + os.environ.get("PATH", "")}
    print(f"{'events':>9} {'MB':>6} {'analyze s':>10} {'analyze MiB':>12} {'libinput s':>11} "
          f"{'libinput MiB':>13} {'ratio':>7}")
    for n in (int(s) for s in args.sizes.split(",")):
        path, count = generate(n)
        mb = path.stat().st_size / 1e6
        a_wall, a_rss, _ = measure([str(PY), "-m", "phantombutton.cli.main", "analyze", str(path)])
        row = f"{count:9d} {mb:6.1f} {a_wall:10.2f} {a_rss / 1024:12.1f}"
        if libinput and not args.no_libinput:
            l_wall, l_rss, _ = measure([libinput, "analyze", "recording", str(path)], env=env)
            row += f" {l_wall:11.2f} {l_rss / 1024:13.1f} {l_wall / a_wall:6.0f}x"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
