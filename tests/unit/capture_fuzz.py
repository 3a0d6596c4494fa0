"""A seeded mutation fuzzer over the capture format (used by test_fuzz_capture.py on a small
budget and by tests/bench/bench_fuzz_capture.py on a large one).

Each case mutates one of the bundled captures/*.yml (truncations, type swaps, huge numbers,
deep nesting, control characters, line surgery, extra entries) and runs one of the three
readers - `analyze`, `watch --replay --speed 0`, `capture --convert --format hid-recorder` -
in-process through the CLI's main(). The property: only the documented exit codes, a
failure is one line (`phantombutton: ...`), never "internal error", bounded time.
A case is (seed, index): `case(seed, i)` rebuilds it exactly.
"""

from __future__ import annotations

import io
import os
import random
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from phantombutton.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {p.name: p.read_bytes() for p in sorted((ROOT / "captures").glob("*.yml"))}
READERS = {
    "analyze": (["analyze"], {0, 1, 3}),
    "replay": (["watch", "--speed", "0", "--replay"], {0, 1}),
    "convert": (["capture", "--format", "hid-recorder", "--convert"], {0, 1}),
}
CASE_TIMEOUT = 10   # seconds; the bundled captures read in well under one

_VALUES = [b'"x"', b"[]", b"{}", b"[1]", b"null", b"true", b"-1", b"1e999", b"-1e999", b"NaN",
           b"99999999999999999999", b"4503599627370496", b"1" * 5000, b"0x100", b"1.5", b'""',
           b'{"time": [0, 1]}', b"[[0, 1, 1, 287, 1]]", b'"\\n  events:"', b"\xff\xfe"]
_CONTROLS = [b"\x00", b"\r", b"\n", b"\x0b", b"\x0c", b"\x1b", b"\x7f", "\u2028".encode(), "\x85".encode(),
             b"\t", b"\n  events:\n", b"\n- node: x\n", b"#", b": ", b"\""]
_TOKEN = re.compile(rb'-?\d+(?:\.\d+)?(?:e\d+)?|0x[0-9a-f]+|"[^"\n]{0,40}"|\[\]|\{\}|null|true|false')
_ENTRY_KINDS = [b"xinput", b"held", b"device", b"hid", b"evdev-node", b"evdev"]


def _deep(rng: random.Random) -> bytes:
    k = rng.choice((17, 40, 1000, 5000))
    return b"[" * k + b"]" * k if rng.random() < 0.5 else b'{"a": ' * k + b"1" + b"}" * k


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutation of `data` (a capture); returns (what, mutated bytes)."""
    kind = rng.choice(("truncate", "swap", "swap", "huge", "deep", "control", "lines", "entry", "flip"))
    lines = data.splitlines(keepends=True)
    if kind == "truncate":
        return kind, data[:rng.randrange(len(data))]
    if kind in ("swap", "huge", "deep"):
        i = rng.randrange(len(lines))
        tokens = list(_TOKEN.finditer(lines[i]))
        if not tokens:
            return mutate(data, rng)
        m = rng.choice(tokens)
        new = (rng.choice(_VALUES) if kind == "swap" else
               str(rng.choice((1 << 52, 10 ** 17, 10 ** 30, -(10 ** 12), 1 << 64))).encode() if kind == "huge"
               else _deep(rng))
        lines[i] = lines[i][:m.start()] + new + lines[i][m.end():]
        return f"{kind} line {i + 1}", b"".join(lines)
    if kind == "control":
        pos = rng.randrange(len(data))
        return f"{kind} at {pos}", data[:pos] + rng.choice(_CONTROLS) + data[pos:]
    if kind == "lines":
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        op = rng.choice(("delete", "duplicate", "swap"))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[j])
        else:
            lines[i], lines[j] = lines[j], lines[i]
        return f"{op} lines {i + 1},{j + 1}", b"".join(lines)
    if kind == "entry":
        at = data.find(b"  events:\n")
        at = at + len(b"  events:\n") if at >= 0 else len(data)
        fields = [b'"time": ' + rng.choice((b"[0, 1]", b"[1]", b"[-1, 0]", b"[0, 1000000]", rng.choice(_VALUES)))]
        for name in rng.sample([b"device", b"node", b"buttons", b"codes", b"added", b"removed", b"frame",
                                b"hidraw0", b"master", b"slot", b"settings", b"name"], rng.randrange(1, 5)):
            fields.append(b'"' + name + b'": ' + rng.choice(_VALUES + [_deep(rng)]))
        entry = b"  - " + rng.choice(_ENTRY_KINDS) + b": {" + b", ".join(fields) + b"}\n"
        return "entry", data[:at] + entry + data[at:]
    pos = rng.randrange(len(data))   # flip a byte
    return f"flip at {pos}", data[:pos] + bytes([rng.randrange(256)]) + data[pos + 1:]


@dataclass
class Case:
    seed: int
    index: int
    source: str
    mutation: str
    reader: str
    data: bytes


def case(seed: int, index: int) -> Case:
    rng = random.Random(f"{seed}:{index}")
    source = rng.choice(sorted(SOURCES))
    data = SOURCES[source]
    what = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        w, data = mutate(data, rng)
        what.append(w)
    return Case(seed, index, source, "; ".join(what), rng.choice(sorted(READERS)), data)


@dataclass
class Outcome:
    rc: int | None
    err: str
    seconds: float
    problem: str | None      # None: the property holds


class _Timeout(BaseException):   # not an Exception: main() must not turn it into a message
    pass


def run_case(c: Case, workdir: Path) -> Outcome:
    path = workdir / "case.yml"
    path.write_bytes(c.data)
    out = workdir / "case.hid"
    args, allowed = READERS[c.reader]
    argv = [*args, str(path)] + (["-o", str(out)] if c.reader == "convert" else [])
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()

    def alarm(*_):
        raise _Timeout()
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(CASE_TIMEOUT)
    t0 = time.perf_counter()
    rc: int | None = None
    try:
        rc = main(argv)
        problem = None
    except _Timeout:
        problem = f"no answer after {CASE_TIMEOUT} s"
    except BaseException as e:   # noqa: BLE001 - anything escaping main() is a finding
        problem = f"escaped main(): {type(e).__name__}: {e}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        err = sys.stderr.getvalue()
        sys.stdout, sys.stderr = saved
    dt = time.perf_counter() - t0
    if problem is None:
        lines = err.strip().splitlines()
        if rc not in allowed:
            problem = f"exit {rc} (allowed {sorted(allowed)})"
        elif "internal error" in err or "Traceback" in err:
            problem = "internal error"
        elif rc == 1 and not (len(lines) == 1 and lines[0].startswith("phantombutton: ")):
            problem = "not one line"
    for p in (path, out):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    return Outcome(rc, err.strip(), dt, problem)


def describe(c: Case, o: Outcome) -> str:
    return (f"case ({c.seed}, {c.index}): {c.reader} of {c.source} after {c.mutation}: {o.problem}; "
            f"stderr: {o.err[:300]!r}")
