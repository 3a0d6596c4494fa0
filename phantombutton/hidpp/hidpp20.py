"""HID++ 2.0: feature requests, replies, errors and events, plus the few feature payloads
phantombutton reads (ping, feature table, name, battery, REPROG_CONTROLS_V4).

Request `<10|11> idx <feature index> <function<<4 | software id> params`; replies echo the
first three bytes; errors are `<11> idx FF <feature index> <fn|sw> <code>`; events carry
software id 0 (docs/hidpp.md; hid-logitech-hidpp.c HIDPP20_ERROR).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from itertools import takewhile
from typing import NamedTuple

from phantombutton.hidpp.errors import FrameError, Hidpp20Error
from phantombutton.hidpp.frames import HidppFrame, build_long, build_short

ERROR_INDEX = 0xFF
ROOT_INDEX = 0x00


class FeatureId(IntEnum):
    ROOT = 0x0000
    FEATURE_SET = 0x0001
    FEATURE_INFO = 0x0002
    DEVICE_FW_VERSION = 0x0003
    DEVICE_UNIT_ID = 0x0004
    DEVICE_NAME = 0x0005
    DEVICE_FRIENDLY_NAME = 0x0007
    RESET = 0x0020
    CRYPTO_ID = 0x0021
    DFUCONTROL_UNSIGNED = 0x00C1
    DFUCONTROL_SIGNED = 0x00C2
    BATTERY_STATUS = 0x1000
    BATTERY_VOLTAGE = 0x1001
    UNIFIED_BATTERY = 0x1004
    CHANGE_HOST = 0x1814
    HOSTS_INFO = 0x1815
    REPROG_CONTROLS_V4 = 0x1B04
    PERSISTENT_REMAPPABLE_ACTION = 0x1C00
    WIRELESS_DEVICE_STATUS = 0x1D4B
    VERTICAL_SCROLLING = 0x2100
    SMART_SHIFT = 0x2110
    HI_RES_SCROLLING = 0x2120
    HIRES_WHEEL = 0x2121
    THUMB_WHEEL = 0x2150
    MOUSE_POINTER = 0x2200
    ADJUSTABLE_DPI = 0x2201
    POINTER_SPEED = 0x2205
    XY_STATS = 0x2250
    WHEEL_STATS = 0x2251


def feature_name(feature_id: int) -> str:
    try:
        return FeatureId(feature_id).name
    except ValueError:
        return f"unknown:{feature_id:04X}"


class FeatureFlag(IntFlag):
    OBSOLETE = 0x80
    HIDDEN = 0x40
    INTERNAL = 0x20


# --- frames ---------------------------------------------------------------------------


def request(devnum: int, feature_index: int, function: int, software_id: int, params: bytes = b"") -> bytes:
    """A 2.0 request: short when the params fit in 3 bytes (as Solaar does), else long."""
    if not 0 <= function <= 0x0F or not 1 <= software_id <= 0x0F:
        raise FrameError(f"function {function} / software id {software_id} out of range")
    address = function << 4 | software_id
    if len(params) <= 3:
        return build_short(devnum, feature_index, address, params)
    return build_long(devnum, feature_index, address, params)


def ping_request(devnum: int, software_id: int, mark: int = 0x5A) -> bytes:
    """ROOT fn 1 (protocol version): `10 idx 00 1s 00 00 mark`."""
    return request(devnum, ROOT_INDEX, 1, software_id, bytes((0, 0, mark)))


class FeatureMessage(NamedTuple):
    """A 2.0 request, reply or event (software id 0 = event)."""

    devnum: int
    feature_index: int
    function: int
    software_id: int
    params: bytes


def parse_error(frame: HidppFrame) -> Hidpp20Error:
    if frame.sub_id != ERROR_INDEX:
        raise FrameError("not a HID++ 2.0 error frame")
    return Hidpp20Error(frame.devnum, frame.address, frame.params[0] >> 4, frame.params[1])


def error_software_id(frame: HidppFrame) -> int:
    return frame.params[0] & 0x0F


def build_error(devnum: int, feature_index: int, function: int, software_id: int, code: int) -> bytes:
    return build_long(devnum, ERROR_INDEX, feature_index, bytes((function << 4 | software_id, code)))


def parse_message(frame: HidppFrame) -> FeatureMessage:
    if frame.sub_id == ERROR_INDEX:
        raise FrameError("a HID++ 2.0 error frame is not a feature message")
    return FeatureMessage(frame.devnum, frame.sub_id, frame.function, frame.software_id, frame.params)


# --- ping -----------------------------------------------------------------------------


def parse_ping_reply(params: bytes) -> tuple[int, int]:
    """ROOT fn 1 reply -> (major, minor)."""
    return params[0], params[1]


# --- root / feature set ---------------------------------------------------------------


@dataclass(frozen=True)
class FeatureEntry:
    """One row of FEATURE_SET: a feature's index, id, flags and version."""

    index: int
    feature_id: int
    flags: int
    version: int

    @property
    def name(self) -> str:
        return feature_name(self.feature_id)


def get_feature_params(feature_id: int) -> bytes:
    return feature_id.to_bytes(2, "big")


def parse_get_feature(params: bytes) -> tuple[int, int, int]:
    """ROOT fn 0 reply -> (index, flags, version); index 0 = not supported."""
    return params[0], params[1], params[2]


def parse_feature_set_entry(index: int, params: bytes) -> FeatureEntry:
    """FEATURE_SET fn 1 reply for `index` -> FeatureEntry."""
    return FeatureEntry(index, params[0] << 8 | params[1], params[2], params[3] if len(params) > 3 else 0)


# --- battery --------------------------------------------------------------------------

BATTERY_STATUS_NAMES = {
    0: "discharging", 1: "recharging", 2: "almost full", 3: "full",
    4: "slow recharge", 5: "invalid battery", 6: "thermal error",
}


def parse_battery_status(params: bytes) -> tuple[int, int, str]:
    """BATTERY_STATUS 0x1000 fn 0 -> (percent, next level percent, status)."""
    return params[0], params[1], BATTERY_STATUS_NAMES.get(params[2], f"status {params[2]}")


UNIFIED_LEVELS = {8: "full", 4: "good", 2: "low", 1: "critical"}
UNIFIED_STATUS = {0: "discharging", 1: "charging", 2: "charging slowly", 3: "full", 4: "error"}


def parse_unified_battery(params: bytes) -> tuple[int | None, str, str]:
    """UNIFIED_BATTERY 0x1004 fn 1 (get status): state of charge %, level bit, charging
    status, external power -> (percent or None, level, status)."""
    pct = params[0] or None
    level = UNIFIED_LEVELS.get(params[1], f"level 0x{params[1]:02X}")
    return pct, level, UNIFIED_STATUS.get(params[2], f"status {params[2]}")


# --- REPROG_CONTROLS_V4 (0x1B04) ------------------------------------------------------


class ControlFlag(IntFlag):
    MOUSE = 0x01
    FN = 0x02
    NONSTANDARD = 0x04
    FN_SENSITIVE = 0x08
    REPROGRAMMABLE = 0x10
    DIVERTABLE = 0x20
    PERSISTENTLY_DIVERTABLE = 0x40
    VIRTUAL = 0x80


class ReportingFlag(IntFlag):
    """getCidReporting state / setCidReporting flags: each state bit has a `valid` bit."""

    DIVERTED = 0x01
    DIVERT_VALID = 0x02
    PERSISTENTLY_DIVERTED = 0x04
    PERSIST_VALID = 0x08
    RAW_XY = 0x10
    RAW_XY_VALID = 0x20
    FORCE_RAW_XY = 0x40
    FORCE_RAW_XY_VALID = 0x80


def reporting_names(flags: int) -> list[str]:
    """What getCidReporting's flags say of a control, e.g. ["persistently diverted"]."""
    return [name for bit, name in ((ReportingFlag.DIVERTED, "diverted"),
                                   (ReportingFlag.PERSISTENTLY_DIVERTED, "persistently diverted"),
                                   (ReportingFlag.RAW_XY, "raw XY"),
                                   (ReportingFlag.FORCE_RAW_XY, "forced raw XY")) if flags & bit]


CONTROL_NAMES = {
    0x0050: "Left Button", 0x0051: "Right Button", 0x0052: "Middle Button",
    0x0053: "Back Button", 0x0056: "Forward Button", 0x005B: "Left Tilt",
    0x005D: "Right Tilt", 0x00C3: "Mouse Gesture Button", 0x00C4: "Smart Shift",
    0x00D0: "MultiPlatform Gesture Button", 0x00D7: "Virtual Gesture Button",
    0x0054: "Back Button", 0x0057: "Forward Button", 0x00BD: "Back Button",
}


def control_name(cid: int) -> str:
    return CONTROL_NAMES.get(cid, f"control 0x{cid:04X}")


@dataclass(frozen=True)
class ControlInfo:
    """REPROG_CONTROLS_V4 getCidInfo: one control (button) of the device."""

    index: int
    cid: int
    task: int
    flags: int
    position: int
    group: int
    group_mask: int
    flags2: int = 0   # getCidInfo byte 8 (Solaar hidpp20.py KeyFlag, the high byte)

    @property
    def name(self) -> str:
        return control_name(self.cid)

    @property
    def divertable(self) -> bool:
        return bool(self.flags & ControlFlag.DIVERTABLE)


class ControlReporting(NamedTuple):
    """REPROG_CONTROLS_V4 getCidReporting: is the control diverted, remapped."""

    cid: int
    flags: int
    remap: int

    @property
    def diverted(self) -> bool:
        return bool(self.flags & (ReportingFlag.DIVERTED | ReportingFlag.PERSISTENTLY_DIVERTED))


def parse_control_info(index: int, params: bytes) -> ControlInfo:
    """fn 1 getCidInfo(index) reply."""
    if len(params) < 8:
        raise FrameError("getCidInfo reply too short")
    return ControlInfo(index, params[0] << 8 | params[1], params[2] << 8 | params[3],
                       params[4], params[5], params[6], params[7], params[8] if len(params) > 8 else 0)


def parse_control_reporting(params: bytes) -> ControlReporting:
    """fn 2 getCidReporting(cid) reply: cid, flags, remap."""
    if len(params) < 5:
        raise FrameError("getCidReporting reply too short")
    return ControlReporting(params[0] << 8 | params[1], params[2], params[3] << 8 | params[4])


def reset_reporting_params(cid: int, current: int) -> bytes:
    """fn 3 setCidReporting: clear the temporary/persistent diversion and raw XY bits that are
    set in `current` (a state bit changes only with its `valid` bit; we send valid bits only
    for what is set, so a control is never asked about a capability it lacks), remap 0 =
    leave the mapping alone."""
    flags = sum(valid for state, valid in ((ReportingFlag.DIVERTED, ReportingFlag.DIVERT_VALID),
                                           (ReportingFlag.PERSISTENTLY_DIVERTED, ReportingFlag.PERSIST_VALID),
                                           (ReportingFlag.RAW_XY, ReportingFlag.RAW_XY_VALID),
                                           (ReportingFlag.FORCE_RAW_XY, ReportingFlag.FORCE_RAW_XY_VALID))
                if current & state)
    return bytes((cid >> 8, cid & 0xFF, flags, 0, 0))


def parse_diverted_buttons(params: bytes) -> tuple[int, ...]:
    """Event 0 of REPROG_CONTROLS_V4: up to 4 pressed control ids; empty = all released."""
    cids = (params[i] << 8 | params[i + 1] for i in range(0, min(len(params), 8) - 1, 2))
    return tuple(c for c in cids if c)


# --- ADJUSTABLE_DPI (0x2201) ----------------------------------------------------------


def parse_dpi_list(params: bytes) -> tuple[int, ...]:
    """getSensorDpiList(sensor) reply: sensor, then 2-byte values up to a 0; a value
    0xE000|step between two values means every step from the one before to the one after
    (Solaar settings_templates.py AdjustableDpi). -> the dpi values the sensor accepts."""
    raw = list(takewhile(bool, (params[i] << 8 | params[i + 1] for i in range(1, len(params) - 1, 2))))
    out: list[int] = []
    for i, v in enumerate(raw):
        if v >= 0xE000:
            if 0 < i < len(raw) - 1 and v & 0x1FFF:
                out += range(raw[i - 1] + (v & 0x1FFF), raw[i + 1], v & 0x1FFF)
        else:
            out.append(v)
    return tuple(sorted(set(out)))


def parse_sensor_dpi(params: bytes) -> int:
    """getSensorDpi(sensor) reply: sensor, dpi (big-endian), default dpi."""
    return params[1] << 8 | params[2]


def set_dpi_params(dpi: int, sensor: int = 0) -> bytes:
    return bytes((sensor, dpi >> 8 & 0xFF, dpi & 0xFF))


# --- HIRES_WHEEL (0x2121) mode and THUMB_WHEEL (0x2150) status -------------------------


class WheelModeBit(IntFlag):
    """HIRES_WHEEL getWheelMode/setWheelMode byte 0 (hid-logitech-hidpp.c hidpp_hrw_set_wheel_mode)."""

    TARGET_HIDPP = 0x01
    HIRES = 0x02
    INVERT = 0x04


class ThumbStatus(IntFlag):
    """THUMB_WHEEL getThumbwheelStatus/setThumbwheelReporting: byte 0 bit 0 = reports go to
    HID++ (diverted), byte 1 bit 0 = inverted (Solaar settings_templates.py ThumbMode/ThumbInvert)."""

    DIVERTED = 0x01


# --- WIRELESS_DEVICE_STATUS (0x1D4B) --------------------------------------------------


def parse_wireless_status(params: bytes) -> dict[str, int]:
    """Event 0: status (1 = reconnection), request (1 = software should reconfigure), reason."""
    return {"status": params[0], "request": params[1], "reason": params[2]}
