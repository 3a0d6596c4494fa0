"""Bad input gives one BadInput line with the line number; killed captures stay readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

import synthetic as S
from phantombutton.capture.reader import Capture
from phantombutton.detect.events import KeyEvent, Motion
from phantombutton.errors import BadInput


def read_all(p):
    cap = Capture(p)
    return cap, list(cap.observations())


def bad(p) -> str:
    with pytest.raises(BadInput) as e:
        read_all(p)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg
    return msg


def test_not_yaml(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("my mouse is broken\nplease help\n")
    assert "line 1: not a libinput record file" in bad(p)


def test_yaml_but_not_a_recording(tmp_path):
    p = tmp_path / "other.yml"
    p.write_text("name: foo\nitems:\n  - 1\n")
    assert "no `version:` key" in bad(p)


def test_wrong_version(tmp_path):
    p = tmp_path / "v2.yml"
    src = tmp_path / "ok.yml"
    S.write_clean(src, n_events=30)
    p.write_text(src.read_text().replace("version: 1\n", "version: 2\n", 1))
    msg = bad(p)
    assert "line 4: capture format version 2" in msg and "reads version 1" in msg


def test_binary_junk(tmp_path):
    p = tmp_path / "junk.yml"
    junk = os.urandom(64).replace(b"\n", b"\xff")   # a random newline would move the line
    p.write_bytes(b"version: 1\n" + junk + b"\x00\xff\xfe\n" * 3)
    assert "line 2: binary data" in bad(p)


def test_png_is_binary(tmp_path):
    p = tmp_path / "shot.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "line 1:" in bad(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.yml"
    p.write_text("")
    assert "line 1: empty file" in bad(p)


def test_truncated_mid_frame_at_line_boundary(tmp_path):
    src = tmp_path / "ok.yml"
    S.write_clean(src, n_events=300)
    lines = src.read_text().splitlines(keepends=True)
    # cut after the first event of some frame (a `- [` line right after `- evdev:`)
    cut = next(i for i in range(len(lines) - 1, 0, -1)
               if lines[i - 1].strip() == "- evdev:" and i < len(lines) - 10)
    p = tmp_path / "cut.yml"
    p.write_text("".join(lines[:cut + 1]))
    msg = bad(p)
    assert f"line {cut + 1}: truncated in the middle of an entry (evdev frame started at line {cut})" in msg


def test_truncated_mid_line(tmp_path):
    src = tmp_path / "ok.yml"
    S.write_clean(src, n_events=300)
    data = src.read_bytes()
    p = tmp_path / "cut.yml"
    p.write_bytes(data[: len(data) * 2 // 3])
    assert "truncated in the middle" in bad(p)


def test_truncated_inside_hid_list(tmp_path):
    src = tmp_path / "bug.yml"
    S.write_original_bug(src, motion_frames=3)
    text = src.read_text()
    i = text.index("hidraw2: [\n") + len("hidraw2: [\n")
    p = tmp_path / "cut.yml"
    p.write_text(text[:i])
    assert "truncated in the middle of an entry (byte list" in bad(p)


def test_malformed_event_line(tmp_path):
    src = tmp_path / "ok.yml"
    S.write_clean(src, n_events=30)
    lines = src.read_text().splitlines(keepends=True)
    i = next(i for i, ln in enumerate(lines) if ln.startswith("    - ["))
    lines[i] = "    - [  0, oops, 2, 0, 1]\n"
    p = tmp_path / "bad.yml"
    p.write_text("".join(lines))
    assert f"line {i + 1}: malformed evdev event" in bad(p)


def test_unknown_keys_ignored(tmp_path):
    src = tmp_path / "ok.yml"
    S.write_clean(src, n_events=60)
    text = src.read_text()
    text = text.replace("ndevices: 1\n", "ndevices: 1\nfuture_top: {a: [1, 2]}\nnested:\n  deep:\n    - x\n", 1)
    text = text.replace("  events:\n", "  future_device_key:\n    - [1, 2]\n  events:\n  - future: {x: 1}\n", 1)
    p = tmp_path / "future.yml"
    p.write_text(text)
    _, a = read_all(src)
    _, b = read_all(p)
    assert a == b and len(a) > 10
    yaml.safe_load(text)


def test_cli_bad_input_one_line_exit_1(tmp_path):
    p = tmp_path / "junk.yml"
    p.write_bytes(b"\x00\x01\x02garbage")
    r = subprocess.run([sys.executable, "-m", "phantombutton.cli.main", "analyze", str(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and "line 1: binary data" in r.stderr
    assert "Traceback" not in r.stderr


WRITER = textwrap.dedent("""
    import sys, time
    import synthetic as S
    from phantombutton.capture.record import CaptureWriter
    w = CaptureWriter(sys.argv[1], [S.m705_header()], S.meta())
    t = S.START
    w.evdev(S.NODE, S.button_frame(t, 0x11F, 1))
    i = 0
    while True:
        i += 1
        t += 0.008
        w.evdev(S.NODE, S.motion_frame(t, i % 7 - 3, 1))
        if i % 5 == 0:
            w.hid(S.RECEIVER, t, bytes([0x10, 0x01, 0x81, 0x01, 0x02, 0x00, 0x00]))
        if i % 50 == 0:
            time.sleep(0.001)
""")


@pytest.mark.parametrize("wait_frames", [1, 500, 5000])
def test_sigkill_leaves_readable_capture(tmp_path, wait_frames):
    p = tmp_path / "killed.yml"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(p)],   # synthetic.py is beside this file
                            env=dict(os.environ, PYTHONPATH=os.path.dirname(__file__)))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if p.exists() and p.read_text().count("- evdev:") > wait_frames:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = p.read_text()
    assert text.endswith("\n")
    cap, obs = read_all(p)
    assert not cap.complete
    assert obs[1] == KeyEvent(0.0, S.NODE, 0x11F, 1)
    frames = text.count("- evdev:")
    assert frames > wait_frames
    assert sum(isinstance(o, Motion) for o in obs) == frames - 1
    doc = yaml.safe_load(text)
    assert len(doc["devices"][0]["events"]) == frames + text.count("- hid:")
