"""HID++ 1.0: register requests, replies and errors, and the receiver's pairing info.

Request `10 idx 81 <reg> p0 p1 p2` (get short), `10 idx 80 <reg> v0 v1 v2` (set short),
`10 idx 83 <reg> p0 ..` (get long; the reply is a long report), `11 idx 82 <reg> v0..v15`
(set long). Error: `10 idx 8F <sub> <reg> <code> 00` (docs/hidpp.md; Solaar hidpp10_constants.py
`ERROR`).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import NamedTuple

from phantombutton.hidpp.errors import FrameError, Hidpp10Error, enum_name
from phantombutton.hidpp.frames import HidppFrame, ReportId, build_long, build_short


class SubId(IntEnum):
    SET_SHORT = 0x80
    GET_SHORT = 0x81
    SET_LONG = 0x82
    GET_LONG = 0x83
    ERROR = 0x8F


REGISTER_SUB_IDS = frozenset({SubId.SET_SHORT, SubId.GET_SHORT, SubId.SET_LONG, SubId.GET_LONG})


class Register(IntEnum):
    NOTIFICATIONS = 0x00        # receiver: notification flags; mouse: battery notifications
    MOUSE_BUTTON_FLAGS = 0x01   # mouse: 0x02 side-scroll (special buttons), 0x40 smooth scroll
    CONNECTION_STATE = 0x02     # receiver: read byte 1 = paired count; write 02 = fake arrival
    BATTERY_STATUS = 0x07       # level 1/3/5/7
    LEDS = 0x51                 # Performance MX LEDs
    MOUSE_DPI = 0x63            # Performance MX / Anywhere MX: 0x81..0x8F = 100..1500 dpi
    BATTERY_CHARGE = 0x0D       # percent, ?, status
    PAIRING = 0xB2              # receiver: 01 open, 02 close, 03 unpair
    PAIRING_INFO = 0xB5         # receiver, long: sub-register in p0
    FIRMWARE = 0xF1             # p0 = 01 firmware, 02 build, 03 other, 04 bootloader


# What each register is, in the words findings and context lines use.
REGISTER_NAMES: dict[int, str] = {
    Register.NOTIFICATIONS: "notification flags",
    Register.MOUSE_BUTTON_FLAGS: "mouse mode (side-scroll)",
    Register.CONNECTION_STATE: "connection state",
    Register.BATTERY_STATUS: "battery",
    Register.BATTERY_CHARGE: "battery",
    Register.MOUSE_DPI: "DPI",
    Register.PAIRING: "pairing",
    Register.PAIRING_INFO: "pairing info",
    Register.FIRMWARE: "firmware",
}


class MouseButtonFlag(IntFlag):
    SIDE_SCROLL = 0x02     # "special button function": tilt sends AC Pan (on) or plain buttons
    SMOOTH_SCROLL = 0x40   # the kernel sets it on connect for 1017/101A/101B


class NotificationFlag(IntFlag):
    """Receiver register 0x00, 3 bytes big-endian as Solaar writes it (0x000900)."""

    BATTERY_STATUS = 0x100000
    WIRELESS = 0x000100
    SOFTWARE_PRESENT = 0x000800


NOTIFICATION_FLAG_NAMES = ((NotificationFlag.BATTERY_STATUS, "battery"), (NotificationFlag.WIRELESS, "wireless"),
                           (NotificationFlag.SOFTWARE_PRESENT, "software present"))


def flag_names(value: int, table, *, other: bool = False) -> list[str]:
    """The names of the bits of `table` ((bit, name), ...) set in `value`; with `other`, the
    bits the table does not know as one "other 0x.." entry."""
    out = [name for bit, name in table if value & bit]
    rest = value & ~sum(bit for bit, _ in table)
    if other and rest:
        out.append(f"other 0x{rest:X}")
    return out


class PairingInfo(IntEnum):
    """Sub-registers of 0xB5 (slot n adds n - 1 to the 0x20/0x30/0x40 bases)."""

    RECEIVER = 0x03
    DEVICE = 0x20
    EXTENDED = 0x30
    NAME = 0x40


class FirmwareInfo(IntEnum):
    """Sub-registers of 0xF1 (Solaar reads bootloader from 04 and "other" from 03)."""

    FIRMWARE = 0x01
    BUILD = 0x02
    OTHER = 0x03
    BOOTLOADER = 0x04


class DeviceKind(IntEnum):
    UNKNOWN = 0x00
    KEYBOARD = 0x01
    MOUSE = 0x02
    NUMPAD = 0x03
    PRESENTER = 0x04
    REMOTE = 0x07
    TRACKBALL = 0x08
    TOUCHPAD = 0x09


def kind_name(code: int) -> str:
    return enum_name(DeviceKind, code, "kind 0x{:02X}")


# --- requests -------------------------------------------------------------------------


def read_request(devnum: int, register: int, params: bytes = b"", *, long: bool = False) -> bytes:
    """Get a register; a long read is still sent as a short report (the reply is long)."""
    sub = SubId.GET_LONG if long else SubId.GET_SHORT
    return build_short(devnum, sub, register, params)


def write_request(devnum: int, register: int, value: bytes, *, long: bool = False) -> bytes:
    if long:
        return build_long(devnum, SubId.SET_LONG, register, value)
    if len(value) > 3:
        raise FrameError(f"short register value of {len(value)} bytes (max 3)")
    return build_short(devnum, SubId.SET_SHORT, register, value)


# --- replies --------------------------------------------------------------------------


class RegisterMessage(NamedTuple):
    """A register request or reply (the two look alike; direction tells them apart)."""

    devnum: int
    sub_id: SubId
    register: int
    value: bytes

    @property
    def is_write(self) -> bool:
        return self.sub_id in (SubId.SET_SHORT, SubId.SET_LONG)

    @property
    def is_long(self) -> bool:
        return self.sub_id in (SubId.SET_LONG, SubId.GET_LONG)


def is_register_frame(frame: HidppFrame) -> bool:
    return frame.report_id != ReportId.VERY_LONG and frame.sub_id in REGISTER_SUB_IDS


def is_error_frame(frame: HidppFrame) -> bool:
    return frame.report_id == ReportId.SHORT and frame.sub_id == SubId.ERROR


def parse_register(frame: HidppFrame) -> RegisterMessage:
    if not is_register_frame(frame):
        raise FrameError(f"sub id 0x{frame.sub_id:02X} is not a HID++ 1.0 register access")
    return RegisterMessage(frame.devnum, SubId(frame.sub_id), frame.address, frame.params)


def parse_error(frame: HidppFrame) -> Hidpp10Error:
    """`10 idx 8F <sub> <addr> <code> 00` -> Hidpp10Error (returned, not raised)."""
    if not is_error_frame(frame):
        raise FrameError("not a HID++ 1.0 error frame")
    return Hidpp10Error(frame.devnum, frame.address, frame.params[0], frame.params[1])


def build_error(devnum: int, sub_id: int, address: int, code: int) -> bytes:
    return build_short(devnum, SubId.ERROR, sub_id, bytes((address, code, 0)))


# --- receiver pairing info (register 0xB5, long) ---------------------------------------


class ReceiverInfo(NamedTuple):
    """Register 0xB5 sub 0x03: the receiver's serial and how many devices it pairs."""

    serial: str
    max_devices: int


class PairingRecord(NamedTuple):
    """Register 0xB5 sub 0x20+n-1: what is paired in slot n."""

    slot: int
    wpid: int
    kind: int
    polling_ms: int


class ExtendedPairing(NamedTuple):
    """Register 0xB5 sub 0x30+n-1: slot n's serial and power switch location."""

    slot: int
    serial: str
    power_switch: int   # location code, 0 unknown


def pairing_value(value: bytes, sub: int, need: int, what: str = "pairing info") -> bytes:
    """`value` if it answers sub-register `sub` of 0xB5 with at least `need` bytes."""
    if len(value) < need:
        raise FrameError(f"{what} 0x{sub:02X} value of {len(value)} bytes (need {need})")
    if value[0] != sub:
        raise FrameError(f"{what} answer for 0x{value[0]:02X}, asked 0x{sub:02X}")
    return value


def parse_receiver_info(value: bytes) -> ReceiverInfo:
    v = pairing_value(value, PairingInfo.RECEIVER, 7)
    return ReceiverInfo(v[1:5].hex().upper(), v[6])


def parse_pairing(value: bytes, slot: int) -> PairingRecord:
    v = pairing_value(value, PairingInfo.DEVICE + slot - 1, 8)
    return PairingRecord(slot, v[3] << 8 | v[4], v[7] & 0x0F, v[2])


def parse_extended(value: bytes, slot: int) -> ExtendedPairing:
    v = pairing_value(value, PairingInfo.EXTENDED + slot - 1, 10)
    return ExtendedPairing(slot, v[1:5].hex().upper(), v[9] & 0x0F)


def parse_name(value: bytes, slot: int) -> str:
    v = pairing_value(value, PairingInfo.NAME + slot - 1, 2)
    n = min(v[1], len(v) - 2)
    return v[2 : 2 + n].decode("ascii", "replace")


def read_firmware(read) -> dict[str, str]:
    """Firmware of a receiver or a 1.0 device: `read(register, params)` returns the value
    bytes of register 0xF1, or None where the device answers with an error."""
    parts: dict[int, bytes] = {}
    for sub in FirmwareInfo:
        if (value := read(Register.FIRMWARE, bytes((sub,)))) is not None:
            parts[sub] = value
        elif sub == FirmwareInfo.FIRMWARE:
            break   # no firmware version: the rest will fail too (Solaar hidpp10.py get_firmware)
    return parse_firmware(parts)


def parse_firmware(parts: dict[int, bytes]) -> dict[str, str]:
    """Register 0xF1 answers (sub -> 3-byte value) -> {"firmware": "17.01.B0017", ...}."""
    out: dict[str, str] = {}
    fw, build = parts.get(FirmwareInfo.FIRMWARE), parts.get(FirmwareInfo.BUILD)
    if fw is not None:
        text = f"{fw[1]:02X}.{fw[2]:02X}"
        if build is not None:
            text += f".B{build[1]:02X}{build[2]:02X}"
        out["firmware"] = text
    for key, sub in (("bootloader", FirmwareInfo.BOOTLOADER), ("other", FirmwareInfo.OTHER)):
        if (v := parts.get(sub)) is not None:
            out[key] = f"{v[1]:02X}.{v[2]:02X}"
    return out


# --- battery ----------------------------------------------------------------------------

_LEVELS = {7: ("full", 90), 5: ("good", 50), 3: ("low", 20), 1: ("critical", 5)}   # level: name, percent


class Battery(NamedTuple):
    """A HID++ 1.0 battery reading (register 0x07 or 0x0D)."""

    percent: int | None
    level: str          # "65%" or "good"
    status: str


# Register 0x07 byte 1 as hid-logitech-hidpp.c hidpp10_battery_status_map_status maps it:
# 0x00 discharging, 0x21 charging, 0x24 fast and 0x25 slow charging, 0x22 complete and 0x26
# topping charge (full), 0x20 unknown; 0x23 (charging error), 0x01..0x1F and 0x27+ are
# "not charging".
_CHARGING = {0x00: "discharging", 0x20: "unknown", 0x21: "charging", 0x22: "full",
             0x23: "not charging (charging error)", 0x24: "charging (fast)", 0x25: "charging (slow)",
             0x26: "full (topping charge)"}


def parse_battery_status(value: bytes) -> Battery:
    """Register 0x07: level 1/3/5/7, charging byte. The Performance MX reads `07 00 00` =
    full, discharging."""
    name, percent = _LEVELS.get(value[0], (f"level {value[0]}", None))
    ch = value[1] if len(value) > 1 else None
    status = "?" if ch is None else _CHARGING.get(ch, "not charging")
    return Battery(percent, name, status)


def parse_battery_charge(value: bytes) -> Battery:
    """Register 0x0D: percent, ?, status (0x3x discharging; M705 reads `64 47 34` = 100%)."""
    pct = value[0]
    st = value[2] if len(value) > 2 else 0
    status = {0x3: "discharging", 0x5: "charging", 0x9: "full"}.get(st >> 4, f"status 0x{st:02X}")
    return Battery(pct if pct <= 100 else None, f"{pct}%", status)


# --- DPI (Performance MX register 0x63) -----------------------------------------------

DPI_MIN_CODE, DPI_MAX_CODE = 0x81, 0x8F


def dpi_from_code(code: int) -> int:
    if not DPI_MIN_CODE <= code <= DPI_MAX_CODE:
        raise ValueError(f"DPI code 0x{code:02X} out of 0x81..0x8F")
    return (code - 0x80) * 100


def dpi_to_code(dpi: int) -> int:
    if dpi % 100 or not 100 <= dpi <= 1500:
        raise ValueError(f"{dpi} dpi is not one of 100, 200, ... 1500")
    return 0x80 + dpi // 100
