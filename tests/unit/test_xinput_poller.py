"""The watcher's X poller against a real Xvfb: idle costs no round trip, a press anywhere
(even during the implicit grab it starts) is seen through XI2 raw events, the slaves are
queried when the master holds something, the device list follows hierarchy changes, and the
watch loop wakes on X events instead of polling."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from phantombutton.input.xinput import XSession
from phantombutton.recovery.watcher import Watcher, XPoller

pytestmark = pytest.mark.xvfb


@pytest.fixture
def two(xvfb):
    """Our session and another client's (the one that presses, like a device would)."""
    ours, other = XSession(xvfb), XSession(xvfb)
    yield ours, other
    mouse = next(p for p in other.pointers() if p.name == "Xvfb mouse")
    if 3 in other.query_buttons(mouse.id)[1]:
        other.fake_device_button(mouse.id, 3, press=False)
    ours.close()
    other.close()


def mouse_of(x):
    return next(p for p in x.pointers() if p.name == "Xvfb mouse")


def settle_poll(poller, now):
    """Raw events travel through the server: give them a moment, then poll."""
    time.sleep(0.05)
    return poller.poll(now)


def test_idle_ticks_send_no_request_until_the_periodic_check(two):
    ours, _ = two
    p = XPoller(ours, check=2.0, sweep=10.0)
    assert p.watched, "XI 2.2 raw/hierarchy events refused by Xvfb"
    first = p.poll(100.0)
    assert {s.is_master for s in first} == {True, False}     # list + full sweep at start
    n = p.queries
    for i in range(1, 7):                                     # 1.5 s of idle ticks
        assert p.poll(100.0 + 0.25 * i) == []
    assert p.queries == n and not p.busy
    masters = p.poll(102.1)                                   # the 2 s check: master only
    assert masters and all(s.is_master for s in masters) and p.queries == n + len(masters)


def test_press_is_seen_through_raw_events_then_slaves_until_release(two):
    ours, other = two
    p = XPoller(ours)
    p.poll(0.0)
    mouse = mouse_of(other)
    other.fake_device_button(mouse.id, 3, press=True)        # highest button: grab starts
    got = settle_poll(p, 0.25)
    master = [s for s in got if s.is_master]
    slave = [s for s in got if s.device_id == mouse.id]
    assert master and 3 in master[0].buttons
    assert slave and 3 in slave[0].buttons                    # master holds: slaves queried
    assert got.index(slave[0]) < got.index(master[0])         # slaves first, for the detector
    assert p.busy
    still = p.poll(0.5)                                       # held: polled every tick
    assert any(s.is_master and 3 in s.buttons for s in still)
    other.fake_device_button(mouse.id, 3, press=False)
    up = settle_poll(p, 0.75)
    assert any(s.device_id == mouse.id and not s.buttons for s in up)   # the slave seen going up
    p.poll(1.0)
    assert not p.busy and p.poll(1.25) == []


def test_hierarchy_change_relists(two, xvfb):
    if not shutil.which("xinput"):
        pytest.skip("xinput not installed")
    ours, _ = two
    p = XPoller(ours)
    p.poll(0.0)
    listed = p.listings
    env = dict(os.environ, DISPLAY=xvfb)
    subprocess.run(["xinput", "create-master", "pbtest"], env=env, check=True)
    try:
        got = settle_poll(p, 0.25)
        assert p.listings == listed + 1
        names = {q.name for q in p._pointers}
        assert "pbtest pointer" in names and sum(s.is_master for s in got) == 2
    finally:
        ids = subprocess.run(["xinput", "list", "--id-only", "pbtest pointer"], env=env,
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["xinput", "remove-master", ids[0]], env=env, check=False)


def test_idle_watch_sleeps_until_x_wakes_it(two):
    from phantombutton.detect.rules import Detector
    from phantombutton.virtual.platform import VirtualPlatform
    from phantombutton.recovery.live import LiveLayers
    from phantombutton.virtual.receiver import VirtualReceiver

    ours, other = two
    source = VirtualPlatform(receiver=VirtualReceiver("default")).source()
    w = Watcher(source, Detector(), x=ours, layers=LiveLayers(nodes=source), idle_interval=2.0)
    w.start()
    w.step()
    t0 = time.monotonic()
    w.step(max_wait=0.6)                  # idle: nothing wakes it before max_wait
    assert time.monotonic() - t0 >= 0.55
    mouse = mouse_of(other)
    t0 = time.monotonic()
    other.fake_device_button(mouse.id, 1, press=True)
    w.step(max_wait=1.5)                  # the raw event wakes it, the tick queries X
    woke = time.monotonic() - t0
    other.fake_device_button(mouse.id, 1, press=False)
    assert woke < 0.5
    assert 1 in w.detector.x_masters().get(next(p.id for p in ours.pointers() if p.is_master), ())
