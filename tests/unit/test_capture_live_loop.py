"""The capture loop over pipe-backed sources (the lab runs it on real nodes)."""

from __future__ import annotations

import os
import threading
import time

from phantombutton.capture import live
import synthetic as S
from phantombutton.capture.reader import Capture
from phantombutton.capture.record import CaptureWriter
from phantombutton.detect.events import HidppTraffic, KeyEvent, Motion, XButtons
from phantombutton.detect.rules import Detector


class PipeEvdev:
    def __init__(self, path, frames):
        self.path = path
        self.r, self.w = os.pipe()
        self._frames = list(frames)
        self._out = []

    def fileno(self):
        return self.r

    def feed(self, n=1):
        for _ in range(n):
            self._out.append(self._frames.pop(0))
            os.write(self.w, b"x")

    def frames(self):
        os.read(self.r, 4096)
        out, self._out = self._out, []
        return out


class PipeHidraw:
    def __init__(self, node):
        self.node = node
        self.r, self.w = os.pipe()

    def fileno(self):
        return self.r

    def send(self, data):
        os.write(self.w, data)

    def reports(self):
        return [(time.monotonic(), os.read(self.r, 64))]


class FakeX:
    def __init__(self):
        self.state = frozenset()

    def watch_events(self):
        return False      # a server without XI 2.1 events: polled

    def pointers(self):
        from phantombutton.input.xinput import XDeviceUse, XPointer
        return [XPointer(11, "Logitech M705", XDeviceUse.SLAVE_POINTER, 2, True, S.NODE)]

    def query_buttons(self, i):
        return (20, self.state)


def test_loop_writes_everything_and_feeds_detector(tmp_path):
    now = time.monotonic()
    ev = PipeEvdev(S.NODE, [S.button_frame(now + 0.01, 0x11F, 1), S.motion_frame(now + 0.02, 1, 1)])
    hr = PipeHidraw(S.RECEIVER)
    fx = FakeX()
    x = live.XPoller(fx)
    m = S.meta()
    m.start = now
    p = tmp_path / "live.yml"
    w = CaptureWriter(p, [S.m705_header()], m)
    det = Detector()
    from phantombutton.detect.events import DeviceAdded
    det.feed(DeviceAdded(now, S.M705_INFO, at_start=True))
    seen = []

    def on_obs(o):
        seen.append(o)
        det.feed(o)

    def script():
        time.sleep(0.05)
        hr.send(bytes([0x10, 0x01, 0x41, 0x04, 0x02, 0x1B, 0x10]))
        time.sleep(0.05)
        ev.feed(1)
        fx.state = frozenset({20})
        time.sleep(0.05)
        ev.feed(1)

    th = threading.Thread(target=script)
    th.start()
    live.run(w, [ev], [hr], x, duration=0.8, on_obs=on_obs, poll=0.05)
    th.join()
    w.close()
    kinds = [type(o).__name__ for o in seen]
    assert kinds.count("HidppTraffic") == 1 and kinds.count("KeyEvent") == 1 and "Motion" in kinds
    assert any(isinstance(o, XButtons) and o.buttons == {20} for o in seen)
    assert [f.rule for f in det.active()] == ["unknown-button"]
    obs = list(Capture(p).observations())
    assert [o for o in obs if isinstance(o, KeyEvent)] == [KeyEvent(round(0.01, 6), S.NODE, 0x11F, 1)]
    assert sum(isinstance(o, Motion) for o in obs) == 1
    assert [o.data[:3] for o in obs if isinstance(o, HidppTraffic)] == [bytes([0x10, 0x01, 0x41])]
    assert [o.buttons for o in obs if isinstance(o, XButtons)][-1] == {20}


class GoneEvdev(PipeEvdev):
    def frames(self):
        raise OSError(19, "No such device")


def test_node_that_leaves_is_recorded_and_the_loop_goes_on(tmp_path):
    from phantombutton.detect.events import DeviceRemoved

    now = time.monotonic()
    gone = GoneEvdev(S.NODE, [[]])
    hr = PipeHidraw(S.RECEIVER)
    m = S.meta()
    m.start = now
    p = tmp_path / "gone.yml"
    w = CaptureWriter(p, [S.m705_header()], m)
    gone.feed(1)
    threading.Timer(0.2, hr.send, [bytes([0x10, 0x01, 0x41, 0x04, 0x42, 0x1B, 0x10])]).start()
    live.run(w, [gone], [hr], None, duration=0.6)
    w.close()
    obs = list(Capture(p).observations())
    assert [type(o) for o in obs[1:]] == [DeviceRemoved, HidppTraffic]
    assert obs[1].node == S.NODE


def test_x_recorded_at_each_poll_while_held_and_at_changes_otherwise():
    fx = FakeX()
    x = live.XPoller(fx)
    got = []
    for i, state in enumerate([set(), set(), {1}, {1}, {1}, set(), set()]):
        fx.state = frozenset(state)
        got += [(s.t, set(s.buttons)) for s in x.changes(float(i))]
    # held at polls 2, 3, 4: each recorded, so analyze knows X still held it then
    assert got == [(0.0, set()), (2.0, {1}), (3.0, {1}), (4.0, {1}), (5.0, set())]


class BrokenX(FakeX):
    def query_buttons(self, i):
        raise ConnectionResetError("X connection closed")


def test_x_that_fails_is_reported_and_evdev_goes_on(tmp_path):
    now = time.monotonic()
    ev = PipeEvdev(S.NODE, [S.motion_frame(now + 0.1, 1, 1)])
    m = S.meta()
    m.start = now
    w = CaptureWriter(tmp_path / "x.yml", [S.m705_header()], m)
    warnings = []
    threading.Timer(0.2, ev.feed).start()
    live.run(w, [ev], [], live.XPoller(BrokenX()), duration=0.5, poll=0.05, warn=warnings.append)
    w.close()
    assert len(warnings) == 1 and "X state is not recorded after" in warnings[0]
    assert "ConnectionResetError: X connection closed" in warnings[0]
    assert sum(isinstance(o, Motion) for o in Capture(tmp_path / "x.yml").observations()) == 1
