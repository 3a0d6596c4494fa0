"""Read and write a mouse's wheel mode over HID++, for the rule in detect/wheel.py.

- HID++ 1.0 (register 0x01 bit 0x40): the read is one GET_REGISTER; the write goes through the
  `smooth-scroll` setting (devices/settings.py: read-modify-write of that bit only, read back).
- HID++ 2.0 HIRES_WHEEL 0x2121: fn 0 getWheelCapability (multiplier in byte 0), fn 1
  getWheelMode, fn 2 setWheelMode; mode bits 0x01 HID++ target, 0x02 hi-res, 0x04 invert.
  The write keeps the user's invert bit and clears the target bit, as the kernel's
  hidpp_hrw_set_wheel_mode(invert=false, high_res=true, hidpp=false) does for the two that
  matter to scaling (the invert bit only flips the sign, so we leave the user's choice).
"""

from __future__ import annotations

from phantombutton.detect.wheel import KernelRule, Mechanism, WheelMode, kernel_rule
from phantombutton.devices import settings
from phantombutton.devices.settings20 import set_wheel_mode, wheel_mode
from phantombutton.models import SMOOTH_SCROLL
from phantombutton.errors import PhantomError
from phantombutton.hidpp.hidpp10 import MouseButtonFlag, Register
from phantombutton.hidpp.hidpp20 import FeatureId, WheelModeBit

_CAPABILITY = 0   # HIRES_WHEEL getWheelCapability


class WheelUnsupported(PhantomError):
    """The kernel does not scale this wheel, or we have no way to read its mode."""


def rule_for(device) -> KernelRule:
    """The kernel's rule for this device (one ping, and one ROOT lookup for 2.0 mice)."""
    if device.hidpp10:
        return kernel_rule(device.wpid, hidpp10=True)
    features = frozenset(f for f in (FeatureId.HIRES_WHEEL, 0x2120) if device.feature_index(f) is not None)
    return kernel_rule(device.wpid, hidpp10=False, features=features)


def read_mode(device, rule: KernelRule) -> WheelMode:
    if rule.mechanism is Mechanism.REGISTER_01:
        value = device.read_register(Register.MOUSE_BUTTON_FLAGS)
        return WheelMode(hires=bool(value[0] & MouseButtonFlag.SMOOTH_SCROLL),
                         multiplier=rule.multiplier, raw=f"register 0x01 = {value[:3].hex(' ')}")
    if rule.mechanism is Mechanism.X2121:
        mode = wheel_mode(device)
        mult = device.call(FeatureId.HIRES_WHEEL, _CAPABILITY)[0] or 1
        return WheelMode(hires=bool(mode & WheelModeBit.HIRES), diverted=bool(mode & WheelModeBit.TARGET_HIDPP),
                         invert=bool(mode & WheelModeBit.INVERT),
                         multiplier=mult, raw=f"0x2121 mode 0x{mode:02X}, multiplier {mult}")
    raise WheelUnsupported(f"{device.label}: the kernel does not scale this wheel ({rule.why}); "
                           f"nothing to compare")


def write_mode(device, rule: KernelRule, hires: bool) -> WheelMode:
    """Put the wheel in hi-res (or low-res), HID target; returns the mode read back."""
    if rule.mechanism is Mechanism.REGISTER_01:
        settings.put(device, SMOOTH_SCROLL, "on" if hires else "off")
    elif rule.mechanism is Mechanism.X2121:
        new = (wheel_mode(device) & WheelModeBit.INVERT) | (WheelModeBit.HIRES if hires else 0)
        set_wheel_mode(device, new)
    else:
        raise WheelUnsupported(f"{device.label}: no wheel mode we may write ({rule.why})")
    return read_mode(device, rule)
