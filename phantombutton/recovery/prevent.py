"""Prevention after a release: on an M705 101B whose side-scroll is off, turn it on.

The original reporter's phantom button 20 stopped once "Side Scrolling" (HID++ 1.0 register
0x01 bit 0x02) was enabled. The setting is written through devices.settings (read-modify-
write of that bit only, then read back), on the receiver slot of the device diagnosed.
"""

from __future__ import annotations

import contextlib

from phantombutton.devices.models import SIDE_SCROLL

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


def side_scroll_fixer(options, virtual_model=None):
    """A callable(Finding) -> message | None for Watcher(prevention=...).

    `virtual_model`: the VirtualReceiver the watch source uses (the same one must be
    configured, not a fresh copy); otherwise the hardware receivers are opened per call.
    """
    done: set[tuple] = set()

    def prevent(f) -> str | None:
        if f.wpid != M705_101B or f.slot is None:
            return None
        key = (f.node, f.slot)
        if key in done:
            return None
        done.add(key)
        if virtual_model is not None:
            from phantombutton.devices.receiver import Receiver
            from phantombutton.transport.engine import Engine
            from phantombutton.transport.virtual import VirtualTransport

            transport = VirtualTransport(virtual_model)
            receiver = Receiver(Engine(transport), transport.node, virtual_model.product_id)
            try:
                return _side_scroll_on(receiver, f.slot)
            finally:
                with contextlib.suppress(Exception):
                    receiver.close()
        from phantombutton.devices.open import open_receivers

        with open_receivers(options) as receivers:
            for r in receivers:   # the slot's device must also be an M705 101B (checked inside)
                msg = _side_scroll_on(r, f.slot)
                if msg:
                    return msg
        return None

    return prevent
