"""A capture as a timeline per device: what `analyze --svg` draws.

Read with the same streaming reader as `analyze` (capture/reader.py), one more pass: for each
device, the intervals each button was held in the kernel (EV_KEY, EVIOCGKEY at start) and in
X (XI 1.x samples of the device's slave), wheel and motion times, HID++ frames by sender
(detect/context.py's attribution, with every frame of the capture in view so a HID++ 1.0
frame's burst is seen whole), and connection events (0x41 notifications, nodes added or
removed). Pure data; the picture is report/svg.py's.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from phantombutton.capture.reader import Capture
from phantombutton import buttons as B
from phantombutton.detect.context import HidppContext, Sender, connection_of, parse_frame
from phantombutton.detect.events import (
    DeviceAdded,
    DeviceInfo,
    DeviceRemoved,
    HeldState,
    HidppTraffic,
    KeyEvent,
    Motion,
    XButtons,
)


@dataclass
class Interval:
    """One hold of a button or key, from its press to its release."""

    start: float
    end: float | None = None      # None: still held when the capture ends


@dataclass
class Connection:
    """A link established or lost, a node added or removed."""

    t: float
    up: bool                      # link established / node added
    text: str


@dataclass
class DeviceTimeline:
    """One device's holds, connections and traffic over the capture."""

    info: DeviceInfo
    kernel: dict[int, list[Interval]] = field(default_factory=dict)   # evdev code -> holds
    x: dict[int, list[Interval]] = field(default_factory=dict)        # X button -> holds
    wheel: list[float] = field(default_factory=list)
    motion: list[float] = field(default_factory=list)
    hidpp: dict[Sender, list[float]] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)

    def button_rows(self) -> list[tuple[int | None, int | None]]:
        """(evdev code, X button) per button lane, kernel and X of one button together."""
        rows: dict[tuple[int | None, int | None], None] = {}
        for code in sorted(self.kernel):
            rows[(code, B.x_button_for(code))] = None
        for b in sorted(self.x):
            rows.setdefault((B.code_for_x_button(b), b), None)
        return list(rows)


@dataclass
class Timeline:
    """Every device's timeline and the capture's end."""

    devices: list[DeviceTimeline]
    end: float


def _open(holds: dict[int, list[Interval]], key: int, t: float) -> None:
    lst = holds.setdefault(key, [])
    if not lst or lst[-1].end is not None:
        lst.append(Interval(t))


def _close(holds: dict[int, list[Interval]], key: int, t: float) -> None:
    lst = holds.get(key)
    if lst and lst[-1].end is None:
        lst[-1].end = t


def _sample(holds: dict[int, list[Interval]], held: Collection[int], t: float) -> None:
    """A state sample at `t`: the holds of keys not in `held` end, those of keys in it go on."""
    for key in list(holds):
        if key not in held:
            _close(holds, key, t)
    for key in held:
        _open(holds, key, t)


def build(path: str, end: float | None = None) -> Timeline:
    """The timeline of one capture; `end` (analyze's capture end) overrides the last event."""
    cap = Capture(path)
    devs: dict[str, DeviceTimeline] = {}
    x_nodes: dict[int, str] = {}          # X device id -> event node
    frames = []
    last = 0.0

    def dev(node: str) -> DeviceTimeline:
        d = devs.get(node)
        if d is None:
            d = devs[node] = DeviceTimeline(DeviceInfo(node=node))
        return d

    for obs in cap.observations():
        last = max(last, obs.t)
        if isinstance(obs, DeviceAdded):
            d = dev(obs.device.node)
            d.info = obs.device
            if obs.device.x_slave_id is not None:
                x_nodes[obs.device.x_slave_id] = obs.device.node
            if not obs.at_start:
                d.connections.append(Connection(obs.t, True, "node added"))
        elif isinstance(obs, DeviceRemoved):
            d = dev(obs.node)
            d.connections.append(Connection(obs.t, False, "node removed"))
            _sample(d.kernel, (), obs.t)
        elif isinstance(obs, KeyEvent):
            if B.is_mouse_button(obs.code) and obs.value in (0, 1):
                (_open if obs.value else _close)(dev(obs.node).kernel, obs.code, obs.t)
        elif isinstance(obs, HeldState):
            _sample(dev(obs.node).kernel, {c for c in obs.codes if B.is_mouse_button(c)}, obs.t)
        elif isinstance(obs, Motion):
            d = dev(obs.node)
            if obs.wheel:
                d.wheel.append(obs.t)
            if obs.pointer:
                d.motion.append(obs.t)
        elif isinstance(obs, XButtons):
            if obs.is_master:
                continue
            node = obs.device_node or x_nodes.get(obs.device_id)
            if node is None or node not in devs:
                continue
            x_nodes[obs.device_id] = node
            _sample(devs[node].x, obs.buttons, obs.t)
        elif isinstance(obs, HidppTraffic):
            f = parse_frame(obs.t, obs.node, obs.data)
            if f is not None:
                frames.append(f)
    _hidpp(list(devs.values()), frames)
    return Timeline(list(devs.values()), max(end or 0.0, last))


def _owner(devices: list[DeviceTimeline], f) -> DeviceTimeline | None:
    """The device a frame is about: its receiver or child node and its slot (or the receiver
    itself, 0xFF); with one device and no node known (a plain recording), that device."""
    for d in devices:
        nodes = (d.info.receiver_node, d.info.hidpp_node)
        if f.node in nodes and (d.info.slot is None or f.devnum in (d.info.slot, 0xFF)
                                or f.node == d.info.hidpp_node):
            return d
    known = [d for d in devices if d.info.receiver_node or d.info.hidpp_node]
    return devices[0] if len(devices) == 1 and not known else None


def _hidpp(devices: list[DeviceTimeline], frames: list) -> None:
    ctx = HidppContext(maxlen=len(frames) + 1)
    for f in frames:
        ctx.add(f)
    for f in frames:
        d = _owner(devices, f)
        if d is None:
            continue
        conn = connection_of(f)
        if conn is not None:
            d.connections.append(Connection(f.t, conn[2], "link established" if conn[2] else "link lost"))
            continue
        d.hidpp.setdefault(ctx.sender(f), []).append(f.t)
