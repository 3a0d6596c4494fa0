"""Prevention after a release: on an M705 101B whose side-scroll is off, turn it on.

The original reporter's phantom button 20 stopped once "Side Scrolling" (HID++ 1.0 register
0x01 bit 0x02) was enabled. The setting is written through devices.settings (read-modify-
write of that bit only, then read back), on the receiver slot of the device diagnosed.
"""

from __future__ import annotations

import contextlib

from phantombutton.models import SIDE_SCROLL
from phantombutton.devices.open import open_receivers
from phantombutton.errors import PhantomError

M705_101B = 0x101B


def _side_scroll_on(receiver, slot: int) -> str | None:
    from phantombutton.devices import settings

    device = next((d for d in receiver.devices() if d.slot == slot), None)
    if device is None or device.wpid != M705_101B:
        return None
    if settings.get(device, SIDE_SCROLL) == "on":
        return None
    back = settings.put(device, SIDE_SCROLL, "on")
    return (f"prevention: side-scroll was off on {device.label}; turned it on "
            f"(register 0x01 bit 0x02, read back: {back}) - with it on the phantom button 20 "
            "stopped for the original reporter")


class SideScrollFixer:
    """A callable(Finding) -> message | None for Watcher(prevention=...), once per device.

    It opens the platform's receivers when made and keeps them open for the session (its own
    readers, next to the watch source's: every reader gets every report, as on hidraw);
    a receiver it could not open makes its message say why."""

    def __init__(self, options):
        self._done: set[tuple] = set()
        self._stack = contextlib.ExitStack()
        self._receivers: list = []
        self._problem: str | None = None
        try:
            self._receivers = self._stack.enter_context(open_receivers(options))
        except PhantomError as e:
            self._problem = str(e)

    def __call__(self, f) -> str | None:
        if f.wpid != M705_101B or f.slot is None or (f.node, f.slot) in self._done:
            return None
        self._done.add((f.node, f.slot))
        if self._problem is not None:
            return f"prevention not applied: {self._problem}"
        for r in self._receivers:   # the slot's device must also be an M705 101B (checked inside)
            msg = _side_scroll_on(r, f.slot)
            if msg:
                return msg
        return None

    def close(self) -> None:
        self._stack.close()
