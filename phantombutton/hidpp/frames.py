"""HID++ and DJ frames: report ids, lengths, a typed frame per family, parse and build.

Pure: bytes in, frozen dataclasses out. Anything that is not a well-formed frame raises
FrameError (never IndexError, struct.error, ...), so callers that decode untrusted input
(captures, other programs' traffic) need to catch exactly one thing.

Layout (docs/hidpp.md; hid-logitech-dj.c REPORT_ID_HIDPP_SHORT/LONG/VERY_LONG, REPORT_ID_DJ_*):
    HID++  `<report id> <devnum> <sub id | feature index> <address | function<<4|swid> params..`
    DJ     `<report id> <devnum> <report type> params..`
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from phantombutton.hidpp.errors import FrameError


class ReportId(IntEnum):
    SHORT = 0x10       # HID++ short, 7 bytes
    LONG = 0x11        # HID++ long, 20 bytes
    VERY_LONG = 0x12   # HID++ very long, up to 64 bytes (length from the report descriptor)
    DJ_SHORT = 0x20    # DJ short, 15 bytes (receiver <-> kernel; also mouse input)
    DJ_LONG = 0x21     # DJ long, 32 bytes


REPORT_LENGTH: dict[ReportId, int] = {
    ReportId.SHORT: 7,
    ReportId.LONG: 20,
    ReportId.VERY_LONG: 64,
    ReportId.DJ_SHORT: 15,
    ReportId.DJ_LONG: 32,
}

HIDPP_REPORT_IDS = frozenset({ReportId.SHORT, ReportId.LONG, ReportId.VERY_LONG})
DJ_REPORT_IDS = frozenset({ReportId.DJ_SHORT, ReportId.DJ_LONG})

# Device index of the receiver itself (and of wired / Bluetooth devices).
RECEIVER = 0xFF

# A very long report's length comes from the report descriptor; it is never shorter than a
# long report, so we accept 20..64 bytes (and decoders can rely on >= 16 parameter bytes), as
# hid-logitech-hidpp.c hidpp_validate_device does.
VERY_LONG_MIN = 20


class HidppFrame(NamedTuple):
    """One HID++ report. For HID++ 2.0, `sub_id` is the feature index and `address` is
    `function << 4 | software_id`; for HID++ 1.0 they are sub id and register."""

    report_id: ReportId
    devnum: int
    sub_id: int
    address: int
    params: bytes

    @property
    def function(self) -> int:
        return self.address >> 4

    @property
    def software_id(self) -> int:
        return self.address & 0x0F

    def to_bytes(self) -> bytes:
        return bytes((self.report_id, self.devnum, self.sub_id, self.address)) + self.params

    def hex(self) -> str:
        return self.to_bytes().hex(" ")


class DjFrame(NamedTuple):
    """One DJ report: `report_type` 0x01..0x1F are forwarded RF input reports (0x02 mouse),
    0x40..0x7F notifications, 0x80+ commands from the host."""

    report_id: ReportId
    devnum: int
    report_type: int
    params: bytes

    def to_bytes(self) -> bytes:
        return bytes((self.report_id, self.devnum, self.report_type)) + self.params

    def hex(self) -> str:
        return self.to_bytes().hex(" ")


Frame = HidppFrame | DjFrame


def length_ok(report_id: ReportId, n: int) -> bool:
    """Is `n` bytes the length of a report with this id (very long: 20..64)?"""
    low = VERY_LONG_MIN if report_id is ReportId.VERY_LONG else REPORT_LENGTH[report_id]
    return low <= n <= REPORT_LENGTH[report_id]


def parse(data: bytes | bytearray | memoryview) -> Frame:
    """Parse one raw report into a HidppFrame or DjFrame; FrameError if malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FrameError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    n = len(data)
    if not data:
        raise FrameError("empty report")
    try:
        report_id = ReportId(data[0])
    except ValueError:
        raise FrameError(f"unknown report id 0x{data[0]:02X} (not HID++ or DJ)") from None
    if not length_ok(report_id, n):
        if report_id is ReportId.VERY_LONG:
            raise FrameError(f"HID++ very long report of {n} bytes (expected 20..64)")
        raise FrameError(f"report 0x{report_id:02X} of {n} bytes (expected {REPORT_LENGTH[report_id]})")
    if report_id in DJ_REPORT_IDS:
        return DjFrame(report_id, data[1], data[2], data[3:])
    return HidppFrame(report_id, data[1], data[2], data[3], data[4:])


def parse_hidpp(data: bytes | bytearray | memoryview) -> HidppFrame:
    frame = parse(data)
    if not isinstance(frame, HidppFrame):
        raise FrameError(f"report 0x{frame.report_id:02X} is a DJ report, not HID++")
    return frame


def _byte(name: str, value: int) -> int:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise FrameError(f"{name} {value!r} is not a byte")
    return value


def _assemble(report_id: ReportId, family: frozenset, what: str, head: tuple[tuple[str, int], ...],
              params: bytes) -> bytes:
    """`report_id` + the checked head bytes + params zero-padded to the report's length."""
    report_id = ReportId(report_id)
    if report_id not in family:
        raise FrameError(f"report 0x{report_id:02X} is not a {what} report")
    room = REPORT_LENGTH[report_id] - 1 - len(head)
    params = bytes(params)
    if len(params) > room:
        raise FrameError(f"{len(params)} parameter bytes do not fit a 0x{report_id:02X} report ({room})")
    return bytes((report_id, *(_byte(name, value) for name, value in head))) + params.ljust(room, b"\0")


def build(report_id: ReportId, devnum: int, sub_id: int, address: int, params: bytes = b"") -> bytes:
    """Build a HID++ report, zero-padding params to the report's length."""
    return _assemble(report_id, HIDPP_REPORT_IDS, "HID++",
                     (("devnum", devnum), ("sub id", sub_id), ("address", address)), params)


def build_short(devnum: int, sub_id: int, address: int, params: bytes = b"") -> bytes:
    return build(ReportId.SHORT, devnum, sub_id, address, params)


def build_long(devnum: int, sub_id: int, address: int, params: bytes = b"") -> bytes:
    return build(ReportId.LONG, devnum, sub_id, address, params)


def build_dj(report_id: ReportId, devnum: int, report_type: int, params: bytes = b"") -> bytes:
    """Build a DJ report, zero-padding params to the report's length."""
    return _assemble(report_id, DJ_REPORT_IDS, "DJ", (("devnum", devnum), ("report type", report_type)), params)
