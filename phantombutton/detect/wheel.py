"""The scroll wheel: what the kernel assumes, what the stream shows, what the mouse says.

Pure rules, no I/O. Three pieces:

- `kernel_rule(...)`: the rule hid-logitech-hidpp.c applies to a device at each connect, one
  table row per model or feature (hi_res_scroll_enable, hidpp_initialize_hires_scroll):
    HID++ 1.0 with HIDPP_QUIRK_HI_RES_SCROLL_1P0 (WPIDs 1017/101A/101B): the driver sets
      register 0x01 bit 0x40 (hidpp10_enable_scrolling_acceleration) and divides by 8;
    HID++ 2.0 with HIRES_WHEEL 0x2121: setWheelMode(invert off, hi-res on, HID++ target off)
      (hidpp_hrw_set_wheel_mode), multiplier = getWheelCapability byte 0;
    HID++ 2.0 with HI_RES_SCROLLING 0x2120: setMode(hi-res), multiplier from its reply;
    anything else: no scaling (a 1.0 mouse outside the quirk list, an unknown model).
  Other receiver families add rows here; nothing else needs to change.
  Newer kernels repair some mice themselves: v6.18 adds HIDPP_QUIRK_RESET_HI_RES_SCROLL (G502
  Lightspeed 407F: hi_res_scroll_enable again when the battery comes back online); the
  comparison is the same, there is just less to repair.
- `ScrollCounter`: the driver's hidpp_scroll_counter_handle_scroll, re-derived: each unit
  becomes 120/multiplier of REL_WHEEL_HI_RES, and REL_WHEEL fires when the remainder reaches
  half a notch (60), resetting after 1 s of rest or a change of direction. The virtual kernel
  uses it; so do the tests that need the evdev stream of a desynced mouse.
- `StreamMonitor`: looks at the REL_WHEEL_HI_RES / REL_WHEEL stream of one node and says
  when it looks desynced, and when a repair is verified. In both states evdev carries steps
  of 120/multiplier, so the stream alone can only raise a suspicion; one HID++ read of the
  mouse's mode decides (`judge`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from phantombutton.detect.context import parse_frame, who

NOTCH = 120   # REL_WHEEL_HI_RES units per detent (linux/input.h, libinput's wheel handling)
REL_WHEEL, REL_WHEEL_HI_RES = 0x08, 0x0B


class Mechanism(str, Enum):
    REGISTER_01 = "register 0x01 bit 0x40"       # HID++ 1.0 "fast scrolling"
    X2121 = "HIRES_WHEEL 0x2121"
    X2120 = "HI_RES_SCROLLING 0x2120"
    NONE = "none"


@dataclass(frozen=True)
class KernelRule:
    """What hid-logitech-hidpp does with this device's wheel at every connect."""

    mechanism: Mechanism
    multiplier: int | None     # units per notch the driver divides by; None = read from the mouse
    why: str

    @property
    def scales(self) -> bool:
        return self.mechanism is not Mechanism.NONE


# HID++ 1.0 mice the driver gives HIDPP_QUIRK_HI_RES_SCROLL_1P0 (hidpp_devices[] table):
# Anywhere MX, Performance MX, M705 (M-R0009). Since 6.3 (and stable 6.1.x) this is a fixed
# list; before, the driver probed register 0x01 on every 1.0 device.
HIDPP10_FAST_SCROLL = {0x1017: "Anywhere MX", 0x101A: "Performance MX", 0x101B: "M705 (M-R0009)"}
HIDPP10_MULTIPLIER = 8   # hi_res_scroll_enable: `multiplier = 8` for HID++ 1.0


def kernel_rule(wpid: int | None, *, hidpp10: bool, features: frozenset[int] = frozenset()) -> KernelRule:
    if hidpp10:
        if wpid in HIDPP10_FAST_SCROLL:
            return KernelRule(Mechanism.REGISTER_01, HIDPP10_MULTIPLIER,
                              f"HIDPP_QUIRK_HI_RES_SCROLL_1P0 ({HIDPP10_FAST_SCROLL[wpid]})")
        return KernelRule(Mechanism.NONE, 1, "HID++ 1.0 mouse without HIDPP_QUIRK_HI_RES_SCROLL_1P0")
    if 0x2121 in features:   # hidpp_initialize_hires_scroll asks for 0x2121 first
        return KernelRule(Mechanism.X2121, None, "HID++ 2.0 mouse with HIRES_WHEEL 0x2121")
    if 0x2120 in features:
        return KernelRule(Mechanism.X2120, None, "HID++ 2.0 mouse with HI_RES_SCROLLING 0x2120")
    return KernelRule(Mechanism.NONE, 1, "HID++ 2.0 mouse with neither 0x2121 nor 0x2120")


@dataclass(frozen=True)
class WheelMode:
    """The mouse's wheel mode as read over HID++."""

    hires: bool
    diverted: bool = False          # 0x2121 target bit: wheel reports go to HID++, not HID
    invert: bool | None = None
    multiplier: int | None = None   # 0x2121 capability (units per notch in hi-res)
    raw: str = ""                   # the bytes read, for the evidence

    def describe(self) -> str:
        text = "high resolution" if self.hires else "low resolution"
        if self.diverted:
            text += ", diverted to HID++"
        return text + (f" ({self.raw})" if self.raw else "")


class Verdict(str, Enum):
    OK = "ok"
    SLOW = "slow"          # mouse low-res, kernel divides: each notch is 1/multiplier of a notch
    FAST = "fast"          # mouse hi-res, kernel does not divide: each notch is `multiplier` notches
    DEAD = "dead"          # diverted to HID++ and nobody reads it
    DIVERTED = "diverted"  # diverted on purpose by a program that is running
    UNSCALED = "unscaled"  # the kernel does not scale this wheel: nothing to compare with


@dataclass(frozen=True)
class Judgement:
    """The verdict on a wheel's mode and what to write back."""

    verdict: Verdict
    message: str
    want_hires: bool | None = None   # the mode to write back, None = nothing to write

    @property
    def needs_repair(self) -> bool:
        return self.want_hires is not None


def judge(rule: KernelRule, mode: WheelMode, *, listeners: tuple[str, ...] | None = None,
          kernel_scales: bool | None = None) -> Judgement:
    """Compare the mouse's mode with the kernel's assumption.

    `kernel_scales`: what the evdev stream showed (hi-res steps below 120 -> True, only whole
    notches of 120 x REL_WHEEL -> False), None when unknown; it wins over the rule, because
    a failed enable at connect leaves the driver's multiplier at 0 (hidpp_event passes the
    value through unscaled). `listeners`: programs holding the HID++ node, None = unknown.
    """
    mult = mode.multiplier or rule.multiplier or HIDPP10_MULTIPLIER
    if mode.diverted:
        if listeners:
            return Judgement(Verdict.DIVERTED, f"wheel diverted to HID++, read by {', '.join(listeners)}")
        if listeners is None:   # cannot tell (other users' processes): report, never take it away
            return Judgement(Verdict.DEAD, "wheel diverted to HID++ (HIRES_WHEEL target bit); the kernel "
                             "gets no wheel reports; cannot tell whether a program reads them, so not changed")
        return Judgement(Verdict.DEAD, "wheel dead: it is diverted to HID++ (HIRES_WHEEL target bit) "
                         "and no program is listening; the kernel gets no wheel reports", want_hires=True)
    if not rule.scales:
        return Judgement(Verdict.UNSCALED, f"the kernel does not scale this wheel ({rule.why}); "
                         f"mouse in {mode.describe()}: not compared, not changed")
    expects_high = rule.scales if kernel_scales is None else kernel_scales
    if expects_high and not mode.hires:
        return Judgement(Verdict.SLOW, f"wheel {mult}x slow: the mouse is in low resolution, the kernel "
                         f"expects high ({rule.mechanism.value}, divides by {mult})", want_hires=True)
    if mode.hires and not expects_high:
        return Judgement(Verdict.FAST, f"wheel {mult}x fast: the mouse is in high resolution, the kernel "
                         f"does not divide its counts", want_hires=False)
    return Judgement(Verdict.OK, f"wheel in sync: mouse in {mode.describe()}, kernel "
                     f"{'divides by ' + str(mult) if expects_high else 'does not scale'}")


class ScrollCounter:
    """hid-logitech-hidpp's vertical wheel counter: raw units -> (REL_WHEEL_HI_RES, REL_WHEEL)."""

    def __init__(self, multiplier: int):
        self.multiplier = max(1, multiplier)
        self.remainder = 0
        self.direction = 0
        self.last: float | None = None

    def feed(self, units: int, t: float) -> tuple[int, int]:
        hi = units * NOTCH // self.multiplier if units > 0 else -(-units * NOTCH // self.multiplier)
        direction = 1 if hi > 0 else -1
        if self.last is None or t - self.last > 1.0 or direction != self.direction:
            self.remainder = 0
        self.last, self.direction = t, direction
        self.remainder += hi
        low = 0
        if abs(self.remainder) >= NOTCH // 2:   # half-way to the next detent
            low = int(self.remainder / NOTCH) or direction
            self.remainder -= low * NOTCH
        return hi, low


# --- the evdev stream -----------------------------------------------------------------------
ISOLATION = 0.03      # s: a notch of a hi-res wheel arrives as several reports closer than this
SUSPECT_STEPS = 2     # isolated sub-notch steps in a row (no full notch between) -> suspicion
SUSPECT_SPAN = 2.0    # ... within this many seconds
FAST_NOTCHES = 4      # whole notches in one burst of an unscaled wheel -> suspicion


@dataclass
class _Frame:
    """A sub-notch wheel frame: its time and hi-res value."""

    t: float
    hi: int


@dataclass
class StreamMonitor:
    """Per node: feed each SYN frame's REL_WHEEL_HI_RES and REL_WHEEL (0 when absent)."""

    steps: deque = field(default_factory=lambda: deque(maxlen=8))   # isolated sub-notch frames
    fast: int = 0                      # whole notches in the current burst (unscaled frames)
    last_t: float | None = None
    pending: _Frame | None = None      # a sub-notch frame waiting to be known isolated
    burst_hi: int = 0                  # hi-res sum of the current burst (frames < ISOLATION apart)
    scaled: bool | None = None         # has the kernel been seen dividing (sub-notch steps)?
    frames: int = 0
    unit: int | None = None            # 120 / multiplier once known: a desynced notch is exactly this

    def feed(self, t: float, hi: int, low: int) -> str | None:
        """One frame; returns a suspicion (evidence text) or None."""
        self.frames += 1
        if hi == 0 and low == 0:
            return None
        if hi == 0:
            hi = low * NOTCH    # a wheel without REL_WHEEL_HI_RES
        gap = t - self.last_t if self.last_t is not None else 1e9
        if 0 < abs(hi) < NOTCH:
            self.scaled = True
        elif low and abs(hi) == abs(low) * NOTCH and self.scaled is None:
            self.scaled = False
        suspicion = None
        if self.pending is not None:
            if gap >= ISOLATION:   # the pending sub-notch step stood alone: a slow notch
                suspicion = self._isolated(self.pending)
            else:
                self.steps.clear()
            self.pending = None
        self.burst_hi = hi + (self.burst_hi if gap < ISOLATION else 0)
        if 0 < abs(hi) < NOTCH and gap >= ISOLATION and (self.unit is None or abs(hi) <= self.unit):
            self.pending = _Frame(t, hi)
        elif abs(self.burst_hi) >= NOTCH:
            self.steps.clear()
        if low and abs(hi) == abs(low) * NOTCH:
            # A hand turns a ratcheted wheel a few notches a second: whole notches closer
            # than ISOLATION are one notch of a hi-res mouse the kernel does not divide.
            self.fast = abs(low) + (self.fast if gap < ISOLATION else 0)
            if self.fast >= FAST_NOTCHES and not self.scaled and suspicion is None:
                suspicion = (f"{self.fast} whole notches (REL_WHEEL) within {ISOLATION * 1000:.0f} ms "
                             f"frames: one notch counts several times")
        else:
            self.fast = 0
        self.last_t = t
        return suspicion

    def tick(self, now: float) -> str | None:
        """A pending sub-notch step with nothing after it for ISOLATION s stood alone."""
        if self.pending is not None and now - self.pending.t >= ISOLATION:
            p, self.pending = self.pending, None
            return self._isolated(p)
        return None

    def _isolated(self, f: _Frame) -> str | None:
        while self.steps and f.t - self.steps[0].t > SUSPECT_SPAN:
            self.steps.popleft()
        self.steps.append(f)
        if len(self.steps) >= SUSPECT_STEPS:
            n, values = len(self.steps), sorted({abs(s.hi) for s in self.steps})
            return (f"{n} isolated REL_WHEEL_HI_RES steps of {'/'.join(map(str, values))} in "
                    f"{f.t - self.steps[0].t:.1f} s, no whole notch between: each notch brings "
                    f"1/{NOTCH // values[0] if values[0] else '?'} of a notch")
        return None

    def reset(self) -> None:
        self.steps.clear()
        self.fast = 0
        self.pending = None
        self.burst_hi = 0

    def whole_notch(self) -> bool:
        """Did the burst just fed reach a whole notch (what a verified repair shows)?"""
        return abs(self.burst_hi) >= NOTCH


# --- who writes the mode --------------------------------------------------------------------
class WriterLog:
    """Remembers, per (receiver node, slot), the last program seen writing the wheel mode.

    Every hidraw reader sees the replies to other programs' requests (facts: reply matching):
    `10 <slot> 80 01 ...` acknowledges a write of register 0x01 (HID++ 1.0 carries no software
    id), `11 <slot> <0x2121 index> 2<sw> ...` a setWheelMode by software id <sw>. Our own
    writes are skipped: the caller says when it wrote (`ours`).
    """

    OWN_WINDOW = 1.0

    def __init__(self):
        self.index: dict[tuple[str, int], int] = {}       # 0x2121 feature index per device
        self.last: dict[tuple[str, int], tuple[float, str]] = {}
        self._ours: dict[tuple[str, int], float] = {}

    def ours(self, key: tuple[str, int], t: float) -> None:
        self._ours[key] = t

    def note(self, t: float, node: str, data: bytes) -> None:
        f = parse_frame(t, node, data)
        if f is None or f.devnum == 0xFF:
            return
        key = (node, f.devnum)
        if f.raw[0] == 0x10 and f.sub_id == 0x80 and f.address == 0x01:
            sw = None
        elif f.sub_id == self.index.get(key) and f.function == 2:
            sw = f.software_id
        else:
            return
        if t - self._ours.get(key, -1e9) < self.OWN_WINDOW:
            return
        self.last[key] = (t, who(sw))

    def writer(self, key: tuple[str, int], since: float) -> str | None:
        seen = self.last.get(key)
        return seen[1] if seen and seen[0] >= since else None
