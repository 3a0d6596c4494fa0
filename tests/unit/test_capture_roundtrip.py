"""Writer -> reader round trip, YAML validity, keycode hiding, peers' parsers."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest
import yaml

import synthetic as S
from phantombutton.capture.reader import Capture, read_headers, read_observations
from phantombutton.capture.record import CaptureWriter, DeviceHeader
from phantombutton.detect.events import (
    DeviceAdded, DeviceInfo, DeviceRemoved, HeldState, HidppTraffic, KeyEvent, Motion, XButtons,
)

T0 = S.START
KBD = "/dev/input/event6"


def kbd_header() -> DeviceHeader:
    return DeviceHeader(node=KBD, name="Logitech K270", id=(3, 0x046D, 0x4003, 0x111),
                        codes={0: [0, 1, 4], 1: list(range(1, 120)), 4: [4]},
                        info=DeviceInfo(node=KBD, name="Logitech K270", product=0x4003, slot=2))


def write_sample(path, show_keycodes=False):
    w = CaptureWriter(path, [S.m705_header(), kbd_header()],
                      S.meta(held={S.NODE: [0x11F]}, x=[XButtons(T0, 11, S.NODE, False, frozenset({20}))]),
                      show_keycodes=show_keycodes)
    w.evdev(S.NODE, S.motion_frame(T0 + 0.1, 3, -2))
    w.hid(S.RECEIVER, T0 + 0.2, bytes([0x10, 0x01, 0x41, 0x04, 0x02, 0x1B, 0x10]))
    w.hid(S.RECEIVER, T0 + 0.21, bytes(range(0x11, 0x11 + 20)))                     # > 16 bytes
    w.evdev(S.NODE, S.button_frame(T0 + 0.25, 0x110, 1))
    w.evdev(KBD, [(T0 + 0.3, 4, 4, 0x70013), (T0 + 0.3, 1, 25, 1), (T0 + 0.3, 0, 0, 0)])   # KEY_P
    w.hid(S.RECEIVER, T0 + 0.31, bytes([0x20, 0x02, 0x01, 0x00, 0x00, 0x13] + [0] * 9))   # DJ keyboard
    w.observation(XButtons(T0 + 0.4, 11, S.NODE, False, frozenset({1, 20})))
    w.observation(DeviceRemoved(T0 + 0.5, S.NODE))
    w.observation(DeviceAdded(T0 + 0.6, S.M705_INFO))
    w.observation(HeldState(T0 + 0.61, S.NODE, frozenset()))
    w.evdev(S.NODE, S.button_frame(T0 + 0.7, 0x110, 0))
    w.close()
    return w


def test_round_trip_observations(tmp_path):
    p = tmp_path / "c.yml"
    w = write_sample(p)
    cap = Capture(p)
    obs = list(cap.observations())
    assert cap.complete and cap.version == 1 and cap.hid_reports == 3
    assert cap.evdev_events == w.events == 3 + 3 + 3 + 3
    m705 = S.M705_INFO
    added = [o for o in obs if isinstance(o, DeviceAdded)]
    assert added[0] == DeviceAdded(0.0, DeviceInfo(
        node=S.NODE, name="Logitech M705", vendor=0x046D, product=0x101B, slot=1, receiver_node=S.RECEIVER,
        x_slave_id=11, buttons=frozenset(range(0x110, 0x120)), settings=(("side-scroll", "off"),)), at_start=True)
    assert added[1].device.node == KBD and added[1].device.slot == 2 and added[1].at_start
    assert added[2] == DeviceAdded(0.6, m705, at_start=False)   # a hotplug during the capture
    rest = [o for o in obs if not isinstance(o, DeviceAdded)]
    assert rest == [
        HeldState(0.0, S.NODE, frozenset({0x11F})),
        XButtons(0.0, 11, S.NODE, False, frozenset({20})),
        Motion(0.1, S.NODE),
        HidppTraffic(0.2, S.RECEIVER, bytes([0x10, 0x01, 0x41, 0x04, 0x02, 0x1B, 0x10])),
        HidppTraffic(0.21, S.RECEIVER, bytes(range(0x11, 0x11 + 20))),
        KeyEvent(0.25, S.NODE, 0x110, 1),
        KeyEvent(0.3, KBD, 30, 1),                                   # KEY_P hidden as KEY_A
        HidppTraffic(0.31, S.RECEIVER, bytes([0x20, 0x02, 0x01] + [0] * 12)),   # keys zeroed
        XButtons(0.4, 11, S.NODE, False, frozenset({1, 20})),
        DeviceRemoved(0.5, S.NODE),
        HeldState(0.61, S.NODE, frozenset()),
        KeyEvent(0.7, S.NODE, 0x110, 0),
    ]


def test_file_is_yaml_and_libinput_shaped(tmp_path):
    p = tmp_path / "c.yml"
    write_sample(p)
    d = yaml.safe_load(p.read_text())
    assert d["version"] == 1 and d["ndevices"] == len(d["devices"]) == 1
    dev = d["devices"][0]
    assert dev["node"] == S.NODE and dev["evdev"]["id"] == [3, 0x046D, 0x101B, 0x111]
    assert dev["evdev"]["codes"][1] == list(range(0x110, 0x120)) and dev["hid"] == list(S.MOUSE_DESCRIPTOR)
    ev = dev["events"]
    assert ev[0] == {"evdev": [[0, 100000, 2, 0, 3], [0, 100000, 2, 1, -2], [0, 100000, 0, 0, 0]]}
    assert ev[1] == {"hid": {"time": [0, 200000], "hidraw2": [0x10, 0x01, 0x41, 0x04, 0x02, 0x1B, 0x10]}}
    assert ev[2]["hid"]["hidraw2"] == list(range(0x11, 0x11 + 20))
    assert all(e["evdev"][-1][2:] == [0, 0, 0] for e in ev if "evdev" in e)
    pb = d["phantombutton"]
    assert pb["start"] == [1000, 0] and pb["held_at_start"] == {S.NODE: [0x11F]}
    assert pb["hidraw"][0]["descriptor"] == S.RECEIVER_DESCRIPTOR.hex()
    assert pb["other_devices"][0]["node"] == KBD


def test_hid_entries_exactly_like_libinput(tmp_path):
    """libinput-record.c handle_hidraw(): `- hid:`, `time: [%3lu, %6lu]`, 16 bytes a line."""
    buf = io.StringIO()
    w = CaptureWriter(buf, [S.m705_header()], S.meta(), describe_hid=lambda d: "")
    w.hid(S.RECEIVER, T0 + 1.5, bytes(range(17)))
    text = buf.getvalue().split("  events:\n", 1)[1]
    assert text == ("  - hid:\n      time: [  1, 500000]\n      hidraw2: [\n"
                    "        " + ", ".join(f"0x{i:02x}" for i in range(16)) + ",\n"
                    "        0x10\n      ]\n")


def test_show_keycodes_keeps_keys(tmp_path):
    p = tmp_path / "k.yml"
    write_sample(p, show_keycodes=True)
    keys = [o for o in read_observations(p) if isinstance(o, KeyEvent) and o.node == KBD]
    assert keys == [KeyEvent(0.3, KBD, 25, 1)]
    assert "0x70013" not in p.read_text() and str(0x70013) in p.read_text()


def test_keycodes_hidden_by_default(tmp_path):
    p = tmp_path / "k.yml"
    write_sample(p)
    text = p.read_text()
    assert str(0x70013) not in text                 # keyboard scancode hidden
    assert '"frame": [[0, 300000, 4, 4, 30], [0, 300000, 1, 30, 1]' in text
    assert "0x13" not in text.split("keyboard report, keys hidden", 1)[1].split("]", 1)[0]
    assert str(0x90001) in text                     # the button's scancode is evidence: kept


def test_read_headers_stops_early(tmp_path):
    p = tmp_path / "c.yml"
    write_sample(p)
    cap = read_headers(p)
    assert [d.node for d in cap.devices] == [S.NODE, KBD]
    assert cap.meta["x_input_driver"] == "libinput" and cap.meta["kernel"] == "6.1.0-synthetic"


PLAIN_LIBINPUT = """\
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
    # Supported Events:
    # Event type 0 (EV_SYN)
    name: "Logitech M705"
    id: [3, 1133, 4123, 273]
    codes:
      0: [0, 1, 2, 3, 4] # EV_SYN
      1: [272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287] # EV_KEY
      2: [0, 1, 6, 8, 11, 12] # EV_REL
      4: [4] # EV_MSC
    properties: []
  hid: [
    0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x85, 0x02, 0x09, 0x01, 0xa1, 0x00, 0x05, 0x09, 0x19, 0x01,
    0xc0, 0xc0
  ]
  udev:
    properties:
    - ID_INPUT=1
    - ID_INPUT_MOUSE=1
  quirks:
  - AttrSizeHint=32x32
  libinput:
    capabilities: [pointer]
  events:
  - hid:
      time: [  0,      0]
      hidraw1: [
        0x10, 0x01, 0x41, 0x04, 0x02, 0x1b, 0x10
      ]
  - evdev:
    - [  0,      0,   4,   4,  589840] # EV_MSC / MSC_SCAN             589840
    - [  0,      0,   1, 287,       1] # EV_KEY / (null)                    1
    - [  0,      0,   0,   0,       0] # ------------ SYN_REPORT (0) ---------- +0ms
  - libinput:
    - {time: 0.000010, type: POINTER_BUTTON, button: 287, state: pressed, seat_count: 1}
  - evdev:
    - [  0,   8011,   2,   0,       1] # EV_REL / REL_X                     1 (+1)
    - [  0,   8011,   0,   0,       0] # ------------ SYN_REPORT (0) ---------- +8ms
  - future-entry-kind: {whatever: [1, 2]}
"""


def test_plain_libinput_file(tmp_path):
    p = tmp_path / "plain.yml"
    p.write_text(PLAIN_LIBINPUT)
    cap = Capture(p)
    obs = list(cap.observations())
    assert not cap.complete
    assert obs == [
        DeviceAdded(0.0, DeviceInfo(node="/dev/input/event3", name="Logitech M705", vendor=0x046D,
                                    product=0x101B, buttons=frozenset(range(0x110, 0x120))), at_start=True),
        HidppTraffic(0.0, "/dev/hidraw1", bytes([0x10, 0x01, 0x41, 0x04, 0x02, 0x1B, 0x10])),
        KeyEvent(0.0, "/dev/input/event3", 0x11F, 1),
        Motion(0.008011, "/dev/input/event3"),
    ]
    assert yaml.safe_load(PLAIN_LIBINPUT)["devices"][0]["events"][2]["libinput"]


def _libinput_env():
    # the tool runs `/usr/bin/env python3`; Debian's python3 has python3-libevdev and yaml
    return {**os.environ, "PATH": "/usr/bin:/bin:" + os.environ.get("PATH", "")}


@pytest.mark.skipif(not shutil.which("libinput") or not os.path.exists(
    "/usr/libexec/libinput/libinput-analyze-recording"), reason="libinput-tools not installed")
def test_libinput_analyze_recording_reads_our_capture(tmp_path):
    p = tmp_path / "bug.yml"
    S.write_original_bug(p, motion_frames=20)
    r = subprocess.run(["libinput", "analyze", "recording", str(p)], capture_output=True, text=True,
                       env=_libinput_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split("|")[0].strip() == "Time"
    assert "KEY_11F" in lines[2] and "589840" in lines[2]         # the phantom press, MSC_SCAN
    assert sum(1 for ln in lines if "KEY_11F" in ln) >= 2          # held through the motion


def test_end_marker_time_extends_the_capture(tmp_path):
    p = tmp_path / "end.yml"
    w = CaptureWriter(p, [S.m705_header()], S.meta())
    w.evdev(S.NODE, S.button_frame(T0 + 1.0, 0x112, 1))
    w.close(end=T0 + 30.0)
    cap = Capture(p)
    list(cap.observations())
    assert cap.complete and cap.end_time == 30.0
    assert yaml.safe_load(p.read_text())["devices"][0]["events"][0]["evdev"][1][3] == 0x112
