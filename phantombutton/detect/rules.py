"""The detector: observations in, findings out. Pure, no I/O, no clock of its own.

Rules:
  a) a button the model does not have (0x11F on an M705) -> at once: no hand can press it, so
     there is nothing to wait for; HID button 16 on a model we do not know (nothing can be
     ruled out for sure) -> once held `held_for` s;
  e) a button still held when the link to its mouse dropped (HID++ 0x41, link not
     established) on a receiver whose family does not release at link loss (receivers.py
     `releases_on_link_loss`: only DJ receivers get hid-logitech-dj.c
     `logi_dj_recv_forward_null_report`) -> at once: no report will ever release it;
  b) a press within `connect_window` after a (re)connection (0x41 notification or a
     hotplugged node) with no motion in between;
  c) held longer than `held_idle` with no motion meanwhile (a drag moves: not flagged);
  d) X holds a button the kernel released (for `x_grace`), or the master holds one no slave holds.
One finding per held button and layer; a stronger rule (a, e > b > c) wins. When the button is
released, a copy of the finding with `ended` set is emitted and it leaves `active()`.
What the Detector keeps, and how a finding is built from it: detect/state.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phantombutton import buttons as B
from phantombutton.detect.context import connection_of, parse_frame
from phantombutton.detect.events import (
    DeviceAdded,
    DeviceRemoved,
    HeldState,
    HidppTraffic,
    KeyEvent,
    Motion,
    Observation,
    XButtons,
)
from phantombutton.detect.explain import cause_and_fix
from phantombutton.detect.findings import DeviceView, Finding, HeldButton, Layer, Rule
from phantombutton.detect.shared import is_shared, model_has, model_of
from phantombutton.detect.state import (
    HIDRAW_CLOCK_SLACK, DetectorState, DeviceState, Hold,
)
from phantombutton.models import BTN_PHANTOM   # 0x11F, X button 20


WEAKER_THAN_A = (Rule.PRESS_AFTER_CONNECT, Rule.HELD_IDLE)   # a later, stronger finding replaces them
TIME_SLACK = 1e-6   # a tick due at press + held-for may compute the difference a hair short


class Detector(DetectorState):
    """`Detector(model_for, thresholds, family_of=, explain=, paired=)`: its state
    and finding builders are detect/state.py's; here the rules that fire them."""

    # -- public API ---------------------------------------------------------------------
    def feed(self, obs: Observation) -> list[Finding]:
        self.now = max(self.now, obs.t)
        handler = self._handlers.get(type(obs))
        return handler(self, obs) if handler else []

    def tick(self, now: float) -> list[Finding]:
        """Time-based rules (c, and d's grace period). Call it every poll interval or so."""
        self.now = max(self.now, now)
        out: list[Finding] = []
        for dev in self._devices.values():
            for code, hold in dev.holds.items():
                active = self._active.get((Layer.KERNEL, dev.info.node, code))
                if active is not None and active.rule not in WEAKER_THAN_A:
                    continue
                if (code == BTN_PHANTOM and now - hold.since >= self.t.held_for - TIME_SLACK
                        and self._model_unknown(dev, code)):
                    out.append(self._kernel_finding(Rule.UNKNOWN_BUTTON, dev, code, hold, [
                        f"{B.describe_button(code)} {hold.how} at {hold.since:.3f} s on {dev.info.node}, "
                        f"held {now - hold.since:.2f} s (threshold {self.t.held_for:g} s, held-for)",
                        "the model is not known; no Logitech mouse we know has HID button 16",
                    ]))
                    continue
                quiet_since = max(hold.since, dev.last_motion or hold.since)
                if active is None and now - quiet_since >= self.t.held_idle:
                    held = now - hold.since
                    out.append(self._kernel_finding(
                        Rule.HELD_IDLE, dev, code, hold,
                        [f"{B.describe_button(code)} {hold.how} at {hold.since:.3f} s, held {held:.1f} s",
                         "no motion since " + (f"{quiet_since:.3f} s" if dev.last_motion and
                                               dev.last_motion > hold.since else "the press"),
                         f"threshold {self.t.held_idle:g} s (held-idle)"],
                        extra=f" ({held:.0f} s)"))
        out += self._x_check(now)
        return out

    def active(self) -> list[Finding]:
        return list(self._active.values())

    def devices(self) -> list[DeviceView]:
        """Held buttons per device per layer, for the watch UI."""
        views = []
        for dev in self._devices.values():
            x = self._x.get(dev.x_slave_id) if dev.x_slave_id is not None else None
            views.append(DeviceView(
                node=dev.info.node, name=dev.info.name, slot=dev.info.slot, wpid=dev.info.product,
                x_slave_id=dev.x_slave_id, kernel={c: h.since for c, h in dev.holds.items()},
                x=x.buttons if x else frozenset(), present=dev.present))
        return views

    def held(self) -> list[HeldButton]:
        """Every button held now, per layer, with what is known of it: what `analyze`
        reports at the end of a capture whether or not a rule fired."""
        out = []
        for dev in self._devices.values():
            if not dev.present:
                continue
            x = self._x.get(dev.x_slave_id) if dev.x_slave_id is not None else None
            for code, hold in sorted(dev.holds.items()):
                xb = B.x_button_for(code)
                out.append(HeldButton(
                    device=dev.info.name or dev.info.node, node=dev.info.node, code=code, x_button=xb,
                    since=hold.since, how=hold.how, last_motion=dev.last_motion,
                    in_x=bool(x and xb in x.buttons), in_kernel=True,
                    finding=self._active.get((Layer.KERNEL, dev.info.node, code))))
            if x is not None:
                for b in sorted(x.buttons):
                    xcode = B.code_for_x_button(b)
                    if xcode is not None and xcode in dev.holds:
                        continue   # listed above with its kernel hold
                    first = self._x_pending.get((x.device_id, b), x.t)
                    out.append(HeldButton(
                        device=dev.info.name or dev.info.node, node=dev.info.node, code=xcode, x_button=b,
                        since=first, how="held in X", last_motion=dev.last_motion, in_x=True,
                        in_kernel=False, finding=self._active.get((Layer.X, x.device_id, b))))
        return out

    def kernel_holds_any(self) -> bool:
        """Does any present device hold a button in the kernel? (What devices() would say,
        without building the views: the watcher asks on every tick.)"""
        return any(dev.holds for dev in self._devices.values() if dev.present)

    def x_masters(self) -> dict[int, frozenset[int]]:
        return {i: s.buttons for i, s in self._x.items() if s.is_master}

    # -- observations ----------------------------------------------------------------------
    def _on_added(self, obs: DeviceAdded) -> list[Finding]:
        old = self._devices.get(obs.device.node)
        dev = DeviceState(obs.device, x_slave_id=obs.device.x_slave_id or (old.x_slave_id if old else None),
                      added_at=obs.t)
        if old is not None and old.present:   # re-announced: keep what we know of its state
            dev.holds, dev.last_motion, dev.kernel_known = old.holds, old.last_motion, old.kernel_known
        if not obs.at_start:
            dev.connected_at = obs.t
        if is_shared(obs.device):   # read its paired mice now, not when a press needs them
            self.shared.candidates(obs.device.receiver_node or "")
        self._devices[obs.device.node] = dev
        return []

    def _on_removed(self, obs: DeviceRemoved) -> list[Finding]:
        dev = self._devices.get(obs.node)
        if dev is None:
            return []
        dev.present = False
        out = [f for code in dev.holds for f in self._end((Layer.KERNEL, obs.node, code), obs.t)]
        dev.holds.clear()
        return out

    def _on_motion(self, obs: Motion) -> list[Finding]:
        self._device(obs.node).last_motion = obs.t
        return []

    def _on_key(self, obs: KeyEvent) -> list[Finding]:
        if not B.is_mouse_button(obs.code):
            return []
        dev = self._device(obs.node)
        dev.kernel_known = True
        if obs.value == 0:
            dev.holds.pop(obs.code, None)
            return self._end((Layer.KERNEL, obs.node, obs.code), obs.t)
        if obs.value != 1 or obs.code in dev.holds:
            return []
        hold = dev.holds[obs.code] = Hold(obs.t, "pressed")
        self._kernel_agrees(dev, obs.code)
        f = self._unknown_button(dev, obs.code, hold) or self._after_connect(dev, obs.code, hold)
        return [f] if f else []

    def _on_held(self, obs: HeldState) -> list[Finding]:
        dev = self._device(obs.node)
        dev.kernel_known = True
        out = []
        for code in [c for c in dev.holds if c not in obs.codes]:   # a release we did not see
            del dev.holds[code]
            out += self._end((Layer.KERNEL, obs.node, code), obs.t)
        for code in sorted(obs.codes):
            if B.is_mouse_button(code) and code not in dev.holds:
                hold = dev.holds[code] = Hold(obs.t, "held at start")
                self._kernel_agrees(dev, code)
                if f := self._unknown_button(dev, code, hold):
                    out.append(f)
        return out

    def _on_hidpp(self, obs: HidppTraffic) -> list[Finding]:
        f = parse_frame(obs.t, obs.node, obs.data)
        if f is None:
            return []
        self.context.add(f)
        if f.software_id != self.context.own:   # our own reads say nothing of who is active
            self.shared.heard(obs.node, f.devnum, obs.t)
        conn = connection_of(f)
        if conn:
            self.shared.connection(obs.node, conn[0], conn[2], obs.t)
        if conn and conn[2]:
            self._connections[(obs.node, conn[0])] = obs.t
        elif conn:
            return self._link_lost(obs.node, conn[0], obs.t)
        return []

    def _on_x(self, obs: XButtons) -> list[Finding]:
        prev = self._x.get(obs.device_id)
        self._x[obs.device_id] = obs
        out = []
        if not obs.is_master and obs.device_node:
            dev = self._devices.get(obs.device_node)
            if dev is not None:
                dev.x_slave_id = obs.device_id
        gone = (prev.buttons if prev else frozenset()) - obs.buttons
        for b in gone:
            self._x_pending.pop((obs.device_id, b), None)
            out += self._end((Layer.X, obs.device_id, b), obs.t)
        for b in obs.buttons:
            if self._x_disagrees(obs, b):
                self._x_pending.setdefault((obs.device_id, b), obs.t)
            else:
                self._x_pending.pop((obs.device_id, b), None)
        return out + self._x_check(obs.t)

    def _kernel_agrees(self, dev: DeviceState, code: int) -> None:
        """The kernel holds `code` again: an earlier X sample that held it while the kernel did
        not is no longer evidence (captures from earlier builds recorded X only at changes,
        so quick clicks read as one long X hold). Only a later sample can start a new doubt."""
        if dev.x_slave_id is not None and (xb := B.x_button_for(code)) is not None:
            self._x_pending.pop((dev.x_slave_id, xb), None)

    def _x_disagrees(self, sample: XButtons, b: int) -> bool:
        """Does X's view of button b on this device contradict the kernel's (or the slaves')?"""
        if sample.is_master:
            slaves = [s for s in self._x.values()
                      if not s.is_master and sample.t - s.t <= self.t.x_stale]
            return bool(slaves) and not any(b in s.buttons for s in slaves)
        code = B.code_for_x_button(b)
        dev = self._devices.get(sample.device_node or "")
        return code is not None and dev is not None and dev.kernel_known and code not in dev.holds

    _handlers: dict[type, Callable[[Detector, Any], list[Finding]]] = {
        DeviceAdded: _on_added, DeviceRemoved: _on_removed, Motion: _on_motion,
        KeyEvent: _on_key, HeldState: _on_held, HidppTraffic: _on_hidpp, XButtons: _on_x}

    # -- rules -----------------------------------------------------------------------------
    def _has_button(self, dev: DeviceState, code: int) -> bool | None:
        if is_shared(dev.info):   # every paired mouse reports here: all of them must lack it
            return self.shared.has_button(dev.info.receiver_node or "", code, self.model_for)
        return model_has(model_of(self.model_for, dev.info.product), code)

    def _unknown_button(self, dev: DeviceState, code: int, hold: Hold) -> Finding | None:
        if self._has_button(dev, code) is not False:
            return None
        held = f"{B.describe_button(code)} {hold.how} at {hold.since:.3f} s on {dev.info.node}"
        if is_shared(dev.info):
            return self._kernel_finding(Rule.UNKNOWN_BUTTON, dev, code, hold, [
                held, "no mouse paired to this receiver has such a button"])
        name = getattr(model_of(self.model_for, dev.info.product), "name", None) or dev.info.name or "this model"
        return self._kernel_finding(Rule.UNKNOWN_BUTTON, dev, code, hold, [
            held, f"the {name} (WPID {dev.info.product:04X}) has no such button"], model_name=name)

    def _model_unknown(self, dev: DeviceState, code: int) -> bool:
        """A mouse paired to a receiver whose buttons we do not know."""
        return (dev.info.slot is not None or is_shared(dev.info)) and self._has_button(dev, code) is None

    def _link_lost(self, node: str, slot: int, t: float) -> list[Finding]:
        """Rule e: buttons still held on a mouse whose link dropped behind a receiver that
        does not release them (receivers.py `releases_on_link_loss`)."""
        out = []
        for dev in self._devices.values():
            if not dev.present or dev.info.slot != slot or node not in self._nodes(dev) or not dev.holds:
                continue
            product = dev.info.receiver_product
            family = self.family_of(product) if product is not None else None
            if family is None or family.releases_on_link_loss:
                continue              # a DJ receiver: the kernel's all-zero report releases them
            for code, hold in sorted(dev.holds.items()):
                active = self._active.get((Layer.KERNEL, dev.info.node, code))
                if active is not None and active.rule not in WEAKER_THAN_A:
                    continue
                out.append(self._kernel_finding(Rule.HELD_AT_LINK_LOSS, dev, code, hold, [
                    f"{B.describe_button(code)} {hold.how} at {hold.since:.3f} s, still held when "
                    f"the link of slot {slot} dropped at {t:.3f} s (HID++ 0x41 on {node})",
                    f"a {family.family.value} receiver ({product:04X}) keeps held buttons held at link "
                    "loss: only DJ receivers get the kernel's all-released report "
                    "(hid-logitech-dj.c logi_dj_recv_forward_null_report)",
                ]))
        return out

    def _connected_at(self, dev: DeviceState, before: float) -> float | None:
        times = [dev.connected_at] if dev.connected_at is not None else []
        # on a child node (hidpp_node) notifications may carry any index
        times += [t for (node, slot), t in self._connections.items()
                  if node == dev.info.hidpp_node or (slot == dev.info.slot and node in self._nodes(dev))]
        # a connection after the press cannot explain it (multi-device captures restart time);
        # hidraw has no kernel timestamps (stamped when read), hence a little slack
        times = [t for t in times if t <= before + HIDRAW_CLOCK_SLACK]
        return max(times) if times else None

    def _after_connect(self, dev: DeviceState, code: int, hold: Hold) -> Finding | None:
        conn = self._connected_at(dev, hold.since)
        if conn is None:
            return None
        dt = hold.since - conn
        if not (-HIDRAW_CLOCK_SLACK <= dt <= self.t.connect_window):
            return None
        if dev.last_motion is not None and dev.last_motion >= conn:
            return None
        return self._kernel_finding(Rule.PRESS_AFTER_CONNECT, dev, code, hold, [
            f"{B.describe_button(code)} pressed at {hold.since:.3f} s on {dev.info.node}",
            f"{dt * 1000:.0f} ms after the (re)connection at {conn:.3f} s, no motion in between",
        ])

    def _x_check(self, now: float) -> list[Finding]:
        out = []
        for (dev_id, b), first in list(self._x_pending.items()):
            if (Layer.X, dev_id, b) in self._active or now - first < self.t.x_grace:
                continue
            sample = self._x.get(dev_id)
            if sample is None or b not in sample.buttons:
                self._x_pending.pop((dev_id, b), None)
                continue
            f = self._orphan(sample, b, first, now) if sample.is_master else self._slave_mismatch(sample, b, first)
            if f:
                self._active[f.key] = f
                out.append(f)
        return out

    def _slave_mismatch(self, sample: XButtons, b: int, first: float) -> Finding | None:
        code = B.code_for_x_button(b)
        dev = self._devices.get(sample.device_node or "")
        if code is None or dev is None or not dev.kernel_known or code in dev.holds:
            return None
        where = f"X device {sample.device_id} ({sample.device_node})"
        return self._x_finding(dev, sample.device_id, b, code, first, [
            f"{where} holds button {b} since {first:.3f} s (still at {sample.t:.3f} s)",
            f"the kernel does not hold {B.describe_button(code)} on {dev.info.node}",
        ])

    def _orphan(self, master: XButtons, b: int, first: float, now: float) -> Finding | None:
        slaves = [s for s in self._x.values() if not s.is_master and now - s.t <= self.t.x_stale]
        if not slaves or any(b in s.buttons for s in slaves):
            return None
        code = B.code_for_x_button(b)
        cause, fix = cause_and_fix(Rule.X_MISMATCH, model=None, code=code, x_button=b, node=None,
                                   x_slave_id=master.device_id, context=[], settings=[], extra="orphan")
        return Finding(
            rule=Rule.X_MISMATCH, layer=Layer.X, device=f"X master {master.device_id}", node=None,
            slot=None, x_slave_id=master.device_id, code=code, x_button=b, since=first,
            evidence=(f"X master {master.device_id} holds button {b} since {first:.3f} s",
                      "no slave holds it: " + ", ".join(
                          f"{s.device_id}{' (' + s.device_node + ')' if s.device_node else ''}"
                          for s in slaves)),
            cause=cause, fix=fix)
