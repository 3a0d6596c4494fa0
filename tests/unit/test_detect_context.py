"""HID++ context attribution of findings: who said what on the receiver before the press."""

from __future__ import annotations

from phantombutton.detect.context import HidppContext, parse_frame, what
from phantombutton.detect.events import DeviceAdded, DeviceInfo, HidppTraffic, KeyEvent
from phantombutton.detect.findings import Rule, Thresholds
from phantombutton.detect.rules import Detector

from test_detect_rules import M705, NODE, PHANTOM, RECV, model_for, mouse

SOLAAR_PING_ERR = bytes([0x10, 0x01, 0x8F, 0x00, 0x1B, 0x01, 0x00])   # 1.0 device refuses 2.0 ping
SET_REG01 = bytes([0x10, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00])          # reply to a register write
READ_REG01_OFF = bytes([0x10, 0x01, 0x81, 0x01, 0x00, 0x00, 0x00])     # side-scroll bit clear
READ_REG01_ON = bytes([0x10, 0x01, 0x81, 0x01, 0x02, 0x00, 0x00])
CONNECT = bytes([0x10, 0x01, 0x41, 0x04, 0x02, 0x1B, 0x10])
G_HUB_FEATURE = bytes([0x11, 0x01, 0x05, 0x1D] + [0] * 16)              # fn 1, swid 0x0D


def run(seq):
    d = Detector(model_for=model_for, thresholds=Thresholds(context_window=3.0))
    d.feed(DeviceAdded(0.0, mouse(), at_start=True))
    out = []
    for o in seq:
        out += d.feed(o)
    return out


def test_register_write_attributed_to_solaar_by_burst():
    (f,) = run([
        HidppTraffic(10.010, RECV, SOLAAR_PING_ERR),
        HidppTraffic(10.020, RECV, SET_REG01),
        KeyEvent(10.050, NODE, PHANTOM, 1),
    ])
    assert f.rule is Rule.UNKNOWN_BUTTON
    lines = f.hidpp_context
    assert len(lines) == 2
    assert lines[1].startswith(
        "register 0x01 (mouse mode (side-scroll)) written (slot 1) by another program, "
        "software id 0x0B (Solaar) (same burst), 30 ms before the press")
    assert "software id 0x0B (Solaar), 40 ms before the press" in lines[0]
    assert "HID++ traffic of another program just before" in f.cause
    assert f.settings[-1].startswith("side-scroll register 0x01 written at 10.020 s")


def test_after_reconnect_the_kernel_is_a_candidate_too():
    """The kernel's connect probe writes register 0x01 right after a 0x41: a 1.0 frame then
    cannot be pinned on the program whose 2.0 id is in the burst; both are named."""
    (f,) = run([
        HidppTraffic(10.000, RECV, CONNECT),
        HidppTraffic(10.010, RECV, SOLAAR_PING_ERR),
        HidppTraffic(10.020, RECV, SET_REG01),
        KeyEvent(10.050, NODE, PHANTOM, 1),
    ])
    lines = f.hidpp_context
    assert "by the receiver, 50 ms before the press" in lines[0]
    assert ("written (slot 1) by the kernel's connect probe or another program, software id 0x0B "
            "(Solaar) (HID++ 1.0 carries no software id; all seen in the same burst), 30 ms before "
            "the press") in lines[2]
    assert "it followed a reconnection during which the mouse was initialised over HID++" in f.cause


def test_after_reconnect_without_other_ids_it_is_probably_the_kernel():
    (f,) = run([HidppTraffic(10.000, RECV, CONNECT), HidppTraffic(10.020, RECV, SET_REG01),
                KeyEvent(10.050, NODE, PHANTOM, 1)])
    assert "by probably the kernel's connect probe (HID++ 1.0 carries no software id)" in f.hidpp_context[1]


def test_same_frame_on_receiver_and_child_node_shown_once():
    d = Detector(model_for=model_for)
    d.feed(DeviceAdded(0.0, DeviceInfo(node=NODE, name="M705", product=M705, slot=1, receiver_node=RECV,
                                       hidpp_node="/dev/hidraw4"), at_start=True))
    d.feed(HidppTraffic(0.90, RECV, READ_REG01_OFF))
    d.feed(HidppTraffic(0.91, "/dev/hidraw4", READ_REG01_OFF))
    d.feed(HidppTraffic(0.95, "/dev/hidraw4", READ_REG01_OFF))   # a second read, 50 ms later
    (f,) = d.feed(KeyEvent(1.0, NODE, PHANTOM, 1))
    assert len(f.hidpp_context) == 2


def test_side_scroll_off_reported_as_setting():
    (f,) = run([HidppTraffic(9.0, RECV, READ_REG01_OFF), KeyEvent(10.0, NODE, PHANTOM, 1)])
    assert f.settings == ("side-scroll off (read at 9.000 s)",)
    assert "side-scroll (register 0x01 bit 0x02) is off" in f.cause


def test_side_scroll_on_from_device_info():
    d = Detector(model_for=model_for)
    d.feed(DeviceAdded(0.0, mouse(settings=(("side-scroll", "on"),)), at_start=True))
    (f,) = d.feed(KeyEvent(1.0, NODE, PHANTOM, 1))
    assert f.settings == ("side-scroll on (when the device was seen at 0.000 s)",)


def test_old_traffic_and_other_slots_left_out():
    (f,) = run([
        HidppTraffic(1.0, RECV, SET_REG01),                      # 9 s before: outside the window
        HidppTraffic(9.5, RECV, bytes([0x10, 0x02, 0x81, 0x01, 0x02, 0, 0])),  # slot 2
        HidppTraffic(9.6, "/dev/hidraw7", SET_REG01),            # another receiver
        KeyEvent(10.0, NODE, PHANTOM, 1),
    ])
    assert f.hidpp_context == ()


def test_software_ids_of_2_0_frames_and_own_id():
    ctx = HidppContext(own_software_id=0x0E)
    g = parse_frame(1.0, RECV, G_HUB_FEATURE)
    ctx.add(g)
    assert ctx.attribute(g) == "another program, software id 0x0D (G HUB)"
    ours = parse_frame(1.0, RECV, bytes([0x11, 0x01, 0x05, 0x1E] + [0] * 16))
    assert ctx.attribute(ours).startswith("phantombutton")
    err20 = parse_frame(1.0, RECV, bytes([0x11, 0x01, 0xFF, 0x05, 0x1B, 0x02] + [0] * 14))
    assert err20.software_id == 0x0B and "HID++ 2.0 error 2" in what(err20)


def test_no_burst_id_means_unknown_program():
    ctx = HidppContext()
    f = parse_frame(1.0, RECV, SET_REG01)
    ctx.add(f)
    assert ctx.attribute(f) == "another program (no software id in HID++ 1.0)"


def test_junk_and_dj_reports_ignored():
    assert parse_frame(0.0, RECV, b"") is None
    assert parse_frame(0.0, RECV, bytes([0x20, 0x01, 0x02, 0, 0x80] + [0] * 10)) is None
    assert parse_frame(0.0, RECV, bytes([0x10, 0x01])) is None
    d = Detector(model_for=model_for)
    for junk in (b"\xff" * 3, bytes([0x11]), bytes([0x10, 1, 0x8F])):
        assert d.feed(HidppTraffic(0.0, RECV, junk)) == []


def test_context_seen_on_child_node():
    d = Detector(model_for=model_for)
    d.feed(DeviceAdded(0.0, DeviceInfo(node=NODE, name="M705", product=M705, slot=1,
                                       hidpp_node="/dev/hidraw4"), at_start=True))
    d.feed(HidppTraffic(0.9, "/dev/hidraw4", READ_REG01_ON))
    (f,) = d.feed(KeyEvent(1.0, NODE, PHANTOM, 1))
    assert "side-scroll on" in f.hidpp_context[0] and f.settings == ("side-scroll on (read at 0.900 s)",)


KERNEL_PING_ERR_6_1 = bytes([0x10, 0x01, 0x8F, 0x00, 0x10, 0x01, 0x00])  # 6.1 kernel's ping, sw 0


def test_kernel_ping_with_software_id_0_is_the_kernels():
    # before 6.2, hid-logitech-hidpp.c hidpp_root_get_protocol_version sent no software id
    (f,) = run([
        HidppTraffic(10.010, RECV, KERNEL_PING_ERR_6_1),
        HidppTraffic(10.020, RECV, SET_REG01),
        KeyEvent(10.050, NODE, PHANTOM, 1),
    ])
    ping, write = f.hidpp_context
    assert "by the kernel (its ping carries software id 0 before Linux 6.2)" in ping
    assert "[device 1 HID++ 1.0 device (ping answered with invalid subid (0x01)) [sw 0x00 kernel before 6.2]]" in ping
    assert "by probably the kernel's connect probe" in write


def test_hidpp20_event_is_the_devices():
    event = bytes([0x11, 0x01, 0x04, 0x00, 0x01] + [0] * 15)     # WIRELESS_DEVICE_STATUS-like event
    (f,) = run([HidppTraffic(10.0, RECV, event), KeyEvent(10.050, NODE, PHANTOM, 1)])
    assert "by the device (HID++ 2.0 event)" in f.hidpp_context[0]
