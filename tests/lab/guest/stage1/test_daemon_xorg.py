"""The daemon ends X's stuck grab: Xorg (evdev and libinput drivers) on the emulated M705.

Uses the stage-2 Xorg fixtures (conftest.py); it lives beside the other daemon lab tests.
Two ways the phantom meets the daemon: pressed while it listens (a DJ report with the bit),
and already held when it starts (found through EVIOCGKEY at the connection).
"""

from __future__ import annotations

import fcntl
import os
import time

import evdev

import labkit
import pytest

from test_daemon_reconnect import DaemonProcess, key_events


@pytest.fixture
def xdaemon(xorg, tmp_path, request):
    def start() -> DaemonProcess:
        cfg = tmp_path / "config.toml"
        cfg.write_text("")
        env = dict(os.environ, **xorg.x.env())
        d = DaemonProcess(cfg, tmp_path / "daemon.log", env=env)
        started.append(d)
        return d

    started: list[DaemonProcess] = []
    yield start
    for d in started:
        d.stop()
        labkit.OUT.mkdir(parents=True, exist_ok=True)
        with open(labkit.OUT / "stage1-daemon-xorg.log", "a") as out:
            out.write(f"# ---- {request.node.name}\n{d.text()}")
    xorg.reset()


def _released_in_x(s) -> None:
    labkit.wait_for(lambda: not s.x.button_down(20), 5, 0.05, what="button[20]=up")
    assert labkit.try_grab_pointer(s.x) == "GrabSuccess"


def test_phantom_pressed_while_listening_is_released_in_x(xorg, xdaemon):
    xorg.reset()
    d = xdaemon()
    d.wait("slot 1 (101B): connected")
    time.sleep(0.5)                      # the connection's own check is done
    dev = evdev.InputDevice(xorg.event_node)
    try:
        fcntl.ioctl(dev.fd, 0x400445A0, bytes((1, 0, 0, 0)))   # EVIOCSCLOCKID CLOCK_MONOTONIC
        t0 = time.monotonic()
        xorg.bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        events = key_events(dev, labkit.BTN_PHANTOM, t0 + 5.0)
    finally:
        dev.close()
    assert [v for _, v in events] == [1, 0], events
    assert events[1][0] - events[0][0] < 1.0, f"released after {events[1][0] - events[0][0]:.3f} s"
    d.wait("released by step 1", timeout=10)
    _released_in_x(xorg)
    labkit.wait_for(lambda: ("release", 20) in xorg.client.poll(), 5, what="ButtonRelease 20")
    assert ("press", 20) in xorg.client.events
    # verified in X too: the chain read the slave's state back through QueryDeviceState
    assert d.count("-> kernel up, X slave up") == 1, d.text()


def test_phantom_held_before_the_daemon_starts_is_released(phantom_xorg, xdaemon):
    s = phantom_xorg                     # X button 20 down, grab stuck
    assert labkit.try_grab_pointer(s.x) == "AlreadyGrabbed"
    d = xdaemon()
    d.wait("kernel holds 0x11F at connection", timeout=20)
    d.wait("released by step 1", timeout=10)
    _released_in_x(s)
