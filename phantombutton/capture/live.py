"""Live sources for `capture`: event nodes, hidraw nodes and X state, read into a writer.

The format is record.py's, the header meta.py's. Every timestamp is CLOCK_MONOTONIC: evdev
is switched to it with EVIOCSCLOCKID, hidraw reads are stamped with time.monotonic() (the
kernel gives hidraw no timestamps; libinput record does the same).

The node primitives are the input layer's (input/evdev_node.py opens, names the fix for a
permission error, sets the clock; input/evdev_source.py parses struct input_event); unlike
watch's EvdevSource, which turns events into detection observations, capture keeps every
event of every type, frame by frame, because libinput record frames are what it writes.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable

from phantombutton.capture.record import CaptureWriter
from phantombutton.detect.events import DeviceRemoved, HidppTraffic, Observation, XButtons
from phantombutton.input import evdev_node as en
from phantombutton.input.evdev_source import parse_events
from phantombutton.input.frames import frames_to_observations
from phantombutton.recovery.watcher import XPoller as StatePoller

_READ_SIZE = 24 * 64   # 64 struct input_event at a time


class EvdevSource:
    """Every event of one event node, as frames ending in SYN_REPORT."""

    def __init__(self, path: str):
        self.path = path
        self.fd = en.open_node(path)   # read-only; AccessDenied names the udev fix
        # old kernels refuse EVIOCSCLOCKID: their events keep realtime stamps
        en.set_monotonic_clock(self.fd)
        self._pending: list[tuple[float, int, int, int]] = []

    def fileno(self) -> int:
        return self.fd

    def frames(self) -> list[list[tuple[float, int, int, int]]]:
        out = []
        while True:
            try:
                buf = os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                break
            for e in parse_events(buf):
                self._pending.append(e)
                if e[1] == en.EV_SYN and e[2] == en.SYN_REPORT:
                    out.append(self._pending)
                    self._pending = []
            if len(buf) < _READ_SIZE:
                break
        return out

    def close(self) -> None:
        os.close(self.fd)


class HidrawSource:
    def __init__(self, node: str):
        self.node = node
        # read-only: a capture never writes to the receiver; AccessDenied / DeviceGone
        self.fd = en.open_node(node)

    def fileno(self) -> int:
        return self.fd

    def reports(self) -> list[tuple[float, bytes]]:
        out = []
        while True:
            try:
                data = os.read(self.fd, 4096)
            except BlockingIOError:
                break
            if not data:
                break
            out.append((time.monotonic(), data))
        return out

    def close(self) -> None:
        os.close(self.fd)


class XPoller:
    """XI 1.x button state of every pointer, reported when it changes. The state is read by
    watch's poller (recovery/watcher.py) asked for a full sample - every slave and master -
    at each poll: a capture records what X held, it does not save round trips."""

    def __init__(self, session):
        self.x = session
        self._state = StatePoller(session)
        self.last: dict[int, frozenset[int]] = {}

    def driver(self, nodes: list[str]) -> str | None:
        """The X input driver of our mice (XSession.input_driver over their slaves)."""
        try:
            return self.x.input_driver([p for p in self.x.pointers() if not nodes or p.node in nodes])
        except Exception:   # a listing refused: fall back to the Xorg log
            return None

    def changes(self, t: float) -> list[XButtons]:
        """Samples that differ from the last recorded one, and every sample that holds a
        button: analyze must see that X still held it at this poll, or clicks in quick
        succession would read as one long hold."""
        out = []
        for s in self._state.poll(t, suspect=True):
            if s.buttons or self.last.get(s.device_id) != s.buttons:
                self.last[s.device_id] = s.buttons
                out.append(s)
        return out


def run(writer: CaptureWriter, evdev_sources: list, hidraw_sources: list, x: XPoller | None,
        *, duration: float | None, on_obs: Callable[[Observation], object] = lambda obs: None,
        poll: float = 0.25, stop: Callable[[], bool] = lambda: False,
        progress: Callable[[], None] | None = None, warn: Callable[[str], None] = lambda msg: None) -> None:
    """The capture loop: select on every node, write each frame as it comes."""
    t_end = time.monotonic() + duration if duration else None
    fds = {s.fileno(): s for s in evdev_sources + hidraw_sources}
    next_x = time.monotonic()
    next_progress = time.monotonic()
    while not stop():
        now = time.monotonic()
        if t_end is not None and now >= t_end:
            break
        timeout = min(next_x - now if x else 1.0, 1.0, (t_end - now) if t_end else 1.0)
        ready, _, _ = select.select(list(fds), [], [], max(0.0, timeout))
        for fd in ready:
            s = fds[fd]
            try:
                got = s.frames() if hasattr(s, "frames") else s.reports()
            except OSError:   # ENODEV: the node left (receiver unplugged); record it, go on
                del fds[fd]
                if hasattr(s, "frames"):
                    removed = DeviceRemoved(time.monotonic(), s.path)
                    writer.observation(removed)
                    on_obs(removed)
                if not fds:
                    return
                continue
            if hasattr(s, "frames"):   # an event node (duck-typed: tests feed pipes)
                for frame in got:
                    writer.evdev(s.path, frame)
                    for obs in frames_to_observations(s.path, frame)[0]:   # the detector's view, as watch's
                        on_obs(obs)
            else:
                for t, data in got:
                    writer.hid(s.node, t, data)
                    on_obs(HidppTraffic(t, s.node, data))
        now = time.monotonic()
        if x and now >= next_x:
            try:
                changes = x.changes(now)
            except Exception as e:   # the X server went away (Xlib raises its own zoo): evdev goes on
                warn(f"X state is not recorded after {now - writer.meta.start:.3f} s: "
                     f"{type(e).__name__}: {e}")
                x, changes = None, []
            for change in changes:
                writer.observation(change)
                on_obs(change)
            next_x = now + poll
        if progress and now >= next_progress:
            progress()
            next_progress = now + 0.5
