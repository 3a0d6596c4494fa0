"""A mouse online but giving no input: the receiver shows its reports, evdev shows nothing.

Pure rule, no I/O. hid-logitech-dj.c (logitech_dj_raw_event -> logitech_dj_recv_forward_input_report)
hands each DJ mouse report of a slot to that slot's child HID device, whose hid-input turns
it into EV_REL/EV_KEY on the child's event node; the receiver's hidraw node sees the same
report (hid-core.c hid_report_raw_event -> hidraw_report_event). So reports that move, scroll
or change the buttons (DjInput.active) on the receiver's node, while the slot's event node
stays silent - or the slot has no event node at all (the child lost its driver) - mean the
kernel's input path for that device is stuck, not the mouse. Reports that change nothing
are not counted: hid-input emits nothing for them either.

Fed by the observations `watch` already has (DjInput from the hidraw source; DeviceAdded,
DeviceRemoved, KeyEvent, Motion from evdev); `check(now)` gives a Stall with its evidence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from phantombutton.detect.events import DeviceAdded, DeviceRemoved, DjInput, KeyEvent, Motion

MIN_REPORTS = 5      # active reports with no event before a verdict (one report may race a hotplug)
GRACE = 1.0          # seconds the first of them must be old: the event comes in the same call chain
SLACK = 0.05         # hidraw reads are stamped at read time, evdev events by the kernel: a bit earlier
WINDOW = 5.0         # older reports are forgotten (a mouse used now and then)

Key = tuple[str, int]   # (receiver hidraw node, slot)


@dataclass(frozen=True)
class Stall:
    """A slot whose HID++ reports reach hidraw while its event node stays silent."""

    receiver: str
    slot: int
    event_node: str | None
    reports: int
    first: float
    last: float

    def evidence(self) -> str:
        where = f"no event on {self.event_node}" if self.event_node else "no event node for that slot"
        return (f"{self.reports} mouse reports from slot {self.slot} on {self.receiver} in "
                f"{self.last - self.first:.1f} s, {where}")


@dataclass
class _Slot:
    """The recent active reports of one receiver slot."""

    reports: deque = field(default_factory=deque)   # times of active reports


class StallRule:
    def __init__(self) -> None:
        self.nodes: dict[Key, str] = {}          # slot -> its event node
        self.last_event: dict[str, float] = {}   # event node -> time of its last EV_KEY/EV_REL
        self.slots: dict[Key, _Slot] = {}

    def feed(self, obs) -> None:
        if isinstance(obs, DjInput):
            if obs.active:
                q = self.slots.setdefault((obs.node, obs.slot), _Slot()).reports
                q.append(obs.t)
                while q and obs.t - q[0] > WINDOW:
                    q.popleft()
        elif isinstance(obs, (KeyEvent, Motion)):
            self.last_event[obs.node] = obs.t
        elif isinstance(obs, DeviceAdded):
            info = obs.device
            if info.slot is not None and info.receiver_node:
                self.nodes[(info.receiver_node, info.slot)] = info.node
                self.slots.pop((info.receiver_node, info.slot), None)   # a new node: judge it afresh
        elif isinstance(obs, DeviceRemoved):
            for key in [k for k, n in self.nodes.items() if n == obs.node]:
                del self.nodes[key]
            self.last_event.pop(obs.node, None)

    def check(self, now: float) -> list[Stall]:
        """Slots whose reports went unanswered; each is reported once (its reports are cleared)."""
        out = []
        for key, st in list(self.slots.items()):
            q = st.reports
            while q and now - q[0] > WINDOW:
                q.popleft()
            if len(q) < MIN_REPORTS or now - q[0] < GRACE:
                continue
            node = self.nodes.get(key)
            if node is None or self.last_event.get(node, -1e9) < q[0] - SLACK:   # no event answered them
                out.append(Stall(key[0], key[1], node, len(q), q[0], q[-1]))
            q.clear()
        return out
