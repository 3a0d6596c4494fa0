"""`phantombutton analyze`: verdict, cause, evidence, exit codes, --json."""

from __future__ import annotations

import json
import subprocess
import sys

import synthetic as S
from phantombutton.cli.main import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "phantombutton.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


def test_original_bug_named_with_cause_and_fix(tmp_path, capsys):
    p = tmp_path / "bug.yml"
    S.write_original_bug(p)
    assert main(["analyze", str(p)]) == 3
    out = capsys.readouterr().out
    assert "verdict: PHANTOM" in out
    assert "0x11F (X button 20, HID button 16) held since 0.550 s [unknown-button]" in out
    assert "still held at the end of the capture" in out
    assert ("register 0x01 (mouse mode (side-scroll)) written (slot 1) by the kernel's connect probe "
            "or another program, software id 0x0B (Solaar)") in out
    assert "HID++ 1.0 error 0x01 to request 0x00 0x1B (slot 1) by another program, software id 0x0B (Solaar)" in out
    assert "settings: side-scroll off (when the device was seen at 0.000 s); side-scroll off (read at 0.530 s)" in out
    assert "likely cause: the receiver reported a button the M705 does not have" in out
    assert "suggested fix: phantombutton release /dev/input/event5 20" in out
    # X held it too, and the kernel never released it: no X mismatch, one finding
    assert out.count("\n[") == 1


def test_clean_capture_exit_0(tmp_path, capsys):
    p = tmp_path / "clean.yml"
    n = S.write_clean(p, n_events=20000)   # includes long drags with motion
    assert main(["analyze", str(p)]) == 0
    out = capsys.readouterr().out
    assert "verdict: clean" in out and f"{n} evdev events" in out


def test_json_output(tmp_path):
    p = tmp_path / "bug.yml"
    S.write_original_bug(p, motion_frames=10)
    r = run("analyze", "--json", str(p))
    assert r.returncode == 3, r.stderr
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "phantom" and doc["complete"] is True
    (f,) = doc["findings"]
    assert (f["rule"], f["code"], f["x_button"], f["slot"], f["wpid"], f["x_slave_id"]) == (
        "unknown-button", 0x11F, 20, 1, 0x101B, 11)
    assert f["ended"] is None and len(f["hidpp_context"]) == 4


def test_released_phantom_and_held_idle(tmp_path, capsys):
    from phantombutton.capture.record import CaptureWriter

    p = tmp_path / "mid.yml"
    with CaptureWriter(p, [S.m705_header()], S.meta()) as w:
        w.evdev(S.NODE, S.button_frame(S.START + 1, 0x112, 1))      # middle held, nothing moves
        w.evdev(S.NODE, S.button_frame(S.START + 40, 0x112, 0))
    assert main(["analyze", str(p)]) == 3
    out = capsys.readouterr().out
    assert "BTN_MIDDLE 0x112 (X button 2, HID button 3) released at 40.000 s since 1.000 s [held-idle]" in out


def test_help_documents_exit_code():
    r = run("analyze", "--help")
    assert r.returncode == 0 and "3 a phantom" in r.stdout.replace("\n  ", " ")


def test_missing_file_one_line_exit_1():
    r = run("analyze", "/nonexistent/capture.yml")
    assert r.returncode == 1 and "cannot open" in r.stderr and r.stderr.count("\n") == 1


def test_quiet_end_of_capture_counts_for_held_idle(tmp_path, capsys):
    from phantombutton.capture.record import CaptureWriter

    p = tmp_path / "quiet.yml"
    w = CaptureWriter(p, [S.m705_header()], S.meta())
    w.evdev(S.NODE, S.button_frame(S.START + 1, 0x112, 1))    # pressed, then nothing for 29 s
    w.close(end=S.START + 30)
    assert main(["analyze", str(p)]) == 3
    out = capsys.readouterr().out
    assert "[held-idle]" in out and "still held at the end of the capture" in out
    assert "held 29.0 s" in out
