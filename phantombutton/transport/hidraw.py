"""HidrawTransport: a /dev/hidrawN node through the hidapi package's `hidraw` module.

Never `import hid`: that module is hidapi's libusb backend, and opening the receiver with
it detaches hid-logitech-dj from the interface - the user's mouse and keyboard vanish.
`tests/unit/test_no_hid_import.py` fails if anything imports it.

hidapi reports I/O failures as a bare IOError with a message, not an errno; we open the
node ourselves first to get the real errno (EACCES -> AccessDenied with the udev fix), and
read the message hidapi keeps for failed reads and writes to tell "gone" from other errors.
"""

from __future__ import annotations

import errno
import os
import re

from ..errors import UDEV_FIX, AccessDenied, DeviceGone, PhantomError
from .base import device_gone

NODE_RE = re.compile(r"^/dev/hidraw[0-9]+$")
READ_SIZE = 64  # the largest HID++ report (very long, 0x12) is 64 bytes
# strerror texts and hidapi messages that mean the node is gone
_GONE_WORDS = ("no such device", "input/output error", "disconnected", "broken pipe")


def check_node(path: str) -> str:
    """Refuse anything but /dev/hidrawN (the libusb backend takes other path forms)."""
    real = os.path.realpath(path)
    if not NODE_RE.match(path) and not NODE_RE.match(real):
        raise PhantomError(f"{path}: not a hidraw node; expected /dev/hidrawN")
    return path


def _probe_open(path: str) -> None:
    """Open and close the node with plain os.open to learn the errno hidapi would hide."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise AccessDenied(path, name, UDEV_FIX) from None
        if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            raise DeviceGone(f"{path}: no such device ({name}); is the receiver plugged in?") from None
        raise PhantomError(f"{path}: cannot open ({name}: {exc.strerror})") from None
    os.close(fd)


def _node_opens(path: str) -> bool:
    """hidapi words a read on a destroyed node oddly ("read error Success"): ask the kernel."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK))
    except OSError as exc:
        return exc.errno not in (errno.ENODEV, errno.ENOENT, errno.ENXIO)
    return True


class HidrawTransport:
    def __init__(self, path: str):
        import hidraw  # lazy: a C extension, only commands that touch hardware need it

        self.node = check_node(path)
        _probe_open(path)
        self._dev = hidraw.device()
        try:
            self._dev.open_path(path.encode())
        except OSError as exc:
            raise PhantomError(f"{path}: cannot open ({exc})") from None
        self._dev.set_nonblocking(1)  # read(0) polls; timed reads use hid_read_timeout

    def write(self, data: bytes) -> None:
        try:
            n = self._dev.write(bytes(data))
        except (OSError, ValueError) as exc:
            raise self._failure("write", exc) from None
        if n is not None and n < 0:
            raise self._failure("write", None)

    def read(self, timeout: float) -> bytes | None:
        ms = int(timeout * 1000)
        try:
            # hidapi: timeout_ms > 0 waits that long; 0 is a plain (non-blocking) read
            data = self._dev.read(READ_SIZE, ms if ms > 0 else 0)
        except (OSError, ValueError) as exc:
            raise self._failure("read", exc) from None
        return bytes(data) if data else None

    def close(self) -> None:
        try:
            self._dev.close()
        except Exception:  # closing a vanished device must not mask the real error
            pass

    def _failure(self, action: str, exc: BaseException | None) -> PhantomError:
        try:
            detail = self._dev.error() or ""
        except Exception:
            detail = ""
        text = f"{exc or ''} {detail}".strip()
        # the usual case: the node went with the device; or it is still listed, its device gone
        if not _node_opens(self.node):
            return device_gone(self.node, errno.ENODEV, action)
        lowered = text.lower()
        if "input/output error" in lowered:
            return device_gone(self.node, errno.EIO, action)
        if any(word in lowered for word in _GONE_WORDS):
            return device_gone(self.node, errno.ENODEV, action)
        return PhantomError(f"{self.node}: {action} failed ({text or 'unknown error'})")
