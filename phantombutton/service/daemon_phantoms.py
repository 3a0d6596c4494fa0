"""The daemon's phantom-button handling, kept beside daemon.py (which feeds it).

`watch`'s Detector (detect/rules.py, without explanations: nothing is decoded before the
release) on what daemon.py reads: each mouse as the Detector knows it (receiver node and slot,
or a direct mouse's node and DIRECT_INDEX; service/daemon_links.py), every HID++ report, DJ
mouse reports' button changes as the key events hid-input makes of them, and the kernel's held
keys (EVIOCGKEY) at each connection and at link loss. What no hand holds is released at once
by the verified recovery chain (`Daemon.release`), re-asserts paced by detect/reassert.py
(`watch --fix`'s policy: never a release loop). Every observation goes to the stale-diversion
guard (service/daemon_diversions.py) too.
"""

from __future__ import annotations

import dataclasses
import functools

from phantombutton import models
from phantombutton.buttons import buttons_of, hid_button_for, hid_button_to_evdev, is_mouse_button, x_button_for
from phantombutton.detect.events import DeviceAdded, DeviceInfo, HeldState, KeyEvent, Observation
from phantombutton.detect.findings import Finding, Rule, Thresholds
from phantombutton.detect.reassert import Releases
from phantombutton.detect.rules import Detector
from phantombutton.errors import PhantomError
from phantombutton.recovery.watcher import target_for
from phantombutton.service.daemon_links import Link

# What the daemon releases by itself: no hand holds these (detect/rules.py rules a and e).
# The other rules (a press right after a reconnect, a long idle hold) may be a user's.
DAEMON_RULES = frozenset({Rule.UNKNOWN_BUTTON, Rule.HELD_AT_LINK_LOSS})


class DaemonPhantoms:
    """The daemon's Detector and what it does with the findings (see the module doc)."""

    def __init__(self, daemon):
        self.daemon = daemon
        config = daemon.config
        self.detector = Detector(thresholds=Thresholds(held_for=config.detection.held_for),
                                 family_of=daemon.family_of, explain=False)
        self.releases = Releases(config.reassert)
        self.mice: dict[str, tuple[Link, int, int | None]] = {}   # Detector node -> link, slot, WPID

    def register(self, link: Link, slot: int, *, at_start: bool = True) -> str:
        """Tell the Detector about the mouse in `slot` (again at each connection: its WPID,
        and a connection that rule b measures from)."""
        node = link.mouse(slot)
        st = link.slot(slot)
        if self.mice.get(node) != (link, slot, st.wpid) or not at_start:
            self.mice[node] = (link, slot, st.wpid)
            info = DeviceInfo(node=node, name=models.model_for(st.wpid).name, product=st.wpid, slot=slot,
                              receiver_node=link.node, receiver_product=link.product)
            self.feed(DeviceAdded(self.daemon.clock(), info, at_start=at_start))
        return node

    def feed(self, obs: Observation) -> list[Finding]:
        self.daemon.diversions.feed(obs)
        findings = self.detector.feed(obs)
        self._act(findings)
        return findings

    def tick(self) -> None:
        self._act(self.detector.tick(self.daemon.clock()))

    def on_buttons(self, link: Link, slot: int, buttons: int, t: float) -> None:
        """A DJ mouse report's buttons, as the key events hid-input makes of their changes."""
        st = link.slot(slot)
        changed, st.buttons = st.buttons ^ buttons, buttons
        if not changed:
            return
        node = self.register(link, slot)
        for n in buttons_of(changed):
            self.feed(KeyEvent(t, node, hid_button_to_evdev(n), buttons >> (n - 1) & 1))
        if changed & buttons:    # a press: the Detector's wait for an ambiguous press ends then
            self.daemon.at(t + self.daemon.config.detection.held_for, link, self.tick)

    def kernel_state(self, link: Link, slot: int, t: float, when: str) -> None:
        """What the kernel holds on the mouse's event node (EVIOCGKEY), to the Detector."""
        journal = self.daemon.journal
        try:
            codes = self.daemon.held_codes(link.node, slot)
        except PhantomError as e:
            journal.debug(f"{link.node} slot {slot}: cannot read held keys: {e}")
            return
        if codes is None:
            return
        findings = self.detector.feed(HeldState(t, self.register(link, slot), frozenset(codes)))
        # at a connection, what is new to us; at link loss, every button still held
        held = sorted(c for c in codes if is_mouse_button(c)) if when == "at link loss" else \
            sorted(f.code for f in findings if f.active and f.code is not None)
        if held:
            journal.info(f"{link.node} slot {slot}: kernel holds "
                         f"{', '.join(f'0x{c:03X}' for c in held)} {when}")
        self._act(findings)

    def _act(self, findings: list[Finding]) -> None:
        d = self.daemon
        for f in findings:
            if not f.active or f.node not in self.mice or f.code is None:
                continue
            if f.rule not in DAEMON_RULES:
                d.journal.debug(f"{f.headline()}: left alone (a hand may hold it)")
                continue
            link, slot, _ = self.mice[f.node]
            now = d.clock()
            if not d.config.fix.auto_release:
                d.journal.warning(f"{link.where(slot)}: phantom button held "
                                  f"(HID {hid_button_for(f.code)}); auto-release is off in the configuration")
                continue
            wait = self.releases.wait(f.key, now)
            if wait > 0:
                policy = d.config.reassert
                d.journal.warning(
                    f"{link.where(slot)}: phantom button re-asserted "
                    f"{self.releases.recent(f.key, now)} times within {policy.window:g} s of a release; "
                    f"backing off {self.releases.backoff(f.key, now):g} s (a mouse that keeps sending "
                    "it may need `phantombutton mute`)")
                d.at(now + wait, link, functools.partial(self._release_if_held, f.key))
                continue
            self._release(link, slot, f)

    def _release_if_held(self, key: tuple) -> None:
        f = next((a for a in self.detector.active() if a.key == key), None)
        if f is not None and f.node in self.mice:
            self._release(*self.mice[f.node][:2], f)

    def _release(self, link: Link, slot: int, f: Finding) -> None:
        d = self.daemon
        where = link.where(slot)
        code = f.code if f.code is not None else 0
        label = f"button 0x{code:03X} (HID {hid_button_for(code)}, X {x_button_for(code)})"
        what = (f"phantom {label} held {d.clock() - f.since:.2f} s"
                if f.rule is Rule.UNKNOWN_BUTTON else f"{label} held at link loss ({f.evidence[-1]})")
        self.releases.record(f.key, d.clock())
        target = dataclasses.replace(target_for(f), node=d.event_node(link, slot),
                                     device=f"{models.model_for(link.slot(slot).wpid).name} slot {slot}")
        try:
            if target.node is None:
                raise PhantomError(f"no event node found for slot {slot} behind {link.node}")
            out = d.release(target)
        except PhantomError as e:   # the event node, not the receiver, failed here
            link.events.pop(slot, None)
            d.journal.error(f"{where}: {what}; release failed: {e}")
            return
        if out.released:
            d.journal.notice(f"{where}: {what}; released: {out.detail()}")
            # the event node now reads up (EVIOCGKEY verified it): so does the Detector
            self.feed(KeyEvent(d.clock(), link.mouse(slot), code, 0))
        else:
            link.events.pop(slot, None)
            d.journal.error(f"{where}: {what}; release failed: {out.detail()}")
