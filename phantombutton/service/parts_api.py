"""The values passed between the daemon and service/parts.py (and the tests)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhantomHeld:
    """What the recovery chain is asked to release: one button of one paired mouse."""

    receiver_node: str
    slot: int
    wpid: int | None
    hid_button: int
    code: int                    # evdev code (0x10F + HID button)
    since: float                 # monotonic time of the press edge


@dataclass(frozen=True)
class SettingOutcome:
    name: str
    value: object                # read back after the write
    changed: bool                # False: it already had the wanted value, nothing written


def setting_text(value: object) -> str:
    """Config values (true, 800, "reset") in the words devices/settings.py speaks (and the
    journal shows)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
