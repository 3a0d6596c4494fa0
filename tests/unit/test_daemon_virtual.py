"""The daemon on the virtual platform: the real model, transport, engine, settings, on a
simulated clock (the daemon's clock and sleep, the model's clock): no test waits in real time.

Mostly the release is recorded here; test_recovery_chain_releases_on_the_virtual_kernel runs
the chain on the kernel model, and tests/lab/guest/stage1/test_daemon_reconnect.py through the
real kernel. Register writes are counted in the model's own log (what the "mouse" received).
"""

from __future__ import annotations

import dataclasses

from phantombutton.service.config import Config, DaemonConfig, DetectionConfig, DeviceConfig, FixConfig
from phantombutton.service.daemon import Daemon
from phantombutton import models
from phantombutton.recovery.chain import Outcome, Snapshot, Target
from phantombutton.service.journal import Journal
from phantombutton.virtual.platform import VirtualPlatform
from phantombutton.virtual.receiver import VirtualReceiver

PHANTOM = 0x8000          # HID button 16 = evdev 0x11F = X button 20
SIDE_SCROLL_OFF = DeviceConfig("101B", "wpid", {"side-scroll": False})   # M705 powers on with it on


def config(**changes) -> Config:
    base = Config(
        detection=DetectionConfig(held_for=0.05, reassert_window=30.0, reassert_limit=3),
        fix=FixConfig(),
        daemon=DaemonConfig(settle_delay=0.05, rescan_interval=0.1, backoff_initial=0.3, backoff_max=5.0),
        devices=(SIDE_SCROLL_OFF,),
    )
    return dataclasses.replace(base, **changes)


class Clock:
    """Simulated CLOCK_MONOTONIC: it moves only when the daemon sleeps or the test steps."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


class Harness:
    TICK = 0.01

    def __init__(self, cfg: Config | None = None, profile: str = "default", *, record: bool = True,
                 **daemon_args):
        self.clock = Clock()
        self.platform = VirtualPlatform(profile, clock=self.clock, kernel_wheel=False)
        self.releases: list[tuple[float, Target]] = []
        self.lines: list[tuple[int, str]] = []
        self.journal = Journal(stream=open("/dev/null", "w"), journal=True,
                               sink=lambda p, m: self.lines.append((p, m)))
        self.daemon = Daemon(self.platform, cfg or config(), self.journal, clock=self.clock,
                             sleep=self.clock.sleep, **daemon_args)
        if record:
            self.daemon.release = self._release

    @property
    def model(self) -> VirtualReceiver:
        return self.platform.model

    def _release(self, target: Target) -> Outcome:
        self.releases.append((self.clock(), target))
        self.platform.nodes.write_key(target.node, target.code, 0)   # what a verified release leaves
        return Outcome(target, Snapshot(False, None, None))   # "up"

    def step(self) -> None:
        self.daemon.step(0)           # read what is due, run the timers; never wait
        self.clock.sleep(self.TICK)

    def run(self, seconds: float) -> None:
        end = self.clock() + seconds
        while self.clock() < end:
            self.step()

    def run_until(self, pred, timeout: float = 5.0, what: str = "condition") -> None:
        end = self.clock() + timeout
        while not pred():
            assert self.clock() < end, f"timed out waiting for {what}; journal:\n" + self.text()
            self.step()

    def writes(self, slot: int = 1, register: int = 0x01) -> int:
        return sum(1 for e in self.model.log if e.request[:4] == bytes((0x10, slot, 0x80, register)))

    def side_scroll_on(self) -> bool:
        return bool(self.model.devices[1].registers[0x01][0] & 0x02)

    def text(self) -> str:
        return "\n".join(f"<{p}>{m}" for p, m in self.lines)

    def count(self, words: str) -> int:
        return sum(1 for _, m in self.lines if words in m)


def test_settings_applied_at_start_and_once_per_reconnect():
    h = Harness()
    assert h.side_scroll_on()                          # power-on state of the M705 model
    h.run_until(lambda: h.writes() == 1, what="first write")
    assert not h.side_scroll_on()
    assert h.count("slot 1 (101B): set side-scroll=off, read back off") == 1
    for n in range(2, 5):
        h.model.disconnect(1)
        h.run(0.1)
        h.model.connect(1, power_cycle=True)           # switched off and on: register reset
        h.run_until(lambda: h.writes() == n, what=f"write {n}")
        h.run(0.2)                                     # nothing more arrives for this connection
        assert h.writes() == n and not h.side_scroll_on()
    assert h.count("link lost") == 3
    assert h.count("set side-scroll=off") == 4


def test_duplicate_notifications_merge_and_kept_settings_are_not_rewritten():
    h = Harness()
    h.run_until(lambda: h.writes() == 1)
    # woke up without power loss, announced three times in a row: one action, no write
    for _ in range(3):
        h.model.connect(1)
    h.run(0.3)
    assert h.writes() == 1
    assert h.count("side-scroll already off") == 1


def test_no_settings_configured_means_no_writes():
    h = Harness(config(devices=()))
    h.run(0.3)
    h.model.disconnect(1)
    h.model.connect(1, power_cycle=True)
    h.run(0.3)
    writes = [e.request for e in h.model.log if e.request[0] in (0x10, 0x11) and e.request[2] in (0x80, 0x82)]
    assert writes == []
    assert h.count("connected") == 2


def test_daemon_never_writes_the_receiver():
    """Least privilege: no receiver register write (0x02 would make the kernel re-probe)."""
    h = Harness()
    h.run(0.3)
    h.model.disconnect(1)
    h.model.connect(1, power_cycle=True)
    h.run(0.3)
    receiver_writes = [e.request.hex(" ") for e in h.model.log
                       if e.request[:2] == b"\x10\xff" and e.request[2] in (0x80, 0x82)]
    assert receiver_writes == []


def test_phantom_held_at_reconnect_is_released_for_the_right_device():
    h = Harness()
    h.run_until(lambda: h.writes() == 1)
    h.model.disconnect(1)
    h.run(0.1)
    h.model.connect(1, power_cycle=True)
    h.model.press(1, PHANTOM)                          # the bug: back with button 16 held
    t0 = h.clock()
    h.run_until(lambda: h.releases, what="release")
    t_release, held = h.releases[0]
    assert (held.device, held.node, held.code, held.x_button) == ("M705 slot 1", "virtual:1", 0x11F, 20)
    assert held.model_has_button is False
    # a button no hand can press is released at once: no held-for wait (0.05 s here)
    assert t_release - t0 <= 2 * Harness.TICK
    h.run_until(lambda: h.writes() == 2)               # and the setting is back too
    assert h.count("phantom button 0x11F (HID 16, X 20) held") == 1
    # the mouse keeps reporting the bit (HID cache): not a new press, no second release
    h.model.move(1, 3, 4)
    h.run(0.3)
    assert len(h.releases) == 1


def test_recovery_chain_releases_on_the_virtual_kernel():
    """No recorder: the daemon's own release path, H4's chain over the VirtualKernel model."""
    h = Harness(record=False)
    h.run_until(lambda: h.writes() == 1)
    h.model.disconnect(1)
    h.run(0.1)
    h.model.connect(1, power_cycle=True)
    h.model.press(1, PHANTOM)
    h.run_until(lambda: h.count("released by step 1"), what="chain release")
    assert 0x11F not in h.platform.nodes.held_keys("virtual:1")
    assert h.count("wrote EV_KEY 0x11F 0 + SYN_REPORT to virtual:1") == 1
    # the HID cache still has the bit: more reports with it make no new press
    h.model.move(1, 1, 1)
    h.run(0.3)
    assert 0x11F not in h.platform.nodes.held_keys("virtual:1")
    assert h.count("released by step 1") == 1


def test_phantom_still_held_across_a_power_cycle_is_released_again():
    """Link loss releases every button (the kernel's all-zero report), so the held bit seen
    after the reconnect is a new press even though the mouse never sent a release."""
    h = Harness()
    h.run(0.2)
    h.model.press(1, PHANTOM)
    h.run_until(lambda: len(h.releases) == 1)
    h.model.disconnect(1)
    h.run(0.1)
    h.model.connect(1, power_cycle=True)
    h.model.press(1, PHANTOM)
    h.run_until(lambda: len(h.releases) == 2, what="second release")


def test_real_buttons_are_left_alone():
    h = Harness()
    h.run(0.2)
    h.model.press(1, 0x0001 | 0x0008 | 0x0010)         # left, back, forward: M705 has them
    h.run(0.3)
    assert h.releases == []
    assert all(models.has_button(0x101B, 0x110 + n) for n in range(5))
    assert models.has_button(0x101B, 0x11F) is False and models.has_button(0xABCD, 0x11F) is None


def unknown_mouse() -> Harness:
    """The M705 of the default profile under a WPID no table knows (nothing is impossible)."""
    h = Harness(config(detection=DetectionConfig(held_for=0.3)))
    h.model.devices[1].identity = dataclasses.replace(h.model.devices[1].identity, wpid=0xABCD)
    return h


def test_ambiguous_press_on_an_unknown_model_waits_held_for():
    h = unknown_mouse()
    h.run(0.2)
    h.model.press(1, PHANTOM)
    t0 = h.clock()
    h.run_until(lambda: h.releases, what="release after held-for")
    assert 0.3 <= h.clock() - t0 <= 0.3 + 3 * Harness.TICK
    assert h.releases[0][1].code == 0x11F


def test_ambiguous_press_released_by_the_mouse_itself_needs_nothing():
    h = unknown_mouse()
    h.run(0.2)
    h.model.press(1, PHANTOM)
    h.run(0.05)
    h.model.press(1, 0)
    h.run(0.5)
    assert h.releases == []


def test_auto_release_off_reports_only():
    h = Harness(config(fix=FixConfig(auto_release=False)))
    h.run(0.2)
    h.model.press(1, PHANTOM)
    h.run_until(lambda: h.count("auto-release is off"), what="report")
    assert h.releases == []


def test_reasserting_device_backs_off_exponentially():
    h = Harness()
    h.run(0.2)
    times = []
    for i in range(6):
        h.model.press(1, PHANTOM)
        h.run_until(lambda: len(h.releases) == i + 1, timeout=10, what=f"release {i + 1}")
        times.append(h.releases[-1][0])
        h.model.press(1, 0)
        h.run(0.02)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # edges 1-3 (reasserts 0..2) are released at once; from the 4th on, 0.3, 0.6, 1.2 s
    assert all(g < 0.1 for g in gaps[:2]), gaps
    assert gaps[2] >= 0.3 and gaps[3] >= 0.6 and gaps[4] >= 1.2, gaps
    assert h.count("re-asserted 3 times") == 1 and h.count("backing off 1.2 s") == 1


def test_receiver_unplug_and_replug_survive():
    h = Harness()
    h.run_until(lambda: h.writes() == 1)
    h.model.unplug()
    h.run_until(lambda: h.count("unplugged (device gone)"), what="drop")
    assert h.daemon.links == {}
    h.run(0.3)                                          # rescans find nothing, no crash
    assert h.count("no Logitech receiver or HID++ mouse found") == 1
    # plugged back in: a fresh receiver (the model's registers are those of a new plug)
    h.platform.plug(VirtualReceiver("default", clock=h.clock, default_reader=False))
    h.run_until(lambda: h.writes() == 1, what="re-attach and re-apply")
    assert h.count("receiver attached") == 2
    h.model.press(1, PHANTOM)
    h.run_until(lambda: h.releases, what="release after replug")


def test_unplug_during_settle_delay():
    h = Harness(config(daemon=DaemonConfig(settle_delay=0.2, rescan_interval=0.1)))
    h.run_until(lambda: h.writes() == 1)
    h.model.disconnect(1)
    h.model.connect(1, power_cycle=True)
    h.run(0.05)
    h.model.unplug()                                    # gone before the action runs
    h.run(0.4)
    assert h.count("unplugged (device gone)") == 1 and h.daemon.links == {}


def test_mixed_profile_applies_per_device():
    cfg = config(devices=(SIDE_SCROLL_OFF, DeviceConfig("Performance MX", "name", {"dpi": 800})))
    h = Harness(cfg, profile="mixed")
    slots = {s: d for s, d in h.model.devices.items()}
    pmx = next(s for s, d in slots.items() if d.identity.wpid == 0x101A)
    h.run_until(lambda: h.writes(slot=pmx, register=0x63) == 1, what="dpi write")
    assert h.model.devices[pmx].registers[0x63][0] == 0x88     # 800 dpi
    h.run_until(lambda: h.writes() == 1)
    assert h.count("set dpi=800, read back 800") == 1


def test_cli_virtual_daemon_runs_and_stops(tmp_path, capfd):
    from phantombutton.cli.main import main

    cfg = tmp_path / "c.toml"
    cfg.write_text('[device."101B"]\nside-scroll = false\n')
    assert main(["--virtual", "daemon", "--config", str(cfg), "--for", "0.8"]) == 0
    out = capfd.readouterr().out
    assert "virtual:c52b: receiver attached" in out
    assert "virtual:c52b slot 1 (101B): set side-scroll=off, read back off" in out
    assert out.rstrip().endswith("stopped")


def test_access_denied_is_reported_once_and_retried():
    from phantombutton.errors import UDEV_FIX, AccessDenied

    h = Harness()
    real_open = h.daemon.open_engine
    attempts = []

    def denied(node):
        attempts.append(node)
        if len(attempts) < 4:
            raise AccessDenied(node, "EACCES", UDEV_FIX)
        return real_open(node)

    h.daemon.open_engine = denied
    h.run_until(lambda: h.writes() == 1, what="open after access was granted")
    assert len(attempts) == 4
    assert h.count("permission denied (EACCES); install the udev rule") == 1


def test_journal_lines_carry_priority_under_systemd():
    import io

    buf = io.StringIO()
    j = Journal(stream=buf, journal=True)
    j.notice("released\nsecond line")
    j.debug("hidden unless --debug")
    j.error("bad")
    assert buf.getvalue() == "<5>released second line\n<3>bad\n"
    buf = io.StringIO()
    Journal(stream=buf, journal=False).warning("backing off")
    assert buf.getvalue().split(" ", 1)[1] == "warning: backing off\n"


def test_phantom_held_before_the_daemon_listened_is_found_in_the_kernel_state():
    """No DJ report with the bit reaches us (pressed before we started): EVIOCGKEY says so."""
    h = Harness()
    asked = []

    def held_codes(node, slot):
        asked.append((node, slot))
        return frozenset({0x11F, 0x110})       # phantom + a real left button held

    h.daemon.held_codes = held_codes
    h.run_until(lambda: h.releases, what="release from the kernel state")
    assert asked[0] == ("virtual:c52b", 1)
    assert [r[1].code for r in h.releases] == [0x11F]       # the left button is left alone
    assert h.count("kernel holds 0x11F at connection") == 1


def test_a_receiver_that_keeps_failing_is_reopened_with_growing_delays():
    from phantombutton.errors import PhantomError

    h = Harness(config(daemon=DaemonConfig(settle_delay=0.05, rescan_interval=0.05)))
    opened = []
    real_open = h.daemon.open_engine

    class Broken:
        def __init__(self, engine):
            self.engine, self.transport = engine, engine.transport

        def poll(self, timeout):
            raise PhantomError("virtual:c52b: read failed (read error Success)")

        def __getattr__(self, name):
            return getattr(self.engine, name)

    def open_broken(node):
        opened.append(h.clock())
        return Broken(real_open(node))

    h.daemon.open_engine = open_broken
    h.run(2.5)
    gaps = [b - a for a, b in zip(opened, opened[1:])]
    assert 3 <= len(opened) <= 4, opened          # 0.5 s, 1 s, 2 s ... not every 50 ms
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:])), gaps
    assert h.count("read failed (read error Success)") == len(opened)


def test_sigterm_stops_the_daemon_with_exit_0(tmp_path):
    """What systemd does on `systemctl --user stop`: the daemon finishes its round, exit 0."""
    import os
    import signal
    import subprocess
    import sys

    env = dict(os.environ, JOURNAL_STREAM="8:1234", XDG_CONFIG_HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "phantombutton.cli.main", "--virtual", "daemon"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        while not any("receiver attached" in line for line in lines):
            line = proc.stdout.readline()
            assert line, f"daemon ended early: {lines}"
            lines.append(line)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    out = "".join(lines) + rest
    assert "<6>virtual:c52b: receiver attached; listening for connections" in out   # journal form
    assert out.rstrip().endswith("<6>stopped")


def test_empty_prevention_list_writes_no_setting():
    h = Harness(config(fix=FixConfig(prevention=())))
    h.run(0.4)
    assert h.writes() == 0 and h.side_scroll_on()
