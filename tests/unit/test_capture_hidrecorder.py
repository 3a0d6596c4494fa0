"""hid-recorder export, checked against hid-tools itself when it is installed."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import pytest

import synthetic as S
from phantombutton.capture.hidrecorder import export
from phantombutton.errors import BadInput

# hid-tools is a test dependency (pyproject [test]): its hid-decode sits beside our python
HID_DECODE = shutil.which("hid-decode", path=os.path.dirname(sys.executable)) or shutil.which("hid-decode")


def test_export_lines(tmp_path):
    p = tmp_path / "bug.yml"
    S.write_original_bug(p, motion_frames=3)
    out = io.StringIO()
    assert export(p, out) == 4
    lines = [ln for ln in out.getvalue().splitlines() if not ln.startswith("#")]
    desc = S.RECEIVER_DESCRIPTOR
    assert lines[:4] == [f"R: {len(desc)} {desc.hex(' ')}", "N: Logitech USB Receiver",
                         "P: usb-0000:00:14.0-1/input2", "I: 3 046d c52b"]
    assert lines[4] == "E: 000000.500000 7 10 01 41 04 02 1b 10"
    assert lines[7] == "E: 000000.530000 7 10 01 81 01 00 00 00"
    assert not any(ln.startswith("D:") for ln in lines)     # one node: no device index


def test_export_two_nodes_uses_device_index(tmp_path):
    from phantombutton.capture.record import CaptureWriter

    p = tmp_path / "two.yml"
    m = S.meta()
    m.hidraw.append(type(m.hidraw[0])("/dev/hidraw4", "Logitech M705", "usb-0000:00:14.0-1/input2:1",
                                      (3, 0x046D, 0x101B), S.RECEIVER_DESCRIPTOR))
    with CaptureWriter(p, [S.m705_header()], m) as w:
        w.hid(S.RECEIVER, S.START + 1, bytes([0x10, 1, 0x41, 4, 2, 0x1B, 0x10]))
        w.hid("/dev/hidraw4", S.START + 2, bytes([0x10, 1, 0x81, 1, 2, 0, 0]))
    text = io.StringIO()
    export(p, text)
    body = [ln for ln in text.getvalue().splitlines() if not ln.startswith("#")]
    assert body[0] == "D: 0" and "D: 1" in body and "N: Logitech M705" in body
    assert body[-2:] == ["D: 1", "E: 000002.000000 7 10 01 81 01 02 00 00"]


def test_export_without_hid_traffic_is_bad_input(tmp_path):
    p = tmp_path / "clean.yml"
    S.write_clean(p, n_events=30)
    with pytest.raises(BadInput, match="no HID reports"):
        export(p, io.StringIO())


@pytest.mark.skipif(HID_DECODE is None, reason="hid-tools (pip install hid-tools) not installed")
def test_hid_decode_reads_export_and_capture(tmp_path):
    p = tmp_path / "bug.yml"
    S.write_original_bug(p, motion_frames=3)
    hid = tmp_path / "bug.hid"
    with open(hid, "w") as f:
        export(p, f)
    r = subprocess.run([HID_DECODE, str(hid)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "Report ID (16)" in r.stdout and "Report ID (17)" in r.stdout
    assert "Usage Page (Vendor Defined Page 1)" in r.stdout
    # hid-decode also reads our YAML as a libinput recording (the mouse's descriptor)
    r = subprocess.run([HID_DECODE, str(p)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Usage (Mouse)" in r.stdout, r.stderr


@pytest.mark.skipif(HID_DECODE is None, reason="hid-tools not installed")
def test_hid_replay_parser_accepts_event_lines(tmp_path):
    """hid-replay parses E: lines with `parse("E: {sec:d}.{usec:d} {len:2d}{data}")`."""
    py = os.path.join(os.path.dirname(HID_DECODE), "python")
    p = tmp_path / "bug.yml"
    S.write_original_bug(p, motion_frames=3)
    hid = tmp_path / "bug.hid"
    with open(hid, "w") as f:
        export(p, f)
    code = ("import sys\nfrom parse import parse, findall\n"
            "for line in open(sys.argv[1]):\n"
            "    if line.startswith('E:'):\n"
            "        r = parse('E: {sec:d}.{usec:d} {len:2d}{data}', line)\n"
            "        data = [int(x[0], 16) for x in findall(' {:S}', r['data'])]\n"
            "        assert len(data) == r['len'], line\n"
            "        print(r['sec'], r['usec'], bytes(data).hex())\n")
    r = subprocess.run([py if os.path.exists(py) else sys.executable, "-c", code, str(hid)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["0 500000 10014104021b10", "0 510000 10018f001b0100",
                                     "0 520000 10018001000000", "0 530000 10018101000000"]
