"""Prevention after a release: on an M705 101B whose side-scroll is off, turn it on.

The original reporter's phantom button 20 stopped once "Side Scrolling" (HID++ 1.0 register
0x01 bit 0x02) was enabled. The setting is written through devices.settings (read-modify-
write of that bit only, then read back), on the receiver slot of the device diagnosed.
"""

from __future__ import annotations

from phantombutton.devices import settings
from phantombutton.models import SIDE_SCROLL
from phantombutton.devices.open import open_receivers

M705_101B = 0x101B


def _side_scroll_on(receiver, slot: int) -> str | None:
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

    It opens the platform's receivers only when a finding asks for prevention, and closes them
    at once. Kept open for the session, a reader on a receiver unplugged meanwhile would hold
    the dead node (and its hidraw minor: hidraw.c drop_ref frees it at the last close) and
    write nowhere. A receiver it cannot open raises PhantomError: the Watcher says
    "prevention not applied" and why."""

    def __init__(self, options):
        self._options = options
        self._done: set[tuple] = set()

    def __call__(self, f) -> str | None:
        if f.wpid != M705_101B or f.slot is None or (f.node, f.slot) in self._done:
            return None
        self._done.add((f.node, f.slot))
        with open_receivers(self._options) as receivers:
            for r in receivers:   # the slot's device must also be an M705 101B (checked inside)
                if msg := _side_scroll_on(r, f.slot):
                    return msg
        return None
