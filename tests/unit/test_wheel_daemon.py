"""The daemon's wheel guard on the virtual receiver, and resume through a real private D-Bus:
a dbus-daemon we start, a service that emits org.freedesktop.login1.Manager.PrepareForSleep."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from phantombutton.service.sleep import SleepUnavailable, SleepWatch
from tests.unit.test_daemon_virtual import Harness, config

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow send_type="signal"/>
  </policy>
</busconfig>
"""


@pytest.fixture
def system_bus(tmp_path):
    """A private bus of type "system" on a socket in tmp_path; yields its address."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon not installed")
    sock = tmp_path / "system_bus_socket"
    conf = tmp_path / "system.conf"
    conf.write_text(BUS_CONFIG.format(socket=sock))
    proc = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address"],
                            stdout=subprocess.PIPE, text=True)
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("unix:"), address
        yield address
    finally:
        proc.terminate()
        proc.wait(5)


def emit_prepare_for_sleep(address: str, going_down: bool) -> None:
    """What logind does: a signal from /org/freedesktop/login1 with one boolean."""
    from jeepney import DBusAddress, new_signal
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus=address) as conn:
        emitter = DBusAddress("/org/freedesktop/login1", interface="org.freedesktop.login1.Manager")
        conn.send(new_signal(emitter, "PrepareForSleep", "b", (going_down,)))
        time.sleep(0.05)


def test_sleep_watch_sees_prepare_for_sleep(system_bus):
    watch = SleepWatch(system_bus)
    try:
        assert watch.poll(0) == []
        emit_prepare_for_sleep(system_bus, True)
        emit_prepare_for_sleep(system_bus, False)
        events = []
        end = time.monotonic() + 3
        while len(events) < 2 and time.monotonic() < end:
            events += watch.poll(0.2)
        assert [e.going_down for e in events] == [True, False]
    finally:
        watch.close()


def test_sleep_watch_without_a_bus_says_so(tmp_path):
    with pytest.raises(SleepUnavailable, match="no system D-Bus"):
        SleepWatch(f"unix:path={tmp_path}/nothing")


def notch(h: Harness, slot: int, n: int = 1, gap: float = 0.08) -> None:
    for _ in range(n):
        h.model.wheel_notch(slot, 1)
        h.run(gap)


@pytest.mark.parametrize("profile,slot", [("default", 1), ("mixed", 3)])
def test_daemon_repairs_a_forgotten_wheel_mode(profile, slot):
    h = Harness(config(devices=()), profile=profile)
    h.model.kernel_wheel = True
    for dev in h.model.devices.values():
        dev.kernel_wheel_setup()
    h.run(0.3)
    notch(h, slot, 2)
    assert "wheel in sync" in h.text()
    h.model.forget_wheel_mode(slot)
    t0 = time.monotonic()
    end = time.monotonic() + 4
    while "verified: a notch" not in h.text() and time.monotonic() < end:
        notch(h, slot, 1)
    text = h.text()
    assert "wheel 8x slow: the mouse is in low resolution, the kernel expects high" in text
    assert "verified: a notch" in text and time.monotonic() - t0 < 2.0, text
    units, diverted = h.model.devices[slot].wheel_units()
    assert units == 8 and not diverted


def test_daemon_rechecks_on_resume_over_a_private_system_bus(system_bus):
    h = Harness(config(devices=()))
    h.daemon.wheel.sleep = SleepWatch(system_bus)
    h.run(0.3)
    reads_before = h.model.hidpp_requests()
    h.model.forget_wheel_mode(1)                 # lost during the sleep, no reconnection
    emit_prepare_for_sleep(system_bus, False)
    h.run_until(lambda: "wheel put back in high resolution" in h.text(), what="resume re-check")
    text = h.text()
    assert "logind: system resumed from sleep" in text and h.daemon.wheel.resumes == 1
    assert "why read: resume from sleep" in text
    assert h.model.hidpp_requests() > reads_before
