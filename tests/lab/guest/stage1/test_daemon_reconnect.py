"""`phantombutton daemon` as in the field, against the emulated receiver behind /dev/uhid.

The M705 loses its link and comes back with HID button 16 held (the original bug). The
running daemon must, within 1 s: re-apply side-scroll through the real receiver hidraw node
(the write crosses hid-logitech-dj to the emulator) and release 0x11F through the mouse's
real event node. Also: `udevadm test` runs our rule against the real nodes of the receiver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import evdev
import labkit
import pytest

REPO = labkit.REPO
RULE = REPO / "udev" / "70-phantombutton.rules"


class DaemonProcess:
    def __init__(self, config: Path, log: Path, env: dict | None = None, cwd: Path = REPO):
        self.log = log
        env = dict(env or os.environ, PYTHONUNBUFFERED="1", JOURNAL_STREAM="")
        self.out = open(log, "w")
        self.proc = labkit.popen(
            [labkit.PY, "-m", "phantombutton.cli.main", "--debug", "daemon", "--config", str(config)],
            cwd=cwd, stdout=self.out, stderr=subprocess.STDOUT, env=env, text=True)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def count(self, words: str) -> int:
        return self.text().count(words)

    def wait(self, words: str, n: int = 1, timeout: float = 20.0) -> None:
        labkit.wait_for(lambda: self.count(words) >= n or self.proc.poll() is not None, timeout,
                        0.02, what=f"daemon line {words!r} x{n}")
        assert self.count(words) >= n, f"daemon exited ({self.proc.returncode}):\n{self.text()}"

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(10)
        finally:
            self.out.close()


def side_scroll(receiver_node: str) -> bool:
    h = labkit.Hidraw(receiver_node)
    try:
        reply = h.request(bytes((0x10, 0x01, 0x81, 0x01, 0, 0, 0)))
    finally:
        h.close()
    assert reply[2] == 0x81, reply.hex(" ")
    return bool(reply[4] & 0x02)


def key_events(dev: evdev.InputDevice, code: int, until: float) -> list[tuple[float, int]]:
    """(monotonic-clock timestamp, value) of EV_KEY `code` until `until` (monotonic)."""
    import select

    out = []
    while time.monotonic() < until:
        r, _, _ = select.select([dev.fd], [], [], max(0.0, until - time.monotonic()))
        if not r:
            break
        for e in dev.read():
            if e.type == evdev.ecodes.EV_KEY and e.code == code:
                out.append((e.timestamp(), e.value))
        if out and out[-1][1] == 0:
            break
    return out


@pytest.fixture
def daemon(fresh_bridge, tmp_path, request):
    cfg = tmp_path / "config.toml"
    # the M705 powers on with side-scroll on; the user wants it off: a write per connection
    cfg.write_text('[device."101B"]\nside-scroll = false\n')
    d = DaemonProcess(cfg, tmp_path / "daemon.log")
    yield d
    d.stop()
    labkit.OUT.mkdir(parents=True, exist_ok=True)   # kept for the report
    with open(labkit.OUT / "stage1-daemon.log", "a") as out:
        out.write(f"# ---- {request.node.name}\n{d.text()}")


def test_power_cycle_with_phantom_held_is_fixed_within_1s(fresh_bridge, daemon):
    receiver = labkit.receiver_node()
    event_node = labkit.m705_event_node()
    daemon.wait("receiver attached")
    daemon.wait("slot 1 (101B): set side-scroll=off, read back off")
    assert not side_scroll(receiver)

    fresh_bridge.call("disconnect", slot=1)                  # link loss
    daemon.wait("slot 1: link lost")
    time.sleep(0.3)
    since = time.monotonic()

    dev = evdev.InputDevice(event_node)
    try:
        import fcntl
        fcntl.ioctl(dev.fd, 0x400445A0, bytes((1, 0, 0, 0)))   # EVIOCSCLOCKID CLOCK_MONOTONIC
        t0 = time.monotonic()
        fresh_bridge.call("connect", slot=1, power_cycle=True)   # switched on: register reset
        fresh_bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        events = key_events(dev, labkit.BTN_PHANTOM, t0 + 3.0)
    finally:
        dev.close()

    assert events and events[0][1] == 1, f"the kernel never pressed 0x11F: {events}\n{daemon.text()}"
    assert events[-1][1] == 0, f"0x11F not released within 3 s: {events}\n{daemon.text()}"
    pressed, released = events[0][0], events[-1][0]
    assert released - pressed < 1.0, f"release took {released - pressed:.3f} s"
    daemon.wait("released by step 1 (release written to the event node), verified")
    assert daemon.count(f"wrote EV_KEY 0x11F 0 + SYN_REPORT to {event_node} -> kernel up") == 1
    assert evdev.InputDevice(event_node).active_keys() == []

    # side-scroll re-applied after the power cycle, through the receiver's hidraw node
    daemon.wait("slot 1 (101B): set side-scroll=off, read back off", n=2, timeout=3)
    assert not side_scroll(receiver)
    writes = [t for t in fresh_bridge.traffic(since)
              if t[1] == "out" and t[2].replace(" ", "").startswith("10018001")]
    ours = [t for t in writes if t[3] == "output"]          # written to the receiver hidraw node
    kernel = [t for t in writes if t[3] == "set_report"]    # hid-logitech-hidpp's connect probe
    assert len(ours) == 1, writes                           # exactly once for this connection
    assert ours[0][2] == "10 01 80 01 40 00 00", ours       # kernel's 0x40 kept, 0x02 cleared
    assert ours[0][0] - t0 < 1.0
    # the daemon waited for the kernel's own set-up (it sets smooth-scroll, 0x40) and wrote after
    assert all(k[0] < ours[0][0] for k in kernel), writes


def test_daemon_survives_receiver_unplug_and_replug(fresh_bridge, daemon):
    daemon.wait("slot 1 (101B): set side-scroll=off")
    fresh_bridge.stop()                                      # the uhid device is destroyed
    daemon.wait("dropped, rescanning")         # DeviceGone, or a failed read: both drop it
    assert daemon.proc.poll() is None
    fresh_bridge.start()
    daemon.wait("receiver attached", n=2)
    daemon.wait("slot 1 (101B): set side-scroll=off", n=2)


@pytest.mark.skipif(not shutil.which("udevadm"), reason="udevadm not installed")
def test_udevadm_test_applies_the_rule_to_the_real_nodes(fresh_bridge, tmp_path):
    receiver = labkit.receiver_node()
    event_node = labkit.m705_event_node()
    Path("/run/udev/rules.d").mkdir(parents=True, exist_ok=True)
    target = Path("/run/udev/rules.d") / RULE.name
    shutil.copy(RULE, target)
    try:
        def run(node: str) -> str:
            sysfs = labkit.sh("udevadm", "info", "--query=path", f"--name={node}").stdout.strip()
            p = labkit.sh("udevadm", "test", "--action=add", sysfs, check=False)
            return p.stdout + p.stderr
        out = run(receiver)
        assert f"{RULE.name}:" not in out.replace(f"Reading rules file: /run/udev/rules.d/{RULE.name}", ""), out
        assert "TAGS=" in out and ":uaccess:" in out and ":systemd:" in out, out
        assert "SYSTEMD_USER_WANTS=phantombutton.service" in out, out
        child = run(labkit.m705_hidraw())
        assert ":uaccess:" in child and "SYSTEMD_USER_WANTS" not in child, child
        mouse = run(event_node)
        assert "PHANTOMBUTTON_PAIRED=1" in mouse and ":uaccess:" in mouse, mouse
    finally:
        target.unlink()


def test_release_latency_after_reconnect(fresh_bridge, tmp_path, capsys):
    """HID button 16 held right after a reconnect (the bug): kernel timestamps of the press and
    of the daemon's release on an observer fd, over 10 reconnects (100 with
    runner.py --bench). No hand can press it on an M705, so there is no held-for wait: the
    goal is <= 100 ms in this TCG guest. The figure goes to tests/lab/out/."""
    line, times = release_latency(fresh_bridge, tmp_path, "daemon")
    with capsys.disabled():
        print("\n" + line)
    assert max(times) < 1.0, line


def release_latency(bridge, tmp_path: Path, label: str, cwd: Path = REPO) -> tuple[str, list[float]]:
    """The measurement; `cwd` may hold another build of phantombutton (a before/after run)."""
    import fcntl
    import statistics

    trials = labkit.trials(ci=10, bench=100)
    cfg = tmp_path / "config.toml"
    # every trial is a new phantom of one mouse: let none of them count as a re-assert
    cfg.write_text('[detection]\nreassert-limit = 1000\n\n[device."101B"]\nside-scroll = false\n')
    d = DaemonProcess(cfg, tmp_path / "daemon.log", cwd=cwd)
    times, t_start = [], time.monotonic()
    try:
        d.wait("slot 1 (101B): set side-scroll=off, read back off")
        dev = evdev.InputDevice(labkit.m705_event_node())
        fcntl.ioctl(dev.fd, 0x400445A0, bytes((1, 0, 0, 0)))   # EVIOCSCLOCKID CLOCK_MONOTONIC
        try:
            for i in range(trials):
                bridge.call("disconnect", slot=1)
                d.wait("slot 1: link lost", n=i + 1)
                t0 = time.monotonic()
                bridge.call("connect", slot=1, power_cycle=True)
                bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
                events = key_events(dev, labkit.BTN_PHANTOM, t0 + 3.0)
                assert [v for _, v in events] == [1, 0], (i, events, d.text()[-3000:])
                times.append(events[1][0] - events[0][0])
                d.wait("released by step 1 (release written to the event node), verified", n=i + 1)
                bridge.call("press", slot=1, buttons=0)
                d.wait("slot 1 (101B): set side-scroll=off, read back off", n=i + 2)   # connection done
        finally:
            dev.close()
    finally:
        d.stop()
        labkit.OUT.mkdir(parents=True, exist_ok=True)
        with open(labkit.OUT / "stage1-daemon.log", "a") as out:
            out.write(f"# ---- release latency ({label})\n{d.text()}")
    assert "Traceback" not in d.text()
    times.sort()
    p50, worst = statistics.median(times) * 1000, times[-1] * 1000
    p90 = times[max(0, int(len(times) * 0.9) - 1)] * 1000
    line = (f"{label} release latency after a reconnect (TCG guest, kernel timestamps press -> "
            f"release of 0x11F, verified): n={len(times)} p50 {p50:.1f} ms, p90 {p90:.1f} ms, "
            f"max {worst:.1f} ms (goal <= 100 ms); {time.monotonic() - t_start:.1f} s")
    with open(labkit.OUT / "bench-daemon-release-latency.txt", "a") as out:
        out.write(line + "\n")
    return line, times
