"""What the Detector (detect/rules.py) keeps - per pointer device its held buttons, motion
and connection, per receiver slot its connections, X's latest samples, the active findings - and
how a finding is built from it: the evidence with the shared node's lines, the HID++ context,
the settings, the cause and fix. Pure, no I/O; the rules that decide when a finding fires are
in detect/rules.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from phantombutton import buttons as B
from phantombutton import models, receivers
from phantombutton.detect.context import HidppContext
from phantombutton.detect.events import DeviceInfo, XButtons
from phantombutton.detect.explain import cause_and_fix
from phantombutton.detect.findings import Finding, Layer, Rule, Thresholds
from phantombutton.detect.shared import Paired, SharedNodes, is_shared, model_of

# HidppTraffic is stamped when read from hidraw, evdev events by the kernel: a 0x41 read in
# the same wake-up as the press it explains may look a few ms later than that press.
HIDRAW_CLOCK_SLACK = 0.005

ModelFor = Callable[[int], Any]   # wpid -> object with .has_button(code) (and .name), or None
FamilyOf = Callable[[int], "receivers.ReceiverFamily | None"]   # receiver product id -> family


@dataclass
class Hold:
    """A button the kernel holds: since when and how we learnt it."""

    since: float
    how: str           # "pressed" (EV_KEY 1) or "held at start" (EVIOCGKEY)


@dataclass
class DeviceState:
    """What the Detector knows of one pointer device."""

    info: DeviceInfo
    holds: dict[int, Hold] = field(default_factory=dict)
    last_motion: float | None = None
    connected_at: float | None = None
    kernel_known: bool = False      # we have a kernel view (events or EVIOCGKEY) of this node
    present: bool = True
    x_slave_id: int | None = None
    added_at: float = 0.0


class DetectorState:
    """The Detector's state and its finding builders (the Detector is one)."""

    def __init__(self, model_for: ModelFor | None = None, thresholds: Thresholds | None = None,
                 family_of: FamilyOf = receivers.family_of, explain: bool = True, paired: Paired | None = None):
        self.model_for = model_for if model_for is not None else models.model_for
        self.family_of = family_of
        # False: findings without HID++ context, settings, cause and fix (the daemon acts on
        # the rule and its evidence; decoding the context costs ~2 ms before the release)
        self.explain = explain
        self.t = thresholds or Thresholds()
        self.context = HidppContext(self.t.context_window)
        # a receiver's own mouse node (Bolt on hid-generic): its paired mice and their HID++
        # activity (detect/shared.py); `paired` reads a receiver's candidates
        self.shared = SharedNodes(paired)
        self._devices: dict[str, DeviceState] = {}
        self._connections: dict[tuple[str, int], float] = {}   # (hidraw node, slot) -> t
        self._x: dict[int, XButtons] = {}                      # device id -> latest sample
        self._x_pending: dict[tuple[int, int], float] = {}     # (device id, button) -> first seen
        self._active: dict[tuple, Finding] = {}
        self.now = 0.0

    def _device(self, node: str) -> DeviceState:
        dev = self._devices.get(node)
        if dev is None:
            dev = self._devices[node] = DeviceState(DeviceInfo(node=node))
        return dev

    def _nodes(self, dev: DeviceState) -> tuple[str, ...]:
        return tuple(n for n in (dev.info.receiver_node, dev.info.hidpp_node) if n)

    def _settings(self, dev: DeviceState, before: float) -> list[str]:
        """Settings known when the device appeared, then what the traffic showed since."""
        out = [f"{k} {v} (when the device was seen at {dev.added_at:.3f} s)" for k, v in dev.info.settings]
        seen = self.context.settings_for(self._nodes(dev), dev.info.slot, before)
        return out + [f"{k} {v}" for k, v in seen.items()]

    def _kernel_finding(self, rule: Rule, dev: DeviceState, code: int, hold: Hold, evidence: list[str],
                        model_name: str | None = None, extra: str = "") -> Finding:
        xb = B.x_button_for(code)
        ctx: list[str] = []
        settings: list[str] = []
        cause = fix = ""
        shared = self._shared_lines(dev, hold.since)
        wpid = dev.info.product
        if shared:   # a receiver's product id, not a mouse's: name the likely mouse, no WPID setting
            pick = self.shared.likely(dev.info.receiver_node or "", hold.since + HIDRAW_CLOCK_SLACK)
            model_name, wpid = (pick[0].name if pick else "mouse"), None
        elif models.SIDE_SCROLL not in getattr(model_of(self.model_for, wpid), "hidpp10_settings", ()):
            wpid = None   # `set WPID side-scroll on` prevents it only on a mouse that has the setting
        if self.explain:
            ctx = self.context.lines(self._nodes(dev), hold.since, dev.info.slot,
                                     "the press" if hold.how == "pressed" else "the state read")
            settings = self._settings(dev, hold.since)
            cause, fix = cause_and_fix(rule, model=model_name or dev.info.name or None, code=code,
                                       x_button=xb, node=dev.info.node, x_slave_id=dev.x_slave_id,
                                       context=ctx, settings=settings, extra=extra, wpid=wpid,
                                       sender="the receiver" if dev.info.receiver_node else "the mouse")
        f = Finding(rule=rule, layer=Layer.KERNEL, device=dev.info.name or dev.info.node,
                    node=dev.info.node, slot=dev.info.slot, x_slave_id=dev.x_slave_id, code=code,
                    x_button=xb, since=hold.since, evidence=tuple(evidence + shared),
                    hidpp_context=tuple(ctx),
                    settings=tuple(settings), cause=cause, fix=fix,
                    wpid=None if shared else dev.info.product)   # a shared node's is the receiver's
        self._active[f.key] = f
        return f

    def _shared_lines(self, dev: DeviceState, before: float) -> list[str]:
        """On a shared mouse node: the receiver, its paired mice and the likely one."""
        if not is_shared(dev.info):
            return []
        product = dev.info.receiver_product
        family = self.family_of(product) if product is not None else None
        return self.shared.evidence(dev.info, before + HIDRAW_CLOCK_SLACK,
                                    family.family.value if family is not None else "")

    def _x_finding(self, dev: DeviceState, dev_id: int, b: int, code: int, first: float,
                   evidence: list[str]) -> Finding:
        settings = self._settings(dev, first)
        cause, fix = cause_and_fix(Rule.X_MISMATCH, model=dev.info.name or None, code=code, x_button=b,
                                   node=dev.info.node, x_slave_id=dev_id, context=[], settings=settings)
        return Finding(rule=Rule.X_MISMATCH, layer=Layer.X, device=dev.info.name or dev.info.node,
                       node=dev.info.node, slot=dev.info.slot, x_slave_id=dev_id, code=code, x_button=b,
                       since=first, evidence=tuple(evidence), settings=tuple(settings), cause=cause,
                       fix=fix, wpid=dev.info.product)

    def _end(self, key: tuple, t: float) -> list[Finding]:
        """The ended copy of the finding on `key`, if one is active."""
        f = self._active.pop(key, None)
        return [replace(f, ended=t)] if f else []
