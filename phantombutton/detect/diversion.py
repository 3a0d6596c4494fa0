"""Stale diversions: a control diverted to HID++ that no program handles. Pure, no I/O.

A control diverted through REPROG_CONTROLS_V4 (temporarily, persistently, with raw XY) stops
sending its mouse report: its presses arrive only as the feature's event 0 ("diverted
buttons", up to four control ids; docs/hidpp.md) on the receiver's (or the mouse's) hidraw
node. A program that diverts a control must read that node to see its presses (Solaar's rule
engine, logiops' logid, ...). So we decide:

- **stale (the button is dead)**: a diverted-button event arrived, the control reads back as
  diverted, and no other process holds the receiver's or the mouse's hidraw node open
  (/proc/PID/fd, input/procfs.py). Nobody can be reading those events. Repaired by clearing
  that control's divert flags (only those set), verified by reading back, then by the next
  press reaching evdev.
- **owned**: some process holds the node. If it is a known remapper, it is named as the owner:
  reported, never reset (we do not fight another program's deliberate setting).
- **unknown**: /proc does not tell (other users' processes, without privileges): reported
  with the fix to run, never reset.
- **the thumb wheel (THUMB_WHEEL 0x2150)**: diverted (reporting mode 1, HID++), it stops
  sending AC Pan in the mouse report and sends the feature's event 0 instead (rotation int16,
  timestamp, rotation status, touch/proxy/tap flags: logiops src/logid/backend/hidpp20/
  features/ThumbWheel.cpp ThumbWheel::thumbwheelEvent; Solaar's rule engine reads d[0:2] in
  logitech_receiver/diversion.py thumb_wheel_up). The mouse sends that event only while
  diverted, so it is the trigger; the same decision as above (`judge`, THUMB_EVENT), repaired
  by setting the reporting mode back to HID (the invert byte kept), read back, verified by the
  next turn reaching evdev as REL_HWHEEL.
- **doubled (the button fires twice)**: a control's diverted-button event and the evdev
  press of the same button within DOUBLE_WINDOW of each other. The native event still arrives
  while a program acts on the diverted one (a remapper whose divert raced the firmware, or two
  remappers). Reported with both timestamps; a reset would take the remapper's function away,
  so it is left to the user (`phantombutton set DEVICE diversions reset`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from phantombutton import SOFTWARE_ID
from phantombutton.buttoncache import STANDARD_HID_BUTTON
from phantombutton.buttons import hid_button_to_evdev, x_button_for
from phantombutton.detect.events import DeviceAdded, HidppTraffic, KeyEvent
from phantombutton.detect.findings import Finding, Layer, Rule
from phantombutton.hidpp.classify import KERNEL_SW_IDS
from phantombutton.hidpp.classify import owner as id_owner   # judge() has a local `owner`
from phantombutton.hidpp.hidpp20 import CONTROL_NAMES, control_name

DOUBLE_WINDOW = 0.05       # seconds between a diverted event and the native press of one button

# Programs known to divert controls of Logitech mice (process comm, as /proc/PID/comm shows it:
# at most 15 characters).
KNOWN_REMAPPERS = {
    "solaar": "Solaar", "logid": "logiops (logid)", "input-remapper": "input-remapper",
    "input-remapper-": "input-remapper", "ratbagd": "libratbag (ratbagd)", "piper": "Piper",
    "mx-master-3-set": "mx-master-3-settings", "logitech-option": "Logitech Options",
}

FEATURE_REPROG = 0x1B04
FEATURE_THUMB_WHEEL = 0x2150
EVENT_DIVERTED_BUTTONS = 0x00
EVENT_THUMB_WHEEL = 0x00
THUMB_START = 1            # thumbwheel event rotation status: 0 inactive, 1 start, 2 active, 3 stop


class Verdict(StrEnum):
    STALE = "stale"
    OWNED = "owned"
    UNKNOWN = "unknown"
    DOUBLED = "doubled"


@dataclass(frozen=True)
class Trigger:
    """The HID++ event that showed a diversion, and what it stood for, for the evidence."""

    event: str
    action: str
    part: str


BUTTON_EVENT = Trigger("REPROG_CONTROLS_V4 diverted-button event", "the press", "the button")
THUMB_EVENT = Trigger("THUMB_WHEEL rotation event", "the turn", "the thumb wheel")


@dataclass(frozen=True)
class Judgement:
    """The verdict on a diverted control, who reads it, and why."""

    verdict: Verdict
    owner: str | None
    evidence: tuple[str, ...]


def owner_of(listeners: tuple[str, ...]) -> str | None:
    """The known remapper among "name[pid]" listeners, else None."""
    for entry in listeners:
        name = entry.rsplit("[", 1)[0]
        for comm, program in KNOWN_REMAPPERS.items():
            if name.lower().startswith(comm):
                return f"{program} ({entry})"
    return None


def diverted_event_cids(report: bytes, slot: int, reprog_index: int) -> tuple[int, ...] | None:
    """The control ids of a REPROG_CONTROLS_V4 event 0 from `slot` (empty: all released), or
    None when `report` is not one (another feature, a reply: software id != 0)."""
    # function 0, software id 0: an event
    if len(report) < 8 or tuple(report[:4]) != (0x11, slot, reprog_index, EVENT_DIVERTED_BUTTONS):
        return None
    params = report[4:12]
    cids = (params[i] << 8 | params[i + 1] for i in range(0, len(params) - 1, 2))
    return tuple(c for c in cids if c)


def thumb_event(report: bytes, slot: int, thumb_index: int) -> tuple[int, int] | None:
    """(rotation, rotation status) of a THUMB_WHEEL event 0 from `slot`, or None when `report`
    is not one. Rotation: signed, bytes 0-1; status: byte 4 (0 inactive, 1 start, 2 active,
    3 stop); a touch alone comes with rotation 0."""
    if len(report) < 9 or tuple(report[:4]) != (0x11, slot, thumb_index, EVENT_THUMB_WHEEL):
        return None
    return int.from_bytes(report[4:6], "big", signed=True), report[8]


def judge(diverted: list[tuple[str, str]], listeners: tuple[str, ...] | None, nodes: tuple[str, ...],
          event_at: float, trigger: Trigger = BUTTON_EVENT) -> Judgement:
    """`diverted`: (control name, its reporting flags as read back) for the controls whose
    events arrived; `listeners`: other processes holding `nodes` ("name[pid]"), None when /proc
    cannot tell."""
    seen = ", ".join(f"{name} ({flags})" for name, flags in diverted)
    evidence = [f"HID++ {trigger.event} at {event_at:.3f} s: {trigger.action} did "
                f"not come as a mouse report",
                f"read back: {seen}"]
    where = " or ".join(nodes)
    if listeners is None:
        evidence.append(f"who holds {where} open is hidden (other users' processes; run as root to see)")
        return Judgement(Verdict.UNKNOWN, None, tuple(evidence))
    if listeners:
        owner = owner_of(listeners)
        evidence.append(f"{where} is held open by {', '.join(listeners)}"
                        + (f": {owner} diverted it on purpose, left alone" if owner else
                           ": a program may be reading these events, left alone"))
        return Judgement(Verdict.OWNED, owner or listeners[0], tuple(evidence))
    evidence.append(f"no other process holds {where} open (/proc/*/fd): nobody reads these events, "
                    f"so {trigger.part} does nothing")
    return Judgement(Verdict.STALE, None, tuple(evidence))


def judge_doubled(name: str, diverted_at: float, native_at: float, listeners: tuple[str, ...] | None) -> Judgement:
    owner = owner_of(listeners) if listeners else None
    evidence = (f"{name}: HID++ diverted-button event at {diverted_at:.3f} s and its mouse report press "
                f"at {native_at:.3f} s ({abs(native_at - diverted_at) * 1000:.0f} ms apart): the native "
                "press still arrives while a program acts on the diverted one",
                "held open by " + (", ".join(listeners) if listeners else "nobody else") if listeners is not None
                else "who holds the node open is hidden")
    return Judgement(Verdict.DOUBLED, owner, evidence)


# --- offline: captures (`analyze`) ---------------------------------------------------------


class DiversionMonitor:
    """Diverted-button events in a capture -> `stale-diversion` findings. Offline there is no
    /proc to ask and no device to read, so the evidence is the traffic itself:
    - the REPROG_CONTROLS_V4 index of a slot comes from a getFeature(0x1B04) exchange seen in
      the capture; without one, from an event whose payload is nothing but known control ids
      (said so in the evidence);
    - a control with diverted-button presses and no mouse-report press of its button in the
      capture: dead, "stale diversion likely" - unless another program's HID++ requests
      (its software id, hidpp/classify.py) appear, which names a likely owner;
    - a diverted press and a native press of one button within DOUBLE_WINDOW: doubled."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, int], tuple[int, bool]] = {}    # (node, slot) -> (index, inferred)
        self.asked: dict[tuple[str, int, int], bool] = {}          # getFeature(0x1B04) pending
        self.slots: dict[str, tuple[str, int, str]] = {}           # evdev node -> (hidraw node, slot, name)
        self.diverted: dict[tuple[str, int, int], list[float]] = {}  # (node, slot, cid) -> times
        self.native: dict[str, dict[int, list[float]]] = {}        # evdev node -> code -> press times
        self.programs: set[int] = set()                            # software ids of others' requests

    def feed(self, obs) -> None:
        if isinstance(obs, DeviceAdded) and obs.device.slot is not None and obs.device.receiver_node:
            self.slots[obs.device.node] = (obs.device.receiver_node, obs.device.slot,
                                           obs.device.name or obs.device.node)
        elif isinstance(obs, KeyEvent) and obs.value == 1:
            self.native.setdefault(obs.node, {}).setdefault(obs.code, []).append(obs.t)
        elif isinstance(obs, HidppTraffic):
            self._traffic(obs.node, obs.t, obs.data)

    def _traffic(self, node: str, t: float, d: bytes) -> None:
        if len(d) < 7 or d[0] not in (0x10, 0x11) or d[2] >= 0x80:
            return
        slot, sw = d[1], d[3] & 0x0F
        if d[2] == 0x00 and d[3] >> 4 == 0 and sw:        # ROOT getFeature: a request or its reply
            if sw != SOFTWARE_ID:
                self.programs.add(sw)
            if d[4:6] == b"\x1b\x04":
                self.asked[(node, slot, sw)] = True
            elif self.asked.pop((node, slot, sw), False) and d[4]:
                self.index[(node, slot)] = (d[4], False)    # the reply: index, type, version
            return
        if sw and sw != SOFTWARE_ID:
            self.programs.add(sw)                           # another program's request or reply
        cids = diverted_event_cids(d, slot, d[2])
        if cids is None:
            return
        known = self.index.get((node, slot))
        if known is None:
            if not cids or any(c not in CONTROL_NAMES for c in cids) or any(d[12:]):
                return
            self.index[(node, slot)] = known = (d[2], True)
        if d[2] != known[0]:
            return
        for cid in cids:
            self.diverted.setdefault((node, slot, cid), []).append(t)

    def findings(self) -> list:
        out = []
        by_slot = {(n, s): (evdev, name) for evdev, (n, s, name) in self.slots.items()}
        # the kernel's requests (hid-logitech-hidpp) read no diverted-button events
        others = sorted({f"{id_owner(sw)} (software id 0x{sw:X})" if id_owner(sw) == "unknown" else id_owner(sw)
                         for sw in self.programs if sw not in KERNEL_SW_IDS})
        for (node, slot, cid), times in sorted(self.diverted.items()):
            evdev, name = by_slot.get((node, slot), (None, f"slot {slot} on {node}"))
            button = STANDARD_HID_BUTTON.get(cid)
            code = hid_button_to_evdev(button) if button else None
            native = self.native.get(evdev, {}).get(code, []) if evdev and code else []
            inferred = self.index[(node, slot)][1]
            evidence = [f"{control_name(cid)}: {len(times)} press(es) as HID++ REPROG_CONTROLS_V4 "
                        f"diverted-button events from {times[0]:.3f} s to {times[-1]:.3f} s"
                        + (" (feature index inferred from the control ids it carries)" if inferred else "")]
            doubled = [(a, b) for a in times for b in native if abs(a - b) <= DOUBLE_WINDOW]
            if doubled:
                a, b = doubled[0]
                evidence.append(f"and {len(doubled)} of them also as a mouse-report press within "
                                f"{DOUBLE_WINDOW * 1000:.0f} ms (first: {a:.3f} s / {b:.3f} s): doubled")
                cause = "the button is diverted to a program and still sent as a mouse button: it fires twice"
                fix = (f"phantombutton set {slot} diversions reset, or fix the remapper's configuration "
                       "for this button")
            elif native:
                continue      # it also worked as a plain button at other times: not dead
            else:
                evidence.append("no mouse-report press of it in the capture: the desktop never saw it")
                evidence.append("other programs' HID++ requests in the capture: "
                                + (", ".join(others) if others else "none (no remapper was talking to the mouse)"))
                cause = ("stale diversion likely: the button is diverted to HID++ and "
                         + (f"only {', '.join(others)} could be reading it" if others else
                            "no program read its events, so it is dead"))
                fix = f"phantombutton watch --fix (verifies), or phantombutton set {slot} diversions reset"
            out.append(Finding(rule=Rule.STALE_DIVERSION, layer=Layer.KERNEL, device=name, node=evdev,
                               slot=slot, x_slave_id=None, code=code,
                               x_button=x_button_for(code) if code else None, since=times[0],
                               evidence=tuple(evidence), cause=cause, fix=fix, ended=times[-1]))
        return out
