"""Rule e (held at link loss on a receiver that does not release) and rule a's wait for HID
button 16 on a model we do not know, over observations; then the same Detector wired into
watch --fix and the daemon on the virtual platform.

The virtual receiver is a Unifying one (C52B). Nano, Lightspeed and Bolt receivers are not
modelled here, so the wiring tests pass a Nano family in (receivers.py C534) to the Detector,
the daemon and the kernel model: the kernel model then keeps a held button held at link
loss, as hid-logitech-dj does for a non-DJ receiver (no logi_dj_recv_forward_null_report)."""

from __future__ import annotations

from test_daemon_virtual import Harness
from test_detect_rules import BTN_LEFT, NODE, PHANTOM, RECV, detector, mouse, press

from phantombutton.detect.events import DeviceAdded, HidppTraffic
from phantombutton.detect.findings import Rule
from phantombutton.detect.rules import Detector
from phantombutton.receivers import RECEIVERS
from phantombutton.recovery import watcher as W
from phantombutton.recovery.live import LiveLayers
from phantombutton.virtual.platform import VirtualPlatform
from phantombutton.virtual.receiver import VirtualReceiver

NANO, UNIFYING, BOLT = 0xC534, 0xC52B, 0xC548
BTN_SIDE = 0x113


def link(t: float, slot: int = 1, established: bool = False, node: str = RECV) -> HidppTraffic:
    """HID++ 0x41 device connection: protocol 0x04, flags 0x02 (mouse) | 0x40 when the link
    is not up, WPID 101B little-endian."""
    return HidppTraffic(t, node, bytes((0x10, slot, 0x41, 0x04, 0x02 | (0 if established else 0x40), 0x1B, 0x10)))


def held_then_lost(d: Detector, product: int | None, code: int = BTN_SIDE, slot: int = 1):
    assert d.feed(DeviceAdded(0.0, mouse(receiver_product=product), at_start=True)) == []
    d.feed(press(1.0, code))
    return d.feed(link(5.0, slot))


def test_a_button_held_when_a_nano_link_drops_is_a_phantom_and_says_why():
    found = held_then_lost(detector(), NANO)
    assert [(f.rule, f.code, f.node, f.slot) for f in found] == [(Rule.HELD_AT_LINK_LOSS, BTN_SIDE, NODE, 1)]
    why = " | ".join(found[0].evidence)
    assert "still held when the link of slot 1 dropped at 5.000 s (HID++ 0x41 on /dev/hidraw2)" in why
    assert "a Nano receiver (C534)" in why and "logi_dj_recv_forward_null_report" in why
    assert "link dropped" in found[0].cause and "phantombutton release" in found[0].fix


def test_bolt_and_lightspeed_too_but_not_unifying_or_an_unknown_receiver():
    assert [f.rule for f in held_then_lost(detector(), BOLT)] == [Rule.HELD_AT_LINK_LOSS]
    assert [f.rule for f in held_then_lost(detector(), 0xC539)] == [Rule.HELD_AT_LINK_LOSS]
    assert held_then_lost(detector(), UNIFYING) == []     # the kernel's all-zero report releases it
    assert held_then_lost(detector(), None) == []         # family unknown: no claim
    assert held_then_lost(detector(), 0x1234) == []


def test_only_the_slot_that_dropped_and_only_held_buttons():
    assert held_then_lost(detector(), NANO, slot=2) == []
    d = detector()
    d.feed(DeviceAdded(0.0, mouse(receiver_product=NANO), at_start=True))
    d.feed(press(1.0, BTN_SIDE))
    d.feed(press(2.0, BTN_SIDE, 0))                        # released by the hand
    assert d.feed(link(5.0)) == []
    assert d.feed(link(6.0, established=True)) == []
    assert d.feed(link(7.0, node="/dev/hidraw9")) == []   # another receiver's slot 1


def test_without_explanations_the_rule_and_its_evidence_remain():
    d = Detector(model_for=detector().model_for, explain=False)
    found = held_then_lost(d, NANO)
    assert [f.rule for f in found] == [Rule.HELD_AT_LINK_LOSS] and "Nano" in found[0].evidence[-1]
    assert (found[0].cause, found[0].fix, found[0].hidpp_context) == ("", "", ())


def test_a_family_passed_in_decides():
    d = Detector(model_for=detector().model_for, family_of=lambda product: RECEIVERS[NANO])
    assert [f.rule for f in held_then_lost(d, UNIFYING)] == [Rule.HELD_AT_LINK_LOSS]


def test_link_loss_outranks_press_after_connect_but_not_unknown_button():
    d = detector()
    d.feed(DeviceAdded(0.0, mouse(receiver_product=NANO), at_start=True))
    d.feed(link(1.0, established=True))
    assert [f.rule for f in d.feed(press(1.2, BTN_LEFT))] == [Rule.PRESS_AFTER_CONNECT]
    assert [f.rule for f in d.feed(press(1.3, PHANTOM))] == [Rule.UNKNOWN_BUTTON]
    found = d.feed(link(4.0))
    assert [(f.rule, f.code) for f in found] == [(Rule.HELD_AT_LINK_LOSS, BTN_LEFT)]
    assert {f.rule for f in d.active()} == {Rule.HELD_AT_LINK_LOSS, Rule.UNKNOWN_BUTTON}


def test_a_button_the_model_lacks_is_found_at_once_hid_16_of_an_unknown_model_after_held_for():
    d = detector(held_for=0.25)
    d.feed(DeviceAdded(0.0, mouse(), at_start=True))
    assert [f.rule for f in d.feed(press(1.0, PHANTOM))] == [Rule.UNKNOWN_BUTTON]   # no wait

    d = detector(held_for=0.25)
    d.feed(DeviceAdded(0.0, mouse(product=0xABCD), at_start=True))
    assert d.feed(press(1.0, PHANTOM)) == []
    assert d.tick(1.2) == []
    found = d.tick(1.25)
    assert [f.rule for f in found] == [Rule.UNKNOWN_BUTTON]
    assert "held 0.25 s (threshold 0.25 s, held-for)" in found[0].evidence[0]
    assert d.feed(press(1.3, 0x116)) == [] and d.tick(2.0) == []   # HID 7: it may have it

    d = detector(held_for=0.25)
    d.feed(DeviceAdded(0.0, mouse(product=0xABCD), at_start=True))
    d.feed(press(1.0, PHANTOM))
    d.feed(press(1.1, PHANTOM, 0))                          # let go in time: nothing
    assert d.tick(2.0) == []

    d = detector(held_for=0.25)                              # not behind a receiver: not ours
    d.feed(DeviceAdded(0.0, mouse(product=0xABCD, slot=None, receiver_node=None), at_start=True))
    d.feed(press(1.0, PHANTOM))
    assert d.tick(2.0) == []


# ---- wiring: watch --fix and the daemon, the Nano family passed in -----------------------
def nano_platform(platform: VirtualPlatform) -> VirtualPlatform:
    platform.nodes.family = RECEIVERS[NANO]      # the kernel model keeps buttons at link loss
    return platform


def test_watch_fix_releases_a_button_held_across_a_nano_link_loss():
    model = VirtualReceiver("default")
    source = nano_platform(VirtualPlatform(receiver=model)).source()
    w = W.Watcher(source, Detector(family_of=lambda p: RECEIVERS[NANO]), layers=LiveLayers(nodes=source),
                  fix=True, poll_interval=0.01)
    w.start()
    model.press(1, 0x0008)                        # the back button, held by a hand
    evs = [e for _ in range(3) for e in w.step()]
    assert not any(e.kind == "released" for e in evs)
    model.disconnect(1)                           # the mouse sleeps with it held
    evs = [e for _ in range(3) for e in w.step()]
    found = [e.finding for e in evs if e.kind == "finding"]
    assert [f.rule for f in found] == [Rule.HELD_AT_LINK_LOSS]
    assert [e.kind for e in evs if e.outcome is not None] == ["released"]
    assert BTN_SIDE not in source.held_keys("virtual:1")


def test_watch_leaves_it_to_the_kernel_on_unifying():
    model = VirtualReceiver("default")
    source = VirtualPlatform(receiver=model).source()
    w = W.Watcher(source, Detector(), layers=LiveLayers(nodes=source), fix=True, poll_interval=0.01)
    w.start()
    model.press(1, 0x0008)
    [w.step() for _ in range(3)]
    model.disconnect(1)
    evs = [e for _ in range(3) for e in w.step()]
    assert not any(e.kind in ("finding", "released") for e in evs)
    assert BTN_SIDE not in source.held_keys("virtual:1")   # the all-zero report did it


def test_daemon_releases_a_button_held_across_a_nano_link_loss_and_says_why():
    h = Harness(record=False, family_of=lambda p: RECEIVERS[NANO])
    nano_platform(h.platform)
    h.run_until(lambda: h.writes() == 1)
    h.model.press(1, 0x0008)
    h.run(0.3)
    assert h.count("released") == 0                       # a hand may hold a real button
    h.model.disconnect(1)
    h.run_until(lambda: h.count("held at link loss"), what="release at link loss")
    assert BTN_SIDE not in h.platform.nodes.held_keys("virtual:1")
    assert h.count("kernel holds 0x113 at link loss") == 1
    line = next(m for _, m in h.lines if "held at link loss" in m)
    # the family passed in, the product id as the receiver reports it
    assert "a Nano receiver (C52B) keeps held buttons held at link loss" in line, line
    assert "released by step 1" in line and "verified" in line, line


def test_daemon_without_dj_reports_finds_the_held_button_in_the_kernel_at_link_loss():
    """A Nano receiver's node carries no DJ mouse reports (they go to the child as report
    0x02): what is held is read from the event node (EVIOCGKEY) when the link drops."""
    h = Harness(family_of=lambda p: RECEIVERS[NANO])
    nano_platform(h.platform)
    h.daemon.phantoms.on_buttons = lambda *args: None
    h.run_until(lambda: h.writes() == 1)
    h.model.press(1, 0x0008)
    h.run(0.1)
    h.model.disconnect(1)
    h.run_until(lambda: h.releases, what="release at link loss")
    assert [(r.node, r.code, r.model_has_button) for _, r in h.releases] == [("virtual:1", BTN_SIDE, True)]
    assert h.count("kernel holds 0x113 at link loss") == 1


def test_daemon_on_unifying_reads_nothing_at_link_loss():
    h = Harness()
    asked = []
    real = h.daemon.held_codes
    h.daemon.held_codes = lambda node, slot: asked.append(slot) or real(node, slot)
    h.run_until(lambda: h.writes() == 1)
    n = len(asked)                                          # one read per connection
    h.model.press(1, 0x0008)
    h.run(0.1)
    h.model.disconnect(1)
    h.run(0.3)
    assert len(asked) == n and h.releases == []
