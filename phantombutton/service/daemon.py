"""The resident daemon: settings and phantom-button release whenever a mouse (re)connects.

hid-logitech-dj keeps a paired device across sleep and out-of-range, so a mouse waking up
produces no udev event, only a HID++ 0x41 connection notification on the receiver's node
(facts/hidpp.md). The same holds for every receiver family: Nano and Lightspeed (non-DJ,
0x41 with their protocol byte 0x0A / 0x0C...) and Bolt (protocol 0x10; hid-generic drives
it, so nobody else even asks it). The daemon therefore keeps every handled receiver's HID++
node open (receivers.py `hidpp_interface`) and, for mice without a receiver (Bluetooth, USB
cable: transport/direct.py), the mouse's own node, which comes and goes with the mouse (a new
udev node at each reconnect, picked up by the rescan). It:

- on 0x41 "link established" for slot n (a direct mouse: its node appearing): waits
  `settle-delay` (the kernel's own connect probe runs first; Solaar waits 0.2 s for the same
  reason), then applies the configured settings with read-back (HID++ 1.0 registers by
  model, HID++ 2.0 by feature: dpi, wheel-resolution ...), once per connection (duplicate
  0x41s inside the delay merge);
- releases at once, by the verified recovery chain, what no hand holds: a button the model
  lacks (HID 16 = evdev 0x11F = X button 20 on an M705), or one held across a link loss on a
  Nano, Lightspeed or Bolt receiver (`watch`'s Detector and re-assert policy on the reports
  read here, no event node access needed: service/daemon_phantoms.py);
- stale diversions: service/daemon_diversions.py (reset only when the configuration says);
- rescans for receivers every `rescan-interval` s; a receiver that vanishes (DeviceGone) is
  dropped and picked up again when it comes back.

Everything the daemon does is one journal line. `Daemon` takes a platform
(transport/platform.py), a clock and a sleep, so tests drive it on the virtual platform
in-process on a simulated clock.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from phantombutton import receivers
from phantombutton.detect.events import DeviceRemoved, HidppTraffic, Motion
from phantombutton.detect.state import FamilyOf
from phantombutton.errors import DeviceGone, PhantomError
from phantombutton.hidpp import dj, notifications
from phantombutton.hidpp.errors import FrameError, HidppError
from phantombutton.hidpp.frames import DjFrame, HidppFrame, parse
from phantombutton.recovery.chain import Outcome, Target
from phantombutton.service.config import Config
from phantombutton.service.daemon_diversions import DaemonDiversions
from phantombutton.service.daemon_links import Link, SlotState
from phantombutton.service.daemon_phantoms import DaemonPhantoms
from phantombutton.service.daemon_wheel import DaemonWheel
from phantombutton.service.journal import Journal
from phantombutton.service.parts import (
    KeptX, apply_setting, chain_release, connection_device, device_identity, enable_connection_notifications,
    paired_count, paired_wpid,
    setting_text,
)
from phantombutton.transport.direct import DIRECT_INDEX
from phantombutton.transport.engine import Engine
from phantombutton.transport.platform import Platform

GONE = "unplugged (device gone)"


def _failure(e: PhantomError, what: str = "failed") -> str:
    """Why a link is dropped: DeviceGone is an unplug, any other error says what failed."""
    return GONE if isinstance(e, DeviceGone) else f"{what} ({e})"


class Daemon:
    def __init__(self, platform: Platform, config: Config, journal: Journal, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, logind=None,
                 family_of: FamilyOf = receivers.family_of):
        self.platform, self.config, self.journal = platform, config, journal
        self.family_of = family_of
        self.clock, self.sleep = clock, sleep
        self.nodes = platform.nodes      # the event nodes (EVIOCGKEY), there from the start
        self.x = KeptX(platform)
        self.links: dict[str, Link] = {}
        self._timers: list[tuple[float, int, Link, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._connect_due: dict[tuple[str, int], float] = {}
        self._next_rescan = 0.0
        self._missing_reported = False
        self._open_failed: dict[str, str] = {}
        self._reopen: dict[str, tuple[float, float]] = {}   # node -> (not before, last delay)
        self.stopped = False
        self.wheel = DaemonWheel(self, sleep=logind)   # wheel mode guard, resume re-check
        self.diversions = DaemonDiversions(self)       # stale diversions (reset if the config says)
        self.phantoms = DaemonPhantoms(self)           # the Detector, and the releases it decides

    # ---- main loop -------------------------------------------------------------------
    def run(self, until: Callable[[], bool] = lambda: False) -> None:
        self.journal.info(f"started; settle {self.config.daemon.settle_delay:g} s, "
                          f"auto-release {'on' if self.config.fix.auto_release else 'off'}")
        while not self.stopped and not until():
            self.step(0.25)
        for link in list(self.links.values()):
            self._drop(link, None)
        self.wheel.close()

    def step(self, max_wait: float) -> None:
        """One round: rescan if due, read what arrived (waiting at most max_wait), run timers."""
        now = self.clock()
        if now >= self._next_rescan:
            self.rescan()
            self._next_rescan = now + self.config.daemon.rescan_interval
        wait = max(0.0, min(max_wait, self._next_due() - now, self._next_rescan - now))
        links = list(self.links.values())
        if not links:
            self.sleep(wait)
        for link in links:
            self._read(link, wait / len(links))
        self._run_timers()
        self.wheel.tick()
        self.diversions.tick()

    def stop(self) -> None:
        self.stopped = True

    # ---- what the daemon does through the platform ------------------------------------
    def open_engine(self, node: str) -> Engine:
        return Engine(self.platform.open_receiver(node), clock=self.clock)

    def held_codes(self, receiver_node: str, slot: int) -> frozenset[int] | None:
        """EVIOCGKEY of the mouse's event node; None when it has none."""
        link = self.links.get(receiver_node)
        node = self.event_node(link, slot) if link else self.platform.event_node(receiver_node, slot)
        return None if node is None else self.nodes.held_keys(node)

    def event_node(self, link: Link, slot: int) -> str | None:
        node = link.events.get(slot) or self.platform.event_node(link.node, slot)
        if node is not None:
            link.events[slot] = node
        return node

    def release(self, target: Target) -> Outcome:
        return chain_release(self.platform, self.x, target, allow_mute=self.config.fix.mute_unknown_buttons)

    # ---- receivers -------------------------------------------------------------------
    def rescan(self) -> None:
        try:
            found = {r.node: (r, False) for r in self.platform.receivers()}
            found.update({d.node: (d, True) for d in self.platform.direct_devices()})
        except PhantomError as e:
            self.journal.warning(f"receiver scan failed: {e}")
            return
        now = self.clock()
        for node, (found_node, is_direct) in found.items():
            if node in self.links or self._reopen.get(node, (0.0, 0.0))[0] > now:
                continue
            what = "mouse" if is_direct else "receiver"
            try:
                engine = (Engine(self.platform.open_direct(found_node), clock=self.clock) if is_direct
                          else self.open_engine(node))
            except PhantomError as e:   # AccessDenied names the udev fix
                if self._open_failed.get(node) != str(e):   # once, not every rescan
                    self.journal.error(f"cannot open {what}: {e}")
                    self._open_failed[node] = str(e)
                continue
            self._open_failed.pop(node, None)
            self.links[node] = (Link(node, engine, direct=found_node.product) if is_direct
                                else Link(node, engine, found_node.product))
            self._missing_reported = False
            if is_direct:   # hotplug: each reconnect of such a mouse is a new node
                self.journal.info(f"{node}: mouse {found_node.product:04X} attached (no receiver)")
            else:
                family = self.family_of(found_node.product)
                self.journal.info(f"{node}: receiver attached; listening for connections "
                                  f"({family.family.value if family else 'unknown family'})")
                try:
                    if done := enable_connection_notifications(engine, found_node.product):
                        self.journal.notice(f"{node}: {done}")
                except DeviceGone:
                    self._drop(self.links[node], GONE)
                    continue
                except (HidppError, PhantomError) as e:
                    self.journal.error(f"{node}: cannot turn its connection notifications on ({e}); "
                                       "reconnects behind it will go unseen until Solaar or a replug does")
            self._announce_connected(self.links[node])
        if not self.links and not self._missing_reported:
            self.journal.info("no Logitech receiver or HID++ mouse found; waiting for one to be plugged in")
            self._missing_reported = True

    def _announce_connected(self, link: Link) -> None:
        """Devices already connected when we attach get the same treatment as a reconnect.

        Writing 0x02 to register 0x02 would make the receiver re-announce every device and
        the kernel re-probe them all; instead the receiver's pairing info (answered by the
        receiver itself) names the paired slots, and only those are pinged (the family's slot
        range: Lightspeed may use 7), stopping once register 0x02's paired count is found: on
        hid-logitech-dj a pairing read of an empty slot queues a re-enumeration
        (devices/receiver.py). A mouse without a receiver is pinged at DIRECT_INDEX."""
        family = self.family_of(link.product) if link.product is not None else None
        slots = (DIRECT_INDEX,) if link.direct is not None else family.slots if family else range(1, 7)
        try:
            count = None if link.direct is not None else paired_count(link.engine, link.product)
        except DeviceGone:
            self._drop(link, GONE)
            return
        found = 0
        for slot in slots:
            if count is not None and found >= count:
                break
            try:
                wpid = self._read_wpid(link, slot)   # a direct mouse: its product id
                found += wpid is not None
                version = link.engine.ping(slot) if wpid is not None else None
            except PhantomError as e:
                self._drop(link, _failure(e))
                return
            except HidppError:
                continue
            if version is not None:
                self._on_connection(link, slot, wpid)

    def _drop(self, link: Link, why: str | None) -> None:
        self.links.pop(link.node, None)
        for key in [k for k in self._connect_due if k[0] == link.node]:
            del self._connect_due[key]
        with contextlib.suppress(OSError):   # the node may be gone already
            link.engine.transport.close()
        for slot in link.slots:
            self.phantoms.feed(DeviceRemoved(self.clock(), link.mouse(slot)))
            self.phantoms.mice.pop(link.mouse(slot), None)
        if why:
            # Look again soon (replug, driver rebind), but a node that keeps failing is
            # reopened after 0.5 s, 1 s, 2 s ... 60 s: no busy loop, no flood of lines.
            now = self.clock()
            until, delay = self._reopen.get(link.node, (0.0, 0.0))
            delay = min(60.0, delay * 2) if now - until < 60.0 else 0.0
            delay = max(delay, 0.5)
            self._reopen[link.node] = (now + delay, delay)
            if link.direct is not None:   # the mouse switched off, slept or left: its node goes
                self.journal.info(f"{link.node}: mouse {why}; dropped, rescanning")
            else:
                self.journal.warning(f"{link.node}: receiver {why}; dropped, rescanning")
            self._next_rescan = min(self._next_rescan, now + delay)

    def _read(self, link: Link, wait: float) -> None:
        try:
            item = link.engine.poll(wait)
            while item is not None:
                self._handle(link, item.raw, item.time)
                item = link.engine.poll(0)
        except PhantomError as e:
            # hidapi does not always say "gone" when the node vanishes (uhid destroy reads
            # as "read error Success"): any read failure drops the link; the rescan decides.
            self._drop(link, _failure(e, "read failed"))

    # ---- incoming reports ------------------------------------------------------------
    def _handle(self, link: Link, raw: bytes, t: float) -> None:
        try:
            frame = parse(raw)
        except FrameError:
            return
        if isinstance(frame, HidppFrame):
            self.wheel.traffic(link, raw, t)
            note = notifications.parse(frame) if notifications.is_receiver_notification(frame) else None
            if isinstance(note, notifications.DeviceConnection):
                if note.link_established:
                    self._on_connection(link, note.devnum, note.wpid)
                else:
                    self._on_link_lost(link, note.devnum, t)
                    if not self._releases_on_link_loss(link):
                        # the Detector judges the 0x41 against what the kernel holds now
                        self.phantoms.kernel_state(link, note.devnum, t, "at link loss")
            elif isinstance(note, notifications.DeviceUnpaired):
                if link.slots.pop(note.devnum, None) is not None:
                    self.phantoms.feed(DeviceRemoved(t, link.mouse(note.devnum)))
            self.phantoms.feed(HidppTraffic(t, link.node, raw))   # evidence, connections, rule e
            return
        if isinstance(frame, DjFrame):
            try:
                msg = dj.parse_message(frame)
            except FrameError:
                return
            if isinstance(msg, dj.DjMouseReport):
                self.phantoms.on_buttons(link, msg.devnum, msg.buttons, t)
                self.wheel.report(link, msg.devnum, msg.wheel, t)
                if msg.pan:    # AC Pan, hid-input's REL_HWHEEL: verifies a thumb-wheel reset
                    self.diversions.feed(Motion(t, link.mouse(msg.devnum), hwheel=True))
            elif isinstance(msg, dj.DjConnectionStatus) and msg.link_lost:
                self._on_link_lost(link, msg.devnum, t)

    def _releases_on_link_loss(self, link: Link) -> bool:
        family = self.family_of(link.product) if link.product is not None else None
        return family is None or family.releases_on_link_loss

    def _on_link_lost(self, link: Link, slot: int, t: float) -> None:
        st = link.slot(slot)
        if st.connected:
            self.journal.info(f"{link.node} slot {slot}: link lost")
        st.connected = False
        self._connect_due.pop((link.node, slot), None)
        if self._releases_on_link_loss(link):
            # hid-logitech-dj forwards an all-zero report on link loss: every button is up
            self.phantoms.on_buttons(link, slot, 0, t)

    def _on_connection(self, link: Link, slot: int, wpid: int | None) -> None:
        st = link.slot(slot)
        if wpid is not None:
            if st.wpid is not None and st.wpid != wpid:
                st.identity = None    # another device paired in this slot
            st.wpid = wpid
        st.connected = True
        self.phantoms.register(link, slot, at_start=False)
        key = (link.node, slot)
        due = self.clock() + self.config.daemon.settle_delay
        if key not in self._connect_due:
            self.at(due, link, lambda: self._connected(link, slot))
        self._connect_due[key] = due   # a duplicate 0x41 pushes the same action back

    def _connected(self, link: Link, slot: int) -> None:
        key = (link.node, slot)
        due = self._connect_due.get(key)
        if due is None or self.links.get(link.node) is not link:
            return
        if due > self.clock():              # pushed back by a duplicate notification
            self.at(due, link, lambda: self._connected(link, slot))
            return
        del self._connect_due[key]
        st = link.slot(slot)
        if not st.connected:
            return
        if st.wpid is None:
            st.wpid = self._read_wpid(link, slot)
        name = link.where(slot)
        self.journal.info(f"{name}: connected")
        # Release first, settings second: a phantom held right after the link came up is the
        # bug's signature, and a stuck pointer grab is what the user suffers from now. A
        # phantom seen in a DJ report was released when it came; what the kernel holds from
        # before we listened (daemon started late, receiver re-attached) is read here.
        self._read(link, 0)
        if self.links.get(link.node) is not link:
            return
        self.phantoms.kernel_state(link, slot, self.clock(), "at connection")
        if self.links.get(link.node) is not link:
            return
        if "settings" in self.config.fix.prevention:
            self._apply_settings(link, slot, st, name)
        self.wheel.connected(link, slot)

    def _read_wpid(self, link: Link, slot: int) -> int | None:
        if link.direct is not None:
            return link.direct
        try:
            return paired_wpid(link.engine, link.product, slot)
        except DeviceGone:
            raise
        except (HidppError, PhantomError):
            return None

    def _apply_settings(self, link: Link, slot: int, st: SlotState, name: str) -> None:
        cfg = self.config
        wanted = cfg.settings_for(st.wpid)
        if any(d.kind in ("serial", "name") for d in cfg.devices):
            if st.identity is None:
                try:
                    st.identity = device_identity(link.engine, slot, link.product or link.direct)
                except (HidppError, PhantomError) as e:
                    if isinstance(e, DeviceGone):
                        raise
                    self.journal.warning(f"{name}: cannot read serial and name: {e}")
                    st.identity = (None, None)
            wanted = cfg.settings_for(st.wpid, *st.identity)
        device = connection_device(link.engine, slot, st.wpid, link.product)
        for setting, value in wanted.items():
            self.journal.debug(f"{name}: applying {setting}={setting_text(value)}")
            try:
                out = apply_setting(device, setting, value)
            except (HidppError, PhantomError) as e:
                if isinstance(e, DeviceGone):
                    raise
                self.journal.error(f"{name}: setting {setting}={setting_text(value)} failed: {e}")
                continue
            if out.changed:
                self.journal.notice(f"{name}: set {setting}={setting_text(value)}, "
                                    f"read back {setting_text(out.value)}")
            else:
                self.journal.info(f"{name}: {setting} already {setting_text(out.value)}")

    # ---- timers ----------------------------------------------------------------------
    def at(self, due: float, link: Link, fn: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (due, next(self._seq), link, fn))

    def _next_due(self) -> float:
        return self._timers[0][0] if self._timers else float("inf")

    def _run_timers(self) -> None:
        while self._timers and self._timers[0][0] <= self.clock():
            _, _, link, fn = heapq.heappop(self._timers)
            if self.links.get(link.node) is not link:
                continue                  # its receiver was dropped meanwhile
            try:
                fn()
            except PhantomError as e:
                self._drop(link, _failure(e))
            except Exception as e:   # a bug of ours must not stop the fixes for every device
                self.journal.error(f"{link.node}: internal error: {type(e).__name__}: {e}")
