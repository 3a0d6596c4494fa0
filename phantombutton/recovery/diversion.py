"""Stale diversions in `watch` (and `--fix`): find a control diverted to HID++ that nobody
reads, reset only that control, verify by reading back and by the next press reaching evdev.
The rule and how we decide: detect/diversion.py.

`DiversionGuard` is fed the same observations as the wheel guard: DeviceAdded (which event
node is which receiver slot), HidppTraffic (the diverted-button and thumb-wheel events),
KeyEvent (the native press: verification, doubled presses), Motion with `hwheel` (the native
thumb-wheel turn: verification). The thumb wheel's part is recovery/thumbwheel.py
(ThumbWheelPart, which this guard is), what both share recovery/diversion_base.py. HID++
requests it adds, per mouse:
- the first event-like report from a slot: one ROOT getFeature(0x1B04) (then cached);
- a diverted-button event (at most once per CHECK_GAP): one getCidReporting per control in
  the event; with --fix and a stale verdict: one setCidReporting and one getCidReporting each.
- a THUMB_WHEEL event: recovery/thumbwheel.py.
- a mouse missing from the model table, at attach: its buttons (devices/buttons20.py, cached
  per WPID and firmware), so "a button the model does not have" works for it.
Nothing is read while no diverted-button or thumb-wheel event arrives.
"""

from __future__ import annotations

import time
from typing import Callable

from phantombutton import models
from phantombutton.buttoncache import STANDARD_HID_BUTTON
from phantombutton.buttons import hid_button_to_evdev, label
from phantombutton.detect.diversion import (
    BUTTON_EVENT, DOUBLE_WINDOW, FEATURE_REPROG, FEATURE_THUMB_WHEEL, diverted_event_cids, judge_doubled, owner_of,
    thumb_event,
)
from phantombutton.detect.events import DeviceAdded, DeviceRemoved, HidppTraffic, KeyEvent, Motion
from phantombutton.detect.shared import MAX_SLOT
from phantombutton.devices.buttons20 import button_map
from phantombutton.devices.settings20 import DIVERT_STATE, diverted_parts, reset_control
from phantombutton.errors import PhantomError
from phantombutton.hidpp import hidpp20
from phantombutton.hidpp.errors import HidppError
from phantombutton.recovery.diversion_base import CHECK_GAP, REPORT_GAP, VERIFY_WINDOW, DiversionEvent, Mouse
from phantombutton.recovery.thumbwheel import ThumbWheelPart


class DiversionGuard(ThumbWheelPart):
    """Fed every observation and ticked (the module docstring says what it reads); built
    as GuardBase (recovery/diversion_base.py) says."""

    # ---- observations ----------------------------------------------------------------------
    def feed(self, obs) -> list[DiversionEvent]:
        if isinstance(obs, HidppTraffic):
            return self._traffic(obs)
        if isinstance(obs, Motion) and obs.hwheel:
            mouse = self.mice.get(obs.node)
            return self._turned(mouse, obs.t) if mouse else []
        if isinstance(obs, KeyEvent) and obs.value == 1:
            mouse = self.mice.get(obs.node)
            return self._press(mouse, obs.code, obs.t) if mouse else []
        if isinstance(obs, DeviceAdded):
            info = obs.device
            if info.slot is None and info.receiver_node:
                # a receiver's shared mouse node (Bolt, detect/shared.py): a mouse per slot is
                # made when that slot's diverted-button event arrives (_shared_mouse)
                self.shared[info.receiver_node] = info
                return []
            if info.slot is None or not info.receiver_node:
                return []
            key = (info.receiver_node, info.slot)
            mouse = Mouse(key, f"{info.name or info.node} ({info.node})", info.node, info.hidpp_node)
            self.mice[info.node] = self.by_key[key] = mouse
            return self._learn(mouse, info.product) if self.learn_buttons else []
        if isinstance(obs, DeviceRemoved):
            for node, info in list(self.shared.items()):
                if info.node == obs.node:
                    del self.shared[node]
                    for key in [k for k, m in self.by_key.items() if m.event_node == obs.node]:
                        del self.by_key[key]
            mouse = self.mice.pop(obs.node, None)
            if mouse is not None and self.by_key.get(mouse.key) is mouse:
                del self.by_key[mouse.key]
        return []

    def tick(self, now: float) -> list[DiversionEvent]:
        out = []
        for mouse in self.mice.values():
            for code, (cid, at) in list(mouse.verify.items()):
                if now - at > VERIFY_WINDOW:
                    del mouse.verify[code]
                    out.append(DiversionEvent("note", now, mouse.name, (
                        f"{hidpp20.control_name(cid)}: not pressed within {VERIFY_WINDOW:g} s of the "
                        "repair; not verified by a press (the read-back showed it regular)")))
            out += self._thumb_tick(mouse, now)
        return out

    # ---- internals -------------------------------------------------------------------------
    def _learn(self, mouse: Mouse, wpid: int | None) -> list[DiversionEvent]:
        if wpid is None or models.model_for(wpid).known:
            return []
        notes: list[str] = []
        try:
            device = self.access(mouse.key)
            bmap = button_map(device, notes=notes) if device is not None else None
        except (HidppError, PhantomError, OSError) as e:
            return [DiversionEvent("note", self.clock(), mouse.name, f"buttons not read from the mouse: {e}",
                                   topic="buttons")]
        out = [DiversionEvent("note", self.clock(), mouse.name, n, topic="buttons") for n in notes]
        if bmap is not None:
            out.append(DiversionEvent("learned", self.clock(), mouse.name, (
                "buttons read from the mouse (REPROG_CONTROLS_V4): "
                + ", ".join(label(c) for c in sorted(bmap.codes()))), topic="buttons"))
        return out

    def _traffic(self, obs) -> list[DiversionEvent]:
        data = obs.data
        if len(data) < 8 or data[0] != 0x11 or data[3] != 0x00 or data[2] >= 0x80:
            return []             # not a 2.0 event of function 0 (software id 0)
        mouse = self.by_key.get((obs.node, data[1])) or self._shared_mouse(obs.node, data[1])
        if mouse is None:
            return []
        index = self._index(mouse, FEATURE_REPROG)
        if not index or data[2] != index:
            thumb = self._index(mouse, FEATURE_THUMB_WHEEL)
            turn = thumb_event(data, data[1], thumb) if thumb else None
            return self._thumb(mouse, obs.t, turn[1]) if turn is not None else []
        cids = diverted_event_cids(data, data[1], index)
        if not cids:
            return []
        out: list[DiversionEvent] = []
        for cid in cids:
            code = _code_of(cid)
            pressed = mouse.pressed_at.get(code) if code is not None else None
            if ((cid not in mouse.diverted_at or obs.t - mouse.diverted_at[cid] > 0.001)
                    and pressed is not None and abs(obs.t - pressed) <= DOUBLE_WINDOW):
                out += self._say_doubled(mouse, cid, obs.t, pressed)
            mouse.diverted_at[cid] = obs.t
            if code is not None and code in mouse.verify:
                del mouse.verify[code]
                out.append(DiversionEvent("not-verified", obs.t, mouse.name, (
                    f"{hidpp20.control_name(cid)} is diverted again after the repair: a program "
                    "diverts it on purpose; left alone from now on")))
                mouse.checked_at = obs.t + 3600.0     # do not fight it
        if obs.t - mouse.checked_at >= CHECK_GAP:
            mouse.checked_at = obs.t
            out += self._check(mouse, cids, obs.t)
        return out

    def _shared_mouse(self, node: str, slot: int) -> Mouse | None:
        """The mouse in `slot` of a receiver whose mouse node is shared: its presses reach
        evdev on that node, so the press that verifies a repair is looked for there (the
        slot that sent the diverted event is the one repaired, and the node's next press)."""
        info = self.shared.get(node)
        if info is None or not 1 <= slot <= MAX_SLOT:   # Bolt's 1..6, Lightspeed C547's 1..7
            return None
        name = f"slot {slot}"
        try:
            device = self.access((node, slot))
            if device is not None:
                name = f"{device.short_name} {device.wpid:04X} in slot {slot}"
        except (HidppError, PhantomError, OSError):
            pass          # named by its slot only
        mouse = Mouse((node, slot), f"{name} on {info.name or 'the receiver'} ({info.node})", info.node)
        self.by_key[mouse.key] = mouse
        self.mice[info.node] = mouse   # the node's presses now verify this mouse's repair
        return mouse

    def _check(self, mouse: Mouse, cids: tuple[int, ...], t: float) -> list[DiversionEvent]:
        try:
            device = self.access(mouse.key)
            if device is None:
                return []
            states = [(cid, self._reporting(device, cid)) for cid in cids]
        except (HidppError, PhantomError, OSError) as e:
            return [DiversionEvent("note", t, mouse.name, f"diverted-button event, but its controls "
                                                          f"could not be read: {e}")]
        diverted = [(cid, flags) for cid, flags in states if flags & DIVERT_STATE]
        if not diverted:
            return []             # diverted a moment ago, regular now: its program undid it
        named = [(hidpp20.control_name(cid), ", ".join(hidpp20.reporting_names(f))) for cid, f in diverted]
        out, stale = self._judge(mouse, named, t, BUTTON_EVENT)
        if stale and self.fix:
            out += self._repair(mouse, device, diverted, t)
        return out

    def _repair(self, mouse: Mouse, device, diverted, t: float) -> list[DiversionEvent]:
        out = []
        for cid, flags in diverted:
            name = hidpp20.control_name(cid)
            try:
                reset_control(device, cid, flags)
                after = self._reporting(device, cid)
            except (HidppError, PhantomError, OSError) as e:
                out.append(DiversionEvent("failed", t, mouse.name, f"{name}: reset refused: {e}"))
                continue
            if after & DIVERT_STATE:
                out.append(DiversionEvent("failed", t, mouse.name, (
                    f"{name}: still {', '.join(hidpp20.reporting_names(after))} after the reset "
                    f"(read back flags 0x{after:02X})")))
                continue
            code = _code_of(cid)
            if code is not None:
                mouse.verify[code] = (cid, t)
            out.append(DiversionEvent("repaired", t, mouse.name, (
                f"{name}: divert flags cleared (read back: regular, flags 0x{after:02X})"
                + ("; verifying with its next press" if code is not None else ""))))
        return out

    @staticmethod
    def _reporting(device, cid: int) -> int:
        raw = device.call(FEATURE_REPROG, 2, cid.to_bytes(2, "big"))
        return hidpp20.parse_control_reporting(raw).flags

    def _press(self, mouse: Mouse, code: int, t: float) -> list[DiversionEvent]:
        out = []
        mouse.pressed_at[code] = t
        if code in mouse.verify:
            cid, _ = mouse.verify.pop(code)
            out.append(DiversionEvent("verified", t, mouse.name, (
                f"{hidpp20.control_name(cid)}: its next press reached evdev ({mouse.event_node})")))
        for cid, at in mouse.diverted_at.items():
            if _code_of(cid) == code and abs(t - at) <= DOUBLE_WINDOW:
                out += self._say_doubled(mouse, cid, at, t)
        return out

    def _say_doubled(self, mouse: Mouse, cid: int, diverted_at: float, native_at: float) -> list[DiversionEvent]:
        name = hidpp20.control_name(cid)
        text = f"{name} fires twice: diverted to HID++ and still sent as a mouse button"
        t = max(diverted_at, native_at)
        if t - mouse.said.get(text, -1e9) < REPORT_GAP:
            return []
        mouse.said[text] = t
        verdict = judge_doubled(name, diverted_at, native_at, self._who(mouse))
        return [DiversionEvent("finding", t, mouse.name, text + (f" (owner: {verdict.owner})" if verdict.owner else "")
                               + f"; not reset (phantombutton set {mouse.key[1]} diversions reset does it)",
                               verdict.evidence)]


def _code_of(cid: int) -> int | None:
    button = STANDARD_HID_BUTTON.get(cid)
    return hid_button_to_evdev(button) if button else None


class WithDiversions:
    """The wheel watch and the diversion guard as one `wheel=` part of the Watcher: both are
    fed every observation and ticked."""

    def __init__(self, wheel, diversions: DiversionGuard):
        self.wheel, self.diversions = wheel, diversions

    def feed(self, obs) -> list:
        return self.wheel.feed(obs) + self.diversions.feed(obs)

    def tick(self, now: float) -> list:
        return self.wheel.tick(now) + self.diversions.tick(now)


def with_diversions(wheel, session, *, fix: bool) -> WithDiversions:
    """`wheel` (recovery/wheel.py session_guard) plus a DiversionGuard sharing its engines."""
    return WithDiversions(wheel, DiversionGuard(wheel.guard.access, session.platform.listeners, fix=fix))


def diversion_report(watch, listeners: Callable[[str], tuple[str, ...] | None]) -> list[DiversionEvent]:
    """`status`: what each receiver mouse of a wheel watch (recovery/wheel.py WheelWatch) has
    diverted now, and who holds its node. One read of every control's reporting (and the thumb
    wheel and wheel target) per HID++ 2.0 mouse; nothing is written."""
    out: list[DiversionEvent] = []
    now = time.monotonic()
    for node, key in sorted(watch.keys.items()):
        try:
            device = watch.guard.access(key)
            if device is None or not device.online or device.hidpp10:
                continue
            parts = diverted_parts(device)
        except (HidppError, PhantomError, OSError) as e:
            out.append(DiversionEvent("note", now, node, f"diversions not read: {e}"))
            continue
        if not parts:
            continue
        held = listeners(key[0])
        name = f"{node} (slot {key[1]}, WPID {device.wpid:04X})"
        if held is None:
            who = f"who holds {key[0]} open is hidden (run as root to see)"
        elif held:
            owner = owner_of(held)
            who = f"{key[0]} held open by {', '.join(held)}" + (f": owned by {owner}" if owner else "")
        else:
            who = (f"nobody else holds {key[0]} open: stale, the diverted controls do nothing "
                   f"(fix: phantombutton watch --fix and press them, or phantombutton set {key[1]} diversions reset)")
        out.append(DiversionEvent("finding" if held == () else "note", now, name,
                                  "diverted to HID++: " + ", ".join(parts) + "; " + who))
    return out
