"""The one seam between phantombutton and the OS: a Platform, chosen once in cli/main.py.

What varies between a machine and the virtual world is only what the OS provides:
- receivers: which Unifying receiver nodes exist, and opening one - each open is a new
  Transport with its own input queue, as every open hidraw file gets every report;
- event nodes: a mouse's evdev node (held keys = EVIOCGKEY, write a key, get/set a keycode),
  which node a receiver slot has, and a Source of observations over them (`watch`, `status`);
- the X session, or none.
`service/platform.py` HardwarePlatform wraps hidraw, evdev and X; `virtual/platform.py`
VirtualPlatform puts the virtual receiver behind a model of the kernel. Everything above runs
the same code on both.
"""

from __future__ import annotations

from typing import Any, Protocol

from .base import Transport
from .discovery import HidppNode, Skipped


class EventNodes(Protocol):
    """A mouse's event node, by path (input/evdev_node.py on a real one)."""

    def held_keys(self, node: str) -> frozenset[int]: ...
    def write_key(self, node: str, code: int, value: int) -> None: ...
    def get_keycode(self, node: str, scancode: int) -> int: ...
    def set_keycode(self, node: str, scancode: int, keycode: int) -> int: ...  # read back


class Platform(Protocol):
    kernel: bool        # a real kernel is behind the nodes (capture, reset-receiver, sysfs)

    @property
    def nodes(self) -> EventNodes: ...   # read-only: the virtual platform makes its kernel model at first use

    def receivers(self, skipped: list[Skipped] | None = None) -> list[HidppNode]: ...
    def open_receiver(self, node: str) -> Transport: ...
    # mice without a receiver (transport/direct.py): their own node, device index 0xFF
    def direct_devices(self) -> list[HidppNode]: ...
    def open_direct(self, node: HidppNode) -> Transport: ...
    def listeners(self, node: str) -> tuple[str, ...] | None: ...  # other programs on it
    def event_node(self, receiver_node: str, slot: int) -> str | None: ...
    def source(self, *, all_mice: bool = False, hidpp: bool = False) -> Any: ...  # a Source
    def x_session(self, timeout: float | None = None, display: str | None = None) -> Any: ...  # XSession; XUnavailable
    def close(self) -> None: ...
