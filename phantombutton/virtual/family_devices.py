"""The HID++ 2.0 mice of the receiver-family profiles, from the dumps in
reference/solaar-device-docs (each value from the dump unless its comment says "guess"):
  MX Master 3S B034 (Bolt)            MX-Master-3S-B034.txt
  G305 4074 (Lightspeed)              G305-Lightspeed-Wireless-Gaming-Mouse-4074.txt
  Wireless Mouse M185 new 4054 (Nano) Wireless-Mouse-M185-new-4054.txt ("seen on the C534")
Feature flags: hidden 0x40, internal 0x20; the dumps' "unknown:000010" is bit 0x10.
"""

from __future__ import annotations

from .device import Identity
from .hidpp20_device import (
    HIDDEN,
    INTERNAL,
    Control,
    Feature,
    Firmware,
    Hidpp20Device,
    Hidpp20Spec,
)
from .wire import Err20

UNIFIED_BATTERY = 0x1004
ADJUSTABLE_DPI = 0x2201
ENG = 0x10   # the dumps' "unknown:000010" flag


class FamilyMouse(Hidpp20Device):
    """A HID++ 2.0 mouse with the few functions `solaar show` and `info` read beyond the
    M705 406D's: UNIFIED_BATTERY and ADJUSTABLE_DPI."""

    def __init__(self, identity: Identity, spec: Hidpp20Spec, *, dpi: int | None = None):
        super().__init__(identity, spec)
        self.dpi = dpi

    def _f1004(self, fn: int, p: bytes):  # UNIFIED_BATTERY
        if fn == 0:   # capabilities: levels full|good|low|critical, flags 0x02 percent
            return bytes([0x0F, 0x02])
        if fn == 1:   # status: percent, level bit, charging status, external power
            pct, _next, status = self.spec.battery
            level = 8 if pct > 50 else 4 if pct > 20 else 2 if pct > 5 else 1
            return bytes([pct, level, status, 0])
        return Err20.INVALID_FUNCTION

    # What `solaar show` reads without guarding against an error reply (solaar/cli/show.py
    # _print_device): each answers as the dumps show.
    def _f0007(self, fn: int, p: bytes):  # DEVICE_FRIENDLY_NAME: length, then chunks at offset
        name = self.spec.name.encode()
        if fn == 0:
            return bytes([len(name), 32, len(name)])
        if fn == 1:
            return bytes([p[0]]) + name[p[0] : p[0] + 15]
        return Err20.INVALID_FUNCTION

    def _f1815(self, fn: int, p: bytes):  # HOSTS_INFO: capability 0 = host names not readable
        # (the dump shows "romanescu"; a readable name would make Solaar rename the host)
        return bytes([0x00, 0x00, 3, 0]) if fn == 0 else Err20.INVALID_FUNCTION

    def _f2130(self, fn: int, p: bytes):  # LOWRES_WHEEL: wheel reports HID (the M185 dump)
        return bytes([0x00]) if fn == 0 else Err20.INVALID_FUNCTION

    def _f8060(self, fn: int, p: bytes):  # REPORT_RATE: supported rates (bit n = n+1 ms), current
        if fn == 0:
            return bytes([0x8B])
        if fn == 1:
            return bytes([self.identity.polling_ms or 1])
        return Err20.INVALID_FUNCTION

    def _f8100(self, fn: int, p: bytes):  # ONBOARD_PROFILES: fn 2 mode, 1 = on-board (the G305 dump)
        return bytes([0x01]) if fn == 2 else Err20.INVALID_FUNCTION

    def _f2201(self, fn: int, p: bytes):  # ADJUSTABLE_DPI (sensor 0)
        if self.dpi is None:
            return Err20.INVALID_FUNCTION
        if fn == 0:   # sensor count
            return bytes([1])
        if fn == 1:   # dpi list of sensor 0: a range lo..hi step 50 (guess; not in the dumps)
            return bytes([0]) + (200).to_bytes(2, "big") + (0xE000 | 50).to_bytes(2, "big") + (8000).to_bytes(2, "big")
        if fn == 2:   # current dpi, default dpi
            return bytes([0]) + self.dpi.to_bytes(2, "big") + self.dpi.to_bytes(2, "big")
        if fn == 3:
            self.dpi = p[1] << 8 | p[2]
            return bytes(p[:3])
        return Err20.INVALID_FUNCTION


def _hidden(*ids: int, flags: int = HIDDEN | INTERNAL | ENG) -> list[Feature]:
    return [Feature(fid, flags) for fid in ids]


def mx_master_3s() -> FamilyMouse:
    """MX Master 3S B034 on a Bolt receiver, HID++ 4.5, 36 features."""
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
    mse, divertable, virtual = 0x01, 0x31, 0xA0   # mouse; + reprogrammable, divertable; virtual
    controls = [
        Control(0x0050, 0x0038, mse, 1, 0x01, hid_button=1),          # Left Button / Left Click
        Control(0x0051, 0x0039, mse, 1, 0x01, hid_button=2),          # Right Button
        Control(0x0052, 0x003A, divertable, 2, 0x03, hid_button=3),   # Middle Button
        Control(0x0053, 0x003C, divertable, 2, 0x03, hid_button=4),   # Back Button
        Control(0x0056, 0x003E, divertable, 2, 0x03, hid_button=5),   # Forward Button
        Control(0x00C3, 0x00A9, divertable, 2, 0x03),   # Mouse Gesture Button / Gesture Button Navigation
        Control(0x00C4, 0x00AD, divertable, 2, 0x03),   # Smart Shift
        Control(0x00D7, 0x00B4, virtual, 3, 0x00),      # Virtual Gesture Button
    ]
    spec = Hidpp20Spec(
        features=features, name="MX Master 3S", kind=3,
        firmware=[Firmware(1, "BL1", 0x69, 0x00, 0x0003), Firmware(0, "RBM", 0x22, 0x00, 0x0003)],
        unit_id=bytes.fromhex("CD2A6BB7"), model_id=bytes.fromhex("B03400000000"),
        transports=0x02,          # btleid
        battery=(25, 0, 0),       # 25 %, discharging
        controls=controls,
        wheel_multiplier=15, wheel_flags=0x0C, wheel_mode=0x00,   # low resolution, HID target
    )
    # the dump's slot 2; the receiver's codename is the device name
    identity = Identity(wpid=0xB034, name="MX Master 3S", serial=bytes.fromhex("CD2A6BB7"),
                        activity=135, polling_ms=0, power_switch=0)
    return FamilyMouse(identity, spec, dpi=1000)


def g305() -> FamilyMouse:
    """G305 Lightspeed Wireless Gaming Mouse 4074 on a Lightspeed receiver, HID++ 4.2."""
    ih = HIDDEN | INTERNAL
    features = [
        Feature(0x0000), Feature(0x0001), Feature(0x0003, version=2), Feature(0x0005),
        Feature(0x1D4B), Feature(0x1000), Feature(0x8070, version=6), Feature(0x8100),
        Feature(0x8110), Feature(0x8060), Feature(0x8090, version=1), Feature(0x00C2),
        *_hidden(0x1802, 0x1803, flags=ih), Feature(0x1806, ih, 4),
        *_hidden(0x1811, 0x1805, 0x1830, 0x1890, 0x1DF3, flags=ih), Feature(0x1E00, HIDDEN),
        *_hidden(0x1EB0, 0x1861, 0x18B1, 0x1E22, 0x1801, flags=ih),
        Feature(0x2201, version=1),
    ]
    spec = Hidpp20Spec(
        features=features, name="G305 Lightspeed Wireless Gaming Mouse", kind=3,
        firmware=[Firmware(1, "BOT", 0x69, 0x02, 0x0021), Firmware(0, "RQM", 0x68, 0x02, 0x0021)],
        unit_id=bytes.fromhex("F074D567"), model_id=bytes.fromhex("407400000000"),
        transports=0x04, battery=(50, 30, 0), controls=[], protocol=(4, 2),
    )
    identity = Identity(wpid=0x4074, name="G305", serial=bytes.fromhex("ED5E9515"),
                        polling_ms=1, power_switch=0x01)
    return FamilyMouse(identity, spec, dpi=1600)


def m185n() -> FamilyMouse:
    """Wireless Mouse M185 new 4054 on a Nano receiver C534, HID++ 4.5, 19 features."""
    ih = HIDDEN | INTERNAL
    features = [
        Feature(0x0000), Feature(0x0001), Feature(0x0003), Feature(0x0005), Feature(0x0020),
        Feature(0x1B04), Feature(0x1D4B), Feature(0x2130), Feature(0x2205),
        *_hidden(0x1802, 0x1810, 0x1830, 0x1850, 0x1869, 0x1890, 0x18B1, 0x1DF3, flags=ih),
        Feature(0x1E00, HIDDEN), Feature(0x1F03, ih),
    ]
    controls = [
        Control(0x0050, 0x0038, 0x11, 1, 0x01, hid_button=1),   # Left Button
        Control(0x0051, 0x0039, 0x11, 1, 0x01, hid_button=2),   # Right Button
        Control(0x0052, 0x003A, 0x31, 2, 0x03, hid_button=3),   # Middle Button, divertable
    ]
    spec = Hidpp20Spec(
        features=features, name="Wireless Mouse", kind=3,
        firmware=[Firmware(0, "RQM", 0x64, 0x00, 0x0008)],
        unit_id=bytes(4), model_id=bytes(6), transports=0x00,
        battery=(0, 0, 0),        # no battery feature ("Battery status unavailable")
        controls=controls,
    )
    # the receiver keeps no serial of its own, but 0xB5 0x3n answers: Solaar shows "Serial
    # number: 00000000" and "power switch ... on the base", both from that register
    identity = Identity(wpid=0x4054, name="M185n", serial=bytes(4), polling_ms=8, power_switch=0x01)
    return FamilyMouse(identity, spec)
