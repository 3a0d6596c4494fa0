"""What every emulated paired device shares: identity as the receiver knows it, link state."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Identity:
    """What the receiver stores about a paired device (register 0xB5) and the kernel sees."""

    wpid: int  # wireless product id, e.g. 0x101B
    name: str  # the short name the receiver holds (0xB5 0x4n); the kernel prefixes "Logitech "
    serial: bytes  # 4 bytes (0xB5 0x3n)
    kind: int = 2  # 1 keyboard, 2 mouse (0xB5 0x2n byte 7, 0x41 notification info)
    polling_ms: int = 8
    power_switch: int = 0x01  # 0xB5 0x3n byte 9: 1 = on the base
    rf_reports: int = 0x04  # DJ "paired" notification report bits: 0x04 = standard mouse
    activity: int = 0  # receiver's activity counter (long register 0xB3)


class VirtualDevice:
    """Base of the emulated mice. `handle` gets one HID++ request addressed to the device
    (report id 0x10/0x11, already routed by the receiver) and returns its answers."""

    protocol: tuple[int, int] = (1, 0)

    def __init__(self, identity: Identity):
        self.identity = identity
        self.online = True

    def handle(self, request: bytes) -> list[bytes]:  # pragma: no cover - abstract
        raise NotImplementedError

    def power_on(self) -> None:
        """Reset volatile state to power-on values (switching the mouse off and on)."""

    # ---- the wheel (virtual/receiver.py wheel_notch) ----------------------------------------
    def kernel_wheel_setup(self) -> None:
        """What hid-logitech-hidpp writes at connect (hi_res_scroll_enable); none by default."""

    def forget_wheel_mode(self) -> None:
        """The mouse drops the wheel mode the kernel set (the post-sleep firmware bug)."""

    def wheel_units(self) -> tuple[int, bool]:
        """(units per notch, diverted to HID++): 1 unit in low resolution."""
        return 1, False

    def wheel_event(self, devnum: int, units: int) -> bytes | None:
        """The HID++ report a diverted wheel sends instead of HID input."""
        return None

    def diverted_controls(self, buttons: int) -> tuple[int, list[int]]:
        """Split a HID button mask into (buttons still reported as HID, diverted control ids)."""
        return buttons, []

    def diverted_event(self, devnum: int, cids: list[int]) -> bytes | None:
        return None

    def thumb_events(self, devnum: int, amount: int) -> list[bytes]:
        """The HID++ reports a diverted thumb wheel sends for a turn instead of AC Pan."""
        return []
