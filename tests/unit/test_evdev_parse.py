"""Raw struct input_event parsing and frame -> observation conversion (pure parts of the
evdev source; the live node is tested in the qemu lab)."""

from __future__ import annotations

import struct

from phantombutton.buttons import hid_button_scancode
from phantombutton.detect.events import KeyEvent, Motion, WheelFrame
from phantombutton.input.evdev_node import pack_keymap_entry, parse_key_bits
from phantombutton.input.evdev_source import parse_events
from phantombutton.input.frames import frames_to_observations

EV = struct.Struct("=qqHHi")
N = "/dev/input/event5"


def raw(*events):
    return b"".join(EV.pack(s, u, t, c, v) for s, u, t, c, v in events)


def test_phantom_press_frame():
    # what hid-logitech-dj + hid-input emit for HID button 16: MSC_SCAN, EV_KEY 0x11F 1, SYN
    buf = raw((12, 500000, 4, 4, 0x9000F), (12, 500000, 1, 0x11F, 1), (12, 500000, 0, 0, 0))
    ev = parse_events(buf + b"\x01\x02")  # a torn tail is ignored
    assert ev == [(12.5, 4, 4, 0x9000F), (12.5, 1, 0x11F, 1), (12.5, 0, 0, 0)]
    obs, dropped = frames_to_observations(N, ev)
    assert obs == [KeyEvent(12.5, N, 0x11F, 1)] and not dropped


def test_motion_is_one_observation_per_frame_flagged_wheel_hwheel_or_pointer():
    ev = parse_events(raw((1, 0, 2, 0, 3), (1, 0, 2, 1, -2), (1, 0, 0, 0, 0),
                          (1, 8000, 2, 8, 1), (1, 8000, 0, 0, 0),
                          (1, 9000, 1, 30, 1), (1, 9000, 0, 0, 0),
                          (1, 10000, 2, 6, 1), (1, 10000, 2, 0, 1), (1, 10000, 0, 0, 0)))
    obs, _ = frames_to_observations(N, ev)
    # the REL_WHEEL frame is also a WheelFrame (hi-res 0: a wheel without REL_WHEEL_HI_RES);
    # every key is given, as a capture has it (the rules keep the mouse buttons)
    assert obs == [Motion(1.0, N), Motion(1.008, N, wheel=True, pointer=False), WheelFrame(1.008, N, 0, 1),
                   KeyEvent(1.009, N, 30, 1), Motion(1.01, N, wheel=True, pointer=True, hwheel=True)]


def test_frame_cut_before_its_syn_still_moves():
    obs, dropped = frames_to_observations(N, [(3.0, 1, 0x110, 1), (3.0, 2, 0, 4)])
    assert obs == [KeyEvent(3.0, N, 0x110, 1), Motion(3.0, N)] and not dropped


def test_syn_dropped_is_reported():
    _, dropped = frames_to_observations(N, parse_events(raw((1, 0, 0, 3, 0))))
    assert dropped


def test_key_bits_and_keymap_entry():
    buf = bytearray(96)
    buf[0x11F // 8] |= 1 << (0x11F % 8)
    assert parse_key_bits(bytes(buf)) == frozenset({0x11F})
    assert hid_button_scancode(0x11F) == 0x00090010
    entry = pack_keymap_entry(0x00090010, 0)
    assert len(entry) == 40 and entry[1] == 4 and entry[8:12] == bytes([0x10, 0, 9, 0])


def test_wheel_frame_sums_hi_res_and_low_res_of_one_syn_frame():
    ev = parse_events(raw((2, 0, 2, 11, 60), (2, 0, 2, 8, 1), (2, 0, 0, 0, 0),
                          (2, 4000, 2, 11, 60), (2, 4000, 0, 0, 0)))
    obs, _ = frames_to_observations(N, ev)
    assert [o for o in obs if isinstance(o, WheelFrame)] == [WheelFrame(2.0, N, 60, 1), WheelFrame(2.004, N, 60, 0)]
