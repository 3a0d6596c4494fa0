"""Detection rules a-d over event sequences, each positive and negative."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from phantombutton.buttons import code_for_x_button, x_button_for
from phantombutton.detect.events import (
    DeviceAdded, DeviceInfo, DeviceRemoved, HeldState, HidppTraffic, KeyEvent, Motion, XButtons,
)
from phantombutton.detect.findings import Layer, Rule, Thresholds
from phantombutton.detect.rules import Detector
from phantombutton.detect.run import detect_all

NODE = "/dev/input/event5"
RECV = "/dev/hidraw2"
M705 = 0x101B
BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, PHANTOM = 0x110, 0x111, 0x112, 0x11F


@dataclass(frozen=True)
class FakeModel:
    name: str
    buttons: frozenset[int]

    def has_button(self, code: int) -> bool:
        return code in self.buttons


MODELS = {M705: FakeModel("M705", frozenset(range(0x110, 0x117)))}


def model_for(wpid):
    return MODELS.get(wpid)


def mouse(**kw) -> DeviceInfo:
    base = dict(node=NODE, name="Logitech M705", vendor=0x046D, product=M705, slot=1,
                receiver_node=RECV)
    base.update(kw)
    return DeviceInfo(**base)


def detector(**thr) -> Detector:
    return Detector(model_for=model_for, thresholds=Thresholds(**thr))


def start(d: Detector, t: float = 0.0, **kw) -> None:
    assert d.feed(DeviceAdded(t, mouse(**kw), at_start=True)) == []


def press(t, code, value=1, node=NODE):
    return KeyEvent(t, node, code, value)


def test_x_button_numbers():
    assert [x_button_for(c) for c in (0x110, 0x111, 0x112, 0x113, 0x11F)] == [1, 3, 2, 8, 20]
    assert all(code_for_x_button(x_button_for(c)) == c for c in range(0x110, 0x120))
    assert code_for_x_button(4) is None


# a) a button the model does not have ----------------------------------------------------
def test_unknown_button_flagged_at_once_and_cleared_on_release():
    d = detector()
    start(d)
    (f,) = d.feed(press(1.0, PHANTOM))
    assert f.rule is Rule.UNKNOWN_BUTTON and f.layer is Layer.KERNEL
    assert (f.code, f.x_button, f.node, f.slot, f.since, f.wpid) == (PHANTOM, 20, NODE, 1, 1.0, M705)
    assert f.device == "Logitech M705" and f.active
    assert any("no such button" in e for e in f.evidence)
    assert "phantombutton release /dev/input/event5 20" in f.fix
    assert d.active() == [f]
    (ended,) = d.feed(press(2.5, PHANTOM, 0))
    assert ended.ended == 2.5 and ended.rule is Rule.UNKNOWN_BUTTON and not ended.active
    assert d.active() == []


def test_known_button_not_flagged():
    d = detector()
    start(d)
    assert d.feed(press(1.0, BTN_LEFT)) == []
    assert d.feed(press(1.1, BTN_LEFT, 0)) == []


def test_unknown_model_disables_rule_a():
    d = detector()
    start(d, product=0x4242)
    assert d.feed(press(1.0, PHANTOM)) == []


def test_held_at_start_unknown_button_flagged():
    d = detector()
    start(d)
    (f,) = d.feed(HeldState(0.0, NODE, frozenset({PHANTOM})))
    assert f.rule is Rule.UNKNOWN_BUTTON and "held at start" in f.evidence[0]
    # a later EVIOCGKEY without it ends the finding (a release we did not see)
    (e,) = d.feed(HeldState(3.0, NODE, frozenset()))
    assert e.ended == 3.0


def test_device_removed_ends_finding():
    d = detector()
    start(d)
    d.feed(press(1.0, PHANTOM))
    (e,) = d.feed(DeviceRemoved(2.0, NODE))
    assert e.ended == 2.0 and d.active() == []
    assert d.devices()[0].present is False


# b) a press right after (re)connection with no motion -----------------------------------
CONNECT = bytes([0x10, 0x01, 0x41, 0x04, 0x02, 0x1B, 0x10])   # slot 1, WPID 101B, link up
LINK_LOST = bytes([0x10, 0x01, 0x41, 0x04, 0x42, 0x1B, 0x10])


def test_press_after_reconnect_flagged():
    d = detector()
    start(d)
    d.feed(HidppTraffic(5.0, RECV, CONNECT))
    (f,) = d.feed(press(5.2, BTN_MIDDLE))
    assert f.rule is Rule.PRESS_AFTER_CONNECT and f.x_button == 2
    assert "200 ms after" in f.evidence[1]
    assert any("device connection notification, slot 1, WPID 101B, link established by the receiver"
               in c for c in f.hidpp_context)


def test_press_after_hotplug_flagged():
    d = detector()
    assert d.feed(DeviceAdded(5.0, mouse())) == []   # hotplug, not at start
    (f,) = d.feed(press(5.1, BTN_RIGHT))
    assert f.rule is Rule.PRESS_AFTER_CONNECT


@pytest.mark.parametrize("events", [
    [Motion(5.1, NODE), press(5.2, BTN_MIDDLE)],      # motion first: a hand
    [press(6.5, BTN_MIDDLE)],                          # outside the window
])
def test_press_after_reconnect_negative(events):
    d = detector()
    start(d)
    d.feed(HidppTraffic(5.0, RECV, CONNECT))
    assert [f for e in events for f in d.feed(e)] == []


@pytest.mark.parametrize("read_late, flagged", [(0.003, True), (0.050, False)])
def test_connection_read_from_hidraw_just_after_the_press_still_counts(read_late, flagged):
    # hidraw frames are stamped when read, evdev events by the kernel: a 0x41 read in the
    # same wake-up can look a few ms later than the press it explains, never 50 ms
    d = detector()
    start(d)
    d.feed(HidppTraffic(5.2 + read_late, RECV, CONNECT))
    found = d.feed(press(5.2, BTN_MIDDLE))
    assert [f.rule for f in found] == ([Rule.PRESS_AFTER_CONNECT] if flagged else [])


def test_link_lost_notification_is_not_a_connection():
    d = detector()
    start(d)
    d.feed(HidppTraffic(5.0, RECV, LINK_LOST))
    assert d.feed(press(5.2, BTN_MIDDLE)) == []


def test_other_slot_connection_does_not_count():
    d = detector()
    start(d)
    d.feed(HidppTraffic(5.0, RECV, bytes([0x10, 0x02, 0x41, 0x04, 0x02, 0x1A, 0x10])))
    assert d.feed(press(5.2, BTN_MIDDLE)) == []


def test_button_at_start_is_not_press_after_connect():
    d = detector()
    start(d, t=0.0)
    assert d.feed(press(0.1, BTN_LEFT)) == []


def test_unknown_button_wins_over_press_after_connect():
    d = detector()
    start(d)
    d.feed(HidppTraffic(5.0, RECV, CONNECT))
    (f,) = d.feed(press(5.03, PHANTOM))
    assert f.rule is Rule.UNKNOWN_BUTTON
    assert "came right after the mouse (re)connected" in f.cause


# c) held long without activity ------------------------------------------------------------
def test_held_idle_flagged_by_tick():
    d = detector(held_idle=10)
    start(d)
    assert d.feed(press(1.0, BTN_LEFT)) == []
    assert d.tick(10.9) == []
    (f,) = d.tick(11.0)
    assert f.rule is Rule.HELD_IDLE and f.code == BTN_LEFT and f.x_button == 1
    assert d.tick(12.0) == []   # once only
    (e,) = d.feed(press(13.0, BTN_LEFT, 0))
    assert e.ended == 13.0


def test_long_drag_with_motion_not_flagged():
    d = detector(held_idle=10)
    start(d)
    obs = [press(1.0, BTN_LEFT)] + [Motion(1.0 + i * 0.5, NODE) for i in range(1, 80)] + [
        press(41.0, BTN_LEFT, 0)]
    assert list(detect_all(obs, d)) == []


def test_drag_that_stops_moving_is_flagged_after_threshold():
    d = detector(held_idle=10)
    start(d)
    obs = [press(1.0, BTN_LEFT)] + [Motion(1.0 + i, NODE) for i in range(1, 6)] + [Motion(30.0, "other")]
    (f,) = list(detect_all(obs, d))
    assert f.rule is Rule.HELD_IDLE and f.since == 1.0
    assert "no motion since 6.000 s" in f.evidence[1]


def test_motion_on_another_device_does_not_count():
    d = detector(held_idle=5)
    start(d)
    d.feed(press(1.0, BTN_RIGHT))
    for i in range(10):
        d.feed(Motion(1.0 + i, "/dev/input/event9"))
    (f,) = d.tick(7.0)
    assert f.rule is Rule.HELD_IDLE


# d) kernel and X disagree --------------------------------------------------------------------
def xs(t, buttons, dev_id=11, node=NODE, master=False):
    return XButtons(t, dev_id, None if master else node, master, frozenset(buttons))


def test_x_holds_what_kernel_released():
    d = detector(x_grace=0.5)
    start(d)
    d.feed(press(1.0, PHANTOM))
    d.feed(xs(1.1, {20}))
    d.feed(press(2.0, PHANTOM, 0))       # kernel released (e.g. our evdev write)
    assert d.feed(xs(2.25, {20})) == []  # X may lag one poll
    (f,) = d.feed(xs(2.75, {20}))
    assert f.rule is Rule.X_MISMATCH and f.layer is Layer.X
    assert (f.x_slave_id, f.x_button, f.code, f.node) == (11, 20, PHANTOM, NODE)
    assert "XTest device release aimed at X device 11" in f.fix
    (e,) = d.feed(xs(3.0, set()))
    assert e.ended == 3.0 and e.layer is Layer.X


def test_x_lag_within_grace_not_flagged():
    d = detector(x_grace=0.5)
    start(d)
    d.feed(press(1.0, BTN_LEFT))
    d.feed(press(1.1, BTN_LEFT, 0))
    assert d.feed(xs(1.15, {1})) == []
    assert d.feed(xs(1.4, set())) == []
    assert d.tick(5.0) == []


def test_x_sample_before_a_new_kernel_press_is_no_evidence():
    # What a capture (X recorded at changes only) of three clicks and a drag looks like when
    # every X poll lands inside a press: one X "hold" from the first poll to the last release.
    d = detector(x_grace=0.5)
    start(d)
    out = []
    d.feed(press(0.70, BTN_LEFT))
    d.feed(press(0.78, BTN_LEFT, 0))
    out += d.feed(xs(0.79, {1}))                # X a few ms behind the kernel's release
    for t in (0.95, 1.30, 1.65):                # two more clicks, then the drag
        out += d.feed(press(t, BTN_LEFT)) + d.tick(t)
        if t < 1.6:
            out += d.feed(press(t + 0.08, BTN_LEFT, 0)) + d.tick(t + 0.2)
    out += d.feed(press(4.80, BTN_LEFT, 0)) + d.tick(4.81)
    out += d.feed(xs(4.83, set())) + d.tick(6.0)
    assert out == []


def test_x_holds_after_kernel_press_and_release_still_found():
    d = detector(x_grace=0.5)
    start(d)
    d.feed(xs(0.9, {1}))                         # X stuck on button 1, the kernel idle
    d.feed(press(1.0, BTN_LEFT))                 # a real click: the stale doubt is dropped...
    d.feed(press(1.1, BTN_LEFT, 0))
    assert d.tick(1.5) == []
    assert d.feed(xs(1.2, {1})) == []            # ...and a later sample starts a new one
    (f,) = d.feed(xs(1.75, {1}))
    assert f.rule is Rule.X_MISMATCH and f.since == 1.2


def test_x_and_kernel_agree_no_mismatch():
    d = detector()
    start(d)
    d.feed(press(1.0, BTN_LEFT))
    for i in range(10):
        assert d.feed(xs(1.0 + i * 0.25, {1})) == []


def test_x_unknown_kernel_state_not_flagged():
    d = detector()
    start(d)      # no EVIOCGKEY, no key events: we do not know the kernel side
    d.feed(xs(1.0, {3}))
    assert d.feed(xs(3.0, {3})) == []


def test_master_holds_button_no_slave_holds():
    d = detector(x_grace=0.5)
    start(d)
    d.feed(xs(1.0, set(), dev_id=11))
    d.feed(xs(1.0, {20}, dev_id=2, master=True))
    (f,) = d.feed(xs(1.6, set(), dev_id=11)) + d.feed(xs(1.6, {20}, dev_id=2, master=True))
    assert f.rule is Rule.X_MISMATCH and f.x_slave_id == 2 and f.node is None
    assert "no slave holds it" in f.evidence[1] and "gone" in f.cause


def test_master_and_slave_both_hold_no_orphan():
    d = detector(x_grace=0.5)
    start(d)
    d.feed(HeldState(0.0, NODE, frozenset({BTN_LEFT})))
    for t in (1.0, 1.6, 2.2):
        assert d.feed(xs(t, {1}, dev_id=11)) == []
        assert d.feed(xs(t, {1}, dev_id=2, master=True)) == []


def test_devices_view_per_layer():
    d = detector()
    start(d)
    d.feed(press(1.0, PHANTOM))
    d.feed(xs(1.1, {20}))
    (v,) = d.devices()
    assert v.kernel == {PHANTOM: 1.0} and v.x == frozenset({20}) and v.x_slave_id == 11
    assert (v.slot, v.wpid, v.name) == (1, M705, "Logitech M705")


# the real models table (phantombutton.models) -----------------------------------------
def test_default_models_table_m705_has_no_0x11f():
    d = Detector()   # model_for from phantombutton.models
    d.feed(DeviceAdded(0.0, mouse(), at_start=True))
    (f,) = d.feed(press(1.0, PHANTOM))
    assert f.rule is Rule.UNKNOWN_BUTTON and "the M705 (WPID 101B) has no such button" in f.evidence[1]
    assert d.feed(press(1.5, 0x116)) == []       # BTN_BACK: the M705's tilt when side-scroll is off


def test_default_models_table_unknown_wpid_not_ruled_out():
    d = Detector()
    d.feed(DeviceAdded(0.0, mouse(product=0x4242), at_start=True))
    assert d.feed(press(1.0, PHANTOM)) == []    # generic model: cannot rule a code out
