"""The `watch` loop: a source of observations (evdev or virtual), the X poller, the
detector, and - with `fix` - the release chain for each new phantom.

Fix policy: findings of rules unknown-button, press-after-connect and x-kernel-mismatch are
released; held-idle is only reported (a user may hold a button without moving), with the
`phantombutton release` command to run if it is a phantom.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from phantombutton.detect.events import XButtons
from phantombutton.detect.findings import Finding, Layer, Rule
from phantombutton.recovery.chain import Outcome, Target, run_chain

AUTO_FIX_RULES = frozenset({Rule.UNKNOWN_BUTTON, Rule.PRESS_AFTER_CONNECT, Rule.X_MISMATCH})
RETRY_AFTER = 5.0


@dataclass(slots=True)
class WatchEvent:
    kind: str                 # "finding", "ended", "released", "not-released", "note"
    t: float
    finding: Finding | None = None
    outcome: Outcome | None = None
    message: str = ""

    def to_dict(self) -> dict:
        d: dict = {"event": self.kind, "t": round(self.t, 6)}
        if self.finding is not None:
            d["finding"] = self.finding.to_dict()
        if self.outcome is not None:
            d["recovery"] = self.outcome.to_dict()
        if self.message:
            d["message"] = self.message
        return d

    def line(self) -> str:
        if self.kind == "finding":
            return "PHANTOM " + self.finding.headline() + (f" - {self.finding.cause}" if self.finding.cause else "")
        if self.kind == "ended":
            return "ended   " + self.finding.headline()
        if self.kind in ("released", "not-released"):
            return ("fixed   " if self.kind == "released" else "FAILED  ") + self.outcome.summary()
        return "note    " + self.message


class XPoller:
    """QueryDeviceState of every pointer slave and master; the device list is refreshed every
    `relist` seconds (hotplug changes ids)."""

    def __init__(self, x, relist: float = 2.0):
        self.x = x
        self.relist = relist
        self._pointers = []
        self._listed = -1e9

    def poll(self, now: float) -> list[XButtons]:
        if now - self._listed >= self.relist:
            self._pointers = self.x.pointers()
            self._listed = now
        out = []
        for p in self._pointers:
            st = self.x.query_buttons(p.id)
            if st is None:      # unplugged since the listing: list again next time
                self._listed = -1e9
                continue
            out.append(XButtons(now, p.id, p.node, p.is_master, st[1]))
        return out

    def slave_for(self, node: str):
        from phantombutton.input.xinput import find_slave

        return find_slave(self._pointers, node) if node else None


def model_has(f: Finding) -> bool | None:
    if f.rule is Rule.UNKNOWN_BUTTON:
        return False
    if f.wpid is None or f.code is None:
        return None
    try:
        from phantombutton.devices.models import model_for

        m = model_for(f.wpid)
    except Exception:
        return None
    return m.has_button(f.code) if m.known else None


def target_for(f: Finding, poller: XPoller | None = None) -> Target:
    orphan = f.layer is Layer.X and f.node is None
    slave = None if orphan else f.x_slave_id
    if slave is None and not orphan and poller is not None and f.node:
        p = poller.slave_for(f.node)
        slave = p.id if p else None
    return Target(device=f.device, node=f.node, code=f.code, x_button=f.x_button, x_slave_id=slave,
                  x_master_id=f.x_slave_id if orphan else None, model_has_button=model_has(f))


class Watcher:
    def __init__(self, source, detector, *, x=None, layers=None, fix: bool = False,
                 poll_interval: float = 0.25, prevention=None, clock=time.monotonic):
        self.source, self.detector = source, detector
        self.poller = XPoller(x) if x is not None else None
        self.layers = layers
        self.fix = fix
        self.poll_interval = poll_interval
        self.prevention = prevention     # callable(Finding) -> str | None, after a release
        self.clock = clock
        self._next_tick = 0.0
        self._fixed: dict[tuple, float] = {}

    def start(self) -> list[WatchEvent]:
        out = [WatchEvent("note", self.clock(), message=m) for m in self.source.problems]
        self.source.problems.clear()
        out += self._feed(self.source.start())
        out += self._tick(self.clock())
        return out

    def step(self) -> list[WatchEvent]:
        now = self.clock()
        timeout = max(0.0, self._next_tick - now)
        out = self._feed(self.source.poll(timeout))
        for m in self.source.problems:
            out.append(WatchEvent("note", now, message=m))
        self.source.problems.clear()
        now = self.clock()
        if now >= self._next_tick:
            out += self._tick(now)
        return out

    def _tick(self, now: float) -> list[WatchEvent]:
        self._next_tick = now + self.poll_interval
        findings: list[Finding] = []
        if self.poller is not None:
            try:
                for s in self.poller.poll(now):
                    findings += self.detector.feed(s)
            except Exception as e:  # X went away: say so once, go on with evdev
                self.poller = None
                return [WatchEvent("note", now, message=f"X connection lost ({type(e).__name__}); "
                                                        "watching evdev only")]
        findings += self.detector.tick(now)
        return self._handle(findings)

    def _feed(self, observations) -> list[WatchEvent]:
        findings: list[Finding] = []
        for o in observations:
            findings += self.detector.feed(o)
        return self._handle(findings)

    def _handle(self, findings: list[Finding]) -> list[WatchEvent]:
        out = []
        for f in findings:
            out.append(WatchEvent("finding" if f.active else "ended", f.ended or f.since, f))
            if f.active and self.fix and f.rule in AUTO_FIX_RULES:
                out += self._release(f)
        return out

    def _release(self, f: Finding) -> list[WatchEvent]:
        now = self.clock()
        if now - self._fixed.get(f.key, -1e9) < RETRY_AFTER:
            return []
        self._fixed[f.key] = now
        outcome = run_chain(target_for(f, self.poller), self.layers)
        out = [WatchEvent("released" if outcome.released else "not-released", self.clock(), f, outcome)]
        if self.prevention is not None:
            try:
                msg = self.prevention(f)
            except Exception as e:
                msg = f"prevention not applied: {e}"
            if msg:
                out.append(WatchEvent("note", self.clock(), f, message=msg))
        # the chain's own writes show up as observations; read them now, not a poll later
        out += self._feed(self.source.poll(0))
        return out
