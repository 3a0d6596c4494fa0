"""The wheel guard: when to read a mouse's wheel mode, and the repair (verified, never a fight).

One `WheelGuard` serves `watch`, `status`, the daemon and `fix-wheel`. Callers feed it the
wheel frames they see (`frame`), connections (`connected`) and wakes (`wake`); it decides
when one HID++ read is worth it:
- at the first wheel use after a (re)connect or a wake (the mode is lost there);
- when the stream looks desynced (detect/wheel.py StreamMonitor); a suspicion that a read
  then disproves (a false alarm) silences the next ones for SUSPECT_GAP;
- otherwise every PERIODIC seconds of wheel use.
So normal scrolling costs at most one read per SUSPECT_GAP (60 s), usually one per PERIODIC.

A mismatch is reported with its evidence; with `fix` the mode is written (devices/wheel.py
reads it back) and the next notches verify it: a burst reaching a whole notch. Two repairs
of the same mouse within BACKOFF_WINDOW mean something changes the mode on purpose: the guard
reports it, names the writer seen on the HID++ node (software id), and stops repairing that
mouse for BACKOFF seconds. A refused write, an offline mouse, an unscaled wheel: reported
once; none is retried in a loop (the next attempt waits for a reconnect or the next use
after RETRY_GAP).
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from phantombutton.detect.events import DeviceAdded, DeviceRemoved, HidppTraffic, WheelFrame
from phantombutton.detect.wheel import NOTCH, Judgement, KernelRule, StreamMonitor, Verdict, WriterLog, judge
from phantombutton.devices.device import Device, DeviceOffline
from phantombutton.devices.receiver import Pairing, Receiver
from phantombutton.devices.wheel import WheelUnsupported, read_mode, rule_for, write_mode
from phantombutton.errors import PhantomError
from phantombutton.hidpp.errors import HidppError
from phantombutton.transport.engine import Engine

SUSPECT_GAP = 60.0
PERIODIC = 600.0
RETRY_GAP = 30.0          # an offline mouse: ask again at the next use after this long
BACKOFF_WINDOW = 300.0
BACKOFF = 1800.0
VERIFY_WINDOW = 10.0      # the next notches must show a whole notch within this


Key = tuple[str, int]     # (receiver node, slot)


@dataclass
class WheelEvent:
    """What the wheel guard (or a receiver's soft reset) found or did, for the UI and the journal."""

    kind: str             # "finding", "repaired", "verified", "not-verified", "failed", "backoff", "note", "ok"
    t: float
    device: str
    message: str
    evidence: tuple[str, ...] = ()
    topic: str = "wheel"  # the JSON event is "<topic>-<kind>"

    tags = {"finding": "WHEEL  ", "repaired": "fixed  ", "verified": "fixed  ", "failed": "FAILED ",
            "not-verified": "FAILED ", "backoff": "WHEEL  ", "ok": "wheel  "}

    def line(self) -> str:
        return self.tags.get(self.kind, "note   ") + f"{self.device}: {self.message}"

    def to_dict(self) -> dict:
        d = {"event": f"{self.topic}-{self.kind}", "t": round(self.t, 6), "device": self.device,
             "message": self.message}
        if self.evidence:
            d["evidence"] = list(self.evidence)
        return d


@dataclass
class _State:
    """What the wheel guard knows of one mouse."""

    name: str
    monitor: StreamMonitor = field(default_factory=StreamMonitor)
    must_check: str | None = "first wheel use since we started"
    last_read: float = -1e9
    false_alarm: float = -1e9        # a suspicion the read disproved
    rule: KernelRule | None = None
    multiplier: int | None = None    # units per notch the kernel divides by, once read
    repairs: deque = field(default_factory=deque)
    backoff_until: float = -1e9
    verify_since: float | None = None
    stop: str | None = None          # why this device is no longer read (unscaled, refused)


class WheelGuard:
    """`access(key)` -> a devices.device.Device (or raises / returns None when unreachable)."""

    def __init__(self, access: Callable[[Key], Device | None], *, fix: bool = False,
                 listeners: Callable[[Key], tuple[str, ...] | None] | None = None, clock=None,
                 unreachable: Callable[[Key, Exception], list] | None = None):
        self.access, self.fix = access, fix
        self.writers = WriterLog()
        self.listeners = listeners or (lambda key: None)
        self.unreachable = unreachable or (lambda key, error: [])   # a read timed out: is the receiver stuck?
        self.clock = clock or time.monotonic
        self.states: dict[Key, _State] = {}
        self.reads = 0            # mode checks made (each is 1 to 3 HID++ requests)

    def state(self, key: Key, name: str = "") -> _State:
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = _State(name or f"slot {key[1]}")
        elif name:
            st.name = name
        return st

    # ---- what callers tell us ----------------------------------------------------------
    def connected(self, key: Key, name: str = "") -> None:
        st = self.state(key, name)
        st.must_check, st.stop = "first wheel use after a reconnection", None
        st.monitor.reset()
        st.backoff_until = -1e9

    def wake(self, why: str = "first wheel use after a wake from sleep") -> None:
        for st in self.states.values():
            st.must_check = why
            st.monitor.reset()

    def frame(self, key: Key, t: float, hi: int, low: int = 0) -> list[WheelEvent]:
        """One evdev frame (REL_WHEEL_HI_RES, REL_WHEEL) - or raw units scaled to 120/notch."""
        st = self.state(key)
        suspicion = st.monitor.feed(t, hi, low)
        if st.verify_since is not None and st.monitor.whole_notch():
            verified = WheelEvent("verified", t, st.name, f"verified: a notch gives a whole notch again "
                                  f"({NOTCH} REL_WHEEL_HI_RES, one REL_WHEEL), {t - st.verify_since:.2f} s "
                                  "after the repair")
            st.verify_since = None
            st.monitor.reset()
            return [verified]
        return self._maybe_check(key, st, t, suspicion)

    def tick(self, now: float) -> list[WheelEvent]:
        out: list[WheelEvent] = []
        for key, st in list(self.states.items()):
            suspicion = st.monitor.tick(now)
            if suspicion:
                out += self._maybe_check(key, st, now, suspicion)
            if st.verify_since is not None and now - st.verify_since > VERIFY_WINDOW and st.monitor.frames:
                if st.monitor.steps:
                    out.append(WheelEvent("not-verified", now, st.name, "the wheel still gives sub-notch "
                                          "steps after the repair: the mode did not hold"))
                st.verify_since = None
        return out

    # ---- decisions -------------------------------------------------------------------------
    def _maybe_check(self, key: Key, st: _State, t: float, suspicion: str | None) -> list[WheelEvent]:
        if st.stop is not None:
            return []
        since = t - st.last_read
        reason = None
        if st.must_check and since >= 0.5:
            reason = st.must_check
        elif suspicion and t - st.false_alarm >= SUSPECT_GAP and since >= 0.5:
            reason = f"the stream looks desynced: {suspicion}"
        elif since >= PERIODIC and st.monitor.frames:
            reason = "periodic check"
        return [] if reason is None else self.check(key, t, reason)

    def check(self, key: Key, t: float | None = None, reason: str = "asked") -> list[WheelEvent]:
        """Read the mode now, judge it, repair it with `fix`."""
        t = self.clock() if t is None else t
        st = self.state(key)
        st.last_read = t
        st.must_check = None
        self.reads += 1
        try:
            device = self.access(key)
            if device is None:
                return [WheelEvent("note", t, st.name, "device not reachable over HID++; not checked")]
            st.name = device.label
            if not device.online:
                st.must_check = "first wheel use after the mouse was offline"
                st.last_read = t + RETRY_GAP
                # no answer to a ping may also be the receiver itself (it answers for asleep mice)
                return [WheelEvent("note", t, st.name, "offline (asleep or switched off): wheel mode not "
                                   f"read; asked again at the next wheel use after {RETRY_GAP:g} s"),
                        *self.unreachable(key, DeviceOffline(st.name))]
            st.rule = st.rule or rule_for(device)
            mode = read_mode(device, st.rule)
            st.multiplier = mode.multiplier or st.rule.multiplier
            if st.multiplier and st.multiplier > 1:
                st.monitor.unit = NOTCH // st.multiplier
        except WheelUnsupported as e:
            st.stop = str(e).removeprefix(f"{st.name}: ")   # the event names the device already
            return [WheelEvent("note", t, st.name, st.stop)]
        except (PhantomError, HidppError) as e:
            st.must_check = "first wheel use after a failed read"
            st.last_read = t + RETRY_GAP
            return [WheelEvent("note", t, st.name, f"wheel mode not read ({e}); asked again at the next "
                               f"wheel use after {RETRY_GAP:g} s")] + self.unreachable(key, e)
        for i, fid in device.known_features().items():
            if fid == 0x2121:
                self.writers.index[key] = i
        # who holds the HID++ node matters only for a diverted wheel (a /proc scan: not on every read)
        listeners = self.listeners(key) if mode.diverted else None
        verdict = judge(st.rule, mode, listeners=listeners, kernel_scales=st.monitor.scaled)
        evidence = (f"why read: {reason}", f"mouse: {mode.describe()}", f"kernel rule: {st.rule.why}")
        if not verdict.needs_repair:
            if verdict.verdict is Verdict.UNSCALED:
                st.stop = verdict.message
                return [WheelEvent("note", t, st.name, verdict.message, evidence)]
            if reason.startswith("the stream looks desynced"):
                st.false_alarm = t
            return [WheelEvent("ok", t, st.name, verdict.message, evidence)]
        out = [WheelEvent("finding", t, st.name, verdict.message, evidence)]
        if self.fix:
            out += self._repair(key, st, device, verdict, t)
        return out

    def _repair(self, key: Key, st: _State, device, verdict: Judgement, t: float) -> list[WheelEvent]:
        assert st.rule is not None   # check() set it before judging
        if t < st.backoff_until:
            return []
        while st.repairs and t - st.repairs[0] > BACKOFF_WINDOW:
            st.repairs.popleft()
        if len(st.repairs) >= 2:
            since = st.repairs[0]
            st.backoff_until = t + BACKOFF
            writer = self.writers.writer(key, since) or (
                "no write seen on the HID++ node: the mouse itself (firmware, after sleep) or a "
                "program on another node")
            return [WheelEvent("backoff", t, st.name, f"wheel mode changed back {len(st.repairs)} times "
                               f"in {t - since:.0f} s after our repairs; writer: {writer}; not repairing "
                               f"it again for {BACKOFF / 60:.0f} min (a program may change it on purpose)")]
        self.writers.ours(key, t)
        try:
            after = write_mode(device, st.rule, bool(verdict.want_hires))
        except (PhantomError, HidppError) as e:
            st.stop = f"the mouse refused the wheel mode write: {e}"
            return [WheelEvent("failed", t, st.name, f"{st.stop}; not retried until it reconnects")]
        self.writers.ours(key, self.clock())
        st.repairs.append(t)
        if after.hires != verdict.want_hires or after.diverted:
            return [WheelEvent("failed", t, st.name, f"wrote the wheel mode but it reads back {after.describe()}")]
        st.verify_since = self.clock()
        st.monitor.reset()
        want = "high" if verdict.want_hires else "low"
        return [WheelEvent("repaired", self.clock(), st.name, f"wheel put back in {want} resolution, "
                           f"HID target ({st.rule.mechanism.value}); read back: {after.describe()}; "
                           "verifying with the next notches")]


class EngineAccess:
    """Devices by (receiver node, slot) over engines opened on demand and kept open."""

    def __init__(self, open_engine: Callable[[str], Engine], product_of: Callable[[str], int | None] | None = None):
        self.open_engine = open_engine
        # the receiver's USB product id, for its family's pairing registers (Bolt's differ);
        # None or no function: read as Unifying
        self.product_of = product_of
        self.engines: dict[str, Engine] = {}
        self.devices: dict[Key, Device] = {}
        self.wpids: dict[Key, int] = {}

    def __call__(self, key: Key):
        device = self.devices.get(key)
        if device is None:
            node, slot = key
            if node not in self.engines:
                self.engines[node] = self.open_engine(node)
            product = self.product_of(node) if self.product_of is not None else None
            receiver = Receiver(self.engines[node], node, product or 0xC52B)
            wpid = self.wpids.get(key)
            pairing = Pairing(slot, wpid, kind=0x02, polling_ms=0) if wpid else receiver.pairing(slot)
            if pairing is None:
                return None
            device = self.devices[key] = Device(receiver, pairing)
        return device

    def forget(self, key: Key) -> None:
        """`key` (re)connected: read its device anew, over its receiver opened anew. The
        receiver itself may have been unplugged and plugged back; an engine kept on the old
        node would write nowhere and hold the dead node open (hidraw.c drop_ref)."""
        node = key[0]
        engine = self.engines.pop(node, None)
        if engine is not None:
            with contextlib.suppress(OSError):
                engine.transport.close()
        for k in [k for k in self.devices if k[0] == node]:
            del self.devices[k]

    def close(self) -> None:
        for engine in self.engines.values():
            with contextlib.suppress(OSError):
                engine.transport.close()
        self.engines.clear()
        self.devices.clear()


class WheelWatch:
    """Observations (detect/events.py) -> the guard: which node is which (receiver, slot)
    from DeviceAdded, reconnections, HID++ traffic for the writer log, wheel frames."""

    def __init__(self, guard: WheelGuard, stall=None):
        self.guard = guard
        self.stall = stall      # recovery/softreset.py InputStallGuard (real receivers only)
        self.keys: dict[str, Key] = {}

    def feed(self, obs) -> list[WheelEvent]:
        if self.stall is not None:
            self.stall.feed(obs)

        if isinstance(obs, WheelFrame):
            key = self.keys.get(obs.node)
            return self.guard.frame(key, obs.t, obs.hi, obs.low) if key else []
        if isinstance(obs, HidppTraffic):
            self.guard.writers.note(obs.t, obs.node, obs.data)
        elif isinstance(obs, DeviceAdded):
            info = obs.device
            if info.slot is None or not info.receiver_node:
                return []
            key = self.keys[info.node] = (info.receiver_node, info.slot)
            access = self.guard.access
            if isinstance(access, EngineAccess) and info.product:
                access.wpids[key] = info.product
            name = f"{info.name or info.node} ({info.node})"
            if obs.at_start:
                self.guard.state(key, name)
            else:
                if isinstance(access, EngineAccess):
                    access.forget(key)
                self.guard.connected(key, name)
        elif isinstance(obs, DeviceRemoved):
            self.keys.pop(obs.node, None)
        return []

    def tick(self, now: float) -> list[WheelEvent]:
        return self.guard.tick(now) + (self.stall.tick(now) if self.stall is not None else [])

    def check_all(self, reason: str = "status") -> list[WheelEvent]:
        """One read of every receiver mouse seen (status, a wake)."""
        out: list[WheelEvent] = []
        for key in sorted(set(self.keys.values())):
            out += self.guard.check(key, reason=reason)
        return out


def session_guard(session, *, fix: bool) -> WheelWatch:
    """The guard for a watch/status session: each receiver of the session's platform opened
    read-write on demand; on a real kernel a receiver that stopped answering is reset."""
    platform = session.platform
    products: dict[str, int] = {}

    def product_of(node: str) -> int | None:
        if node not in products:
            products.update({r.node: r.product for r in platform.receivers()})
        return products.get(node)

    access = EngineAccess(lambda node: Engine(platform.open_receiver(node)), product_of)

    def listeners(key: Key) -> tuple[str, ...] | None:
        return platform.listeners(key[0])

    if not platform.kernel:
        return WheelWatch(WheelGuard(access, fix=fix, listeners=listeners))
    # cycle: recovery/softreset.py imports this module (WheelEvent) at its top
    from phantombutton.recovery.softreset import InputStallGuard, StuckReceiver

    stuck = StuckReceiver(access, fix=fix)
    stall = InputStallGuard(fix=fix, last=stuck.last, access=access)
    return WheelWatch(WheelGuard(access, fix=fix, listeners=listeners, unreachable=stuck), stall)
