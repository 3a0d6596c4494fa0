"""A seeded mutation fuzzer over the configuration file format (config.toml).

Each case takes a valid configuration, applies 1-4 random mutations (bytes, tokens, values,
keys, table headers, nesting, encodings) and checks the property every configuration must
have, whatever its content:

- `config.load` returns a Config or raises BadInput with one line that starts with the
  file's path (never any other exception: the daemon would exit 1 and be restarted);
- an accepted configuration prints (`config`) as TOML that tomllib reads back to the same
  configuration;
- `phantombutton config --file F` exits 0 or 1 with at most one line on stderr, never
  "internal error"; `daemon --config F` (every `daemon_every`-th case) exits 0 or 78;
- each case takes less than `max_seconds`.

Used by tests/unit/test_config_fuzz.py (small budget) and tests/bench/bench_config_fuzz.py.
A failing case is reproduced by its seed and index: `cases(seed)` is deterministic.
"""

from __future__ import annotations

import contextlib
import io
import random
import resource
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from phantombutton.cli.main import main
from phantombutton.errors import BadInput
from phantombutton.service import config

SEEDS = [
    """\
# a user's file
[detection]
held-for = 1
reassert-window = 30.0
reassert-limit = 3

[fix]
auto-release = false
mute-unknown-buttons = true
prevention = ["settings"]

[daemon]
settle-delay = 0.2
rescan-interval = 2.0
backoff-initial = 1.0
backoff-max = 60.0

[device."101B"]
side-scroll = true
smooth-scroll = false

[device."M705"]
side-scroll = false

[device."101A"]
dpi = 800

[device."1A2B3C4D"]
smooth-scroll = true

[device."4082"]
diversions = "reset"
""",
    ('[fix]\nauto-release = true\nmute-unknown-buttons = false\nprevention = ["settings"]\n\n'
     '[device."101B"]\nside-scroll = true\n'),
    'fix.auto-release = true\ndaemon.settle-delay = 0.5\ndevice."101A".dpi = 400\n',
    '[detection]\nheld-for = 0.25\n[daemon]\nbackoff-initial = 2\nbackoff-max = 300.0\n',
    'device = { "101B" = { side-scroll = true }, "Performance MX" = { dpi = 1500 } }\n',
]

TOKENS = ["[", "]", "{", "}", '"', "'", "=", "\n", ".", "#", ",", '"""', "'''", "\\", "\\u0000",
          "\\n", "\\U0010FFFF", "\\uD800", "nan", "inf", "-inf", "+nan", "1e999", "0", "-1", "-0.0",
          "true", "false", "[[", "]]", "\r", "\r\n", "\t", "\x00", "\x7f", "\u2028", "²", "٣", "é",
          "1979-05-27T07:32:00Z", "07:32:00", "1979-05-27", "0x10", "0o7", "0b1", "1_000", "9" * 400,
          "[device.\"", "[daemon]", "[fix]", "[detection]", "\"101B\"", "device.", " = ", "\ufeff"]

VALUES = ["0", "-1", "0.0", "-0.0", "1e300", "1e-300", "nan", "inf", "-inf", "3601", "86401",
          "0.05", "1", "2", "1000", "1001", "9223372036854775807", "99999999999999999999999",
          "true", "false", '"on"', '""', '"reset"', '"clear"', "[]", '["settings"]',
          '["settings", "settings"]', '["x"]', "[1, 2]", "{}", "{ a = 1 }", "1979-05-27", "07:32:00",
          '"a\\nb"', '"\\u0000"', "'raw\\n'", '"""multi\nline"""', "800", "850", "100", "1500"]

KEYS = ["held-for", "reassert-window", "reassert-limit", "auto-release", "mute-unknown-buttons",
        "prevention", "settle-delay", "rescan-interval", "backoff-initial", "backoff-max",
        "side-scroll", "smooth-scroll", "dpi", "diversions", "Side_Scroll", "x", '"quoted key"',
        '"a\\nb"', "a.b.c", "1", "-", '""']

HEADERS = ['[device."101B"]', '[device."101A"]', '[device."406D"]', '[device."4082"]',
           '[device."ABCD"]', '[device."M705"]', '[device."Performance MX"]', '[device."a\\nb"]',
           '[device." "]', '[device.""]', '[device."1A2B3C4D"]', "[[fix]]", "[[device]]",
           '[[device."101B"]]', "[fix]", "[daemon]", "[detection]", "[daemon.x]", "[fixes]",
           "[device]", '[device."101B".sub]', "[ fix ]", "[fix] # c", "[device.'101B']"]


def _nest(rng: random.Random) -> str:
    depth = rng.choice([2, 8, 9, 40, 300, 1200, 5000])
    if rng.random() < 0.5:
        return "[" * depth + "1" + "]" * depth
    return "{a = " * depth + "1" + "}" * depth


def mutate(text: str, rng: random.Random) -> bytes:
    """1-4 mutations of `text`; bytes, because some mutations break the encoding."""
    for _ in range(rng.randint(1, 4)):
        lines = text.split("\n")
        op = rng.randrange(12)
        i = rng.randrange(len(lines))
        if op == 0 and text:                                   # a token inserted
            pos = rng.randrange(len(text) + 1)
            text = text[:pos] + rng.choice(TOKENS) + text[pos:]
        elif op == 1 and text:                                 # a range deleted
            a = rng.randrange(len(text))
            text = text[:a] + text[a + rng.randint(1, 20):]
        elif op == 2 and text:                                 # a range duplicated
            a = rng.randrange(len(text))
            b = min(len(text), a + rng.randint(1, 40))
            text = text[:b] + text[a:b] + text[b:]
        elif op == 3 and text:                                 # a character replaced
            pos = rng.randrange(len(text))
            text = text[:pos] + chr(rng.choice([rng.randrange(0x20), rng.randrange(0x20, 0x7F),
                                                rng.randrange(0x80, 0x3000)])) + text[pos + 1:]
        elif op in (4, 5):                                     # a value replaced
            cand = [n for n, line in enumerate(lines) if "=" in line and not line.startswith("[")]
            if cand:
                n = rng.choice(cand)
                key = lines[n].split("=", 1)[0]
                value = _nest(rng) if rng.random() < 0.1 else rng.choice(VALUES)
                lines[n] = f"{key}= {value}"
                text = "\n".join(lines)
        elif op == 6:                                          # a key replaced
            cand = [n for n, line in enumerate(lines) if "=" in line and not line.startswith("[")]
            if cand:
                n = rng.choice(cand)
                lines[n] = rng.choice(KEYS) + " =" + lines[n].split("=", 1)[1]
                text = "\n".join(lines)
        elif op == 7:                                          # a header replaced or added
            cand = [n for n, line in enumerate(lines) if line.startswith("[")]
            if cand and rng.random() < 0.6:
                lines[rng.choice(cand)] = rng.choice(HEADERS)
            else:
                lines.insert(i, rng.choice(HEADERS))
            text = "\n".join(lines)
        elif op == 8:                                          # a line added from the pools
            lines.insert(i, f"{rng.choice(KEYS)} = {rng.choice(VALUES)}")
            text = "\n".join(lines)
        elif op == 9 and len(lines) > 1:                       # lines swapped or duplicated
            j = rng.randrange(len(lines))
            if rng.random() < 0.5:
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(j, lines[i])
            text = "\n".join(lines)
        elif op == 10:                                         # truncated
            text = text[:rng.randrange(len(text) + 1)]
        else:                                                  # a long line
            lines.insert(i, "# " + "x" * rng.choice([100, 10_000, 300_000]))
            text = "\n".join(lines)
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.05 and data:                           # not UTF-8
        pos = rng.randrange(len(data))
        data = data[:pos] + bytes([rng.choice([0x80, 0xC3, 0xE9, 0xFF, 0xED])]) + data[pos:]
    if rng.random() < 0.01:                                    # too big for a configuration
        data += b"#" + b"y" * (1 << 20) + b"\n"
    return data


@dataclass
class Report:
    cases: int = 0
    accepted: int = 0
    refused: int = 0
    daemon_runs: int = 0
    unexpected: list[str] = field(default_factory=list)
    slowest: float = 0.0
    seconds: float = 0.0
    peak_rss_kib: int = 0

    def line(self) -> str:
        return (f"{self.cases} cases ({self.accepted} accepted, {self.refused} refused, "
                f"{self.daemon_runs} daemon runs) in {self.seconds:.1f} s; slowest case "
                f"{self.slowest * 1000:.0f} ms; peak RSS {self.peak_rss_kib / 1024:.0f} MiB; "
                f"{len(self.unexpected)} unexpected")


def _cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    return rc, out.getvalue(), err.getvalue()


def check(path: Path, report: Report, *, daemon: bool, max_seconds: float, where: str) -> None:
    t0 = time.monotonic()
    problems = []
    try:
        cfg = config.load(path)
    except BadInput as e:
        msg = str(e)
        report.refused += 1
        if "\n" in msg or "\r" in msg or not msg.startswith(str(path)) or len(msg) > 600:
            problems.append(f"message not one line starting with the path: {msg[:200]!r}")
        cfg = None
    except Exception as e:  # noqa: BLE001 - the property under test
        problems.append(f"load raised {type(e).__name__}: {str(e)[:200]}")
        cfg = None
    else:
        report.accepted += 1
        printed = config.to_toml(cfg)
        try:
            again = config.parse(printed, path)
            if (again.detection, again.fix, again.daemon, again.devices) != \
                    (cfg.detection, cfg.fix, cfg.daemon, cfg.devices):
                problems.append("printed configuration reads back differently")
        except Exception as e:  # noqa: BLE001
            problems.append(f"printed configuration does not read back: {type(e).__name__}: {e}")
    rc, out, err = _cli(["config", "--file", str(path)])
    if rc not in (0, 1) or "internal error" in err or err.count("\n") > (rc == 1) \
            or (rc == 0) != (cfg is not None):
        problems.append(f"config --file: exit {rc}, stderr {err[:200]!r}")
    elif rc == 0:
        try:
            tomllib.loads(out)
        except tomllib.TOMLDecodeError as e:
            problems.append(f"config printed invalid TOML: {e}")
    if daemon:
        report.daemon_runs += 1
        rc, out, err = _cli(["--virtual", "daemon", "--config", str(path), "--for", "0.01"])
        if rc != (0 if cfg is not None else 78) or "internal error" in out + err:
            problems.append(f"daemon: exit {rc}, {(out + err)[:200]!r}")
    took = time.monotonic() - t0
    report.slowest = max(report.slowest, took)
    if took > max_seconds:
        problems.append(f"took {took:.2f} s")
    if problems:
        report.unexpected.append(f"{where}: " + "; ".join(problems))


def run(workdir: Path, *, seed: int = 1, cases: int | None = None, seconds: float | None = None,
        daemon_every: int = 25, max_seconds: float = 2.0) -> Report:
    """Run until `cases` cases or `seconds` seconds, whichever comes first."""
    rng = random.Random(seed)
    report = Report()
    path = workdir / "config.toml"
    t0 = time.monotonic()
    while (cases is None or report.cases < cases) and \
            (seconds is None or time.monotonic() - t0 < seconds):
        data = mutate(rng.choice(SEEDS), rng)
        path.write_bytes(data)
        check(path, report, daemon=report.cases % daemon_every == 0, max_seconds=max_seconds,
              where=f"seed {seed} case {report.cases}")
        report.cases += 1
    report.seconds = time.monotonic() - t0
    report.peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return report
