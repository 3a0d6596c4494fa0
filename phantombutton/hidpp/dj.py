"""DJ protocol (report ids 0x20/0x21): the receiver <-> kernel framing of hid-logitech-dj.

Report types (third byte), as in drivers/hid/hid-logitech-dj.c:
    0x01..0x1F  RF input reports forwarded from a paired device (0x02 = mouse)
    0x40 device unpaired, 0x41 device paired, 0x42 connection status, 0x7F error
    0x80 switch to DJ mode, 0x81 get paired devices (host -> receiver)

The DJ mouse report is what carries the phantom button:
    `20 <slot> 02 <buttons lo> <buttons hi> <x,y: 2 x 12 bit packed> <wheel> <pan>` (15 bytes)
16 buttons; HID button n is bit n-1. HID button 16 = bit 7 of the high byte; its other names
(evdev 0x11F, X button 20) are in phantombutton/buttons.py.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from phantombutton.buttons import PHANTOM_HID_BUTTON, buttons_of
from phantombutton.hidpp.errors import FrameError
from phantombutton.hidpp.frames import DjFrame, ReportId, build_dj


class DjReportType(IntEnum):
    KEYBOARD = 0x01
    MOUSE = 0x02
    CONSUMER_CONTROL = 0x03
    SYSTEM_CONTROL = 0x04
    MEDIA_CENTER = 0x08
    LEDS = 0x0E
    NOTIF_DEVICE_UNPAIRED = 0x40
    NOTIF_DEVICE_PAIRED = 0x41
    NOTIF_CONNECTION_STATUS = 0x42
    NOTIF_ERROR = 0x7F
    CMD_SWITCH = 0x80
    CMD_GET_PAIRED_DEVICES = 0x81


RF_REPORT_LAST = 0x1F
# 0x41 paired: special function bits in p0
SPFUNCTION_MORE_NOTIF_EXPECTED = 0x01
SPFUNCTION_DEVICE_LIST_EMPTY = 0x02
# 0x42 connection status p0
STATUS_LINK_LOSS = 0x01
# 0x7F error p0
ETYPE_KEEPALIVE_TIMEOUT = 0x01

# RF report-type bit field announced in the 0x41 paired notification: bit n = report type n
# (hid-logitech-dj.c STD_KEYBOARD, STD_MOUSE, MULTIMEDIA, POWER_KEYS, MEDIA_CENTER, KBD_LEDS).
RF_STD_MOUSE = 1 << DjReportType.MOUSE
RF_REPORT_NAMES = {
    1 << DjReportType.KEYBOARD: "keyboard", RF_STD_MOUSE: "mouse",
    1 << DjReportType.CONSUMER_CONTROL: "multimedia", 1 << DjReportType.SYSTEM_CONTROL: "power keys",
    1 << DjReportType.MEDIA_CENTER: "media center", 1 << DjReportType.LEDS: "leds",
}

# --- mouse report ---------------------------------------------------------------------


def signed(value: int, bits: int) -> int:
    """A two's-complement field of `bits` bits as an int."""
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


class DjMouseReport(NamedTuple):
    """A DJ mouse report: buttons, motion and wheels of one slot."""

    devnum: int
    buttons: int      # 16-bit mask, bit n-1 = HID button n
    x: int            # -2047..2047
    y: int
    wheel: int        # -127..127
    pan: int          # horizontal wheel (AC Pan), -127..127

    @property
    def pressed(self) -> tuple[int, ...]:
        return buttons_of(self.buttons)

    @property
    def phantom(self) -> bool:
        return bool(self.buttons >> (PHANTOM_HID_BUTTON - 1) & 1)


def parse_mouse(frame: DjFrame) -> DjMouseReport:
    if frame.report_type != DjReportType.MOUSE:
        raise FrameError(f"DJ report type 0x{frame.report_type:02X} is not a mouse report")
    p = frame.params
    if len(p) < 7:
        raise FrameError(f"DJ mouse report with {len(p)} parameter bytes (expected >= 7)")
    buttons = p[0] | p[1] << 8
    x = signed(p[2] | (p[3] & 0x0F) << 8, 12)
    y = signed(p[3] >> 4 | p[4] << 4, 12)
    return DjMouseReport(frame.devnum, buttons, x, y, signed(p[5], 8), signed(p[6], 8))


def build_mouse(devnum: int, buttons: int = 0, x: int = 0, y: int = 0, wheel: int = 0, pan: int = 0) -> bytes:
    """A DJ short mouse report, as the receiver sends it (values are clamped to range)."""
    if not 0 <= buttons <= 0xFFFF:
        raise FrameError(f"button mask 0x{buttons:X} is not 16 bits")

    def clamp(v: int, lim: int) -> int:
        return max(-lim, min(lim, v))

    x12, y12 = clamp(x, 2047) & 0xFFF, clamp(y, 2047) & 0xFFF
    params = bytes((
        buttons & 0xFF, buttons >> 8,
        x12 & 0xFF, (x12 >> 8) | (y12 & 0x0F) << 4, y12 >> 4,
        clamp(wheel, 127) & 0xFF, clamp(pan, 127) & 0xFF,
    ))
    return build_dj(ReportId.DJ_SHORT, devnum, DjReportType.MOUSE, params)


# --- notifications and commands -------------------------------------------------------


class DjDevicePaired(NamedTuple):
    """0x41 in DJ framing: the answer to `get paired devices`, or a new pairing."""

    devnum: int
    wpid: int
    rf_reports: int       # bit field of RF report types the device sends
    list_empty: bool      # receiver has no paired device at all (devnum is meaningless)
    more_expected: bool


class DjDeviceUnpaired(NamedTuple):
    """DJ notification: the device in this slot was unpaired."""

    devnum: int


class DjConnectionStatus(NamedTuple):
    """DJ notification: the link to this slot was established or lost."""

    devnum: int
    link_lost: bool


class DjError(NamedTuple):
    """DJ error report (e.g. keepalive timeout)."""

    devnum: int
    error_type: int       # 0x01 keepalive timeout


class DjCommand(NamedTuple):
    """A DJ command report with its parameters."""

    devnum: int
    command: DjReportType
    params: bytes


DjMessage = DjMouseReport | DjDevicePaired | DjDeviceUnpaired | DjConnectionStatus | DjError | DjCommand


def parse_message(frame: DjFrame) -> DjMessage | None:
    """Type a DJ frame; None for RF reports we do not model (keyboard, consumer, ...)."""
    t, p = frame.report_type, frame.params
    if t == DjReportType.MOUSE:
        return parse_mouse(frame)
    if t == DjReportType.NOTIF_DEVICE_PAIRED:
        rf = int.from_bytes(p[3:7], "little")
        return DjDevicePaired(
            frame.devnum, p[1] | p[2] << 8, rf,
            bool(p[0] & SPFUNCTION_DEVICE_LIST_EMPTY), bool(p[0] & SPFUNCTION_MORE_NOTIF_EXPECTED),
        )
    if t == DjReportType.NOTIF_DEVICE_UNPAIRED:
        return DjDeviceUnpaired(frame.devnum)
    if t == DjReportType.NOTIF_CONNECTION_STATUS:
        return DjConnectionStatus(frame.devnum, bool(p[0] & STATUS_LINK_LOSS))
    if t == DjReportType.NOTIF_ERROR:
        return DjError(frame.devnum, p[0])
    if t in (DjReportType.CMD_SWITCH, DjReportType.CMD_GET_PAIRED_DEVICES):
        return DjCommand(frame.devnum, DjReportType(t), p)
    return None


def build_paired(devnum: int, wpid: int, rf_reports: int = RF_STD_MOUSE, more: bool = False) -> bytes:
    sp = SPFUNCTION_MORE_NOTIF_EXPECTED if more else 0
    params = bytes((sp, wpid & 0xFF, wpid >> 8)) + rf_reports.to_bytes(4, "little")
    return build_dj(ReportId.DJ_SHORT, devnum, DjReportType.NOTIF_DEVICE_PAIRED, params)


def build_connection_status(devnum: int, link_lost: bool) -> bytes:
    return build_dj(ReportId.DJ_SHORT, devnum, DjReportType.NOTIF_CONNECTION_STATUS,
                    bytes((STATUS_LINK_LOSS if link_lost else 0,)))


def build_switch(devices: int = 0x3F, timeout: int = 0) -> bytes:
    """The kernel's `20 ff 80 3f 00`: switch the receiver to DJ mode for the given slots."""
    return build_dj(ReportId.DJ_SHORT, 0xFF, DjReportType.CMD_SWITCH, bytes((devices, timeout)))


def build_get_paired() -> bytes:
    return build_dj(ReportId.DJ_SHORT, 0xFF, DjReportType.CMD_GET_PAIRED_DEVICES)
