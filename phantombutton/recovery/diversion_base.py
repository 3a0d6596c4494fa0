"""What the two guards of diverted controls share: the diverted-button guard
(recovery/diversion.py DiversionGuard) and its thumb-wheel part (recovery/thumbwheel.py).

Both keep one `Mouse` per receiver mouse, ask its feature index once (`_index`), and give a
control read back as diverted one verdict (`_judge`: detect/diversion.py `judge` with the
holders of the mouse's nodes), said as a `DiversionEvent`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from phantombutton.detect.diversion import Trigger, Verdict, judge
from phantombutton.errors import PhantomError
from phantombutton.hidpp.errors import HidppError
from phantombutton.recovery.wheel import Key, WheelEvent

CHECK_GAP = 5.0           # seconds between two checks of one mouse's diversions
VERIFY_WINDOW = 30.0      # a repaired control's next press must reach evdev within this
REPORT_GAP = 60.0         # an owned/unknown/doubled verdict is said once per this

WATCH_HINT = "fix: phantombutton watch --fix, or phantombutton set {slot} diversions reset"


@dataclass
class DiversionEvent(WheelEvent):
    """What the diversion guard found or did ("finding", "repaired", "verified", "not-verified",
    "failed", "note"), for the UI and the journal; its line also shows the evidence."""

    topic: str = "diversion"      # "buttons": the buttons read from a mouse at attach

    tags = {**WheelEvent.tags, "finding": "DIVERT "}

    def line(self) -> str:
        return super().line() + "".join(f"\n          {e}" for e in self.evidence)


@dataclass
class Mouse:
    """What the diversion guard knows of one receiver mouse."""

    key: Key
    name: str
    event_node: str
    hidpp_node: str | None = None
    indexes: dict[int, int] = field(default_factory=dict)   # feature -> index; 0: the mouse lacks it
    checked_at: float = -1e9
    said: dict[str, float] = field(default_factory=dict)          # verdict text -> when
    diverted_at: dict[int, float] = field(default_factory=dict)   # cid -> last diverted event
    pressed_at: dict[int, float] = field(default_factory=dict)    # evdev code -> last press
    verify: dict[int, tuple[int, float]] = field(default_factory=dict)  # code -> (cid, repaired at)
    # the thumb wheel's (recovery/thumbwheel.py)
    thumb_checked_at: float = -1e9
    thumb_reset_at: float | None = None      # the thumb wheel's repair, until a turn verifies it
    thumb_left_alone: bool = False           # diverted again after a repair: on purpose


class GuardBase:
    """The guards' shared part: the mice, their access, the listeners of their nodes, feature
    indexes and the verdict. `unfixed_hint`: what a stale finding says when `fix` is off
    ({slot} is filled in); `learn_buttons`: read an unknown mouse's buttons at attach."""

    def __init__(self, access: Callable[[Key], Any], listeners: Callable[[str], tuple[str, ...] | None],
                 *, fix: bool = False, clock=time.monotonic, learn_buttons: bool = True,
                 unfixed_hint: str = WATCH_HINT):
        self.access = access
        self.listeners = listeners
        self.fix = fix
        self.unfixed_hint = unfixed_hint
        self.clock = clock
        self.learn_buttons = learn_buttons
        self.mice: dict[str, Mouse] = {}           # event node -> mouse
        self.by_key: dict[Key, Mouse] = {}
        self.shared: dict[str, Any] = {}           # receiver node -> its shared mouse node's DeviceInfo

    def _index(self, mouse: Mouse, feature: int) -> int:
        if feature not in mouse.indexes:
            try:
                device = self.access(mouse.key)
                index = device.feature_index(feature) if device is not None else None
            except HidppError:
                index = None      # a HID++ 1.0 mouse answers ROOT with an error: no feature, ever
            except (PhantomError, OSError):
                return 0          # the receiver is gone or busy: ask again at the next event
            mouse.indexes[feature] = index or 0
        return mouse.indexes[feature]

    def _nodes(self, mouse: Mouse) -> tuple[str, ...]:
        return tuple(n for n in (mouse.key[0], mouse.hidpp_node) if n)

    def _who(self, mouse: Mouse) -> tuple[str, ...] | None:
        found: list[str] = []
        for node in self._nodes(mouse):
            held = self.listeners(node)
            if held is None:
                return None
            found += [h for h in held if h not in found]
        return tuple(found)

    def _judge(self, mouse: Mouse, named: list[tuple[str, str]], t: float,
               trigger: Trigger) -> tuple[list[DiversionEvent], bool]:
        """The verdict on what `named` read back as diverted: its finding (an owned or unknown
        one once per REPORT_GAP), and whether it is stale (to be repaired with --fix)."""
        verdict = judge(named, self._who(mouse), self._nodes(mouse), t, trigger)
        names = ", ".join(n for n, _ in named)
        if verdict.verdict is not Verdict.STALE:
            text = f"{names} diverted to HID++, {verdict.verdict}" + (
                f" by {verdict.owner}" if verdict.owner else "")
            if t - mouse.said.get(text, -1e9) < REPORT_GAP:
                return [], False
            mouse.said[text] = t
            return [DiversionEvent("finding", t, mouse.name, text + "; not reset (phantombutton set "
                                   f"{mouse.key[1]} diversions reset does it)", verdict.evidence)], False
        return [DiversionEvent("finding", t, mouse.name,
                               f"stale diversion: {names} diverted to HID++ with no program reading it "
                               f"({trigger.part} is dead)"
                               + ("" if self.fix else "; " + self.unfixed_hint.format(slot=mouse.key[1])),
                               verdict.evidence)], True
