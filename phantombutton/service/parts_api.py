"""What the daemon is built from (`DaemonParts`) and the values passed between them.

Kept apart from the daemon's state machine so that the real and the virtual parts
(service/parts.py) and the tests can share them without importing the daemon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
class ReleaseOutcome:
    ok: bool
    detail: str                  # how it was released / why not, for the journal line


@dataclass(frozen=True)
class SettingOutcome:
    name: str
    value: object                # read back after the write
    changed: bool                # False: it already had the wanted value, nothing written


class DaemonParts(Protocol):
    """What the daemon is built from; see service/parts.py for the real and virtual sets."""

    def find_receivers(self) -> list[str]: ...
    def open_engine(self, node: str): ...               # -> transport.engine.Engine
    def apply_setting(self, engine, slot: int, wpid: int, name: str, value) -> SettingOutcome: ...
    def device_identity(self, engine, slot: int) -> tuple[str | None, str | None]: ...
    def phantom_mask(self, wpid: int | None) -> int: ...
    def release(self, held: PhantomHeld) -> ReleaseOutcome: ...
    def observe_buttons(self, node: str, slot: int, mask: int) -> None: ...  # every DJ mask
    def held_codes(self, node: str, slot: int) -> frozenset[int] | None: ...  # EVIOCGKEY


def setting_text(value: object) -> str:
    """Config values (true, 800, "reset") in the words devices/settings.py speaks (and the
    journal shows)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
