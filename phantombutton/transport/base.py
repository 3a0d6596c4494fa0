"""The Transport protocol: one HID++ capable node, raw reports in and out.

A transport moves whole reports (report id first) and nothing else: matching replies,
retries and timeouts are the engine's job (`transport/engine.py`).
"""

from __future__ import annotations

import errno
from typing import Protocol, runtime_checkable

from ..errors import DeviceGone


@runtime_checkable
class Transport(Protocol):
    node: str

    def write(self, data: bytes) -> None:
        """Send one report. Raises DeviceGone on ENODEV/EIO."""

    def read(self, timeout: float) -> bytes | None:
        """Next input report, or None after `timeout` seconds (0 = do not wait).

        Raises DeviceGone on ENODEV/EIO."""

    def close(self) -> None: ...


def device_gone(node: str, err: int | str, action: str) -> DeviceGone:
    """The one-line error for a node that went away while we used it."""
    name = errno.errorcode.get(err, str(err)) if isinstance(err, int) else err
    return DeviceGone(
        f"{node}: device gone during {action} ({name}); the receiver was unplugged or the "
        f"device was removed - plug it back in and run the command again"
    )
