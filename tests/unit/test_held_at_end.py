"""`analyze`: every button still held when a capture ends, with how long, even below a rule's
threshold; the end of a plain `libinput record` file from its "Current time" comments; no
"stopped or killed" note on a file libinput wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from phantombutton.capture.analysis import wall_clock_end
from phantombutton.cli.main import main

CAPTURES = Path(__file__).resolve().parents[2] / "captures"

HEADER = """\
# libinput record
version: 1
ndevices: 1
libinput:
  version: "1.22.1"
  git: "unknown"
system:
  os: "debian:12"
  kernel: "6.1.0-13-amd64"
  dmi: "dmi:bvnSeaBIOS:"
devices:
- node: /dev/input/event3
  evdev:
    # Name: Logitech M705
    # ID: bus 0x0003 vendor 0x046d product 0x101b version 0x0111
    name: "Logitech M705"
    id: [3, 1133, 4123, 273]
    codes:
      0: [0, 1, 2, 3, 4] # EV_SYN
      1: [272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287] # EV_KEY
      2: [0, 1, 6, 8, 11, 12] # EV_REL
      4: [4] # EV_MSC
    properties: []
  udev:
    properties:
    - ID_INPUT=1
    - ID_INPUT_MOUSE=1
  events:
"""


def _frame(t: float, events: list[tuple[int, int, int]]) -> str:
    sec, usec = int(t), round((t - int(t)) * 1e6)
    lines = ["  - evdev:"]
    for typ, code, value in events + [(0, 0, 0)]:
        lines.append(f"    - [{sec:3d}, {usec:6d}, {typ:3d}, {code:3d}, {value:7d}] #")
    return "\n".join(lines) + "\n"


def _hid(t: float, data: list[int]) -> str:
    sec, usec = int(t), round((t - int(t)) * 1e6)
    body = ", ".join(f"0x{b:02x}" for b in data)
    return f"  - hid:\n      time: [{sec:3d}, {usec:6d}]\n      hidraw0: [\n        {body}\n      ]\n"


def libinput_recording(hid_until: float) -> str:
    """What `libinput record --with-hidraw` writes (tools/libinput-record.c) for this session:
    recording starts at 10:00:00.3 wall time, the first event (t = 0) at .4; the mouse moves
    for 2 s, the middle button goes down at t = 2.0 and stays down with no motion; the
    receiver carries other reports (its keyboard) every second until `hid_until`; the timer
    writes the wall clock at 10:00:05.4, 10:00:10.4, ... when events came since the last one;
    Ctrl-C ends it (libinput writes no end marker)."""
    o = 36000.4                    # wall time (seconds of the day) of capture time 0
    items: list[tuple[float, str]] = [(o - 0.1, "  # Current time is 10:00:00\n")]   # before any event
    items += [(o + i * 0.05, _frame(i * 0.05, [(2, 0, 1), (2, 1, -1)])) for i in range(40)]
    items.append((o + 2.0, _frame(2.0, [(4, 4, 589827), (1, 0x112, 1)])))
    t = 2.5
    while t <= hid_until:
        items.append((o + t, _hid(t, [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])))
        t += 1.0
    events_at = sorted(w for w, _ in items[1:])
    tick, last_print = 36005.4, 36000.4
    while tick < events_at[-1] + 10:
        if any(last_print < w <= tick for w in events_at):
            stamp = int(tick)
            items.append((tick, f"  # Current time is 10:{(stamp - 36000) // 60:02d}:{stamp % 60:02d}\n"))
            last_print = tick
        tick += 5
    items.sort(key=lambda it: it[0])
    return HEADER + "".join(text for _, text in items)


def _write(tmp_path: Path, hid_until: float) -> Path:
    p = tmp_path / "recording.yml"
    p.write_text(libinput_recording(hid_until), encoding="utf-8")
    return p


def test_fixture_is_a_libinput_recording(tmp_path):
    """libinput's own analyzer reads the fixture: it is the real format, comments and all."""
    tool = "/usr/libexec/libinput/libinput-analyze-recording"
    if not (shutil.which("libinput") and os.path.exists(tool)):
        pytest.skip("libinput-tools not installed")
    p = _write(tmp_path, 6.5)
    env = {**os.environ, "PATH": "/usr/bin:/bin:" + os.environ.get("PATH", "")}
    r = subprocess.run(["libinput", "analyze", "recording", str(p)], check=False, capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert "BTN_MIDDLE" in r.stdout or "274" in r.stdout


def test_plain_recording_middle_held_below_threshold(tmp_path, capsys):
    p = _write(tmp_path, 6.5)
    assert main(["analyze", str(p)]) == 0
    out = capsys.readouterr().out
    # the comments at 10:00:05 (after the report at t = 4.5) and 10:00:10 put the end at >= 8.5 s
    assert ("held at the end: Logitech M705: BTN_MIDDLE 0x112 (X button 2, HID button 3) held at "
            "the end in kernel, at least 6.5 s (since 2.000 s, pressed), no motion; below the "
            "held-idle threshold (15 s)") in out
    assert "stopped or killed" not in out          # libinput never writes our end marker
    assert "verdict: clean" in out
    assert main(["analyze", "--json", str(p)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["end"] == {"t": 8.5, "how": "libinput's 'Current time' comments"}
    (h,) = doc["held_at_end"]
    assert (h["code"], h["held_at_least"], h["motion_since"], h["rule"], h["exact_end"]) == (
        0x112, 6.5, False, None, False)


def test_plain_recording_comments_make_it_held_idle(tmp_path, capsys):
    """Reports until t = 17.5: the comment at 10:00:20 bounds the end at >= 18.5 s, so the
    middle button was held >= 16.5 s with no motion: held-idle, found only through the comments."""
    p = _write(tmp_path, 17.5)
    assert main(["analyze", str(p)]) == 3
    out = capsys.readouterr().out
    assert "[held-idle]" in out and "reported as held-idle" in out
    assert "at least 16.5 s" in out


def test_wall_clock_end_bounds():
    assert wall_clock_end([]) is None
    assert wall_clock_end([(100, None)]) is None
    # a comment one second after a frame at t = 1: offset <= 100; the last comment at 110
    assert wall_clock_end([(100, 1.0), (110, 1.0)]) == 10.0
    # past midnight: 23:59:58 then 00:00:03
    assert wall_clock_end([(86398, 5.0), (3, 5.0)]) == 86403 - (86399 - 5.0)


def test_phantom_middle_capture(capsys):
    assert main(["analyze", str(CAPTURES / "phantom-middle.yml")]) == 3
    out = capsys.readouterr().out
    assert ("held at the end: Logitech M705: BTN_MIDDLE 0x112 (X button 2, HID button 3) held at "
            "the end in kernel and X, at least 0.9 s (since 1.044 s, pressed), no motion; reported "
            "as press-after-connect") in out


def test_killed_own_capture_keeps_its_note(tmp_path, capsys):
    text = (CAPTURES / "phantom-middle.yml").read_text(encoding="utf-8")
    cut = text[:text.index("# end of capture")]
    p = tmp_path / "killed.yml"
    p.write_text(cut, encoding="utf-8")
    assert main(["analyze", str(p)]) == 3
    assert "stopped or killed" in capsys.readouterr().out


def test_markdown(capsys):
    assert main(["analyze", "--markdown", str(CAPTURES / "original-bug.yml")]) == 3
    out = capsys.readouterr().out
    assert out.startswith("### phantombutton analyze: `original-bug.yml`\n")
    assert "Verdict: **PHANTOM** - 1 finding(s)" in out
    assert "| X input driver | `libinput` |" in out
    assert "#### [1] unknown-button:" in out and "<details><summary>HID++ traffic before it (8 frames)" in out
    assert main(["analyze", "--markdown", "--json", str(CAPTURES / "original-bug.yml")]) == 2
