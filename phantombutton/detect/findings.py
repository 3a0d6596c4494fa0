"""What the rules conclude: `Finding` values, the rule names and the tunable thresholds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum

from phantombutton.buttons import describe_button


class Rule(StrEnum):
    UNKNOWN_BUTTON = "unknown-button"            # a) a button the model does not have
    PRESS_AFTER_CONNECT = "press-after-connect"  # b) press right after (re)connection, no motion
    HELD_IDLE = "held-idle"                      # c) held long with no activity
    X_MISMATCH = "x-kernel-mismatch"             # d) X holds what the kernel released / slave gone
    SWITCH_CHATTER = "switch-chatter"            # worn switch: bounces (detect/chatter.py)
    STALE_DIVERSION = "stale-diversion"          # a control diverted to HID++ (detect/diversion.py)
    HELD_AT_LINK_LOSS = "held-at-link-loss"      # held when the link dropped on a receiver that
                                                 # does not release (receivers.py)


class Layer(StrEnum):
    KERNEL = "kernel"   # held per the event node (EV_KEY / EVIOCGKEY)
    X = "x"             # held per XI 1.x QueryDeviceState


@dataclass(frozen=True)
class Thresholds:
    """The detection rules' time limits."""

    connect_window: float = 1.0   # b) a press this soon after a (re)connection is suspect
    held_idle: float = 15.0       # c) seconds held with no motion before we call it stuck
    x_grace: float = 0.5          # d) X may lag the kernel by a poll or two; disagreement must last
    x_stale: float = 1.5          # d) a slave sample older than this is not trusted for the master
    context_window: float = 3.0   # HID++ traffic shown: seconds before the press
    held_for: float = 0.25        # a) HID button 16 on a model we do not know: held this long


@dataclass(frozen=True)
class Finding:
    """One phantom (or suspect) held button. `ended` is set on the copy emitted when it clears."""

    rule: Rule
    layer: Layer
    device: str                 # device name ("Logitech M705"), or the node when unknown
    node: str | None            # /dev/input/eventN
    slot: int | None            # receiver slot 1..6
    x_slave_id: int | None      # X device holding it (the master id for an orphaned button)
    code: int | None            # evdev code (0x11F)
    x_button: int | None        # X button number (20)
    since: float                # CLOCK_MONOTONIC seconds (capture-relative in captures)
    evidence: tuple[str, ...]
    hidpp_context: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    cause: str = ""
    fix: str = ""
    wpid: int | None = None
    ended: float | None = None

    @property
    def key(self) -> tuple:
        """Identity of the held button this finding is about (one finding per key at a time)."""
        if self.layer is Layer.KERNEL:
            return (Layer.KERNEL, self.node, self.code)
        return (Layer.X, self.x_slave_id, self.x_button)

    @property
    def active(self) -> bool:
        return self.ended is None

    def where(self) -> list[str]:
        """Which device, as a maintainer looks it up: slot, WPID, X device."""
        ids = [f"slot {self.slot}"] if self.slot is not None else []
        if self.wpid is not None:
            ids.append(f"WPID {self.wpid:04X}")
        if self.x_slave_id is not None:
            ids.append(f"X device {self.x_slave_id}")
        return ids

    def headline(self) -> str:
        what = describe_button(self.code) if self.code is not None else f"X button {self.x_button}"
        where = self.device + (f" ({self.node})" if self.node and self.node != self.device else "")
        if self.rule is Rule.STALE_DIVERSION:   # presses diverted to HID++, not a hold
            what = describe_button(self.code) if self.code is not None else "a control"
            return f"{where}: {what} diverted to HID++ from {self.since:.3f} s to {self.ended:.3f} s [{self.rule}]"
        if self.rule is Rule.SWITCH_CHATTER:   # an interval of bounces, not a hold
            return f"{where}: {what} chatters from {self.since:.3f} s to {self.ended:.3f} s [{self.rule}]"
        state = "held" if self.ended is None else f"released at {self.ended:.3f} s"
        return f"{where}: {what} {state} since {self.since:.3f} s [{self.rule}]"

    def to_dict(self) -> dict:
        return {**asdict(self), "rule": str(self.rule), "layer": str(self.layer), "evidence": list(self.evidence),
                "hidpp_context": list(self.hidpp_context), "settings": list(self.settings)}


@dataclass
class DeviceView:
    """Held buttons of one device per layer, for the watch UI (a snapshot; do not keep)."""

    node: str
    name: str
    slot: int | None
    wpid: int | None
    x_slave_id: int | None
    kernel: dict[int, float] = field(default_factory=dict)   # evdev code -> held since
    x: frozenset[int] = frozenset()                          # X buttons held by its slave
    present: bool = True


@dataclass(frozen=True)
class HeldButton:
    """A button held at a point in time (the end of a capture), with or without a finding."""

    device: str
    node: str
    code: int | None            # evdev code; None for an X button with no evdev code
    x_button: int | None
    since: float                # when the hold began (for X only: the first sample holding it)
    how: str                    # "pressed", "held at start", "held in X"
    last_motion: float | None   # the device's last motion or wheel event, any time
    in_kernel: bool
    in_x: bool
    finding: Finding | None = None
