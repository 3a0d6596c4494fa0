"""What the daemon knows of each receiver (or mouse without a receiver) it listens to, and of
each slot behind it; kept beside daemon.py, which keeps them in `Daemon.links`."""

from __future__ import annotations

from dataclasses import dataclass, field

from phantombutton.transport.engine import Engine


@dataclass
class SlotState:
    """What the daemon knows of one receiver slot."""

    wpid: int | None = None
    connected: bool = False
    buttons: int = 0                       # last DJ mouse button mask
    identity: tuple[str | None, str | None] | None = None   # (serial, name), read lazily


@dataclass
class Link:
    """One receiver (or direct mouse) the daemon listens to."""

    node: str
    engine: Engine
    product: int | None = None             # the receiver's USB product id (its family)
    direct: int | None = None              # a mouse without a receiver: its product id
    slots: dict[int, SlotState] = field(default_factory=dict)
    # slot -> its event node: hid-logitech-dj keeps a paired device's node across link losses,
    # so a release need not walk sysfs again (forgotten when a release fails)
    events: dict[int, str] = field(default_factory=dict)

    def mouse(self, slot: int) -> str:
        """The Detector's name for the mouse in `slot` (its event node is looked up when a
        release needs it: the receiver node carries all the detection needs)."""
        return f"{self.node}#{slot}"

    def slot(self, n: int) -> SlotState:
        return self.slots.setdefault(n, SlotState())

    def where(self, slot: int) -> str:
        """The mouse in `slot` as the journal names it."""
        if self.direct is not None:
            return f"{self.node} ({self.direct:04X}, no receiver)"
        wpid = self.slot(slot).wpid
        return f"{self.node} slot {slot}" + (f" ({wpid:04X})" if wpid is not None else "")
