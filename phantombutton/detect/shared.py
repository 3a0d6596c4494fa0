"""A receiver's own mouse node, shared by every mouse paired to it (Bolt on a kernel without
hid-logitech-dj support for it: receivers.py `ButtonPath.RECEIVER_MOUSE_NODE`).

hid-generic makes one "... Mouse" event node for the receiver's mouse interface; the reports
of every paired mouse arrive there with no slot (docs/receivers.md). So a held button on it
belongs to one of the paired mice, and only HID++ tells which:
- which paired mice could have sent it (the candidates: the receiver's pairing registers,
  read once per receiver by the caller's `paired` function);
- which slot the HID++ node heard from most recently (any frame with a device index: replies,
  notifications, diverted-button events - hidraw gives us only what comes from the receiver);
- the connection state per slot from the 0x41 notifications seen (link up or lost).

"A button the mouse does not have" on a shared node: False only when every candidate's model
is known and none has the button; unknown (None) when a candidate's model is unknown or the
candidates could not be read. Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from phantombutton.detect.events import DeviceInfo
from phantombutton.receivers import RECEIVERS, ButtonPath

# the highest slot of a receiver with a shared mouse node: Bolt's 6, Lightspeed C547/C54D's 7
MAX_SLOT = max(f.last_slot for f in RECEIVERS.values() if f.buttons is ButtonPath.RECEIVER_MOUSE_NODE)


@dataclass(frozen=True)
class Candidate:
    """A mouse paired to the receiver whose mouse node is shared."""

    slot: int
    wpid: int | None
    name: str


Paired = Callable[[str], "list[Candidate] | None"]   # receiver hidraw node -> candidates (None: unreadable)


def is_shared(info: DeviceInfo) -> bool:
    """A receiver's own mouse node: it belongs to a receiver but to no slot."""
    return info.receiver_node is not None and info.slot is None


@dataclass
class _Receiver:
    """What is known of one receiver whose mice share a node."""

    candidates: list[Candidate] | None = None
    read: bool = False
    heard: dict[int, float] = field(default_factory=dict)            # slot -> last HID++ frame
    link: dict[int, tuple[bool, float]] = field(default_factory=dict)  # slot -> (up, when)


class SharedNodes:
    def __init__(self, paired: Paired | None = None):
        self.paired = paired
        self._receivers: dict[str, _Receiver] = {}

    def _receiver(self, node: str) -> _Receiver:
        return self._receivers.setdefault(node, _Receiver())

    # -- HID++ activity (every frame read on a receiver's node) -----------------------------
    def heard(self, node: str, slot: int, t: float) -> None:
        if 1 <= slot <= MAX_SLOT:
            self._receiver(node).heard[slot] = t

    def connection(self, node: str, slot: int, up: bool, t: float) -> None:
        if 1 <= slot <= MAX_SLOT:
            self._receiver(node).link[slot] = (up, t)

    # -- what is paired ---------------------------------------------------------------------
    def candidates(self, node: str) -> list[Candidate] | None:
        r = self._receiver(node)
        if not r.read and self.paired is not None:
            r.read = True
            try:
                r.candidates = self.paired(node)
            except Exception:   # noqa: BLE001 - a receiver that cannot be read leaves it unknown
                r.candidates = None
        return r.candidates

    def has_button(self, node: str, code: int, model_for: Callable[[int], Any]) -> bool | None:
        """True if a candidate has `code`; False if every candidate is known and lacks it; None
        when nothing can be ruled out (no candidates read, or one of unknown model)."""
        cands = self.candidates(node)
        if not cands:
            return None
        verdicts = [model_has(model_of(model_for, c.wpid), code) for c in cands]
        if True in verdicts:
            return True
        return None if None in verdicts else False

    def likely(self, node: str, before: float) -> tuple[Candidate, str] | None:
        """The candidate most likely to hold the button, and why: the only one paired; else
        the one whose slot the HID++ node heard from last (up to `before`, not one whose link
        was lost since); else the only one whose link is up."""
        cands = self.candidates(node) or []
        r = self._receiver(node)
        if len(cands) == 1:
            return cands[0], "the only mouse paired"
        live = [c for c in cands if r.link.get(c.slot, (True, 0.0))[0]]
        heard = [(r.heard[c.slot], c) for c in live if c.slot in r.heard and r.heard[c.slot] <= before]
        if heard:
            t, c = max(heard, key=lambda h: h[0])
            return c, f"the last HID++ traffic on the receiver's node came from slot {c.slot} (at {t:.3f} s)"
        up = [c for c in cands if r.link.get(c.slot, (False, 0.0))[0]]
        if len(up) == 1:
            return up[0], "the only one whose link is up (HID++ 0x41)"
        return None

    def evidence(self, info: DeviceInfo, before: float, family: str = "") -> list[str]:
        """The lines a finding on a shared node carries: the receiver, the candidates with their
        state, and the likely one."""
        node = info.receiver_node or ""
        product = f" {info.receiver_product:04X}" if info.receiver_product is not None else ""
        receiver = f"{family + ' ' if family else ''}receiver{product} ({node})"
        lines = [f"{info.node} is the shared mouse node of the {receiver}: every paired mouse reports there"]
        cands = self.candidates(node)
        if cands is None:
            return lines + ["its paired mice could not be read (HID++ pairing registers)" if self.paired
                            else "its paired mice were not read"]
        r = self._receiver(node)
        parts = []
        for c in cands:
            state = r.link.get(c.slot)
            link = "state not seen" if state is None else (
                f"link up at {state[1]:.3f} s" if state[0] else f"link lost at {state[1]:.3f} s")
            wpid = f"{c.wpid:04X}" if c.wpid is not None else "?"
            parts.append(f"slot {c.slot} {c.name} ({wpid}, {link})")
        lines.append("paired: " + ("; ".join(parts) if parts else "none"))
        pick = self.likely(node, before)
        if pick is not None:
            c, why = pick
            lines.append(f"likely: slot {c.slot} {c.name} - {why}")
        elif cands:
            lines.append("likely: cannot tell (no HID++ traffic or connection state tells the mice apart)")
        return lines


def model_of(model_for: Callable[[int], Any], wpid: int | None):
    """The model `model_for` gives for `wpid`; None without a WPID or when it has none."""
    if wpid is None:
        return None
    try:
        return model_for(wpid)
    except LookupError:
        return None


def model_has(model, code: int) -> bool | None:
    """models.py `has_button`'s question on the model given (None: the model is unknown,
    nothing can be ruled out)."""
    if model is None or not getattr(model, "known", True):
        return None
    return bool(model.has_button(code))
