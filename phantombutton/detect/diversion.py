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
- **doubled (the button fires twice)**: a control's diverted-button event and the evdev
  press of the same button within DOUBLE_WINDOW of each other. The native event still arrives
  while a program acts on the diverted one (a remapper whose divert raced the firmware, or two
  remappers). Reported with both timestamps; a reset would take the remapper's function away,
  so it is left to the user (`phantombutton set DEVICE diversions reset`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DOUBLE_WINDOW = 0.05       # seconds between a diverted event and the native press of one button

# Programs known to divert controls of Logitech mice (process comm, as /proc/PID/comm shows it:
# at most 15 characters).
KNOWN_REMAPPERS = {
    "solaar": "Solaar", "logid": "logiops (logid)", "input-remapper": "input-remapper",
    "input-remapper-": "input-remapper", "ratbagd": "libratbag (ratbagd)", "piper": "Piper",
    "mx-master-3-set": "mx-master-3-settings", "logitech-option": "Logitech Options",
}

FEATURE_REPROG = 0x1B04
EVENT_DIVERTED_BUTTONS = 0x00


class Verdict(StrEnum):
    STALE = "stale"
    OWNED = "owned"
    UNKNOWN = "unknown"
    DOUBLED = "doubled"


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    owner: str | None
    evidence: tuple[str, ...]

    @property
    def repairable(self) -> bool:
        return self.verdict is Verdict.STALE


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
    if len(report) < 8 or report[0] != 0x11 or report[1] != slot or report[2] != reprog_index:
        return None
    if report[3] != EVENT_DIVERTED_BUTTONS:      # function 0, software id 0: an event
        return None
    params = report[4:12]
    cids = (params[i] << 8 | params[i + 1] for i in range(0, len(params) - 1, 2))
    return tuple(c for c in cids if c)


def judge(diverted: list[tuple[str, str]], listeners: tuple[str, ...] | None, nodes: tuple[str, ...],
          event_at: float) -> Judgement:
    """`diverted`: (control name, its reporting flags as read back) for the controls whose
    events arrived; `listeners`: other processes holding `nodes` ("name[pid]"), None when /proc
    cannot tell."""
    seen = ", ".join(f"{name} ({flags})" for name, flags in diverted)
    evidence = [f"HID++ REPROG_CONTROLS_V4 diverted-button event at {event_at:.3f} s: the press did "
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
                    "so the button does nothing")
    return Judgement(Verdict.STALE, None, tuple(evidence))


def judge_doubled(name: str, diverted_at: float, native_at: float, listeners: tuple[str, ...] | None) -> Judgement:
    owner = owner_of(listeners) if listeners else None
    evidence = (f"{name}: HID++ diverted-button event at {diverted_at:.3f} s and its mouse report press "
                f"at {native_at:.3f} s ({abs(native_at - diverted_at) * 1000:.0f} ms apart): the native "
                "press still arrives while a program acts on the diverted one",
                "held open by " + (", ".join(listeners) if listeners else "nobody else") if listeners is not None
                else "who holds the node open is hidden")
    return Judgement(Verdict.DOUBLED, owner, evidence)
