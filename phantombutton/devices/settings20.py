"""HID++ 2.0 settings, by feature (the device's feature table says which exist):

    wheel-resolution  high|low   HIRES_WHEEL 0x2121 mode bit 0x02
    wheel-target      hid|hidpp  HIRES_WHEEL 0x2121 mode bit 0x01 (hidpp = wheel diverted)
    dpi               the sensor's list   ADJUSTABLE_DPI 0x2201 (sensor 0)
    thumb-wheel       hid|hidpp  THUMB_WHEEL 0x2150 reporting mode (hidpp = diverted)
    diversions        reset      REPROG_CONTROLS_V4 controls (temporary, persistent, raw XY
                                 and forced raw XY flags), the thumb wheel and the wheel target

Every write reads the value first, writes only the bits concerned when they differ, and reads
back (settings.NotApplied when the device does not keep it).

The kernel also writes HIRES_WHEEL: hid-logitech-hidpp.c hi_res_scroll_enable calls
hidpp_hrw_set_wheel_mode(invert off, hi-res on, HID target) at every connect of a mouse with
0x2121 and divides each wheel unit by the multiplier from getWheelCapability. So
`wheel-resolution low` makes the wheel `multiplier` times slow (refused unless force, as
smooth-scroll off on the HID++ 1.0 mice), `wheel-target hidpp` makes it dead for every
program but the one reading HID++ (refused unless force), and any write lasts only until the
mouse reconnects (`caution` says so).
"""

from __future__ import annotations

from typing import NamedTuple

from phantombutton.devices.settings import DIVERSIONS, DIVERSIONS_SETTING, NotApplied, Setting
from phantombutton.errors import UsageProblem
from phantombutton.hidpp import hidpp20
from phantombutton.hidpp.hidpp20 import FeatureId, ReportingFlag, ThumbStatus, WheelModeBit
from phantombutton.models import DPI
from phantombutton.numbers import ascii_int

WHEEL_RESOLUTION = "wheel-resolution"
WHEEL_TARGET = "wheel-target"
THUMB_WHEEL = "thumb-wheel"

_GET_MODE, _SET_MODE = 1, 2                 # HIRES_WHEEL
_DPI_LIST, _DPI_GET, _DPI_SET = 1, 2, 3     # ADJUSTABLE_DPI
_THUMB_GET, _THUMB_SET = 1, 2               # THUMB_WHEEL
DIVERT_STATE = (ReportingFlag.DIVERTED | ReportingFlag.PERSISTENTLY_DIVERTED
                    | ReportingFlag.RAW_XY | ReportingFlag.FORCE_RAW_XY)


def _read_back(device, name: str, value: str, shown: str, raw: str) -> str:
    """`shown`, the value read back after writing `value` (`raw`: how the device put it)."""
    if shown != value:
        raise NotApplied(f"{device.label}: wrote {name} {value} but the device reads back {raw}; "
                         "the device or another program changed it")
    return shown


# --- HIRES_WHEEL -----------------------------------------------------------------------


def wheel_mode(device) -> int:
    """HIRES_WHEEL getWheelMode: the WheelModeBit byte."""
    return device.call(FeatureId.HIRES_WHEEL, _GET_MODE)[0]


def set_wheel_mode(device, mode: int) -> None:
    """HIRES_WHEEL setWheelMode: the whole WheelModeBit byte."""
    device.call(FeatureId.HIRES_WHEEL, _SET_MODE, bytes((mode,)))


class _ModeBit(NamedTuple):
    """One bit of the wheel mode as a setting: its name, and its value when set and when clear."""

    setting: str
    bit: WheelModeBit
    on: str
    off: str

    def read(self, device) -> str:
        return self.on if wheel_mode(device) & self.bit else self.off

    def write(self, device, value: str) -> str:
        before = wheel_mode(device)
        new = (before | self.bit) if value == self.on else (before & ~self.bit & 0xFF)
        if new != before:   # only this bit changes; invert and the other bit stay as read
            set_wheel_mode(device, new)
        after = wheel_mode(device)
        return _read_back(device, self.setting, value, self.on if after & self.bit else self.off,
                          f"mode 0x{after:02X}")


_RESOLUTION = _ModeBit(WHEEL_RESOLUTION, WheelModeBit.HIRES, "high", "low")
_TARGET = _ModeBit(WHEEL_TARGET, WheelModeBit.TARGET_HIDPP, "hidpp", "hid")


# --- ADJUSTABLE_DPI --------------------------------------------------------------------


def read_dpi(device) -> str:
    return str(hidpp20.parse_sensor_dpi(device.call(FeatureId.ADJUSTABLE_DPI, _DPI_GET, b"\0")))


def parse_dpi(device, text: str) -> str:
    try:   # ASCII digits only: int() would read "٨٠٠" as 800
        dpi = ascii_int(text.strip())
    except ValueError:
        dpi = None
    choices = hidpp20.parse_dpi_list(device.call(FeatureId.ADJUSTABLE_DPI, _DPI_LIST, b"\0"))
    if dpi is None or (choices and dpi not in choices):
        shown = f"{choices[0]}..{choices[-1]}" if len(choices) > 8 else ", ".join(map(str, choices))
        step = f" in steps of {choices[1] - choices[0]}" if len(choices) > 8 else ""
        raise UsageProblem(f"{text!r} is not a valid dpi for {device.label}; valid: {shown}{step}")
    return str(dpi)


def write_dpi(device, value: str) -> str:
    """`value` as parse_dpi gives it (ASCII digits, no sign or leading zero)."""
    if read_dpi(device) != value:
        device.call(FeatureId.ADJUSTABLE_DPI, _DPI_SET, hidpp20.set_dpi_params(int(value)))
    after = read_dpi(device)
    return _read_back(device, DPI, value, after, f"{after} dpi")


# --- THUMB_WHEEL -----------------------------------------------------------------------


def _thumb(device) -> bytes:
    return device.call(FeatureId.THUMB_WHEEL, _THUMB_GET)[:2]


def read_thumb(device) -> str:
    return "hidpp" if _thumb(device)[0] & ThumbStatus.DIVERTED else "hid"


def write_thumb(device, value: str) -> str:
    before = _thumb(device)
    want = value == "hidpp"
    if bool(before[0] & ThumbStatus.DIVERTED) != want:   # the invert byte stays as read
        device.call(FeatureId.THUMB_WHEEL, _THUMB_SET, bytes((int(want), before[1])))
    shown = read_thumb(device)
    return _read_back(device, THUMB_WHEEL, value, shown, shown)


# --- diversions ------------------------------------------------------------------------


def _diverted_controls(device) -> list:
    return [c for c in device.controls() if c.reporting is not None and c.reporting.flags & DIVERT_STATE]


def diverted_parts(device) -> list[str]:
    """What is diverted to software now: controls with their flags, the thumb wheel, the
    wheel's HID++ target. Each item is one read of the device's state."""
    out = [f"{c.name} ({c.diversion()})" for c in _diverted_controls(device)]
    if device.feature_index(FeatureId.THUMB_WHEEL) is not None and read_thumb(device) == "hidpp":
        out.append("thumb wheel (diverted)")
    if device.feature_index(FeatureId.HIRES_WHEEL) is not None and _TARGET.read(device) == "hidpp":
        out.append("wheel (HID++ target)")
    return out


def read_diversions(device) -> str:
    return ", ".join(diverted_parts(device)) or "none"


def reset_control(device, cid: int, flags: int) -> None:
    """Clear what is set of a control's divert, persistent divert, raw XY and forced raw XY."""
    device.call(FeatureId.REPROG_CONTROLS_V4, 3, hidpp20.reset_reporting_params(cid, flags))


def reset_diversions(device, value: str) -> str:
    for control in _diverted_controls(device):
        reset_control(device, control.info.cid, control.reporting.flags)
    if device.feature_index(FeatureId.THUMB_WHEEL) is not None and read_thumb(device) == "hidpp":
        write_thumb(device, "hid")
    if device.feature_index(FeatureId.HIRES_WHEEL) is not None and _TARGET.read(device) == "hidpp":
        _TARGET.write(device, "hid")
    after = read_diversions(device)
    if after != "none":
        raise NotApplied(f"{device.label}: diversions still set after reset: {after}")
    return after


# --- which, and what to say ------------------------------------------------------------


def settings_for(device) -> dict:
    """The 2.0 settings this (online) device's feature table offers."""
    out = {}
    if device.feature_index(FeatureId.HIRES_WHEEL) is not None:
        out[WHEEL_RESOLUTION] = Setting(
            WHEEL_RESOLUTION, "wheel resolution, HIRES_WHEEL 0x2121 bit 0x02 (the kernel sets high at connect)",
            ("high", "low"), _RESOLUTION.read, _RESOLUTION.write)
        out[WHEEL_TARGET] = Setting(
            WHEEL_TARGET, "who gets the wheel: hid (the kernel) or hidpp (a program on the HID++ node)",
            ("hid", "hidpp"), _TARGET.read, _TARGET.write)
    if device.feature_index(FeatureId.ADJUSTABLE_DPI) is not None:
        out[DPI] = Setting(DPI, "sensor resolution, ADJUSTABLE_DPI 0x2201", ("the sensor's list",),
                           read_dpi, write_dpi, validate=parse_dpi)
    if device.feature_index(FeatureId.THUMB_WHEEL) is not None:
        out[THUMB_WHEEL] = Setting(
            THUMB_WHEEL, "who gets the thumb wheel: hid (the kernel) or hidpp (diverted), THUMB_WHEEL 0x2150",
            ("hid", "hidpp"), read_thumb, write_thumb)
    if any(device.feature_index(f) is not None
           for f in (FeatureId.REPROG_CONTROLS_V4, FeatureId.THUMB_WHEEL, FeatureId.HIRES_WHEEL)):
        out[DIVERSIONS] = DIVERSIONS_SETTING
    return out


def refusal(device, name: str, value: str) -> str | None:
    """Why a write would hurt (refused unless --force), or None."""
    if name == WHEEL_RESOLUTION and value == "low":
        return (f"wheel-resolution low makes the wheel of {device.label} slow until it reconnects: "
                "the kernel sets high resolution at every connect and divides each wheel step by "
                "the mouse's multiplier; add --force to write it anyway")
    if name in (WHEEL_TARGET, THUMB_WHEEL) and value == "hidpp":
        what = "wheel" if name == WHEEL_TARGET else "thumb wheel"
        return (f"{name} hidpp makes the {what} of {device.label} dead for every program but one "
                "reading HID++ (a remapper); add --force to write it anyway")
    return None


def caution(name: str) -> str | None:
    """What the user should know after a successful write."""
    if name in (WHEEL_RESOLUTION, WHEEL_TARGET):
        return ("note: the kernel (hid-logitech-hidpp) writes the wheel mode at every connect: "
                "this lasts until the mouse reconnects")
    return None
