"""The wheel desync with the real hid-logitech-hidpp (stage 1, no X).

The mouse (M705 101B: register 0x01; M705 406D: HIRES_WHEEL 0x2121) forgets the wheel mode
the kernel set at connect, with no reconnection; the user keeps scrolling. `watch --fix` and
the daemon must repair it within 2 s of the first slow notch, verified by one REL_WHEEL per
notch on the real event node. Also: the benchmark (detection + repair time, HID++ requests
per minute of normal scrolling), a resume (PrepareForSleep(false) on a private system bus
in the guest), and the receiver soft reset (unbind/bind of the uhid receiver).
Figures go to the lab log (print)."""

from __future__ import annotations

import os
import select
import shutil
import struct
import subprocess
import time

import labkit
import pytest
from test_daemon_reconnect import DaemonProcess
from test_watch_lab import Watch

EVENT = struct.Struct("=qqHHi")
EV_REL, REL_WHEEL, REL_WHEEL_HI_RES = 2, 0x08, 0x0B
NOTCH_GAP = 0.15          # a hand turning the wheel: ~7 notches a second


def bench(line: str) -> None:
    """A benchmark figure: printed, and kept in tests/lab/out/stage1-wheel-bench.txt."""
    print(line)
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    with open(labkit.OUT / "stage1-wheel-bench.txt", "a") as f:
        f.write(line.strip() + "\n")


class WheelCounter:
    """REL_WHEEL / REL_WHEEL_HI_RES on the mouse's real event node."""

    def __init__(self, node: str):
        self.fd = os.open(node, os.O_RDONLY | os.O_NONBLOCK)

    def read(self, wait: float = 0.0) -> tuple[int, int]:
        low = hi = 0
        end = time.monotonic() + wait
        while True:
            r, _, _ = select.select([self.fd], [], [], max(0.0, end - time.monotonic()))
            if not r:
                return low, hi
            data = os.read(self.fd, EVENT.size * 64)
            for _s, _u, typ, code, value in EVENT.iter_unpack(data[: len(data) - len(data) % EVENT.size]):
                if typ == EV_REL and code == REL_WHEEL:
                    low += value
                elif typ == EV_REL and code == REL_WHEEL_HI_RES:
                    hi += value

    def close(self) -> None:
        os.close(self.fd)


def notch(bridge, wheel: WheelCounter) -> tuple[int, int]:
    """One notch; (REL_WHEEL, REL_WHEEL_HI_RES) it produced on the event node."""
    bridge.call("wheel_notch", slot=1, notches=1)
    return wheel.read(NOTCH_GAP)


@pytest.fixture(params=["default", "m705-406d"])
def profile_bridge(lab_modules, request):
    b = labkit.Bridge(request.param).start()
    yield b
    b.stop()


def hidpp_requests_out(bridge, since: float) -> int:
    """HID++ requests the host sent the receiver since `since` (kernel, us, anyone)."""
    return sum(1 for t in bridge.traffic(since) if t[1] == "out" and t[2][:2] in ("10", "11"))


def test_watch_fix_repairs_a_forgotten_wheel_mode(profile_bridge):
    bridge = profile_bridge
    node = labkit.m705_event_node()
    wheel = WheelCounter(node)
    w = Watch("--fix")
    try:
        w.wait_attached(node)
        w.wait_event(lambda e: "watching" in e.get("message", ""), what="watching line")
        assert notch(bridge, wheel)[0] == 1                       # in sync: first use -> one read
        w.wait_event(lambda e: e["event"] == "wheel-ok", what="first-use wheel check")
        # normal scrolling: the benchmark of HID++ requests while nothing is wrong
        since, t0 = time.monotonic(), time.monotonic()
        lows = [notch(bridge, wheel)[0] for _ in range(40)]
        span = time.monotonic() - t0
        normal = hidpp_requests_out(bridge, since)
        assert lows == [1] * 40, lows
        bridge.call("forget_wheel_mode", slot=1)                  # no reconnection
        slow = []
        first_slow = time.monotonic()
        repaired = None
        while time.monotonic() - first_slow < 4.0 and repaired is None:
            slow.append(notch(bridge, wheel))
            repaired = next((e for e in w.poll() if e["event"] == "wheel-repaired"), None)
        assert repaired, f"no repair; notches {slow}; watch: {w.poll()[-5:]}"
        finding = next(e for e in w.poll() if e["event"] == "wheel-finding")
        assert "8x slow: the mouse is in low resolution, the kernel expects high" in finding["message"]
        assert slow[0][1] == 15 and slow[0][0] == 0               # the desync as the kernel shows it
        after = [notch(bridge, wheel)[0] for _ in range(4)]
        verified = w.wait_event(lambda e: e["event"] == "wheel-verified", what="verified repair")
        assert after == [1, 1, 1, 1], after                       # one REL_WHEEL per notch again
        fix_time = repaired["t"] - first_slow
        bench(f"BENCH watch --fix {bridge.profile}: first slow notch -> repaired {fix_time:.3f} s, "
              f"-> verified {verified['t'] - first_slow:.3f} s ({len(slow)} slow notches); "
              f"HID++ requests during {span:.1f} s of normal scrolling: {normal} "
              f"({normal * 60 / span:.1f}/min)")
        assert fix_time < 2.0
        assert normal * 60 / span <= 1.0
    finally:
        wheel.close()
        w.stop()


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
"""

EMIT = """
import sys
from jeepney import DBusAddress, new_signal
from jeepney.io.blocking import open_dbus_connection
with open_dbus_connection(bus=sys.argv[1]) as c:
    c.send(new_signal(DBusAddress("/org/freedesktop/login1", interface="org.freedesktop.login1.Manager"),
                      "PrepareForSleep", "b", (False,)))
"""


@pytest.fixture
def system_bus(tmp_path):
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon not installed")
    conf = tmp_path / "system.conf"
    conf.write_text(BUS_CONFIG.format(socket=tmp_path / "bus"))
    proc = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    yield address
    proc.terminate()
    proc.wait(5)


def test_daemon_repairs_on_scroll_and_rechecks_on_resume(fresh_bridge, system_bus, tmp_path):
    node = labkit.m705_event_node()
    wheel = WheelCounter(node)
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    d = DaemonProcess(cfg, tmp_path / "daemon.log", env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=system_bus))
    try:
        d.wait("receiver attached")
        d.wait("connected")
        notch(fresh_bridge, wheel)
        d.wait("wheel in sync")
        fresh_bridge.call("forget_wheel_mode", slot=1)
        first_slow = time.monotonic()
        while time.monotonic() - first_slow < 4.0 and "wheel put back" not in d.text():
            notch(fresh_bridge, wheel)
        took = time.monotonic() - first_slow
        assert "8x slow" in d.text(), d.text()
        assert [notch(fresh_bridge, wheel)[0] for _ in range(3)] == [1, 1, 1]
        d.wait("verified: a notch")
        bench(f"BENCH daemon wheel: first slow notch -> repaired within {took:.3f} s")
        assert took < 2.0
        # resume: the mode is lost in the sleep; no wheel use, no reconnection
        fresh_bridge.call("forget_wheel_mode", slot=1)
        t0 = time.monotonic()
        labkit.run([labkit.PY, "-c", EMIT, system_bus], check=True, timeout=30)
        d.wait("system resumed from sleep")
        d.wait("wheel put back in high resolution", n=2)
        bench(f"BENCH resume re-check: PrepareForSleep(false) -> wheel repaired {time.monotonic() - t0:.3f} s")
        assert "why read: resume from sleep" in d.text()
        assert notch(fresh_bridge, wheel)[0] == 1
    finally:
        wheel.close()
        d.stop()
        labkit.OUT.mkdir(parents=True, exist_ok=True)
        with open(labkit.OUT / "stage1-daemon.log", "a") as out:
            out.write(f"# ---- wheel/resume\n{d.text()}")


def test_soft_reset_brings_the_receiver_and_its_mouse_back(fresh_bridge):
    before = labkit.m705_event_node()
    r = labkit.phantombutton("reset-receiver", "--json", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    import json

    out = json.loads(r.stdout)
    assert out["ok"] and out["driver"] == "logitech-djreceiver"
    assert out["children_before"] == out["children_after"] == ["101B"]
    assert out["steps"][0].startswith(f"wrote {out['hid_id']} to /sys/bus/hid/drivers/logitech-djreceiver/unbind")
    after = labkit.m705_event_node()
    bench(f"BENCH soft reset: {out['seconds']:.2f} s; event node {before} -> {after}; "
          f"hidraw {out['nodes_after']}")
    wheel = WheelCounter(after)
    try:   # the rebound driver probed the mouse again (hi-res wheel included): input flows
        assert notch(fresh_bridge, wheel) == (1, 120)
    finally:
        wheel.close()


def test_watch_fix_soft_resets_a_receiver_that_stopped_answering(fresh_bridge):
    """The receiver swallows the next HID++ answers (the mouse read and the receiver's own
    register 0x02): `watch --fix` unbinds/rebinds it, and the mouse comes back by itself."""
    node = labkit.m705_event_node()
    wheel = WheelCounter(node)
    w = Watch("--fix")
    try:
        w.wait_attached(node)
        w.wait_event(lambda e: "watching" in e.get("message", ""), what="watching line")
        notch(fresh_bridge, wheel)
        w.wait_event(lambda e: e["event"] == "wheel-ok", what="first-use wheel check")
        fresh_bridge.call("lose_replies", n=2)
        fresh_bridge.call("forget_wheel_mode", slot=1)
        t0 = time.monotonic()
        for _ in range(4):
            notch(fresh_bridge, wheel)
        reset = w.wait_event(lambda e: e["event"] in ("wheel-repaired", "wheel-failed")
                             and "receiver" in e["device"], timeout=30, what="soft reset")
        assert reset["event"] == "wheel-repaired", reset
        assert "receiver soft reset done: wrote" in reset["message"], reset
        bench(f"BENCH watch --fix soft reset of a stuck receiver: {reset['t'] - t0:.2f} s after the "
              f"first slow notch (4 s mouse timeout + 1 s receiver probe + rebind)")
    finally:
        wheel.close()
        w.stop()
    after = WheelCounter(labkit.m705_event_node())
    try:   # the driver's probe after the rebind set the hi-res wheel again: one REL_WHEEL a notch
        assert notch(fresh_bridge, after) == (1, 120)
    finally:
        after.close()


def _first_motion(node: str, bridge, timeout: float = 3.0) -> float | None:
    """Move the mouse until an EV_REL arrives on `node`; the monotonic time it was read."""
    fd = os.open(node, os.O_RDONLY | os.O_NONBLOCK)
    try:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            bridge.call("move", slot=1, dx=3, dy=1)
            r, _, _ = select.select([fd], [], [], 0.1)
            if r and any(typ == EV_REL for _s, _u, typ, _c, _v in EVENT.iter_unpack(os.read(fd, EVENT.size * 64))):
                return time.monotonic()
        return None
    finally:
        os.close(fd)


def test_watch_fix_soft_resets_when_the_mouse_gives_no_input(fresh_bridge):
    """The mouse's child device loses hid-logitech-hidpp (unbound by hand: the kernel's input
    path for it is stuck, its event node gone) while the receiver still forwards its reports:
    `watch --fix` sees the reports on the receiver's hidraw node with no evdev event, soft-resets
    the receiver, and the rebound driver gives the mouse a new event node where motion arrives."""
    node, rx = labkit.m705_event_node(), labkit.receiver_node()
    child = os.path.basename(os.path.realpath(f"/sys/class/hidraw/{os.path.basename(labkit.m705_hidraw())}/device"))
    w = Watch("--fix")
    try:
        w.wait_attached(node, rx)
        w.wait_event(lambda e: "watching" in e.get("message", ""), what="watching line")
        with open("/sys/bus/hid/drivers/logitech-hidpp-device/unbind", "w") as f:
            f.write(child)
        labkit.wait_for(lambda: not labkit.event_nodes(labkit.M705_NAME), what="the event node to go")
        t0 = time.monotonic()
        for _ in range(12):                  # the user moves the mouse: nothing on screen
            fresh_bridge.call("move", slot=1, dx=4, dy=2)
            time.sleep(0.1)
        reset = w.wait_event(lambda e: e["event"] in ("wheel-repaired", "wheel-failed", "wheel-finding")
                             and "receiver" in e["device"], timeout=20, what="soft reset")
        assert reset["event"] == "wheel-repaired", reset
        assert reset["device"] == f"receiver {rx}", reset
        assert "online but giving no input" in reset["message"], reset
        assert f"mouse reports from slot 1 on {rx}" in reset["message"], reset
        assert "no event node for that slot" in reset["message"], reset
        assert "receiver soft reset done: wrote" in reset["message"], reset
    finally:
        out = w.stop()
    after = labkit.m705_event_node()
    verified = _first_motion(after, fresh_bridge)
    assert verified is not None, f"no EV_REL on {after} after the soft reset; watch: {out[-2000:]}"
    bench(f"BENCH online-but-no-input: first stalled report -> soft reset done {reset['t'] - t0:.2f} s, "
          f"-> motion verified on {after} {verified - t0:.2f} s (node {node} -> {after})")


def test_reset_receiver_if_stuck_resets_when_the_mouse_gives_no_input(fresh_bridge):
    """The same stall, by hand: `reset-receiver --if-stuck` finds the receiver answering, watches
    3 s while the mouse moves, sees the reports with no event node, and soft-resets it."""
    labkit.m705_event_node()
    child = os.path.basename(os.path.realpath(f"/sys/class/hidraw/{os.path.basename(labkit.m705_hidraw())}/device"))
    r = labkit.phantombutton("reset-receiver", "--if-stuck", timeout=30)   # no stall: nothing done
    assert r.returncode == 0 and "no reset needed" in r.stdout, r.stdout + r.stderr
    with open("/sys/bus/hid/drivers/logitech-hidpp-device/unbind", "w") as f:
        f.write(child)
    labkit.wait_for(lambda: not labkit.event_nodes(labkit.M705_NAME), what="the event node to go")
    proc = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "reset-receiver", "--if-stuck"],
                            cwd=labkit.REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        fresh_bridge.call("move", slot=1, dx=4, dy=2)
        time.sleep(0.1)
    out, err = proc.communicate()
    assert proc.returncode == 0, out + err
    assert "online but giving no input" in err and "no event node for that slot" in err, err
    assert "receiver soft reset done" in out, out
    assert _first_motion(labkit.m705_event_node(), fresh_bridge) is not None
