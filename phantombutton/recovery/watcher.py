"""The `watch` loop: a source of observations (evdev or virtual), the X poller, the
detector, and - with `fix` - the release chain for each new phantom.

Fix policy: findings of rules unknown-button, held-at-link-loss, press-after-connect and
x-kernel-mismatch are released at once (the detector has waited where a press is
ambiguous); held-idle is only reported (a user may hold a button without moving), with the
`phantombutton release` command to run if it is a phantom.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from phantombutton.detect.events import DeviceAdded, HeldState, KeyEvent, XButtons
from phantombutton.detect.findings import Finding, Layer, Rule
from phantombutton.detect.reassert import ReassertPolicy, Releases
from phantombutton.errors import PhantomError
from phantombutton.hidpp.errors import HidppError
from phantombutton.input.source import Source
from phantombutton.input.xinput import find_slave, x_errors
from phantombutton.detect.rules import Detector
from phantombutton.models import has_button
from phantombutton.recovery.chain import Layers, Outcome, Target, run_chain

_WAKING = (KeyEvent, HeldState, DeviceAdded)   # observations that end the idle pace
AUTO_FIX_RULES = frozenset({Rule.UNKNOWN_BUTTON, Rule.PRESS_AFTER_CONNECT, Rule.X_MISMATCH,
                            Rule.HELD_AT_LINK_LOSS})


@dataclass
class WatchEvent:
    """What the watcher found or did, for the UI and the journal."""

    kind: str                 # "finding", "ended", "released", "not-released", "note"
    t: float
    finding: Finding | None = None
    outcome: Outcome | None = None
    message: str = ""
    wheel: dict | None = None       # kind "wheel": recovery/wheel.py WheelEvent.to_dict()
    keys: dict | None = None        # kinds "stuck-key", "key-released", ...: recovery/keys.py

    def to_dict(self) -> dict:
        if self.wheel is not None:
            return dict(self.wheel)
        if self.keys is not None:
            return dict(self.keys)
        d: dict = {"event": self.kind, "t": round(self.t, 6)}
        if self.finding is not None:
            d["finding"] = self.finding.to_dict()
        if self.outcome is not None:
            d["recovery"] = self.outcome.to_dict()
        if self.message:
            d["message"] = self.message
        return d

    def line(self) -> str:
        f, o = self.finding, self.outcome   # set for the kinds that name them
        if self.kind == "finding" and f is not None:
            return "PHANTOM " + f.headline() + (f" - {f.cause}" if f.cause else "")
        if self.kind == "ended" and f is not None:
            return "ended   " + f.headline()
        if self.kind == "wheel" or self.keys is not None:
            return self.message
        if self.kind in ("released", "not-released") and o is not None:
            return ("fixed   " if self.kind == "released" else "FAILED  ") + o.summary()
        return "note    " + self.message


class XPoller:
    """X button state at the lowest cost that still sees every phantom.

    - The server tells us when something changes: XI2 raw button press/release events and
      HierarchyChanged, selected on the root window and read without blocking at each tick.
      XI >= 2.1 delivers raw events even while another client holds a grab (the phantom's).
    - When the server says nothing changed and nothing is held, a tick sends no request at
      all; the master is still checked every `check` seconds, the slaves every `sweep`.
    - Otherwise only the master pointer(s) are queried: a master's button state is the
      union of its attached slaves' (Xi/exevents.c keeps a master button down while any
      slave holds it). The slaves are queried when there is something to explain: the master
      holds a button, a slave held one last time (to see it go up), the caller says the
      kernel holds one (`suspect`), the device list changed, or the periodic sweep (floating
      slaves and buttons mapped to 0 never reach a master).
    - The device list is refreshed on HierarchyChanged (every `relist` s as a safety net).
    A server without XI 2.1 events gets the master queried on every tick, the list every 2 s.
    """

    def __init__(self, x, *, relist: float = 30.0, check: float = 2.0, sweep: float = 10.0):
        self.x = x
        try:
            self.watched = bool(x.watch_events())
        except x_errors():  # an old server: poll instead
            self.watched = False
        self.relist = relist if self.watched else 2.0
        self.check = check if self.watched else 0.0
        self.sweep = sweep
        self._pointers: list = []
        self._listed = -1e9
        self._checked = -1e9
        self._swept = -1e9
        self._held = False        # the last samples showed a button down somewhere
        self._slaves_held = False
        self.queries = 0          # QueryDeviceState requests sent (tests, benchmarks)
        self.listings = 0

    @property
    def busy(self) -> bool:
        """Something is held in X, or X reported activity we have not queried yet."""
        return self._held

    def poll(self, now: float, suspect: bool = False) -> list[XButtons]:
        changed = False
        if self.watched:
            hierarchy, changed = self.x.drain_events()
            if hierarchy:
                self._listed = -1e9
        full = False
        if now - self._listed >= self.relist:
            self._pointers, self._listed = self.x.pointers(), now
            self.listings += 1
            full = changed = True
        if not (changed or suspect or self._held or now - self._checked >= self.check):
            return []         # X says nothing happened and nothing is held: no round trip
        self._checked = now
        masters = [p for p in self._pointers if p.is_master]
        master_out = self._query(now, masters)
        full = (full or suspect or self._slaves_held or any(s.buttons for s in master_out)
                or not masters or now - self._swept >= self.sweep)
        self._held = any(s.buttons for s in master_out)
        if not full:
            return master_out
        self._swept = now
        slave_out = self._query(now, [p for p in self._pointers if not p.is_master])
        self._slaves_held = any(s.buttons for s in slave_out)
        self._held = self._held or self._slaves_held
        # slaves first: the detector judges a master sample against fresh slave samples
        return slave_out + master_out

    def _query(self, now: float, pointers: list) -> list[XButtons]:
        out = []
        for p in pointers:
            self.queries += 1
            st = self.x.query_buttons(p.id)
            if st is None:   # gone since the listing: listed again next tick
                self._listed = -1e9
            else:
                out.append(XButtons(now, p.id, None if p.is_master else p.node, p.is_master, st[1]))
        return out

    def slave_for(self, node: str):
        return find_slave(self._pointers, node) if node else None


def model_has(f: Finding) -> bool | None:
    if f.rule is Rule.UNKNOWN_BUTTON:
        return False
    if f.wpid is None or f.code is None:
        return None
    return has_button(f.wpid, f.code)


def target_for(f: Finding, poller: XPoller | None = None) -> Target:
    orphan = f.layer is Layer.X and f.node is None
    slave = None if orphan else f.x_slave_id
    if slave is None and not orphan and poller is not None and f.node:
        p = poller.slave_for(f.node)
        slave = p.id if p else None
    return Target(device=f.device, node=f.node, code=f.code, x_button=f.x_button, x_slave_id=slave,
                  x_master_id=f.x_slave_id if orphan else None, model_has_button=model_has(f))


def _wheel_event(e) -> WatchEvent:
    """A recovery/wheel.py WheelEvent as a watch event ("wheel"; JSON: its own fields)."""
    return WatchEvent("wheel", e.t, message=e.line(), wheel=e.to_dict())


class Watcher:
    def __init__(self, source: Source, detector: Detector, *, x=None, layers: Layers | None = None,
                 fix: bool = False, reassert: ReassertPolicy = ReassertPolicy(),
                 poll_interval: float = 0.25, idle_interval: float | None = None, prevention=None,
                 clock=time.monotonic, wheel=None, keys=None):
        self.source, self.detector = source, detector
        self.poller = XPoller(x) if x is not None else None
        self.layers = layers
        self.fix = fix
        # A phantom that comes back (a new press edge after our verified release) is released
        # again at once up to the policy's limit; past it, deferred by its back-off - never
        # dropped - and the user is told how to silence it.
        self.reassert = reassert
        self.releases = Releases(reassert)               # key -> times the chain ran for it
        self.poll_interval = poll_interval
        self.prevention = prevention     # callable(Finding) -> str | None, after a release
        self.wheel = wheel               # recovery/wheel.py WheelWatch: wheel mode checks
        self.keys = keys                 # recovery/keys.py KeyWatch: keys held by virtual keyboards
        self.clock = clock
        self._next_tick = 0.0
        # Idle (nothing held in the kernel or X, no finding open) there is nothing to poll
        # for: evdev and X wake the loop themselves (the X fd is in the source's select set,
        # XI2 raw button events arrive even during grabs), so ticks are `idle_interval` apart.
        # Without XI2 events the X state is polled every `poll_interval`, idle or not.
        # None (one-shot users: status, release, tests stepping a fixed number of times):
        # every tick `poll_interval` apart.
        self.idle_interval = max(idle_interval or 0.0, poll_interval)
        self._event_driven = idle_interval is not None and (self.poller is None or self.poller.watched)
        if self.poller is not None and self._event_driven:
            source.add_wake_fd(x.fileno())
        self._deferred: dict[tuple, Finding] = {}        # rate-limited, released at a tick

    def start(self) -> list[WatchEvent]:
        out = [WatchEvent("note", self.clock(), message=m) for m in self.source.problems]
        self.source.problems.clear()
        out += self._feed(self.source.start())
        out += self._tick(self.clock())
        return out

    def step(self, max_wait: float | None = None) -> list[WatchEvent]:
        """Block in the source (select on its fds) until an event or the next tick is due."""
        now = self.clock()
        timeout = max(0.0, self._next_tick - now)
        if max_wait is not None:
            timeout = min(timeout, max_wait)
        observations = self.source.poll(timeout)
        if observations and self._next_tick - now > self.poll_interval and any(
                isinstance(o, _WAKING) for o in observations):
            self._next_tick = now + self.poll_interval   # something happened: leave idle pace
        out = self._feed(observations)
        for m in self.source.problems:
            out.append(WatchEvent("note", now, message=m))
        self.source.problems.clear()
        now = self.clock()
        # select() may wake a hair early: a tick due within 1 ms runs now, not after a spin.
        # X woke us (raw button event, hierarchy change): tick now, it drains the events.
        if now >= self._next_tick - 0.001 or self.source.woken:
            out += self._tick(now)
        return out

    def _busy(self) -> bool:
        return bool(self._deferred) or self._suspect() or (
            self.poller is not None and self.poller.busy)

    def _suspect(self) -> bool:
        """Does the kernel side hold anything (worth comparing with the X slaves)?
        Asked before the X poll and again after the tick's releases, which may change it."""
        return bool(self.detector.active()) or self.detector.kernel_holds_any()

    def _tick(self, now: float) -> list[WatchEvent]:
        findings: list[Finding] = []
        if self.poller is not None:
            try:
                samples = self.poller.poll(now, self._suspect())
            except x_errors() as e:  # X went away: say so once, go on with evdev
                self.poller = None
                return [WatchEvent("note", now, message=f"X connection lost ({type(e).__name__}); "
                                                        "watching evdev only")]
            for sample in samples:   # outside the try: a bug in a rule is a bug, not "X lost"
                findings += self.detector.feed(sample)
        findings += self.detector.tick(now)
        out = self._handle(findings)
        if self.wheel is not None:
            out += [_wheel_event(e) for e in self.wheel.tick(now)]
        if self.keys is not None:
            x = self.poller.x if self.poller is not None else None
            out += [WatchEvent(kind, now, message=line, keys=d or None)
                    for kind, line, d in self.keys.tick(now, x)]
        if self._deferred:
            out += self._retry_deferred(now)
        idle = self._event_driven and not self._busy()
        self._next_tick = now + (self.idle_interval if idle else self.poll_interval)
        return out

    def _retry_deferred(self, now: float) -> list[WatchEvent]:
        active = {f.key for f in self.detector.active()}
        out = []
        for key, f in list(self._deferred.items()):
            if key not in active:           # released meanwhile (the mouse, or a user)
                del self._deferred[key]
            elif self.releases.wait(key, now) <= 0:
                del self._deferred[key]
                out += self._release(f, deferred=True)
        return out

    def _feed(self, observations) -> list[WatchEvent]:
        findings: list[Finding] = []
        wheel: list[WatchEvent] = []
        for o in observations:
            findings += self.detector.feed(o)
            if self.wheel is not None:
                wheel += [_wheel_event(e) for e in self.wheel.feed(o)]
        return self._handle(findings) + wheel

    def _handle(self, findings: list[Finding]) -> list[WatchEvent]:
        out = []
        for f in findings:
            out.append(WatchEvent("finding" if f.active else "ended", f.ended or f.since, f))
            if f.active and self.fix and f.rule in AUTO_FIX_RULES:
                out += self._release(f)
        return out

    def _release(self, f: Finding, deferred: bool = False) -> list[WatchEvent]:
        now = self.clock()
        if not deferred and self.releases.wait(f.key, now) > 0:
            self._deferred[f.key] = f
            what = f"X button {f.x_button}" if f.x_button else "the button"
            hint = (f"; `phantombutton mute {f.node} {f.x_button}` silences it durably"
                    if f.node and f.x_button and f.rule is Rule.UNKNOWN_BUTTON else "")
            return [WatchEvent("note", now, f, message=(
                f"{f.device}: {what} came back {self.releases.recent(f.key, now)} times in "
                f"{self.reassert.window:g} s; releasing it again "
                f"{self.releases.backoff(f.key, now):g} s after the last release{hint}"))]
        self.releases.record(f.key, now)
        assert self.layers is not None   # fix=True: every caller passes the release layers
        outcome = run_chain(target_for(f, self.poller), self.layers)
        out = [WatchEvent("released" if outcome.released else "not-released", self.clock(), f, outcome)]
        if self.prevention is not None:
            try:
                msg = self.prevention(f)
            except (PhantomError, HidppError) as e:   # the receiver or the device said no
                msg = f"prevention not applied: {e}"
            if msg:
                out.append(WatchEvent("note", self.clock(), f, message=msg))
        # the chain's own writes show up as observations; read them now, not a poll later
        out += self._feed(self.source.poll(0))
        return out
