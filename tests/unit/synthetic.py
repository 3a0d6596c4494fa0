"""Synthetic captures for the unit tests and benchmarks, written by the product's CaptureWriter.

Not a substitute for the lab's captures (real kernel, real receiver emulation): these only
exercise the file format and the rules. The device header mirrors what a Unifying M705
child node looks like under hid-logitech-dj (bus 3, 046d:101b, buttons 0x110..0x11F).
"""

from __future__ import annotations

import os
import random

from phantombutton.buttons import BTN_MOUSE_FIRST, BTN_MOUSE_LAST, hid_button_scancode
from phantombutton.capture.record import CaptureMeta, CaptureWriter, DeviceHeader, HidrawHeader
from phantombutton.detect.events import DeviceInfo, XButtons

NODE = "/dev/input/event5"
RECEIVER = "/dev/hidraw2"
START = 1000.0
M705_INFO = DeviceInfo(node=NODE, name="Logitech M705", vendor=0x046D, product=0x101B, slot=1,
                       receiver_node=RECEIVER, x_slave_id=11, settings=(("side-scroll", "off"),))
# a plausible Unifying receiver HID++ interface descriptor (usage page 0xFF00, reports 0x10/0x11)
RECEIVER_DESCRIPTOR = bytes.fromhex(
    "0600ff0901a10185107508950615" "0026ff000901810009019100c0"
    "0600ff0902a10185117508951315" "0026ff000902810009029100c0")
# the mouse report of a DJ child: 16 buttons, 12-bit X/Y, wheel, AC pan
MOUSE_DESCRIPTOR = bytes.fromhex(
    "05010902a10185020901a1000509190129101500250195107501810205011601f826ff07"
    "750c95020930093181061581257f750895010938810605"
    "0c0a380295018106c0c0")


def m705_header(node: str = NODE, info: DeviceInfo = M705_INFO) -> DeviceHeader:
    return DeviceHeader(
        node=node, name=info.name, id=(3, 0x046D, 0x101B, 0x111),
        codes={0: [0, 1, 2, 4], 1: list(range(BTN_MOUSE_FIRST, BTN_MOUSE_LAST + 1)), 2: [0, 1, 6, 8, 11, 12],
               4: [4]},
        properties=[], hid=MOUSE_DESCRIPTOR, info=info,
        udev=["ID_INPUT=1", "ID_INPUT_MOUSE=1", "LIBINPUT_DEVICE_GROUP=3/46d/c52b:usb-0000:00:14.0-1"])


def meta(x_driver: str | None = "libinput", held: dict | None = None, x: list | None = None) -> CaptureMeta:
    return CaptureMeta(
        start=START, kernel="6.1.0-synthetic", x_input_driver=x_driver,
        hidraw=[HidrawHeader(RECEIVER, "Logitech USB Receiver", "usb-0000:00:14.0-1/input2",
                             (3, 0x046D, 0xC52B), RECEIVER_DESCRIPTOR, "RQR12.07_B0029")],
        held_at_start=held or {}, x_at_start=x or [], extra={"receiver": {"wpid_slot_1": "101B"}})


def motion_frame(t: float, dx: int, dy: int) -> list[tuple[float, int, int, int]]:
    return [(t, 2, 0, dx), (t, 2, 1, dy), (t, 0, 0, 0)]


def button_frame(t: float, code: int, value: int) -> list[tuple[float, int, int, int]]:
    return [(t, 4, 4, hid_button_scancode(code)), (t, 1, code, value), (t, 0, 0, 0)]


def write_original_bug(path: str | os.PathLike, motion_frames: int = 200, seed: int = 1) -> None:
    """The reported bug, as we understand it: the M705 reconnects, Solaar-like HID++ traffic
    (a 2.0 ping refused by the 1.0 mouse, register 0x01 written), the phantom 0x11F pressed,
    X holding button 20; the user keeps moving the mouse."""
    rnd = random.Random(seed)
    with CaptureWriter(path, [m705_header()], meta(x=[XButtons(START, 11, NODE, False, frozenset())])) as w:
        t = START + 0.5
        w.hid(RECEIVER, t, bytes([0x10, 0x01, 0x41, 0x04, 0x02, 0x1B, 0x10]))          # connected
        w.hid(RECEIVER, t + 0.010, bytes([0x10, 0x01, 0x8F, 0x00, 0x1B, 0x01, 0x00]))  # sw 0x0B ping
        w.hid(RECEIVER, t + 0.020, bytes([0x10, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00]))  # reg 0x01 set
        w.hid(RECEIVER, t + 0.030, bytes([0x10, 0x01, 0x81, 0x01, 0x00, 0x00, 0x00]))  # reads 00: off
        w.evdev(NODE, button_frame(t + 0.050, 0x11F, 1))
        w.observation(XButtons(t + 0.2, 11, NODE, False, frozenset({20})))
        w.observation(XButtons(t + 0.2, 2, None, True, frozenset({20})))
        t += 0.3
        for _ in range(motion_frames):
            t += 0.008
            w.evdev(NODE, motion_frame(t, rnd.randint(-5, 5), rnd.randint(-5, 5)))


def write_clean(path: str | os.PathLike, n_events: int = 3000, seed: int = 2,
                show_keycodes: bool = False) -> int:
    """Clicks, a long drag with motion, wheel: no phantom. Returns the evdev event count."""
    rnd = random.Random(seed)
    with CaptureWriter(path, [m705_header()], meta(), show_keycodes=show_keycodes) as w:
        t = START + 0.1
        while w.events < n_events:
            r = rnd.random()
            if r < 0.02:      # a click
                w.evdev(NODE, button_frame(t, 0x110, 1))
                w.evdev(NODE, button_frame(t + 0.09, 0x110, 0))
                t += 0.1
            elif r < 0.025:   # a long drag: 40 s with motion every 8 ms
                w.evdev(NODE, button_frame(t, 0x110, 1))
                for _ in range(5000):
                    t += 0.008
                    w.evdev(NODE, motion_frame(t, 1, 0))
                w.evdev(NODE, button_frame(t, 0x110, 0))
            elif r < 0.05:    # wheel
                w.evdev(NODE, [(t, 2, 8, -1), (t, 2, 11, -120), (t, 0, 0, 0)])
            else:
                w.evdev(NODE, motion_frame(t, rnd.randint(-9, 9), rnd.randint(-9, 9)))
            t += 0.008
    return w.events
