"""HID++ 2.0 mice of the receiver families, as `Hidpp20Spec`s, from the real dumps.

MX Master 3S (B034): reference/solaar-device-docs/MX-Master-3S-B034.txt (Solaar 1.1.7, HID++ 4.5,
36 features, 8 REPROG_CONTROLS_V4 controls, HIRES_WHEEL multiplier 15 in low resolution with
HID target, THUMB_WHEEL not diverted, ADJUSTABLE_DPI 1000). Taken from the dump: the feature
table (ids, versions, hidden/internal flags), names, serial, unit and model ids, firmware
entities, the controls' ids, flags (mse, reprogrammable, divertable, raw XY, virtual),
groups and masks, the battery level, the wheel and dpi values.
Guessed (not in the dump): the task ids of the gesture, Smart Shift and virtual gesture
controls (Solaar names them only), the dpi list (200..8000 step 50, the range Logitech
documents for this sensor), the thumb wheel's resolutions and capabilities, the firmware
build bytes beyond what Solaar prints.
The gesture button and Smart Shift report no HID button of their own when not diverted
(Solaar: they act through the firmware), so they carry no `hid_button`.
"""

from __future__ import annotations

from .device import Identity
from .hidpp20_device import HIDDEN, INTERNAL, Control, Feature, Firmware, Hidpp20Device, Hidpp20Spec

MSE, REPROG, DIVERTABLE, VIRTUAL = 0x01, 0x10, 0x20, 0x80
RAW_XY, FORCE_RAW_XY, ANALYTICS = 0x01, 0x02, 0x04       # getCidInfo byte 8

CID_MIDDLE, CID_BACK, CID_FORWARD, CID_GESTURE = 0x0052, 0x0053, 0x0056, 0x00C3


def mx_master_3s_spec() -> Hidpp20Spec:
    ih = HIDDEN | INTERNAL
    features = [
        Feature(0x0000), Feature(0x0001), Feature(0x0003, version=4), Feature(0x0005),
        Feature(0x1D4B), Feature(0x0020), Feature(0x0021, version=1), Feature(0x0007),
        Feature(0x1004, version=3), Feature(0x1B04, version=5), Feature(0x1814, version=1),
        Feature(0x1815, version=2), Feature(0x2250, version=1), Feature(0x2201, version=2),
        Feature(0x2110), Feature(0x2121, version=1), Feature(0x2150), Feature(0x2251),
        Feature(0x00C3),
        Feature(0x1802, ih), Feature(0x1803, ih), Feature(0x1806, ih, 8), Feature(0x1816, ih),
        Feature(0x1805, ih), Feature(0x1830, ih), Feature(0x1891, ih, 7), Feature(0x18A1, ih),
        Feature(0x1E00, HIDDEN), Feature(0x1E02, ih), Feature(0x1602), Feature(0x1EB0, ih),
        Feature(0x1861, ih, 1), Feature(0x9300, ih), Feature(0x9001, ih), Feature(0x1E22, ih),
        Feature(0x9205, ih),
    ]
    button = MSE | REPROG | DIVERTABLE
    controls = [
        Control(0x0050, 0x0038, MSE, 1, 0x01, hid_button=1, flags2=ANALYTICS),      # Left Button
        Control(0x0051, 0x0039, MSE, 1, 0x01, hid_button=2, flags2=ANALYTICS),      # Right Button
        Control(CID_MIDDLE, 0x003A, button, 2, 0x03, hid_button=3, flags2=RAW_XY | ANALYTICS),
        Control(CID_BACK, 0x003C, button, 2, 0x03, hid_button=4, flags2=RAW_XY | ANALYTICS),
        Control(CID_FORWARD, 0x003E, button, 2, 0x03, hid_button=5, flags2=RAW_XY | ANALYTICS),
        Control(CID_GESTURE, 0x009C, button, 2, 0x03, flags2=RAW_XY | ANALYTICS),     # task id guessed
        Control(0x00C4, 0x009D, button, 2, 0x03, flags2=RAW_XY | ANALYTICS),          # Smart Shift
        Control(0x00D7, 0x00B4, DIVERTABLE | VIRTUAL, 3, 0x00, flags2=RAW_XY | FORCE_RAW_XY),
    ]
    extra = bytes.fromhex("B03438FCA4E6")
    return Hidpp20Spec(
        features=features,
        name="MX Master 3S",
        kind=3,
        firmware=[Firmware(1, "BL1", 0x69, 0x00, 0x0003, extra), Firmware(0, "RBM", 0x22, 0x00, 0x0003, extra)],
        unit_id=bytes.fromhex("CD2A6BB7"),
        model_id=bytes.fromhex("B03400000000"),
        transports=0x02,           # btleid only ("Transport IDs: {'btleid': 'B034'}")
        battery=(25, 0, 0),        # 25 %, discharging
        controls=controls,
        roller=(3, 24, 0),
        wheel_multiplier=15,
        wheel_flags=0x0C,
        wheel_mode=0x00,           # low resolution, HID notification (as dumped)
        dpi=1000,
        dpi_list=(200, 0xE000 | 50, 8000),
    )


def mx_master_3s() -> Hidpp20Device:
    identity = Identity(wpid=0xB034, name="MX Master 3S", serial=bytes.fromhex("CD2A6BB7"), activity=60)
    return Hidpp20Device(identity, mx_master_3s_spec())


def mx_master_3s_stale_diversion() -> Hidpp20Device:
    """The MX Master 3S as a remapper left it when it exited: the middle button diverted to
    HID++ (temporary divert, which lasts until the mouse powers off), so its presses arrive
    only as REPROG_CONTROLS_V4 event 0 and never as a mouse report."""
    device = mx_master_3s()
    for control in device.controls:
        if control.cid == CID_MIDDLE:
            control.reporting = 0x01
    return device
