"""Small, direct operations on one /dev/input/eventN node (ioctl and write, no library).

Each query opens its own fd: EVIOCGKEY drops the EV_KEY events queued on the fd it is issued
on, so state is never read on the fd a listener reads events from. Writes go to the node of
the device diagnosed and nowhere else.
"""

from __future__ import annotations

import errno as _errno
import fcntl
import os
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

from phantombutton.buttons import KEY_MAX
from phantombutton.errors import UDEV_FIX, AccessDenied, DeviceGone
from phantombutton.input.bits import set_bits

EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC = 0, 1, 2, 3, 4
SYN_REPORT = 0
KEY_RESERVED = 0
CLOCK_MONOTONIC = 1

# struct input_keymap_entry { u8 flags; u8 len; u16 index; u32 keycode; u8 scancode[32]; }
_KEYMAP_ENTRY = struct.Struct("=BBHI32s")
INPUT_EVENT = struct.Struct("=qqHHi")    # struct input_event: timeval (64-bit) + type, code, value

def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("E") << 8) | nr


_IOC_WRITE, _IOC_READ = 1, 2
EVIOCGKEY = _ioc(_IOC_READ, 0x18, (KEY_MAX + 1) // 8)          # 96 bytes = KEY_CNT bits
EVIOCSCLOCKID = _ioc(_IOC_WRITE, 0xA0, 4)                        # 0x400445A0
EVIOCGKEYCODE_V2 = _ioc(_IOC_READ, 0x04, _KEYMAP_ENTRY.size)
EVIOCSKEYCODE_V2 = _ioc(_IOC_WRITE, 0x04, _KEYMAP_ENTRY.size)


def os_error(node: str, e: OSError, need: str = "read") -> Exception:
    """Turn an OSError on a node into the error the user sees (AccessDenied names the fix)."""
    name = _errno.errorcode.get(e.errno or 0, str(e.errno))
    if e.errno in (_errno.EACCES, _errno.EPERM):
        return AccessDenied(node, name, f"{need} access to input nodes needs root or the "
                                        f"input group; {UDEV_FIX}")
    if e.errno in (_errno.ENODEV, _errno.ENOENT, _errno.ENXIO, _errno.EIO):
        return DeviceGone(f"{node}: device gone ({name})")
    return e


def open_node(node: str, write: bool = False) -> int:
    flags = (os.O_RDWR if write else os.O_RDONLY) | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        return os.open(node, flags)
    except OSError as e:
        raise os_error(node, e, "write" if write else "read") from e


@contextmanager
def _query(node: str, write: bool = False) -> Iterator[int]:
    """A fresh fd on `node` for one query or write, closed after; errors as open_node's."""
    fd = open_node(node, write)
    try:
        yield fd
    except OSError as e:
        raise os_error(node, e, "write" if write else "read") from e
    finally:
        os.close(fd)


def parse_key_bits(buf: bytes) -> frozenset[int]:
    return set_bits(int.from_bytes(buf, "little"))


def held_keys(node: str) -> frozenset[int]:
    """EV_KEY codes the kernel holds on `node` (EVIOCGKEY on a fresh fd)."""
    with _query(node) as fd:
        buf = bytearray(EVIOCGKEY >> 16 & 0x3FFF)
        fcntl.ioctl(fd, EVIOCGKEY, buf, True)
        return parse_key_bits(bytes(buf))


def pack_events(events: list[tuple[int, int, int]]) -> bytes:
    now = time.time()
    sec, usec = int(now), int((now % 1) * 1e6)
    return b"".join(INPUT_EVENT.pack(sec, usec, t, c, v) for t, c, v in events)


def write_key(node: str, code: int, value: int) -> None:
    """Inject EV_KEY code value + SYN_REPORT into `node` (delivered to every reader)."""
    with _query(node, write=True) as fd:
        os.write(fd, pack_events([(EV_KEY, code, value), (EV_SYN, SYN_REPORT, 0)]))


def pack_keymap_entry(scancode: int, keycode: int = 0) -> bytes:
    return _KEYMAP_ENTRY.pack(0, 4, 0, keycode, scancode.to_bytes(4, "little") + bytes(28))


def get_keycode(node: str, scancode: int) -> int:
    """EVIOCGKEYCODE_V2: the keycode a scancode maps to on this node."""
    with _query(node) as fd:
        buf = bytearray(pack_keymap_entry(scancode))
        fcntl.ioctl(fd, EVIOCGKEYCODE_V2, buf, True)
        return _KEYMAP_ENTRY.unpack(bytes(buf))[3]


def set_keycode(node: str, scancode: int, keycode: int) -> int:
    """EVIOCSKEYCODE_V2, then read back; returns the keycode read back.

    Mapping a held key's scancode away makes the input core send its key-up at once
    (input_set_keycode), which is why muting also releases.
    """
    with _query(node, write=True) as fd:
        fcntl.ioctl(fd, EVIOCSKEYCODE_V2, pack_keymap_entry(scancode, keycode))
    return get_keycode(node, scancode)


def set_monotonic_clock(fd: int) -> bool:
    """EVIOCSCLOCKID CLOCK_MONOTONIC: event times then compare with time.monotonic()."""
    try:
        fcntl.ioctl(fd, EVIOCSCLOCKID, struct.pack("i", CLOCK_MONOTONIC))
        return True
    except OSError:
        return False
