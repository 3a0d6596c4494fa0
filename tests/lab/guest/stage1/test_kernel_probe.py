"""The real hid-logitech-dj and hid-logitech-hidpp accept the virtual receiver."""

from __future__ import annotations

import os
import re

import evdev
import labkit


def test_dj_receiver_binds_and_enumerates_the_m705(bridge):
    log = "\n".join(t for _, t in labkit.kernel_lines(bridge.started_at - 1))
    assert re.search(r"logitech-djreceiver 0003:046D:C52B\.\w+: hidraw\d+: USB HID v\S+ Device "
                     r"\[Logitech USB Receiver\] on usb-0000:00:14.0-1/input2", log), log
    assert "HID++ 1.0 device connected." in log, log
    assert re.search(r"input: Logitech M705 as /devices/virtual/misc/uhid/0003:046D:C52B\.\w+/"
                     r"0003:046D:101B\.\w+/input/input\d+", log), log
    assert re.search(r"logitech-hidpp-device 0003:046D:101B\.\w+: input,hidraw\d+: USB HID v\S+ "
                     r"Mouse \[Logitech M705\] on usb-0000:00:14.0-1/input2:1", log), log


def test_hidpp_probe_completes_without_timeouts(bridge):
    """Each unanswered HID++ request costs the driver 5 s: the whole probe must take far less."""
    lines = labkit.kernel_lines(bridge.started_at - 1)
    t_receiver = next(t for t, s in lines if "logitech-djreceiver" in s and "hidraw" in s)
    t_mouse = next(t for t, s in lines if "logitech-hidpp-device" in s and "Mouse [Logitech M705]" in s)
    assert 0 <= t_mouse - t_receiver < 2.0, (t_receiver, t_mouse)
    assert not [s for _, s in lines if re.search(r"timeout|timed out|failed|error", s, re.I)], lines


def test_kernel_probe_traffic_reaches_the_model(bridge):
    """The kernel's own requests were answered by the model (counted by the bridge)."""
    out = [t[2] for t in bridge.traffic() if t[1] == "out"]
    assert out[0].startswith("20 ff 80"), out[:3]  # switch to DJ mode
    assert any(h.startswith("20 ff 81") for h in out), out  # enumerate paired devices
    assert any(h.startswith("10 01 00 1") for h in out), out  # HID++ 2.0 ping of slot 1
    stats = bridge.stats()
    assert stats["hidpp_requests"] >= 5 and stats["inputs"] >= stats["hidpp_requests"], stats


def test_evdev_node_is_the_m705_with_16_buttons(event_node):
    dev = evdev.InputDevice(event_node)
    try:
        assert dev.name == labkit.M705_NAME
        assert (dev.info.vendor, dev.info.product) == (0x046D, 0x101B)
        keys = set(dev.capabilities()[evdev.ecodes.EV_KEY])
        assert set(range(0x110, 0x120)) <= keys, sorted(hex(k) for k in keys)
        assert {evdev.ecodes.REL_X, evdev.ecodes.REL_Y, evdev.ecodes.REL_WHEEL} <= set(
            dev.capabilities()[evdev.ecodes.EV_REL])
    finally:
        dev.close()


def test_child_hidraw_node_of_slot_1(bridge):
    children = labkit.hidraw_nodes(labkit.M705_ID)
    assert len(children) == 1, children
    child = children[0]
    assert child["HID_NAME"] == "Logitech M705"
    assert child["HID_PHYS"] == "usb-0000:00:14.0-1/input2:1"
    assert child["DRIVER"] == "logitech-hidpp-device"
    receiver = labkit.hidraw_nodes(labkit.RECEIVER_ID)
    assert [r["DRIVER"] for r in receiver] == ["logitech-djreceiver"]


def test_the_kernels_ping_and_its_answer_are_attributed_to_the_kernel(bridge):
    """6.1 hidpp_root_get_protocol_version pings with software id 0 (6.2+ sends 0x01)."""
    from phantombutton.hidpp.classify import FrameKind, classify, software_id
    from phantombutton.hidpp.decode import describe

    traffic = bridge.traffic()
    pings = [h for _, d, h, _ in traffic if d == "out" and h.startswith("10 01 00 1")]
    assert pings, traffic[:20]
    sw = int(pings[0].split()[3], 16) & 0x0F
    release = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])
    assert sw == (0 if release < (6, 2) else 1), (os.uname().release, pings)   # LINUX_KERNEL_SW_ID
    answers = [bytes.fromhex(h) for _, d, h, _ in traffic
               if d == "in" and re.match(rf"10 01 (8f 00 1{sw:x}|00 1{sw:x})", h)]
    assert answers, traffic[:20]
    for raw in answers:
        assert classify(raw) is FrameKind.REPLY and software_id(raw) == sw
        assert "kernel" in describe(raw), describe(raw)
