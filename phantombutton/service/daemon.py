"""The resident daemon: settings and phantom-button release whenever a mouse (re)connects.

hid-logitech-dj keeps a paired device across sleep and out-of-range, so a mouse waking up
produces no udev event, only a HID++ 0x41 connection notification on the receiver's node
(facts/hidpp.md). The daemon therefore keeps every Unifying receiver's HID++ node open and:

- on 0x41 "link established" for slot n: waits `settle-delay` (the kernel's own connect probe
  runs first; Solaar waits 0.2 s for the same reason), then applies the configured settings
  with read-back, once per connection (duplicate 0x41s inside the delay merge);
- on a DJ mouse report that presses a button the model does not have (HID button 16 =
  evdev 0x11F = X button 20): once it is still held after `held-for`, runs the recovery
  chain for that mouse. The receiver node carries every DJ report, so this needs no access
  to the event node; the recovery itself verifies on the event node and in X;
- a phantom that comes back (new press edge) within `reassert-window` of a release counts as
  a re-assert; past `reassert-limit` the daemon backs off exponentially (never a release loop);
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
from dataclasses import dataclass, field
from typing import Callable

from phantombutton.buttons import buttons_of, hid_button_to_evdev, mask_of, x_button_for
from phantombutton.errors import DeviceGone, PhantomError
from phantombutton.hidpp import dj, hidpp10, notifications
from phantombutton.hidpp.errors import FrameError, HidppError
from phantombutton.hidpp.frames import RECEIVER, DjFrame, HidppFrame, parse
from phantombutton.hidpp.hidpp10 import PairingInfo, Register
from phantombutton.service.config import Config
from phantombutton.service.journal import Journal
from phantombutton.service.parts import (
    KeptX, PhantomHeld, apply_setting, chain_release, device_identity, phantom_mask, setting_text,
)
from phantombutton.recovery.chain import Outcome
from phantombutton.transport.engine import Engine
from phantombutton.transport.platform import Platform


@dataclass
class SlotState:
    wpid: int | None = None
    connected: bool = False
    buttons: int = 0                       # last DJ mouse button mask
    pressed_at: float | None = None        # phantom press edge being watched
    released_edge: float | None = None     # press edge we already released
    last_release: float | None = None
    reasserts: int = 0
    backoff_until: float = 0.0
    identity: tuple[str | None, str | None] | None = None   # (serial, name), read lazily


@dataclass
class Link:
    node: str
    engine: Engine
    slots: dict[int, SlotState] = field(default_factory=dict)

    def slot(self, n: int) -> SlotState:
        return self.slots.setdefault(n, SlotState())


class Daemon:
    def __init__(self, platform: Platform, config: Config, journal: Journal, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, logind=None):
        self.platform, self.config, self.journal = platform, config, journal
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
        from phantombutton.service.daemon_wheel import DaemonWheel
        self.wheel = DaemonWheel(self, sleep=logind)   # wheel mode guard, resume re-check

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

    def stop(self) -> None:
        self.stopped = True

    # ---- what the daemon does through the platform ------------------------------------
    def open_engine(self, node: str) -> Engine:
        return Engine(self.platform.open_receiver(node), clock=self.clock)

    def held_codes(self, receiver_node: str, slot: int) -> frozenset[int] | None:
        """EVIOCGKEY of the mouse's event node; None when it has none."""
        node = self.platform.event_node(receiver_node, slot)
        return None if node is None else self.nodes.held_keys(node)

    def release(self, held: PhantomHeld) -> Outcome:
        return chain_release(self.platform, self.x, held, allow_mute=self.config.fix.mute_unknown_buttons)

    # ---- receivers -------------------------------------------------------------------
    def rescan(self) -> None:
        try:
            nodes = [r.node for r in self.platform.receivers()]
        except PhantomError as e:
            self.journal.warning(f"receiver scan failed: {e}")
            return
        now = self.clock()
        for node in nodes:
            if node in self.links or self._reopen.get(node, (0.0, 0.0))[0] > now:
                continue
            try:
                engine = self.open_engine(node)
            except PhantomError as e:   # AccessDenied names the udev fix
                if self._open_failed.get(node) != str(e):   # once, not every rescan
                    self.journal.error(f"cannot open receiver: {e}")
                    self._open_failed[node] = str(e)
                continue
            self._open_failed.pop(node, None)
            self.links[node] = Link(node, engine)
            self._missing_reported = False
            self.journal.info(f"{node}: receiver attached; listening for connections")
            self._announce_connected(self.links[node])
        if not self.links and not self._missing_reported:
            self.journal.info("no Unifying receiver found; waiting for one to be plugged in")
            self._missing_reported = True

    def _announce_connected(self, link: Link) -> None:
        """Devices already connected when we attach get the same treatment as a reconnect.

        Writing 0x02 to register 0x02 would make the receiver re-announce every device and
        the kernel re-probe them all; instead the receiver's pairing info (answered by the
        receiver itself) names the paired slots, and only those are pinged."""
        for slot in range(1, 7):
            try:
                wpid = self._read_wpid(link, slot)
                version = link.engine.ping(slot) if wpid is not None else None
            except DeviceGone:
                self._drop(link, "unplugged (device gone)")
                return
            except PhantomError as e:
                self._drop(link, f"failed ({e})")
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
        if why:
            # Look again soon (replug, driver rebind), but a node that keeps failing is
            # reopened after 0.5 s, 1 s, 2 s ... 60 s: no busy loop, no flood of lines.
            now = self.clock()
            until, delay = self._reopen.get(link.node, (0.0, 0.0))
            delay = min(60.0, delay * 2) if now - until < 60.0 else 0.0
            delay = max(delay, 0.5)
            self._reopen[link.node] = (now + delay, delay)
            self.journal.warning(f"{link.node}: receiver {why}; dropped, rescanning")
            self._next_rescan = min(self._next_rescan, now + delay)

    def _read(self, link: Link, wait: float) -> None:
        try:
            item = link.engine.poll(wait)
            while item is not None:
                self._handle(link, item.raw, item.time)
                item = link.engine.poll(0)
        except DeviceGone:
            self._drop(link, "unplugged (device gone)")
        except PhantomError as e:
            # hidapi does not always say "gone" when the node vanishes (uhid destroy reads
            # as "read error Success"): any read failure drops the link; the rescan decides.
            self._drop(link, f"read failed ({e})")

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
                    self._on_link_lost(link, note.devnum)
            elif isinstance(note, notifications.DeviceUnpaired):
                link.slots.pop(note.devnum, None)
            return
        if isinstance(frame, DjFrame):
            try:
                msg = dj.parse_message(frame)
            except FrameError:
                return
            if isinstance(msg, dj.DjMouseReport):
                self._on_buttons(link, msg.devnum, msg.buttons, t)
                self.wheel.report(link, msg.devnum, msg.wheel, t)
            elif isinstance(msg, dj.DjConnectionStatus) and msg.link_lost:
                self._on_link_lost(link, msg.devnum)

    def _on_link_lost(self, link: Link, slot: int) -> None:
        st = link.slot(slot)
        if st.connected:
            self.journal.info(f"{link.node} slot {slot}: link lost")
        st.connected = False
        # hid-logitech-dj forwards an all-zero report on link loss: every button is up.
        st.buttons, st.pressed_at = 0, None
        self._connect_due.pop((link.node, slot), None)

    def _on_connection(self, link: Link, slot: int, wpid: int | None) -> None:
        st = link.slot(slot)
        if wpid is not None:
            if st.wpid is not None and st.wpid != wpid:
                st.identity = None    # another device paired in this slot
            st.wpid = wpid
        st.connected = True
        key = (link.node, slot)
        due = self.clock() + self.config.daemon.settle_delay
        if key not in self._connect_due:
            self._at(due, link, lambda: self._connected(link, slot))
        self._connect_due[key] = due   # a duplicate 0x41 pushes the same action back

    def _connected(self, link: Link, slot: int) -> None:
        key = (link.node, slot)
        due = self._connect_due.get(key)
        if due is None or self.links.get(link.node) is not link:
            return
        if due > self.clock():              # pushed back by a duplicate notification
            self._at(due, link, lambda: self._connected(link, slot))
            return
        del self._connect_due[key]
        st = link.slot(slot)
        if not st.connected:
            return
        if st.wpid is None:
            st.wpid = self._read_wpid(link, slot)
        name = f"{link.node} slot {slot}" + (f" ({st.wpid:04X})" if st.wpid is not None else "")
        self.journal.info(f"{name}: connected")
        # Release first, settings second: a phantom held right after the link came up is the
        # bug's signature, and a stuck pointer grab is what the user suffers from now.
        self._read(link, 0)
        if self.links.get(link.node) is not link:
            return
        if st.pressed_at is None:
            self._held_in_kernel(link, slot, st)
        if st.pressed_at is not None and st.released_edge != st.pressed_at \
                and self.clock() >= st.backoff_until:
            self._check_phantom(link, slot, st.pressed_at)
        if "settings" in self.config.fix.prevention:
            self._apply_settings(link, slot, st, name)
        self.wheel.connected(link, slot)

    def _read_wpid(self, link: Link, slot: int) -> int | None:
        try:
            value = link.engine.read_register(RECEIVER, Register.PAIRING_INFO,
                                              bytes((PairingInfo.DEVICE + slot - 1,)), long=True)
            return hidpp10.parse_pairing(value, slot).wpid
        except DeviceGone:
            raise
        except (HidppError, PhantomError):
            return None

    def _apply_settings(self, link: Link, slot: int, st: SlotState, name: str) -> None:
        cfg = self.config
        wanted = cfg.settings_for(st.wpid)
        needs_identity = any(d.kind in ("serial", "name") for d in cfg.devices)
        if needs_identity:
            if st.identity is None:
                try:
                    st.identity = device_identity(link.engine, slot)
                except (HidppError, PhantomError) as e:
                    if isinstance(e, DeviceGone):
                        raise
                    self.journal.warning(f"{name}: cannot read serial and name: {e}")
                    st.identity = (None, None)
            wanted = cfg.settings_for(st.wpid, *st.identity)
        for setting, value in wanted.items():
            self.journal.debug(f"{name}: applying {setting}={setting_text(value)}")
            try:
                out = apply_setting(link.engine, slot, st.wpid, setting, value)
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

    # ---- phantom buttons -------------------------------------------------------------
    def _on_buttons(self, link: Link, slot: int, buttons: int, t: float) -> None:
        st = link.slot(slot)
        mask = phantom_mask(st.wpid)
        was, now_held = st.buttons & mask, buttons & mask
        st.buttons = buttons
        if now_held and not was:                    # press edge of a button it does not have
            self.journal.debug(f"{link.node} slot {slot}: buttons {buttons:04X}, phantom press edge "
                               f"read {self.clock() - t:.3f} s ago")
            st.pressed_at = t
            policy = self.config.reassert
            if st.last_release is not None and t - st.last_release <= policy.window:
                st.reasserts += 1
            else:
                st.reasserts = 0
            delay = self.config.detection.held_for
            back = policy.delay(st.reasserts)
            if back:
                st.backoff_until = max(st.backoff_until, self.clock() + back)
                self.journal.warning(
                    f"{link.node} slot {slot}: phantom button re-asserted {st.reasserts} times "
                    f"within {policy.window:g} s of a release; backing off "
                    f"{back:g} s (a mouse that keeps sending it may need `phantombutton mute`)")
            edge = t
            self._at(max(t + delay, st.backoff_until), link,
                     lambda: self._check_phantom(link, slot, edge))
        elif not now_held and was:
            st.pressed_at = None                    # the mouse released it itself

    def _held_in_kernel(self, link: Link, slot: int, st: SlotState) -> None:
        """A phantom held before we listened (daemon started late, receiver re-attached)
        shows in no DJ report we read: ask the kernel (EVIOCGKEY on the mouse's node)."""
        try:
            codes = self.held_codes(link.node, slot)
        except PhantomError as e:
            self.journal.debug(f"{link.node} slot {slot}: cannot read held keys: {e}")
            return
        mask = phantom_mask(st.wpid)
        held = [c for c in codes or () if mask_of((c,)) & mask]
        if held:
            self.journal.info(f"{link.node} slot {slot}: kernel holds "
                              f"{', '.join(f'0x{c:03X}' for c in held)} at connection")
            st.buttons |= mask_of(held)
            st.pressed_at = self.clock()

    def _check_phantom(self, link: Link, slot: int, edge: float) -> None:
        st = link.slots.get(slot)
        if st is None or self.links.get(link.node) is not link or st.pressed_at != edge:
            return                                  # released meanwhile, or link gone
        if st.released_edge == edge:
            return
        held_mask = st.buttons & phantom_mask(st.wpid)
        buttons = buttons_of(held_mask)
        where = f"{link.node} slot {slot}" + (f" ({st.wpid:04X})" if st.wpid is not None else "")
        if not self.config.fix.auto_release:
            self.journal.warning(f"{where}: phantom button held (HID {', '.join(map(str, buttons))}); "
                                 "auto-release is off in the configuration")
            st.released_edge = edge
            return
        for b in buttons:
            held = PhantomHeld(link.node, slot, st.wpid, b, hid_button_to_evdev(b), edge)
            started = self.clock()
            label = f"button 0x{held.code:03X} (HID {b}, X {x_button_for(held.code)})"
            try:
                out = self.release(held)
            except PhantomError as e:   # the event node, not the receiver, failed here
                self.journal.error(f"{where}: phantom {label} held; release failed: {e}")
                continue
            self.journal.debug(f"{where}: release of HID {b} took {self.clock() - started:.3f} s")
            if out.released:
                self.journal.notice(f"{where}: phantom {label} held {self.clock() - edge:.2f} s; "
                                    f"released: {out.detail()}")
            else:
                self.journal.error(f"{where}: phantom {label} held; release failed: {out.detail()}")
        st.released_edge = edge
        st.last_release = self.clock()

    # ---- timers ----------------------------------------------------------------------
    def _at(self, due: float, link: Link, fn: Callable[[], None]) -> None:
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
            except DeviceGone:
                self._drop(link, "unplugged (device gone)")
            except PhantomError as e:
                self._drop(link, f"failed ({e})")
            except Exception as e:   # a bug of ours must not stop the fixes for every device
                self.journal.error(f"{link.node}: internal error: {type(e).__name__}: {e}")
