"""Typed HID++ errors carrying the protocol's error codes."""

from __future__ import annotations

from enum import IntEnum


class Hidpp10ErrorCode(IntEnum):
    SUCCESS = 0x00
    INVALID_SUBID = 0x01
    INVALID_ADDRESS = 0x02
    INVALID_VALUE = 0x03
    CONNECT_FAIL = 0x04
    TOO_MANY_DEVICES = 0x05
    ALREADY_EXISTS = 0x06
    BUSY = 0x07
    UNKNOWN_DEVICE = 0x08
    RESOURCE_ERROR = 0x09
    REQUEST_UNAVAILABLE = 0x0A
    INVALID_PARAM_VALUE = 0x0B
    WRONG_PIN_CODE = 0x0C


class Hidpp20ErrorCode(IntEnum):
    NO_ERROR = 0
    UNKNOWN = 1
    INVALID_ARGUMENT = 2
    OUT_OF_RANGE = 3
    HARDWARE_ERROR = 4
    LOGITECH_INTERNAL = 5
    INVALID_FEATURE_INDEX = 6
    INVALID_FUNCTION_ID = 7
    BUSY = 8
    UNSUPPORTED = 9


def enum_name(enum: type[IntEnum], code: int, unknown: str = "0x{:02X}") -> str:
    """`code`'s name in `enum` as words ("invalid value"); `unknown` formatted with it if none."""
    try:
        return enum(code).name.lower().replace("_", " ")
    except ValueError:
        return unknown.format(code)


class HidppError(Exception):
    """Base of all HID++ protocol errors (frames and device answers)."""


class FrameError(HidppError, ValueError):
    """Bytes that are not a valid frame. The only error the decoder may raise."""


class Hidpp10Error(HidppError):
    """A HID++ 1.0 error reply: `10 idx 8F <sub> <addr> <code> 00`."""

    def __init__(self, devnum: int, sub_id: int, address: int, code: int):
        self.devnum, self.sub_id, self.address, self.code = devnum, sub_id, address, code
        name = enum_name(Hidpp10ErrorCode, code, "unknown error 0x{:02X}")
        super().__init__(
            f"HID++ 1.0 error {name} (0x{code:02X}) "
            f"for device {devnum}, request 0x{sub_id:02X} 0x{address:02X}"
        )


class Hidpp20Error(HidppError):
    """A HID++ 2.0 error reply: `11 idx FF <feature index> <fn|sw> <code> ...`."""

    def __init__(self, devnum: int, feature_index: int, function: int, code: int):
        self.devnum, self.feature_index, self.function, self.code = devnum, feature_index, function, code
        name = enum_name(Hidpp20ErrorCode, code, "unknown error 0x{:02X}")
        super().__init__(
            f"HID++ 2.0 error {name} ({code}) "
            f"for device {devnum}, feature index {feature_index} function {function}"
        )


class HidppTimeout(HidppError):
    def __init__(self, devnum: int, request: bytes, seconds: float):
        self.devnum, self.request, self.seconds = devnum, request, seconds
        super().__init__(f"no reply from device {devnum} within {seconds:.1f} s to {request.hex(' ')}")
