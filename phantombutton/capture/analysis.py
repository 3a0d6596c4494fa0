"""What `analyze` says beyond the rules: where a capture really ends, and every button still
held there, with how long it was held at least, even when no rule fired.

A capture of a button held with no motion until the user stopped recording is the commonest
report of all, and the held-idle rule (15 s) may not have fired yet: saying "clean" there
would send the user away. So each button held at the end is listed with what is known.

Where a capture ends:
- our own captures write an end marker with the time (capture/record.py, END_MARKER);
- a plain `libinput record` file has none: its last frame is a lower bound, and the
  "# Current time is HH:MM:SS" comments libinput writes every 5 s while events come
  (tools/libinput-record.c, print_wall_time / timefd_dispatch) tell that the recording still
  ran later. The comments have one-second resolution and no capture time, so the offset
  between wall clock and capture time is bounded from the frames written before each comment
  (a frame written before a comment happened before it): the result is a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from phantombutton import buttons as B
from phantombutton.detect.findings import HeldButton, Thresholds

DAY = 86400


@dataclass(frozen=True)
class CaptureEnd:
    """Up to when a capture is known to have run, and how that is known."""

    t: float          # capture time up to which the recording is known to have run
    how: str          # "end marker", "libinput's 'Current time' comments", "last event"

    @property
    def exact(self) -> bool:
        return self.how == "end marker"


def _unwrap(seconds: list[int]) -> list[int]:
    """Seconds of the day in file order -> increasing seconds (a recording past midnight)."""
    out, add, prev = [], 0, None
    for s in seconds:
        if prev is not None and s + add < prev - 60:
            add += DAY
        out.append(s + add)
        prev = s + add
    return out


def wall_clock_end(marks: list[tuple[int, float | None]]) -> float | None:
    """Lower bound of the capture time of the last "Current time" comment, or None.

    For a comment written at wall second W after a frame at capture time t: the comment's true
    wall time is in [W, W + 1) and the frame came before it, so offset = wall - capture time
    <= W + 1 - t. The last comment (wall >= W_last) then sits at capture time >= W_last - offset.
    """
    if not marks:
        return None
    walls = _unwrap([w for w, _ in marks])
    bounds = [w + 1 - t for w, (_, t) in zip(walls, marks, strict=True) if t is not None]
    if not bounds:
        return None
    return walls[-1] - min(bounds)


def capture_end(cap, last_observation: float) -> CaptureEnd:
    """`cap`: a read capture.reader.Capture; `last_observation`: the latest time fed."""
    if cap.complete:
        return CaptureEnd(max(cap.end_time, last_observation), "end marker")
    wall = wall_clock_end(cap.wall_marks)
    if wall is not None and wall > last_observation + 0.5:
        return CaptureEnd(wall, "libinput's 'Current time' comments")
    return CaptureEnd(last_observation, "last event")


@dataclass(frozen=True, slots=True)
class HeldAtEnd:
    """One button held when the capture ends, as analyze reports it."""

    device: str
    node: str
    button: str          # "BTN_MIDDLE 0x112 (X button 2, HID button 3)"
    code: int | None
    x_button: int | None
    since: float
    held_at_least: float
    exact_end: bool
    layers: str          # "kernel and X", "kernel", "X"
    motion_since: bool   # the device moved (or scrolled) while it was held
    rule: str | None     # the finding that reported it, if any
    sentence: str

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}


def _sentence(h: HeldButton, button: str, held: float, layers: str, moved: bool, rule: str | None,
              th: Thresholds) -> str:
    # at least: the hold goes on past the end, and a plain recording's end is a lower bound
    amount = f"at least {held:.1f} s"
    motion = "with motion since the press" if moved else "no motion"
    if rule:
        verdict = f"reported as {rule}"
    elif moved:
        verdict = "a drag or a held click, not flagged"
    elif held < th.held_idle:
        verdict = f"below the held-idle threshold ({th.held_idle:g} s)"
    else:
        verdict = "not flagged by any rule"
    return (f"{h.device}: {button} held at the end in {layers}, {amount} "
            f"(since {h.since:.3f} s, {h.how}), {motion}; {verdict}")


def held_at_end(held: list[HeldButton], end: CaptureEnd, th: Thresholds | None = None) -> list[HeldAtEnd]:
    """`held`: Detector.held() after the whole capture was fed."""
    th = th or Thresholds()
    out = []
    for h in held:
        button = B.describe_button(h.code) if h.code is not None else f"X button {h.x_button}"
        layers = "kernel and X" if h.in_kernel and h.in_x else ("kernel" if h.in_kernel else "X")
        moved = h.last_motion is not None and h.last_motion > h.since
        rule = str(h.finding.rule) if h.finding is not None else None
        held_for = max(0.0, end.t - h.since)
        out.append(HeldAtEnd(
            device=h.device, node=h.node, button=button, code=h.code, x_button=h.x_button,
            since=round(h.since, 6), held_at_least=round(held_for, 3), exact_end=end.exact,
            layers=layers, motion_since=moved, rule=rule,
            sentence=_sentence(h, button, held_for, layers, moved, rule, th)))
    return out
