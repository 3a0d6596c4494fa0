"""The timeline picture of a capture: plain SVG, one block of lanes per device.

Written here rather than with a plotting library: the picture is rectangles, lines and text
at computed positions, a few dozen lines of string formatting, while matplotlib or a chart
library would be a large dependency of a command-line tool that runs as root, for no feature
we use. No scripts, no external references, no fonts embedded: GitHub shows an SVG attached
to an issue as an image, and every browser and librsvg draw it the same way.

Readable at the width of a GitHub issue's column (about 880 px): 860 px wide, 11-12 px text.
Every string from the capture (device names) is escaped: a capture is untrusted input.

`layout` of the rendered picture (lane names, their rows and colours) is returned with the
SVG so a test can look for each lane at its place in a screenshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from phantombutton.capture.timeline import DeviceTimeline, Interval, Timeline, build
from phantombutton import buttons as B
from phantombutton.detect.chatter import verdict_line
from phantombutton.outfile import atomic_output
from phantombutton.detect.context import Sender

WIDTH = 860
LABEL_X = 8
PLOT_X0 = 190
PLOT_X1 = WIDTH - 16
LANE_H = 18
LANE_GAP = 3
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

KERNEL = "#1f77b4"      # held per the kernel (EV_KEY, EVIOCGKEY)
XHELD = "#ff7f0e"       # held per X (XI 1.x QueryDeviceState)
WHEEL = "#2ca02c"
MOTION = "#7f7f7f"
CONNECTION = "#e377c2"
FINDING = "#d62728"
SENDERS = {              # HID++ lanes, in order
    Sender.KERNEL: "#9467bd",
    Sender.SOLAAR: "#8c564b",
    Sender.OWN: "#17becf",
    Sender.UNKNOWN: "#bcbd22",
}


@dataclass(frozen=True)
class Lane:
    """One horizontal lane of the timeline picture."""

    device: int          # index of the device block
    name: str            # "BTN_MIDDLE (X 2)", "wheel", "motion", "HID++ kernel", ...
    y: float             # top of the lane
    color: str           # its swatch colour (the kernel colour for button lanes)


@dataclass(frozen=True)
class Layout:
    """Where things are in the rendered picture (for tests and anyone placing it)."""

    lanes: list[Lane]
    t_end: float
    height: int

    def lane(self, device: int, name: str) -> Lane:
        return next(ln for ln in self.lanes if ln.device == device and ln.name == name)


def _nice_step(duration: float) -> float:
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if duration / step <= 9:
            return step
    return 7200


def x_of(t: float, t_end: float) -> float:
    """The x of capture time t on a plot that ends at t_end."""
    t_end = max(t_end, 0.001)
    t = min(max(t, 0.0), t_end)
    return round(PLOT_X0 + t / t_end * (PLOT_X1 - PLOT_X0), 2)


class _Canvas:
    def __init__(self, t_end: float):
        self.parts: list[str] = []
        self.t_end = max(t_end, 0.001)
        self.lanes: list[Lane] = []

    def x(self, t: float) -> float:
        return x_of(t, self.t_end)

    def rect(self, x, y, w, h, fill, extra=""):
        self.parts.append(f'<rect x="{x}" y="{y}" width="{max(w, 1.5):.2f}" height="{h}" fill="{fill}"{extra}/>')

    def line(self, x1, y1, x2, y2, stroke, width=1, extra=""):
        self.parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{stroke}" '
                          f'stroke-width="{width}"{extra}/>')

    def text(self, x, y, s, size=11, fill="#222", extra=""):
        self.parts.append(f'<text x="{x}" y="{y}" font-size="{size}" fill="{fill}"{extra}>{escape(s)}</text>')


def _button_name(code: int | None, xb: int | None) -> str:
    if code is None:
        return f"X button {xb}"
    name = B.short_name(code)
    return f"{name} (X {xb})" if xb is not None else name


def _lane(c: _Canvas, dev: int, y: float, name: str, color: str, color2: str | None = None) -> None:
    c.rect(PLOT_X0, y, PLOT_X1 - PLOT_X0, LANE_H, "#f4f4f4")
    if color2:   # a button lane: kernel over X
        c.rect(LABEL_X, y + 3, 12, 6, color)
        c.rect(LABEL_X, y + 9, 12, 6, color2)
    else:
        c.rect(LABEL_X, y + 3, 12, 12, color)
    c.text(LABEL_X + 18, y + 13, name)
    c.lanes.append(Lane(dev, name, y, color))


def _holds(c: _Canvas, holds: list[Interval], y: float, h: float, color: str, end: float) -> None:
    for iv in holds:
        x0 = c.x(iv.start)
        x1 = c.x(iv.end if iv.end is not None else end)
        c.rect(x0, y, x1 - x0, h, color)
        if iv.end is None:   # held when the capture ends: an arrow past the end
            c.parts.append(f'<path d="M{x1} {y - 1} l7 {h / 2 + 1} l-7 {h / 2 + 1} z" fill="{color}"/>')


def _ticks(c: _Canvas, times: list[float], y: float, color: str) -> None:
    """One tick per event, but one per half pixel at most: a long capture's thousands of
    reports stay a picture of a few kilobytes."""
    for x in sorted({round(c.x(t) * 2) / 2 for t in times}):
        c.line(x, y + 2, x, y + LANE_H - 2, color, 1.2)


def _density(c: _Canvas, times: list[float], y: float, color: str) -> None:
    bins = 110
    counts = [0] * bins
    for t in times:
        counts[min(bins - 1, int(min(max(t, 0.0), c.t_end) / c.t_end * bins))] += 1
    top = max(counts) if counts else 0
    w = (PLOT_X1 - PLOT_X0) / bins
    for i, n in enumerate(counts):
        if n:
            h = max(2.0, (LANE_H - 2) * n / top)
            c.rect(round(PLOT_X0 + i * w, 2), round(y + LANE_H - 1 - h, 2), w - 0.5, round(h, 2), color)


def _device_block(c: _Canvas, i: int, d: DeviceTimeline, findings: list, y: float, end: float) -> float:
    info = d.info
    title = info.name or info.node
    ids = [info.node] if info.name else []
    if info.slot is not None:
        ids.append(f"slot {info.slot}")
    if info.product is not None and info.slot is not None:
        ids.append(f"WPID {info.product:04X}")
    c.text(LABEL_X, y + 14, title + (" - " + ", ".join(ids) if ids else ""), 13, "#000", ' font-weight="bold"')
    y += 22
    top = y
    for code, xb in d.button_rows() or [(None, None)]:
        name = _button_name(code, xb) if (code, xb) != (None, None) else "buttons (none held)"
        _lane(c, i, y, name, KERNEL, XHELD)
        if code is not None:
            _holds(c, d.kernel.get(code, []), y + 1, 8, KERNEL, end)
        if xb is not None:
            _holds(c, d.x.get(xb, []), y + 9, 8, XHELD, end)
        y += LANE_H + LANE_GAP
    _lane(c, i, y, "wheel", WHEEL)
    _ticks(c, d.wheel, y, WHEEL)
    y += LANE_H + LANE_GAP
    _lane(c, i, y, "motion (density)", MOTION)
    _density(c, d.motion, y, MOTION)
    y += LANE_H + LANE_GAP
    for sender, color in SENDERS.items():
        _lane(c, i, y, f"HID++ {sender}", color)
        _ticks(c, d.hidpp.get(sender, []), y, color)
        y += LANE_H + LANE_GAP
    _lane(c, i, y, "connection", CONNECTION)
    for ev in d.connections:
        x = c.x(ev.t)
        tip = f"{ev.text} at {ev.t:.3f} s"
        path = f"M{x} {y + 3} l6 12 l-12 0 z" if ev.up else f"M{x} {y + 15} l6 -12 l-12 0 z"
        c.parts.append(f'<path d="{path}" fill="{CONNECTION if ev.up else "#fff"}" stroke="{CONNECTION}" '
                       f'stroke-width="1.5"><title>{escape(tip)}</title></path>')
    y += LANE_H + LANE_GAP
    _lane(c, i, y, "findings (rule)", FINDING)
    for f in findings:
        x0 = c.x(f.since)
        x1 = c.x(f.ended if f.ended is not None else end)
        c.rect(x0, y + 4, x1 - x0, LANE_H - 8, FINDING, ' fill-opacity="0.35"')
        c.line(x0, top, x0, y + LANE_H, FINDING, 1.5, ' stroke-dasharray="4 3"')
        label = f"{f.rule}" + (f" {B.short_name(f.code)}" if f.code is not None else f" X {f.x_button}")
        anchor = ' text-anchor="end"' if x0 > (PLOT_X0 + PLOT_X1) / 2 else ""
        c.text(x0 - 4 if anchor else x0 + 4, y + 13, label, 11, FINDING, anchor + ' font-weight="bold"')
    y += LANE_H + 4
    # time axis
    c.line(PLOT_X0, y, PLOT_X1, y, "#444")
    step = _nice_step(c.t_end)
    k = 0
    while k * step <= c.t_end + 1e-9:
        t = k * step
        x = c.x(t)
        c.line(x, y, x, y + 4, "#444")
        c.line(x, top, x, y, "#ddd", 1, ' stroke-dasharray="2 3"')
        c.text(x, y + 15, f"{t:g} s", 10, "#444", ' text-anchor="middle"')
        k += 1
    return y + 30


def _legend(c: _Canvas, y: float) -> None:
    items = [("held: kernel", KERNEL), ("held: X", XHELD), ("wheel", WHEEL), ("motion", MOTION),
             ("link up / down", CONNECTION), ("finding", FINDING)]
    x: float = LABEL_X
    for name, color in items:
        c.rect(x, y, 10, 10, color)
        c.text(x + 14, y + 9, name, 10, "#333")
        x += 22 + len(name) * 6.2


def render(timeline: Timeline, report: dict) -> tuple[str, Layout]:
    """SVG text and the lanes' layout. `report`: cli/cmd_analyze.analyze_file's dict."""
    end = max(timeline.end, float(report.get("end", {}).get("t") or 0.0))
    c = _Canvas(end)
    name = str(report.get("file", "")).rsplit("/", 1)[-1]
    findings = report.get("findings") or []
    verdict = verdict_line(findings)
    c.text(LABEL_X, 18, f"phantombutton timeline: {name}", 14, "#000", ' font-weight="bold"')
    sub = [f"verdict: {verdict}", f"{end:.3f} s"]
    if report.get("kernel"):
        sub.append(f"kernel {report['kernel']}")
    if report.get("x_input_driver"):
        sub.append(f"X driver {report['x_input_driver']}")
    c.text(LABEL_X, 35, ", ".join(sub), 11, "#333")
    _legend(c, 44)
    y = 66.0
    nodes = {d.info.node for d in timeline.devices}
    for i, d in enumerate(timeline.devices):
        mine = [f for f in findings if f.node == d.info.node or (i == 0 and f.node not in nodes)]
        y = _device_block(c, i, d, mine, y, end)
    if not timeline.devices:
        c.text(LABEL_X, y + 14, "no device in this capture", 12)
        y += 30
    height = int(y) + 4
    body = "\n".join(c.parts)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family="{FONT}">\n'
           f'<title>{escape(f"phantombutton timeline of {name}: {verdict}")}</title>\n'
           f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>\n{body}\n</svg>\n')
    return svg, Layout(c.lanes, c.t_end, height)


def timeline_svg(path: str, report: dict) -> tuple[str, Layout]:
    return render(build(path, float(report.get("end", {}).get("t") or 0.0)), report)


def write_timeline(path: str, report: dict, output: str) -> None:
    """`analyze --svg FILE`: the picture, written atomically (outfile.py)."""
    svg, _ = timeline_svg(path, report)
    with atomic_output(output, inputs=[path]) as out:
        out.write(svg)
