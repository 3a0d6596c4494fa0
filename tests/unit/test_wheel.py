"""The wheel desync: the kernel's rule and counter, the stream monitor, the guard on the
virtual receiver (its register 0x01 / HIRES_WHEEL model), repairs, back-off and faults."""

from __future__ import annotations

import time

import pytest

from phantombutton.detect.events import WheelFrame
from phantombutton.detect.wheel import (
    Mechanism, ScrollCounter, StreamMonitor, Verdict, WheelMode, WriterLog, judge, kernel_rule,
)
from phantombutton.virtual.platform import VirtualPlatform
from phantombutton.recovery.wheel import EngineAccess, WheelGuard
from phantombutton.transport.engine import Engine
from phantombutton.transport.virtual import VirtualTransport
from phantombutton.virtual.receiver import VirtualReceiver


def test_kernel_rule_table():
    assert kernel_rule(0x101B, hidpp10=True).mechanism is Mechanism.REGISTER_01
    assert kernel_rule(0x101B, hidpp10=True).multiplier == 8
    assert not kernel_rule(0x1025, hidpp10=True).scales          # 1.0 mouse outside the quirk list
    r = kernel_rule(0x406D, hidpp10=False, features=frozenset({0x2121, 0x2120}))
    assert r.mechanism is Mechanism.X2121 and r.multiplier is None
    assert kernel_rule(0x4082, hidpp10=False, features=frozenset({0x2120})).mechanism is Mechanism.X2120
    assert not kernel_rule(None, hidpp10=False).scales


def test_scroll_counter_is_the_drivers():
    c = ScrollCounter(8)
    lows = [c.feed(1, 0.01 * i)[1] for i in range(8)]          # one hi-res notch: 8 units
    assert sum(lows) == 1 and c.feed(1, 0.5)[0] == 15
    slow = ScrollCounter(8)                                     # desync: 1 unit per notch
    lows = [slow.feed(1, 0.2 * i)[1] for i in range(20)]
    assert [i for i, v in enumerate(lows) if v] == [3, 11, 19]  # half-way, then every 8 notches
    rest = ScrollCounter(8)
    rest.feed(1, 0.0), rest.feed(1, 0.1), rest.feed(1, 0.2)
    assert rest.feed(1, 1.5) == (15, 0)                         # 1 s of rest resets the remainder


def test_monitor_hires_scrolling_raises_no_suspicion():
    m, t = StreamMonitor(), 0.0
    c = ScrollCounter(8)
    for notch in range(200):                                    # 8 units as 2 reports 4 ms apart
        t += 0.15
        for j in range(2):
            hi, low = c.feed(4, t + j * 0.004)
            assert m.feed(t + j * 0.004, hi, low) is None
        assert m.tick(t + 0.1) is None
    assert m.scaled is True


def test_monitor_isolated_small_steps_are_suspect():
    m = StreamMonitor()
    assert m.feed(0.0, 15, 0) is None
    suspicion = m.feed(0.2, 15, 0) or m.tick(0.3)
    assert suspicion and "isolated REL_WHEEL_HI_RES steps of 15" in suspicion


def test_monitor_with_a_known_multiplier_counts_only_single_units():
    m = StreamMonitor(unit=15)
    for i in range(6):                       # half notches far apart: a slow hand, not a desync
        assert m.feed(i * 0.2, 60, 1 if i % 2 == 0 else 0) is None
    assert m.tick(2.0) is None


def test_monitor_unscaled_multi_notch_frames_are_suspect():
    m = StreamMonitor()
    assert m.feed(0.0, 480, 4) is not None and m.scaled is False


def test_judge():
    rule = kernel_rule(0x101B, hidpp10=True)
    slow = judge(rule, WheelMode(hires=False))
    assert slow.verdict is Verdict.SLOW and slow.want_hires is True
    assert "wheel 8x slow: the mouse is in low resolution, the kernel expects high" in slow.message
    assert judge(rule, WheelMode(hires=True)).verdict is Verdict.OK
    assert judge(rule, WheelMode(hires=True), kernel_scales=False).verdict is Verdict.FAST
    r2 = kernel_rule(0x406D, hidpp10=False, features=frozenset({0x2121}))
    dead = judge(r2, WheelMode(hires=True, diverted=True, multiplier=8), listeners=())
    assert dead.verdict is Verdict.DEAD and "wheel dead" in dead.message
    assert judge(r2, WheelMode(hires=True, diverted=True), listeners=("solaar",)).verdict is Verdict.DIVERTED
    unknown = judge(r2, WheelMode(hires=True, diverted=True), listeners=None)
    assert unknown.verdict is Verdict.DEAD and not unknown.needs_repair   # never taken from a program
    assert judge(kernel_rule(0x1025, hidpp10=True), WheelMode(hires=True)).verdict is Verdict.UNSCALED


def test_writer_log_names_the_software_id():
    log = WriterLog()
    log.index[("n", 3)] = 0x1C
    log.note(5.0, "n", bytes([0x11, 3, 0x1C, 0x28, 0x00]) + bytes(15))   # setWheelMode, sw id 8
    assert "software id 0x08" in log.writer(("n", 3), 0.0)
    log.ours(("n", 1), 10.0)
    log.note(10.1, "n", bytes([0x10, 1, 0x80, 0x01, 0, 0, 0]))          # our own write's reply
    assert log.writer(("n", 1), 0.0) is None
    log.note(20.0, "n", bytes([0x10, 1, 0x80, 0x01, 0, 0, 0]))
    assert "no software id" in log.writer(("n", 1), 0.0)


class Rig:
    """The virtual receiver with the kernel's wheel setup, its kernel model (VirtualSource)
    and a guard on an engine of its own, as `watch --virtual --fix` wires them."""

    def __init__(self, profile="default", fix=True):
        self.rx = VirtualReceiver(profile, kernel_wheel=True)
        self.source = VirtualPlatform(receiver=self.rx).source()
        self.source.start()
        self.access = EngineAccess(lambda node: Engine(VirtualTransport(self.rx)))
        self.guard = WheelGuard(self.access, fix=fix, listeners=lambda key: ())

    def scroll(self, slot, notches, interval=0.06):
        """One notch at a time, as a hand turns it: the mouse's mode at each notch counts."""
        events, frames = [], []
        for _ in range(notches):
            self.rx.wheel_notch(slot, 1)
            end = time.monotonic() + interval
            while time.monotonic() < end:
                for o in self.source.poll(0.01):
                    if isinstance(o, WheelFrame):
                        frames.append(o)
                        events += self.guard.frame(("rx", slot), o.t, o.hi, o.low)
                events += self.guard.tick(time.monotonic())
        return events, frames


@pytest.mark.parametrize("profile,slot", [("default", 1), ("m705-406d", 1)])
def test_guard_repairs_a_forgotten_mode_and_verifies(profile, slot):
    rig = Rig(profile)
    events, _ = rig.scroll(slot, 1)
    assert [e.kind for e in events] == ["ok"]                  # first use after start: one read
    events, frames = rig.scroll(slot, 3)
    assert events == [] and sum(f.low for f in frames) == 3    # one REL_WHEEL per notch
    rig.rx.forget_wheel_mode(slot)
    t0 = time.monotonic()
    events, frames = rig.scroll(slot, 6)
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["finding", "repaired"] and "verified" in kinds, kinds
    finding = events[0]
    assert "8x slow: the mouse is in low resolution, the kernel expects high" in finding.message
    assert any("isolated REL_WHEEL_HI_RES steps of 15" in e for e in finding.evidence)
    assert events[1].t - t0 < 2.0
    assert rig.guard.reads == 2
    events, frames = rig.scroll(slot, 4)
    assert sum(f.low for f in frames) == 4 and events == []   # in sync, no further read


def test_guard_backs_off_after_two_repairs():
    rig = Rig()
    rig.scroll(1, 2)
    kinds = []
    for _ in range(3):
        rig.rx.forget_wheel_mode(1)
        rig.guard.states[("rx", 1)].last_read = -1e9
        kinds += [e.kind for e in rig.scroll(1, 4)[0]]
    assert kinds.count("repaired") == 2 and kinds.count("backoff") == 1, kinds


def test_guard_diverted_wheel_is_dead_and_restored():
    rig = Rig("m705-406d")
    dev = rig.rx.devices[1]
    dev.wheel_mode |= 0x01                                    # a program diverted it, then exited
    events = rig.guard.check(("rx", 1), reason="status")
    assert events[0].kind == "finding" and "wheel dead" in events[0].message
    assert events[1].kind == "repaired" and dev.wheel_mode == 0x02


def test_guard_refused_write_and_offline_are_reported_once():
    rig = Rig()
    rig.rx.forget_wheel_mode(1)
    reg = rig.rx.devices[1].spec[0x01]
    rig.rx.devices[1].spec[0x01] = reg.__class__(b"\x02\x00\x00", b"\xbf\xff\xff")   # bit 0x40 won't stick
    events = rig.guard.check(("rx", 1), reason="test")
    assert [e.kind for e in events] == ["finding", "failed"] and "reads back" in events[1].message
    rig.rx.devices[1].spec[0x01] = reg.__class__(b"\x02\x00\x00", None)                # read-only: error 02
    guard = WheelGuard(rig.access, fix=True, listeners=lambda key: ())
    events = guard.check(("rx", 1), reason="test")
    assert [e.kind for e in events] == ["finding", "failed"] and "refused" in events[1].message
    assert guard.states[("rx", 1)].stop and guard._maybe_check(("rx", 1), guard.states[("rx", 1)],
                                                                time.monotonic() + 999, "x") == []
    rig.rx.disconnect(1)
    rig.access.forget(("rx", 1))
    guard = WheelGuard(rig.access, fix=True, listeners=lambda key: ())
    assert "offline" in guard.check(("rx", 1), reason="test")[0].message
    st = guard.states[("rx", 1)]
    assert guard._maybe_check(("rx", 1), st, time.monotonic(), "x") == []   # no loop


def test_guard_unscaled_wheel_is_reported_and_left_alone():
    rig = Rig("performance-mx")
    from phantombutton.detect import wheel as w
    saved = dict(w.HIDPP10_FAST_SCROLL)
    w.HIDPP10_FAST_SCROLL.pop(0x101A)
    try:
        events = rig.guard.check(("rx", 1), reason="test")
    finally:
        w.HIDPP10_FAST_SCROLL.update(saved)
    assert events[0].kind == "note" and "does not scale" in events[0].message
    assert rig.guard.states[("rx", 1)].stop


def test_hidraw_listeners_names_other_processes(tmp_path):
    import subprocess
    import sys

    from phantombutton.input.procfs import hidraw_listeners

    node = tmp_path / "hidraw9"
    node.write_text("")
    assert hidraw_listeners(str(node)) == ()
    holder = subprocess.Popen([sys.executable, "-c", f"f = open({str(node)!r}); import time; time.sleep(30)"])
    try:
        found = ()
        end = time.monotonic() + 5
        while not found and time.monotonic() < end:
            found = hidraw_listeners(str(node)) or ()
            time.sleep(0.05)
        assert any(f"[{holder.pid}]" in f for f in found), found
    finally:
        holder.kill()
        holder.wait()


def test_budget_normal_scrolling_costs_at_most_one_read_a_minute():
    """Ten simulated minutes of hi-res scrolling (7 notches/s, pauses included) on the virtual
    M705: the guard reads at the first use and then once per PERIODIC - nothing else."""
    rig = Rig()
    counter, t, frames = ScrollCounter(8), 1000.0, 0
    while t < 1000.0 + 600.0:
        for j in range(2):                               # a notch: 8 units in 2 reports
            hi, low = counter.feed(4, t + j * 0.004)
            rig.guard.frame(("rx", 1), t + j * 0.004, hi, low)
            frames += 1
        rig.guard.tick(t + 0.1)
        t += 0.15 if frames % 200 else 3.0               # a pause now and then
    minutes = (t - 1000.0) / 60
    print(f"BENCH guard: {rig.guard.reads} mode reads in {minutes:.1f} min of normal scrolling "
          f"({frames} wheel frames)")
    assert rig.guard.reads <= minutes and rig.guard.reads >= 1


def test_a_reconnected_device_is_read_over_its_receiver_opened_anew():
    """The receiver may have been unplugged meanwhile: the engine on the old node is closed
    (not kept on a dead node) and the next use opens one again."""
    rx = VirtualReceiver("default")
    opened: list[VirtualTransport] = []

    def open_engine(node):
        opened.append(VirtualTransport(rx))
        return Engine(opened[-1])

    access = EngineAccess(open_engine)
    first = access(("rx", 1))
    assert first is not None and access(("rx", 1)) is first and len(opened) == 1
    access.forget(("rx", 1))
    with pytest.raises(ValueError):   # closed: it reads nothing more
        opened[0].read(0.01)
    again = access(("rx", 1))
    assert again is not None and again is not first and len(opened) == 2


def test_hidraw_listeners_skips_a_process_that_ended_during_the_scan(tmp_path):
    """A process listed in /proc that is gone before its fds are read is not "unknown"
    (None): only fds that cannot be read are."""
    from phantombutton.input.procfs import hidraw_listeners

    node = tmp_path / "hidraw9"
    node.write_text("")
    proc = tmp_path / "proc"
    (proc / "100").mkdir(parents=True)                  # ended: no fd directory any more
    (proc / "200" / "fd").mkdir(parents=True)
    (proc / "200" / "comm").write_text("solaar\n")
    (proc / "200" / "fd" / "3").symlink_to(node)
    assert hidraw_listeners(str(node), str(proc)) == ("solaar[200]",)
    (proc / "200" / "fd" / "3").unlink()
    assert hidraw_listeners(str(node), str(proc)) == ()
    (proc / "300").mkdir()
    (proc / "300" / "fd").write_text("")                # unreadable as a directory: cannot tell
    assert hidraw_listeners(str(node), str(proc)) is None
