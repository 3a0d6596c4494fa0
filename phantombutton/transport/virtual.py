"""In-process transport onto a VirtualReceiver (`phantombutton --virtual`).

Behaves like an open fd on the receiver's hidraw node on a running system: every input report
the model produces after the open (replies - other readers' too -, notifications, DJ mouse
reports) is read here, in order, once it is due; other open transports get their own copy.
"""

from __future__ import annotations

import errno
import time
from collections import deque

from .base import device_gone


class VirtualTransport:
    def __init__(self, receiver, node: str = "virtual:c52b", *, after_read=None):
        self.receiver = receiver
        self._after_read = after_read    # the kernel model takes its copy as reports arrive
        self.node = node
        self._reader = receiver.open_reader()
        self._pending: deque[bytes] = deque()
        self._closed = False

    def write(self, data: bytes) -> None:
        self._check("write")
        try:
            self.receiver.handle_output(bytes(data))
        except OSError as exc:  # the model's unplug() makes it behave like a vanished node
            raise device_gone(self.node, exc.errno or errno.ENODEV, "write") from None

    def read(self, timeout: float) -> bytes | None:
        self._check("read")
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self._pending:
                return self._pending.popleft()
            if getattr(self.receiver, "unplugged", False):
                raise device_gone(self.node, errno.ENODEV, "read")
            self._pending.extend(self._reader.pop())
            if self._after_read is not None:
                self._after_read()
            if self._pending:
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._reader.wait(remaining)

    def close(self) -> None:
        self._closed = True
        self._reader.close()

    def _check(self, action: str) -> None:
        if self._closed:
            raise ValueError(f"{self.node}: {action} on a closed transport")
