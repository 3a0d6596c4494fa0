"""Frame builders for the model's answers (raw bytes; the model does no decoding beyond indexing).

Deliberately independent of phantombutton.hidpp: the model is the peer the HID++ code is
tested against, so it writes its bytes with its own few lines rather than with the builders
under test (a packing mistake shared by both sides would pass every test)."""

from __future__ import annotations

import struct
from enum import IntEnum

SHORT, LONG, DJ_SHORT, DJ_LONG = 0x10, 0x11, 0x20, 0x21
LENGTHS = {SHORT: 7, LONG: 20, DJ_SHORT: 15, DJ_LONG: 32}
RECEIVER = 0xFF


class Sub(IntEnum):
    """HID++ 1.0 sub-ids the model handles."""

    SET_REGISTER = 0x80
    GET_REGISTER = 0x81
    SET_LONG_REGISTER = 0x82
    GET_LONG_REGISTER = 0x83
    ERROR = 0x8F
    DEVICE_UNPAIRED = 0x40
    DEVICE_CONNECTION = 0x41
    PAIRING_LOCK = 0x4A


class Err10(IntEnum):
    INVALID_SUBID = 0x01
    INVALID_ADDRESS = 0x02
    INVALID_VALUE = 0x03
    BUSY = 0x07
    UNKNOWN_DEVICE = 0x08
    RESOURCE_ERROR = 0x09


class Err20(IntEnum):
    INVALID_ARGUMENT = 2
    OUT_OF_RANGE = 3
    INVALID_FEATURE_INDEX = 6
    INVALID_FUNCTION = 7
    BUSY = 8


def short(devnum: int, b2: int, b3: int, params: bytes = b"") -> bytes:
    return bytes([SHORT, devnum, b2, b3]) + bytes(params[:3]).ljust(3, b"\0")


def long(devnum: int, b2: int, b3: int, params: bytes = b"") -> bytes:
    return bytes([LONG, devnum, b2, b3]) + bytes(params[:16]).ljust(16, b"\0")


def error10(request: bytes, code: int) -> bytes:
    """`10 idx 8F <sub> <addr> <code> 00`: the same for registers and 2.0-style requests."""
    return short(request[1], Sub.ERROR, request[2], bytes([request[3], code]))


def error20(request: bytes, code: int) -> bytes:
    """`11 idx FF <feature index> <fn|sw> <code> 00...`."""
    return long(request[1], 0xFF, request[2], bytes([request[3], code]))


def dj_short(devnum: int, report_type: int, params: bytes = b"") -> bytes:
    return bytes([DJ_SHORT, devnum, report_type]) + bytes(params[:12]).ljust(12, b"\0")


def _clamp(value: int, limit: int) -> int:
    return max(-limit, min(limit, value))


def mouse_params(buttons: int, dx: int = 0, dy: int = 0, wheel: int = 0, pan: int = 0) -> bytes:
    """DJ mouse report payload: 16 buttons, X/Y 12-bit two's complement packed, wheel, pan."""
    xy = _clamp(dx, 2047) & 0xFFF | (_clamp(dy, 2047) & 0xFFF) << 12
    return (struct.pack("<H", buttons & 0xFFFF) + xy.to_bytes(3, "little")
            + struct.pack("<bb", _clamp(wheel, 127), _clamp(pan, 127)))


def well_formed(report: bytes) -> bool:
    return len(report) >= 3 and LENGTHS.get(report[0]) == len(report)


MOUSE_REPORT = 0x02   # hid-logitech-dj.c REPORT_TYPE_MOUSE: the id of a plain mouse report


def mouse_report(buttons: int, dx: int = 0, dy: int = 0, wheel: int = 0, pan: int = 0, *,
                 high_res: bool = False) -> bytes:
    """A non-DJ receiver's mouse report 0x02 as the kernel forwards it to the child, in the
    layout of the descriptor hid-logitech-dj gives the child (hid-logitech-dj.c
    `logi_dj_ll_parse`): `mse_descriptor` (recvr_type_hidpp, Nano C534) is the DJ layout,
    16 buttons + 12-bit X/Y + wheel + AC pan, 8 bytes; `mse_high_res_descriptor`
    (recvr_type_gaming_hidpp, Lightspeed) has 16-bit X/Y, 9 bytes."""
    if not high_res:
        return bytes([MOUSE_REPORT]) + mouse_params(buttons, dx, dy, wheel, pan)
    return struct.pack("<BHhhbb", MOUSE_REPORT, buttons & 0xFFFF, _clamp(dx, 32767), _clamp(dy, 32767),
                       _clamp(wheel, 127), _clamp(pan, 127))


def parse_high_res_mouse_report(report: bytes) -> tuple[int, bool, int] | None:
    """(HID button mask, moved, wheel units) of a 9-byte `mouse_report(..., high_res=True)`
    (Lightspeed's children, Bolt's mouse interface, a Bluetooth mouse); None for any other."""
    if len(report) != 9 or report[0] != MOUSE_REPORT:
        return None
    _, buttons, dx, dy, wheel, _ = struct.unpack("<BHhhbb", report)
    return buttons, bool(dx or dy), wheel
