"""The "online but no input" rule (detect/stall.py), the hidraw reduction of DJ mouse reports,
and the guard that soft-resets the receiver (the reset itself faked at the sysfs boundary)."""

from __future__ import annotations

from phantombutton.detect.events import DeviceAdded, DeviceInfo, DeviceRemoved, DjInput, KeyEvent, Motion
from phantombutton.detect.stall import StallRule
from phantombutton.hidpp.dj import build_mouse
from phantombutton.input.hidraw_source import dj_input
from phantombutton.recovery.softreset import InputStallGuard, ResetOutcome

RX, EV = "/dev/hidraw0", "/dev/input/event3"


def mouse(t=0.0):
    return DeviceAdded(t, DeviceInfo(EV, "M705", slot=1, receiver_node=RX), at_start=True)


def reports(rule, t0, n, dt=0.1, active=True, slot=1):
    for i in range(n):
        rule.feed(DjInput(t0 + i * dt, RX, slot, active))
    return t0 + (n - 1) * dt


def test_reports_without_events_are_a_stall_with_evidence():
    rule = StallRule()
    rule.feed(mouse())
    last = reports(rule, 10.0, 12, dt=0.127)
    assert rule.check(10.5) == []                 # the first report is not a second old yet
    [s] = rule.check(last + 0.1)
    assert (s.receiver, s.slot, s.event_node, s.reports) == (RX, 1, EV, 12)
    assert s.evidence() == f"12 mouse reports from slot 1 on {RX} in 1.4 s, no event on {EV}"
    assert rule.check(last + 0.2) == []           # reported once


def test_no_event_node_at_all_is_a_stall():
    rule = StallRule()
    rule.feed(mouse())
    rule.feed(DeviceRemoved(1.0, EV))             # the child lost its driver: the node went away
    last = reports(rule, 2.0, 6)
    [s] = rule.check(last + 1.0)
    assert s.event_node is None and s.evidence().endswith("no event node for that slot")


def test_events_that_arrive_are_no_stall():
    rule = StallRule()
    rule.feed(mouse())
    for i in range(12):
        t = 10.0 + i * 0.1
        rule.feed(DjInput(t, RX, 1, True))
        rule.feed(Motion(t + 0.0005, EV) if i % 2 else KeyEvent(t - 0.001, EV, 0x110, i % 4 // 2))
    assert rule.check(13.0) == []


def test_one_event_at_the_start_of_the_burst_is_enough():
    rule = StallRule()
    rule.feed(mouse())
    rule.feed(Motion(9.99, EV))                   # stamped by the kernel before our hidraw read
    last = reports(rule, 10.0, 12)
    assert rule.check(last + 1.0) == []


def test_reports_that_change_nothing_are_not_counted():
    rule = StallRule()
    rule.feed(mouse())
    last = reports(rule, 10.0, 20, active=False)
    assert rule.check(last + 1.0) == []


def test_a_few_reports_or_old_ones_are_not_enough():
    rule = StallRule()
    rule.feed(mouse())
    reports(rule, 10.0, 4)
    assert rule.check(12.0) == []
    assert rule.check(30.0) == [] and not rule.slots[(RX, 1)].reports   # forgotten after WINDOW


def test_an_other_slot_s_events_do_not_hide_a_stall():
    rule = StallRule()
    rule.feed(mouse())
    rule.feed(DeviceAdded(0.0, DeviceInfo("/dev/input/event5", "MX", slot=2, receiver_node=RX), at_start=True))
    last = reports(rule, 10.0, 8)
    rule.feed(Motion(10.3, "/dev/input/event5"))
    [s] = rule.check(last + 1.0)
    assert s.slot == 1


def test_dj_input_reduces_reports_to_active_or_not():
    seen: dict = {}
    moved = dj_input(1.0, RX, build_mouse(1, x=3), seen)
    assert moved == DjInput(1.0, RX, 1, True)
    assert dj_input(1.1, RX, build_mouse(1), seen).active is False          # nothing changed
    assert dj_input(1.2, RX, build_mouse(1, buttons=1), seen).active is True   # a press
    assert dj_input(1.3, RX, build_mouse(1, buttons=1), seen).active is False  # still held
    assert dj_input(1.4, RX, build_mouse(1), seen).active is True            # the release
    assert dj_input(1.5, RX, bytes.fromhex("10ff8100000000"), seen) is None  # HID++, not DJ input


def stalled(guard, t0=10.0):
    guard.feed(mouse())
    for i in range(10):
        guard.feed(DjInput(t0 + i * 0.1, RX, 1, True))
    return guard.tick(t0 + 2.0)


def test_guard_without_fix_reports_the_command():
    calls = []
    g = InputStallGuard(fix=False, reset=calls.append)
    [e] = stalled(g)
    assert e.kind == "finding" and calls == []
    assert f"sudo phantombutton reset-receiver {RX}" in e.message
    assert e.evidence == (f"10 mouse reports from slot 1 on {RX} in 0.9 s, no event on {EV}",)


def test_guard_with_fix_resets_that_receiver_once_per_ten_minutes():
    calls = []

    def reset(hidraw):
        calls.append(hidraw)
        return ResetOutcome(True, "0003:046D:C52B.0007", "logitech-djreceiver", steps=["wrote x"], seconds=0.2)

    last: dict = {}
    g = InputStallGuard(fix=True, sysfs="/sys", last=last, reset=reset)
    [e] = stalled(g)
    assert calls == ["/sys/class/hidraw/hidraw0"] and e.kind == "repaired"
    assert "no input (10 mouse reports" in e.message and "receiver soft reset done: wrote x" in e.message
    assert stalled(g, 100.0) == [] and len(calls) == 1          # within 10 minutes: not again
    assert last[RX] == 12.0
    [again] = stalled(g, 700.0)
    assert again.kind == "repaired" and len(calls) == 2
