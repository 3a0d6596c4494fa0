"""Switch chatter: a worn mouse switch that bounces (a click arrives as two) or drops a drag.

Pure rule over the observations the capture reader and the evdev listener already make
(`KeyEvent` of mouse buttons, `Motion`); no I/O, no HID++ request.

What a worn micro switch does, as evdev sees it (one button of one node):
- bounce: a release followed by a press of the same button within BOUNCE_GAP (a few ms).
  No finger re-presses that fast: a fast human double click leaves 80-150 ms between the
  first release and the second press, a gamer at 15 clicks/s about 30 ms.
- spurious release during a drag: the same short release-then-press, after the button was
  held longer than DRAG_HOLD with motion while it was held (a drag broken in two).
A short gap alone can also come from a receiver flushing queued reports after a radio hiccup
(reports bunched with sub-millisecond spacing), so one occurrence is not a verdict: the
verdict needs MIN_EVENTS of them on one button within WINDOW seconds.

Whether libinput's debouncing hides them, per libinput's src/evdev-debounce.c (the state
machine in debounce_handle_event; timeouts in debounce_set_timer, DEBOUNCE_TIMEOUT_BOUNCE =
25 ms, and debounce_set_timer_short, DEBOUNCE_TIMEOUT_SPURIOUS = 12 ms):
- press bounce (P-R-P, the re-press within 25 ms of the first press): filtered (case 5);
- release bounce (R-P-R, the second release within 25 ms of the first): filtered (case 6);
- release then press that stays down (a broken drag): the first one on a device is delivered
  and switches "spurious" debouncing on (debounce_maybe_spurious_handle_event ->
  debounce_enable_spurious); later ones with the press within 12 ms are filtered;
- anything slower than those windows reaches applications.
xf86-input-evdev and programs that read /dev/input/event* directly get no debouncing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from statistics import median

from phantombutton.buttons import describe_button, is_mouse_button
from phantombutton.detect.events import DeviceAdded, KeyEvent, Motion, Observation
from phantombutton.detect.findings import Finding, Layer, Rule

LIBINPUT_BOUNCE = 0.025     # DEBOUNCE_TIMEOUT_BOUNCE, src/evdev-debounce.c debounce_set_timer
LIBINPUT_SPURIOUS = 0.012   # DEBOUNCE_TIMEOUT_SPURIOUS, debounce_set_timer_short


class Kind(StrEnum):
    BOUNCE = "bounce"
    DRAG_BREAK = "spurious release during a drag"


BOUNCE_GAP = 0.015   # release -> press of the same button faster than this: not a finger
DRAG_HOLD = 0.150    # a hold this long with motion is a drag, not a click
MIN_EVENTS = 2       # per button within WINDOW for a verdict
WINDOW = 300.0       # seconds


@dataclass(frozen=True)
class Chatter:
    """One release-then-press too fast for a finger."""

    kind: Kind
    release: float      # time of the spurious release
    press: float        # time of the press that followed
    libinput_hides: bool

    @property
    def gap(self) -> float:
        return self.press - self.release


def _ms(s: float) -> str:
    return f"{s * 1000:.1f} ms"


class ChatterMonitor:
    """Feed observations in time order (per node); `findings()` gives one finding per button
    whose chatter reached the verdict."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._last_motion: dict[str, float] = {}
        # (node, code) -> [time of the last press, time of the release after it (None: held)]
        self._state: dict[tuple[str, int], list] = {}
        self._events: dict[tuple[str, int], list[Chatter]] = {}
        self._pending: dict[tuple[str, int], tuple[Kind, float, float, float]] = {}
        self._spurious_on: set[str] = set()   # nodes where libinput switched spurious mode on

    def feed(self, obs: Observation) -> None:
        if isinstance(obs, DeviceAdded):
            self._names[obs.device.node] = obs.device.name or obs.device.node
        elif isinstance(obs, Motion):
            self._last_motion[obs.node] = obs.t
        elif isinstance(obs, KeyEvent) and obs.value in (0, 1) and is_mouse_button(obs.code):
            self._key(obs)

    def _key(self, ev: KeyEvent) -> None:
        k = (ev.node, ev.code)
        st = self._state.setdefault(k, [None, None])
        pressed, released = st
        self._settle(k, ev)
        if ev.value == 1:
            if released is not None and pressed is not None and ev.t - released <= BOUNCE_GAP:
                hold = released - pressed
                moved = self._last_motion.get(ev.node, -1.0) > pressed
                kind = Kind.DRAG_BREAK if hold >= DRAG_HOLD and moved else Kind.BOUNCE
                # decided at the next event of this button (does the press stay down?)
                self._pending[k] = (kind, released, ev.t, pressed)
            st[0], st[1] = ev.t, None
        else:
            st[1] = ev.t

    def _settle(self, k: tuple[str, int], ev: KeyEvent | None) -> None:
        """Close the pending chatter of button `k` now that its next event (or the end) is known."""
        p = self._pending.pop(k, None)
        if p is None:
            return
        kind, rel, press, first_press = p
        nxt = ev.t if ev is not None and ev.value == 0 else None
        if kind is Kind.BOUNCE and press - first_press <= LIBINPUT_BOUNCE:
            hides = True                                  # P-R-P within the bounce timeout (case 5)
        elif nxt is not None and nxt - rel <= LIBINPUT_BOUNCE:
            hides = True                                  # R-P-R within the bounce timeout (case 6)
        elif k[0] in self._spurious_on:
            hides = press - rel < LIBINPUT_SPURIOUS       # spurious mode: the release is delayed 12 ms
        else:
            # a press that stays down past 12 ms: libinput delivers it and enables spurious mode
            hides = False
            if press - rel < LIBINPUT_SPURIOUS:
                self._spurious_on.add(k[0])
        self._events.setdefault(k, []).append(Chatter(kind, rel, press, hides))

    def findings(self) -> list[Finding]:
        for k in list(self._pending):
            self._settle(k, None)
        densest = [(node, code, self._densest(evs)) for (node, code), evs in sorted(self._events.items())]
        return [self._finding(node, code, best) for node, code, best in densest if len(best) >= MIN_EVENTS]

    def _densest(self, evs: list[Chatter]) -> list[Chatter]:
        """The most chatter events inside one WINDOW (two pointers over the sorted times)."""
        evs = sorted(evs, key=lambda c: c.release)
        best: list[Chatter] = []
        j = 0
        for i in range(len(evs)):
            while evs[i].release - evs[j].release > WINDOW:
                j += 1
            if i + 1 - j > len(best):
                best = evs[j:i + 1]
        return best

    def _finding(self, node: str, code: int, evs: list[Chatter]) -> Finding:
        gaps = [c.gap for c in evs]
        bounces = sum(c.kind is Kind.BOUNCE for c in evs)
        breaks = len(evs) - bounces
        hidden = sum(c.libinput_hides for c in evs)
        span = evs[-1].press - evs[0].release
        button = describe_button(code)
        evidence = [
            f"{len(evs)} release-then-press of {button} faster than a finger "
            f"(<= {_ms(BOUNCE_GAP)}) within {span:.1f} s: {bounces} bounce(s), "
            f"{breaks} spurious release(s) during a drag",
            f"gaps: min {_ms(min(gaps))}, median {_ms(median(gaps))}, max {_ms(max(gaps))}",
        ]
        evidence += [f"{c.kind} at {c.release:.3f} s: released, pressed again {_ms(c.gap)} later"
                     + (" (libinput hides it)" if c.libinput_hides else "") for c in evs[:5]]
        if len(evs) > 5:
            evidence.append(f"... and {len(evs) - 5} more")
        share = {len(evs): "all of them", 0: "none of them"}.get(
            hidden, f"{hidden} of {len(evs)}; libinput users still see {len(evs) - hidden}")
        evidence.append(f"libinput's debouncing (25 ms bounce, 12 ms spurious) would hide {share}; "
                        "xf86-input-evdev and programs reading the event node see all of them")
        return Finding(
            rule=Rule.SWITCH_CHATTER, layer=Layer.KERNEL, device=self._names.get(node, node), node=node,
            slot=None, x_slave_id=None, code=code, x_button=None, since=evs[0].release,
            evidence=tuple(evidence), ended=evs[-1].press,
            cause="worn switch likely: the switch contacts bounce (a click arrives as two, "
                  "a drag breaks)",
            fix="replace the switch or the mouse (warranty)" + (
                "; meanwhile use libinput (X or Wayland) rather than xf86-input-evdev, which does "
                "not debounce" if hidden == len(evs) else
                "; libinput's debouncing does not catch all of these, so no driver setting helps"))


def verdict_of(findings: list[Finding]) -> str:
    """"phantom" when a held-button rule fired, "worn switch" when only chatter did (with or
    without stale diversions), "stale diversion" when only detect/diversion.py did."""
    if not findings:
        return "clean"
    if all(f.rule is Rule.STALE_DIVERSION for f in findings):
        return "stale diversion"
    return "phantom" if any(f.rule not in (Rule.SWITCH_CHATTER, Rule.STALE_DIVERSION) for f in findings) \
        else "worn switch"


def verdict_line(findings: list[Finding], strong: str = "") -> str:
    """The verdict as analyze, the Markdown and the timeline print it (`strong`: "**")."""
    v = verdict_of(findings)
    if v == "clean":
        return f"{strong}clean{strong} - no phantom held button"
    word = {"worn switch": "WORN SWITCH LIKELY", "stale diversion": "STALE DIVERSION"}.get(v, "PHANTOM")
    return f"{strong}{word}{strong} - {len(findings)} finding(s)"
