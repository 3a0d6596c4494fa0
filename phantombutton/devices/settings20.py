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

from phantombutton.devices.settings import DIVERSIONS_SETTING, NotApplied, Setting
from phantombutton.errors import UsageProblem
from phantombutton.hidpp import hidpp20
from phantombutton.hidpp.hidpp20 import FeatureId, ReportingFlag, ThumbStatus, WheelModeBit
from phantombutton.numbers import ascii_int

WHEEL_RESOLUTION = "wheel-resolution"
WHEEL_TARGET = "wheel-target"
THUMB_WHEEL = "thumb-wheel"
DPI = "dpi"
DIVERSIONS = "diversions"

_GET_MODE, _SET_MODE = 1, 2                 # HIRES_WHEEL
_DPI_LIST, _DPI_GET, _DPI_SET = 1, 2, 3     # ADJUSTABLE_DPI
_THUMB_GET, _THUMB_SET = 1, 2               # THUMB_WHEEL
DIVERT_STATE = (ReportingFlag.DIVERTED | ReportingFlag.PERSISTENTLY_DIVERTED
                    | ReportingFlag.RAW_XY | ReportingFlag.FORCE_RAW_XY)


def _not_applied(device, what: str, shown: str):
    return NotApplied(f"{device.label}: wrote {what} but the device reads back {shown}; "
                      "the device or another program changed it")


# --- HIRES_WHEEL -----------------------------------------------------------------------


def _mode(device) -> int:
    return device.call(FeatureId.HIRES_WHEEL, _GET_MODE)[0]


class _ModeBit(NamedTuple):
    """One bit of the wheel mode as a setting: its name, and its value when set and when clear."""

    setting: str
    bit: WheelModeBit
    on: str
    off: str


_RESOLUTION = _ModeBit(WHEEL_RESOLUTION, WheelModeBit.HIRES, "high", "low")
_TARGET = _ModeBit(WHEEL_TARGET, WheelModeBit.TARGET_HIDPP, "hidpp", "hid")


def _read_bit(device, m: _ModeBit) -> str:
    return m.on if _mode(device) & m.bit else m.off


def _write_bit(device, m: _ModeBit, value: str) -> str:
    before = _mode(device)
    new = (before | m.bit) if value == m.on else (before & ~m.bit & 0xFF)
    if new != before:   # only this bit changes; invert and the other bit stay as read
        device.call(FeatureId.HIRES_WHEEL, _SET_MODE, bytes((new,)))
    after = _mode(device)
    shown = m.on if after & m.bit else m.off
    if shown != value:
        raise _not_applied(device, f"{m.setting} {value}", f"mode 0x{after:02X}")
    return shown


def read_resolution(device) -> str:
    return _read_bit(device, _RESOLUTION)


def write_resolution(device, value: str) -> str:
    return _write_bit(device, _RESOLUTION, value)


def read_target(device) -> str:
    return _read_bit(device, _TARGET)


def write_target(device, value: str) -> str:
    return _write_bit(device, _TARGET, value)


# --- ADJUSTABLE_DPI --------------------------------------------------------------------


def dpi_choices(device) -> tuple[int, ...]:
    return hidpp20.parse_dpi_list(device.call(FeatureId.ADJUSTABLE_DPI, _DPI_LIST, b"\0"))


def read_dpi(device) -> str:
    return str(hidpp20.parse_sensor_dpi(device.call(FeatureId.ADJUSTABLE_DPI, _DPI_GET, b"\0")))


def parse_dpi(device, text: str) -> str:
    try:   # ASCII digits only: int() would read "٨٠٠" as 800
        dpi = ascii_int(text.strip())
    except ValueError:
        dpi = None
    choices = dpi_choices(device)
    if dpi is None or (choices and dpi not in choices):
        shown = f"{choices[0]}..{choices[-1]}" if len(choices) > 8 else ", ".join(map(str, choices))
        step = f" in steps of {choices[1] - choices[0]}" if len(choices) > 8 else ""
        raise UsageProblem(f"{text!r} is not a valid dpi for {device.label}; valid: {shown}{step}")
    return str(dpi)


def write_dpi(device, value: str) -> str:
    dpi = int(value)
    before = hidpp20.parse_sensor_dpi(device.call(FeatureId.ADJUSTABLE_DPI, _DPI_GET, b"\0"))
    if before != dpi:
        device.call(FeatureId.ADJUSTABLE_DPI, _DPI_SET, hidpp20.set_dpi_params(dpi))
    after = read_dpi(device)
    if after != value:
        raise _not_applied(device, f"dpi {value}", f"{after} dpi")
    return after


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
    if shown != value:
        raise _not_applied(device, f"{THUMB_WHEEL} {value}", shown)
    return shown


# --- diversions ------------------------------------------------------------------------


def diverted_parts(device) -> list[str]:
    """What is diverted to software now: controls with their flags, the thumb wheel, the
    wheel's HID++ target. Each item is one read of the device's state."""
    out = [f"{c.name} ({c.diversion()})" for c in device.controls()
           if c.reporting is not None and c.reporting.flags & DIVERT_STATE]
    if device.feature_index(FeatureId.THUMB_WHEEL) is not None and read_thumb(device) == "hidpp":
        out.append("thumb wheel (diverted)")
    if device.feature_index(FeatureId.HIRES_WHEEL) is not None and read_target(device) == "hidpp":
        out.append("wheel (HID++ target)")
    return out


def read_diversions(device) -> str:
    return ", ".join(diverted_parts(device)) or "none"


def reset_control(device, cid: int, flags: int) -> None:
    """Clear what is set of a control's divert, persistent divert, raw XY and forced raw XY."""
    device.call(FeatureId.REPROG_CONTROLS_V4, 3, hidpp20.reset_reporting_params(cid, flags))


def reset_diversions(device, value: str) -> str:
    for control in device.controls():
        if control.reporting is not None and control.reporting.flags & DIVERT_STATE:
            reset_control(device, control.info.cid, control.reporting.flags)
    if device.feature_index(FeatureId.THUMB_WHEEL) is not None and read_thumb(device) == "hidpp":
        write_thumb(device, "hid")
    if device.feature_index(FeatureId.HIRES_WHEEL) is not None and read_target(device) == "hidpp":
        write_target(device, "hid")
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
            ("high", "low"), read_resolution, write_resolution)
        out[WHEEL_TARGET] = Setting(
            WHEEL_TARGET, "who gets the wheel: hid (the kernel) or hidpp (a program on the HID++ node)",
            ("hid", "hidpp"), read_target, write_target)
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
