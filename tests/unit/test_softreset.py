"""Receiver soft reset over a sysfs tree; the driver's unbind/bind are played by a fake
kernel at the OS boundary (files), the logic (ids, waits, verification) is the real one."""

from __future__ import annotations

import os

import pytest

from phantombutton.errors import AccessDenied
from phantombutton.recovery.softreset import soft_reset

RX = "0003:046D:C52B.0003"


def tree(tmp_path):
    drv = tmp_path / "bus/hid/drivers/logitech-djreceiver"
    drv.mkdir(parents=True)
    (drv / "unbind").write_text("")
    (drv / "bind").write_text("")
    hid = tmp_path / "devices/usb1" / RX
    (hid / "hidraw/hidraw1").mkdir(parents=True)
    for child in ("0003:046D:101B.0004", "0003:046D:406D.0005"):
        (hid / child).mkdir()
    os.symlink(drv, hid / "driver")
    (tmp_path / "class/hidraw/hidraw1").mkdir(parents=True)
    os.symlink(hid, tmp_path / "class/hidraw/hidraw1/device")
    return drv, hid


class FakeKernel:
    """Reacts to writes like the HID core: unbind drops the driver and children; bind
    brings them back (children with new ids) unless `comes_back` is False."""

    def __init__(self, drv, hid, comes_back=True):
        self.drv, self.hid, self.comes_back, self.t = drv, hid, comes_back, 0.0

    def clock(self):
        return self.t

    def sleep(self, s):
        self.t += s
        if (self.drv / "unbind").read_text() == RX and (self.hid / "driver").exists():
            os.unlink(self.hid / "driver")
            for c in list(self.hid.iterdir()):
                if c.name.startswith("0003:"):
                    c.rmdir()
            (self.hid / "hidraw/hidraw1").rmdir()
            (self.drv / "unbind").write_text("")
        if (self.drv / "bind").read_text() == RX and self.comes_back:
            os.symlink(self.drv, self.hid / "driver")
            (self.hid / "hidraw/hidraw2").mkdir()
            for child in ("0003:046D:101B.0006", "0003:046D:406D.0007"):
                (self.hid / child).mkdir()
            (self.drv / "bind").write_text("")


def test_soft_reset_unbinds_rebinds_and_verifies_children(tmp_path):
    drv, hid = tree(tmp_path)
    k = FakeKernel(drv, hid)
    out = soft_reset(str(tmp_path / "class/hidraw/hidraw1"), sysfs=str(tmp_path), clock=k.clock, sleep=k.sleep)
    assert out.ok and out.hid_id == RX and out.driver == "logitech-djreceiver"
    assert out.children_before == out.children_after == ["101B", "406D"]
    assert out.nodes_after == ["/dev/hidraw2"]
    assert out.steps[0] == f"wrote {RX} to {drv}/unbind" and out.steps[1].endswith("/bind")
    assert "soft reset done" in out.summary()


def test_soft_reset_that_does_not_come_back_says_so(tmp_path):
    drv, hid = tree(tmp_path)
    k = FakeKernel(drv, hid, comes_back=False)
    out = soft_reset(str(tmp_path / "class/hidraw/hidraw1"), sysfs=str(tmp_path), timeout=3,
                     clock=k.clock, sleep=k.sleep)
    assert not out.ok and "FAILED" in out.summary() and "unbound after 3 s" in out.steps[-1]


def test_soft_reset_without_root_is_access_denied(tmp_path, monkeypatch):
    drv, hid = tree(tmp_path)
    import builtins

    real_open = builtins.open

    def denied(path, mode="r", *a, **k):   # what a non-root user gets from sysfs
        if "w" in mode and str(path).endswith("unbind"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", denied)
    with pytest.raises(AccessDenied, match="run it as root"):
        soft_reset(str(tmp_path / "class/hidraw/hidraw1"), sysfs=str(tmp_path))


def test_stuck_receiver_is_soft_reset_once_by_the_wheel_guard(tmp_path):
    """A mouse read times out and the receiver itself does not answer either: with fix, the
    guard's hook soft-resets that receiver (once: a second failure within RESET_GAP is only
    reported as a failed read)."""
    from phantombutton.recovery.softreset import StuckReceiver
    from phantombutton.recovery.wheel import EngineAccess, WheelGuard
    from phantombutton.transport.engine import Engine
    from phantombutton.transport.virtual import VirtualTransport
    from phantombutton.virtual.receiver import VirtualReceiver

    drv, hid = tree(tmp_path)
    k = FakeKernel(drv, hid)
    rx = VirtualReceiver(kernel_wheel=True)
    access = EngineAccess(lambda node: Engine(VirtualTransport(rx, node=node), receiver_timeout=0.2,
                                              device_timeout=0.2, busy_retries=0))
    stuck = StuckReceiver(access, fix=True, sysfs=str(tmp_path), clock=lambda: 5000.0)   # the daemon's clock
    stuck_reset = stuck.__call__

    def hook(key, error):   # the fake kernel's clock for the reset's waits
        import phantombutton.recovery.softreset as sr

        saved = sr.soft_reset
        sr.soft_reset = lambda path, sysfs: saved(path, sysfs=sysfs, clock=k.clock, sleep=k.sleep)
        try:
            return stuck_reset(key, error)
        finally:
            sr.soft_reset = saved

    guard = WheelGuard(access, fix=True, listeners=lambda key: (), unreachable=hook)
    key = ("/dev/hidraw1", 1)
    assert [e.kind for e in guard.check(key, reason="test")] == ["ok"]
    rx.lose_replies(1000)                     # nothing answers any more
    events = guard.check(key, reason="test")
    assert [e.kind for e in events] == ["note", "repaired"], events
    assert "did not answer HID++: receiver soft reset done: wrote " + RX in events[1].message
    assert events[1].t == 5000.0              # stamped by the guard's clock, not the reset's own
    assert access.engines == {}               # reopened at the next use
    events = guard.check(key, reason="test")
    assert [e.kind for e in events] == ["note"]   # no second reset within RESET_GAP
