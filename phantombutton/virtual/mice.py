"""HID++ 2.0 mice of the receiver families, as `Hidpp20Spec`s, from the real dumps
(reference/solaar-device-docs; each value from the dump unless its comment says "guess"):
  MX Master 3S B034 (Bolt)            MX-Master-3S-B034.txt
  G305 4074 (Lightspeed)              G305-Lightspeed-Wireless-Gaming-Mouse-4074.txt
  Wireless Mouse M185 new 4054 (Nano) Wireless-Mouse-M185-new-4054.txt ("seen on the C534")
Feature flags: hidden 0x40, internal 0x20; the dumps' "unknown:000010" is bit 0x10 (ENG).

MX Master 3S (B034): reference/solaar-device-docs/MX-Master-3S-B034.txt (Solaar 1.1.7, HID++ 4.5,
36 features, 8 REPROG_CONTROLS_V4 controls, HIRES_WHEEL multiplier 15 in low resolution with
HID target, THUMB_WHEEL not diverted, ADJUSTABLE_DPI 1000). Taken from the dump: the feature
table (ids, versions, hidden/internal flags), names, serial, unit and model ids, firmware
entities, the controls' ids, flags (mse, reprogrammable, divertable, raw XY, virtual),
groups and masks, the battery level, the wheel and dpi values.
Guessed (not in the dump): the task id of the virtual gesture control; those of the gesture
button and Smart Shift are the ids Solaar's task table gives the names the dump shows
("Gesture Button Navigation" 0x00A9, "Smart Shift" 0x00AD); the dpi list (200..8000 step
50, the range Logitech documents for this sensor), the thumb wheel's resolutions and capabilities, the firmware
build bytes beyond what Solaar prints.
The gesture button and Smart Shift report no HID button of their own when not diverted
(Solaar: they act through the firmware), so they carry no `hid_button`.
"""

from __future__ import annotations

from .device import Identity
from .hidpp20_device import (
    DIVERTABLE, HIDDEN, INTERNAL, Control, Feature, Firmware, Hidpp20Device, Hidpp20Spec, hidden,
)

MSE, REPROG, VIRTUAL = 0x01, 0x10, 0x80
RAW_XY, FORCE_RAW_XY, ANALYTICS = 0x01, 0x02, 0x04       # getCidInfo byte 8

CID_MIDDLE, CID_BACK, CID_FORWARD, CID_GESTURE = 0x0052, 0x0053, 0x0056, 0x00C3
ENG = 0x10   # the dumps' "unknown:000010" feature flag


def mx_master_3s_spec() -> Hidpp20Spec:
    ih, ihe = HIDDEN | INTERNAL, HIDDEN | INTERNAL | ENG
    features = [
        Feature(0x0000), Feature(0x0001), Feature(0x0003, version=4), Feature(0x0005),
        Feature(0x1D4B), Feature(0x0020), Feature(0x0021, version=1), Feature(0x0007),
        Feature(0x1004, version=3), Feature(0x1B04, version=5), Feature(0x1814, version=1),
        Feature(0x1815, version=2), Feature(0x2250, version=1), Feature(0x2201, version=2),
        Feature(0x2110), Feature(0x2121, version=1), Feature(0x2150), Feature(0x2251),
        Feature(0x00C3),
        Feature(0x1802, ihe), Feature(0x1803, ihe), Feature(0x1806, ihe, 8), Feature(0x1816, ihe),
        Feature(0x1805, ih), Feature(0x1830, ihe), Feature(0x1891, HIDDEN | INTERNAL | 0x08, 7),
        Feature(0x18A1, ihe), Feature(0x1E00, HIDDEN), Feature(0x1E02, ih), Feature(0x1602),
        Feature(0x1EB0, ihe), Feature(0x1861, ihe, 1), Feature(0x9300, ihe), Feature(0x9001, ihe),
        Feature(0x1E22, ihe), Feature(0x9205, ihe),
    ]
    button = MSE | REPROG | DIVERTABLE
    controls = [
        Control(0x0050, 0x0038, MSE, 1, 0x01, hid_button=1, flags2=ANALYTICS),      # Left Button
        Control(0x0051, 0x0039, MSE, 1, 0x01, hid_button=2, flags2=ANALYTICS),      # Right Button
        Control(CID_MIDDLE, 0x003A, button, 2, 0x03, hid_button=3, flags2=RAW_XY | ANALYTICS),
        Control(CID_BACK, 0x003C, button, 2, 0x03, hid_button=4, flags2=RAW_XY | ANALYTICS),
        Control(CID_FORWARD, 0x003E, button, 2, 0x03, hid_button=5, flags2=RAW_XY | ANALYTICS),
        Control(CID_GESTURE, 0x00A9, button, 2, 0x03, flags2=RAW_XY | ANALYTICS),
        Control(0x00C4, 0x00AD, button, 2, 0x03, flags2=RAW_XY | ANALYTICS),          # Smart Shift
        Control(0x00D7, 0x00B4, DIVERTABLE | VIRTUAL, 3, 0x00, flags2=RAW_XY | FORCE_RAW_XY),
    ]
    extra = bytes.fromhex("B03438FCA4E6")
    return Hidpp20Spec(
        features=features,
        name="MX Master 3S",
        firmware=[Firmware(1, "BL1", 0x69, 0x00, 0x0003, extra), Firmware(0, "RBM", 0x22, 0x00, 0x0003, extra)],
        unit_id=bytes.fromhex("CD2A6BB7"),
        model_id=bytes.fromhex("B03400000000"),
        transports=0x02,           # btleid only ("Transport IDs: {'btleid': 'B034'}")
        battery=(25, 0, 0),        # 25 %, discharging
        controls=controls,
        wheel_multiplier=15,       # roller (3, 24, 0), wheel flags 0x0C, dpi 1000 and its list: the defaults
        wheel_mode=0x00,           # low resolution, HID notification (as dumped)
    )


def mx_master_3s() -> Hidpp20Device:
    # the dump's slot on the Bolt receiver; the receiver's codename is the device name
    identity = Identity(wpid=0xB034, name="MX Master 3S", serial=bytes.fromhex("CD2A6BB7"),
                        activity=135, polling_ms=0, power_switch=0)
    return Hidpp20Device(identity, mx_master_3s_spec())


def mx_master_3s_stale_diversion() -> Hidpp20Device:
    """The MX Master 3S as a remapper left it when it exited: the middle button diverted to
    HID++ (temporary divert, which lasts until the mouse powers off), so its presses arrive
    only as REPROG_CONTROLS_V4 event 0 and never as a mouse report."""
    device = mx_master_3s()
    next(c for c in device.controls if c.cid == CID_MIDDLE).reporting = 0x01
    return device


def mx_master_3s_stale_thumb_wheel() -> Hidpp20Device:
    """The MX Master 3S with its thumb wheel left diverted to HID++ (setThumbwheelReporting
    mode 1, as Solaar's "Thumb Wheel Diversion" or logid's thumbwheel section set it): its
    turns arrive only as THUMB_WHEEL events, never as AC Pan."""
    device = mx_master_3s()
    device.thumb = [0x01, 0x00]
    return device


def g305() -> Hidpp20Device:
    """G305 Lightspeed Wireless Gaming Mouse 4074 on a Lightspeed receiver, HID++ 4.2."""
    features = [
        Feature(0x0000), Feature(0x0001), Feature(0x0003, version=2), Feature(0x0005),
        Feature(0x1D4B), Feature(0x1000), Feature(0x8070, version=6), Feature(0x8100),
        Feature(0x8110), Feature(0x8060), Feature(0x8090, version=1), Feature(0x00C2),
        *hidden(0x1802, 0x1803), Feature(0x1806, HIDDEN | INTERNAL, 4),
        *hidden(0x1811, 0x1805, 0x1830, 0x1890, 0x1DF3), Feature(0x1E00, HIDDEN),
        *hidden(0x1EB0, 0x1861, 0x18B1, 0x1E22, 0x1801),
        Feature(0x2201, version=1),
    ]
    spec = Hidpp20Spec(
        features=features, name="G305 Lightspeed Wireless Gaming Mouse",
        firmware=[Firmware(1, "BOT", 0x69, 0x02, 0x0021), Firmware(0, "RQM", 0x68, 0x02, 0x0021)],
        unit_id=bytes.fromhex("F074D567"), model_id=bytes.fromhex("407400000000"),
        transports=0x04, battery=(50, 30, 0), controls=[], protocol=(4, 2),
        dpi=1600,   # the dpi list is the default's guess (200..8000 step 50)
    )
    identity = Identity(wpid=0x4074, name="G305", serial=bytes.fromhex("ED5E9515"),
                        polling_ms=1, power_switch=0x01)
    return Hidpp20Device(identity, spec)


def m185n() -> Hidpp20Device:
    """Wireless Mouse M185 new 4054 on a Nano receiver C534, HID++ 4.5, 19 features."""
    features = [
        Feature(0x0000), Feature(0x0001), Feature(0x0003), Feature(0x0005), Feature(0x0020),
        Feature(0x1B04), Feature(0x1D4B), Feature(0x2130), Feature(0x2205),
        *hidden(0x1802, 0x1810, 0x1830, 0x1850, 0x1869, 0x1890, 0x18B1, 0x1DF3),
        Feature(0x1E00, HIDDEN), *hidden(0x1F03),
    ]
    controls = [
        Control(0x0050, 0x0038, 0x11, 1, 0x01, hid_button=1),   # Left Button
        Control(0x0051, 0x0039, 0x11, 1, 0x01, hid_button=2),   # Right Button
        Control(0x0052, 0x003A, 0x31, 2, 0x03, hid_button=3),   # Middle Button, divertable
    ]
    spec = Hidpp20Spec(
        features=features, name="Wireless Mouse",
        firmware=[Firmware(0, "RQM", 0x64, 0x00, 0x0008)],
        unit_id=bytes(4), model_id=bytes(6), transports=0x00,
        battery=(0, 0, 0),        # no battery feature ("Battery status unavailable")
        controls=controls,
    )
    # the receiver keeps no serial of its own, but 0xB5 0x3n answers: Solaar shows "Serial
    # number: 00000000" and "power switch ... on the base", both from that register
    identity = Identity(wpid=0x4054, name="M185n", serial=bytes(4), polling_ms=8, power_switch=0x01)
    return Hidpp20Device(identity, spec)
