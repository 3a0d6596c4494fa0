"""Receiver, devices, settings and selection on the virtual receiver (the real request
engine over the in-process transport; the model answers as the reference dumps do)."""

from __future__ import annotations

import pytest

from phantombutton.devices import settings
from phantombutton.devices.device import DeviceOffline
from phantombutton.devices.receiver import Receiver
from phantombutton.devices.report import device_report
from phantombutton.devices.select import select_device
from phantombutton.devices.settings import NotApplied
from phantombutton.errors import UsageProblem
from phantombutton.transport.engine import Engine
from phantombutton.transport.virtual import VirtualTransport
from phantombutton.virtual.hidpp10_device import Register as VRegister
from phantombutton.virtual.receiver import VirtualReceiver


def open_virtual(profile="default", **engine_args):
    model = VirtualReceiver(profile)
    engine = Engine(VirtualTransport(model), **engine_args)
    return model, Receiver(engine, "virtual:c52b", model.product_id)


def requests(model, sub=None, reg=None):
    return [e.request for e in model.log if e.request[:1] in (b"\x10", b"\x11")
            and (sub is None or e.request[2] == sub) and (reg is None or e.request[3] == reg)]


def test_pairing_table_of_the_mixed_profile():
    model, receiver = open_virtual("mixed")
    devs = receiver.devices()
    assert [(d.slot, d.wpid, d.short_name, d.serial) for d in devs] == [
        (1, 0x101B, "M705", "23691D3D"), (2, 0x101A, "Performance MX", "5A1F0C42"), (3, 0x406D, "M705", "B14D65DA")]
    assert [d.protocol() for d in devs] == [(1, 0), (1, 0), (4, 5)]
    assert [d.kind for d in devs] == ["mouse"] * 3
    assert receiver.names() == {1: "M705", 2: "Performance MX", 3: "M705"}


def test_receiver_details_match_the_c52b_dump():
    model, receiver = open_virtual()
    d = receiver.details()
    assert (d.serial, d.max_devices, d.paired) == ("E0662192", 6, 1)
    assert d.firmware == {"firmware": "24.11.B0036", "bootloader": "02.09", "other": "AA.AC"}
    assert d.notifications == 0x000900


def pairing_reads(model):
    """Slots asked about through 0xB5 0x2n/0x3n/0x4n (slot n + 1)."""
    return [(r[4] & 0x0F) + 1 for r in requests(model, 0x83, 0xB5) if r[4] >> 4 in (2, 3, 4)]


def test_register_02_counts_paired_devices_not_connected_ones():
    # Solaar receiver.py count() / cli/show.py "Has N paired device(s)": byte 1 of 0x02
    model, receiver = open_virtual("mixed")
    model.disconnect(3)
    assert receiver.paired_count() == 3
    assert [d.slot for d in receiver.devices()] == [1, 2, 3]   # the offline device is listed too


def test_pairing_registers_are_read_only_for_occupied_slots():
    model, receiver = open_virtual("mixed")
    receiver.devices()
    assert sorted(set(pairing_reads(model))) == [1, 2, 3]
    assert len(requests(model, 0x81, 0x02)) == 1      # the paired count, read once


def test_child_nodes_tell_which_slots_to_read():
    # the kernel's DJ enumeration made a child node for the device in slot 3 only
    model = VirtualReceiver("mixed")
    del model.devices[1], model.devices[2]
    receiver = Receiver(Engine(VirtualTransport(model)), "virtual:c52b", model.product_id, {3: "/dev/hidraw9"})
    assert [d.slot for d in receiver.devices()] == [3]
    assert pairing_reads(model) == [3, 3, 3]


def test_without_child_nodes_reading_stops_at_the_paired_count():
    model, receiver = open_virtual("default")
    receiver.devices()
    assert pairing_reads(model) == [1, 1, 1]
    model, receiver = open_virtual("empty")
    assert receiver.devices() == [] and pairing_reads(model) == []


def test_info_asks_no_more_than_solaar_show_and_nothing_about_empty_slots():
    from phantombutton.devices.report import receivers_tree

    for profile, occupied in (("default", {1}), ("mixed", {1, 2, 3})):
        model, receiver = open_virtual(profile)
        receivers_tree([receiver], full=True)
        assert set(pairing_reads(model)) == occupied
        assert not [r for r in requests(model) if r[1] != 0xFF and r[1] not in occupied]
    model, receiver = open_virtual("default")
    receivers_tree([receiver], full=True)
    assert model.hidpp_requests() <= 23     # `solaar show` on the same receiver + M705: 23


def test_enumeration_does_not_disturb_the_kernel():
    """Listing reads neither 0xB5/03 (kernel re-enumerates) nor writes register 0x02."""
    model, receiver = open_virtual("mixed")
    for dev in receiver.devices():
        dev.protocol()
    assert not [r for r in requests(model, 0x83, 0xB5) if r[4] == 0x03]
    assert not requests(model, 0x80, 0x02)
    assert not [r for r in requests(model) if r[2] in (0x80, 0x82)]  # no writes at all


def test_m705_identity_firmware_battery():
    model, receiver = open_virtual()
    m705 = receiver.devices()[0]
    assert m705.hidpp10 and m705.model.name == "M705" and m705.protocol_text() == "HID++ 1.0"
    assert m705.firmware() == {"firmware": "17.01.B0017", "bootloader": "02.06", "other": "00.04"}
    battery = m705.battery()
    assert (battery.percent, battery.status) == (100, "discharging")


def test_hidpp20_feature_table_name_firmware_battery():
    model, receiver = open_virtual("m705-406d")
    dev = receiver.devices()[0]
    assert not dev.hidpp10
    table = dev.features()
    assert len(table) == 27 and table[7].name == "REPROG_CONTROLS_V4" and table[26].feature_id == 0x2121
    assert "hidden" in [f.name.lower() for f in __import__("phantombutton").hidpp.hidpp20.FeatureFlag
                        if table[19].flags & f]
    assert dev.full_name() == "Marathon Mouse/Performance Plus M705"
    assert dev.firmware()["firmware"] == "RQM 67.01.B0005"
    assert dev.battery().percent == 50
    names = [c.name for c in dev.controls()]
    assert names == ["Left Button", "Right Button", "Middle Button", "Back Button", "Forward Button",
                     "Left Tilt", "Right Tilt"]


def test_side_scroll_read_modify_write_changes_only_its_bit():
    model, receiver = open_virtual()
    m705 = receiver.devices()[0]
    model.devices[1].registers[0x01] = bytes.fromhex("420000")  # as the kernel leaves it
    assert settings.get(m705, "side-scroll") == "on"
    assert settings.put(m705, "side-scroll", "off") == "off"
    assert requests(model, 0x80, 0x01) == [bytes.fromhex("10 01 80 01 40 00 00")]  # smooth-scroll kept
    assert model.devices[1].registers[0x01] == bytes.fromhex("400000")
    assert settings.put(m705, "smooth-scroll", "off", force=True) == "off"
    assert model.devices[1].registers[0x01] == bytes.fromhex("000000")
    # the write is followed by a read-back
    log = [e.request[2:4] for e in model.log if e.request[:1] == b"\x10" and e.request[1] == 1]
    assert log[-2:] == [b"\x80\x01", b"\x81\x01"]


def test_smooth_scroll_off_is_refused_without_force_on_kernel_hi_res_mice():
    # hid-logitech-hidpp.c HIDPP_QUIRK_HI_RES_SCROLL_1P0: 0x40 set at every connect, wheel / 8
    model, receiver = open_virtual("mixed")
    model.devices[1].registers[0x01] = bytes.fromhex("420000")
    for dev in receiver.devices()[:2]:      # M705 101B, Performance MX 101A
        with pytest.raises(UsageProblem, match="8x slow until it reconnects.*add --force"):
            settings.put(dev, "smooth-scroll", "off")
    assert not requests(model, 0x80, 0x01)                  # nothing written
    assert settings.put(receiver.devices()[0], "smooth-scroll", "on") == "on"   # on is fine


def test_no_write_when_already_set():
    model, receiver = open_virtual()
    m705 = receiver.devices()[0]
    assert settings.put(m705, "side-scroll", "on") == "on"  # power-on value 02 00 00
    assert requests(model, 0x80) == []


def test_write_that_does_not_stick_is_an_error():
    model, receiver = open_virtual()
    m705 = receiver.devices()[0]
    # a device that drops bit 0x02: the write is acknowledged but not kept
    model.devices[1].spec[0x01] = VRegister(bytes.fromhex("000000"), bytes.fromhex("fdffff"))
    model.devices[1].registers[0x01] = bytes(3)
    with pytest.raises(NotApplied, match="wrote side-scroll on but register 0x01 reads back 00 00 00"):
        settings.put(m705, "side-scroll", "on")


def test_performance_mx_dpi():
    model, receiver = open_virtual("performance-mx")
    pmx = receiver.devices()[0]
    assert set(settings.settings_for(pmx)) == {"side-scroll", "smooth-scroll", "dpi"}
    assert settings.get(pmx, "dpi") == "900"
    assert settings.put(pmx, "dpi", "1200") == "1200"
    assert model.devices[1].registers[0x63][0] == 0x8C
    with pytest.raises(UsageProblem, match="valid: 100, 200"):
        settings.put(pmx, "dpi", "1250")


def test_unknown_setting_and_value_name_the_choices():
    model, receiver = open_virtual()
    m705 = receiver.devices()[0]
    with pytest.raises(UsageProblem, match="valid: side-scroll, smooth-scroll"):
        settings.put(m705, "dpi", "800")  # the M705 has no DPI register
    with pytest.raises(UsageProblem, match="valid: on, off"):
        settings.put(m705, "side-scroll", "sideways")
    assert requests(model, 0x80) == []


def test_reset_stale_diversions():
    model, receiver = open_virtual("m705-406d")
    dev = receiver.devices()[0]
    index = dev.feature_index(0x1B04)
    # another program diverts the middle button (temporary) and the back button (persistent)
    receiver.engine.call(1, index, 3, bytes.fromhex("00 52 03 00 00"))
    model.devices[1].controls[3].flags |= 0x40  # allow the persistent one, as on the M720
    receiver.engine.call(1, index, 3, bytes.fromhex("00 53 0c 00 00"))
    assert settings.get(dev, "diversions") == "Middle Button (diverted), Back Button (persistently diverted)"
    assert settings.put(dev, "diversions", "reset") == "none"
    assert all(c.reporting == 0 for c in model.devices[1].controls)


def test_offline_device():
    model, receiver = open_virtual()
    model.disconnect(1)
    m705 = receiver.devices()[0]
    assert m705.protocol() is None and not m705.online
    with pytest.raises(DeviceOffline, match="offline"):
        settings.get(m705, "side-scroll")
    report = device_report(m705)
    assert report["protocol"] == "offline" and "settings" not in report


def test_device_that_stops_answering_is_reported_not_fatal():
    model, receiver = open_virtual(device_timeout=0.05)
    m705 = receiver.devices()[0]
    assert m705.online
    model.lose_replies(1000)
    report = device_report(m705)
    assert report["errors"] and all("no reply" in e for e in report["errors"])


@pytest.mark.parametrize("spec,slot", [("1", 1), ("3", 3), ("101b", 1), ("0x101A", 2), ("406D", 3),
                                       ("23691d3d", 1), ("perf", 2), ("performance mx", 2),
                                       ("Performance Plus", 3)])
def test_select_device(spec, slot):
    model, receiver = open_virtual("mixed")
    assert select_device(receiver.devices(), spec).slot == slot


@pytest.mark.parametrize("spec,message", [
    ("m705", "ambiguous"), ("7", "no device in slot 7; valid: 1 (M705, WPID 101B, serial 23691D3D); 2 (Performance"),
    ("g502", "no device 'g502'"), ("", "empty device name"),
])
def test_select_device_errors(spec, message):
    model, receiver = open_virtual("mixed")
    with pytest.raises(UsageProblem, match=message.replace("(", r"\(").replace(")", r"\)")):
        select_device(receiver.devices(), spec)


def test_report_reads_register_0x01_once_for_both_scroll_settings():
    model, receiver = open_virtual()
    report = device_report(receiver.devices()[0])
    assert report["settings"] == {"side-scroll": "on", "smooth-scroll": "off"}
    assert len(requests(model, 0x81, 0x01)) == 1


def test_decoder_reads_everything_the_virtual_receiver_sends():
    """Connect/disconnect notifications, DJ reports, the phantom, garbage: one line each."""
    from phantombutton.hidpp.decode import UNDECODABLE, describe
    from phantombutton.hidpp.errors import FrameError

    model, receiver = open_virtual("mixed")
    names = receiver.names()
    model.disconnect(1)
    model.connect(1)
    model.press(1, 1 << 15)
    model.move(2, 5, -3)
    model.release(1)
    model.garbage()
    lines, rejected = [], 0
    while (item := receiver.engine.poll(0)) is not None:
        try:
            lines.append(describe(item.raw, names))
        except FrameError:
            rejected += 1
    assert rejected == 4  # the four garbage frames, and nothing else
    assert not [line for line in lines if UNDECODABLE in line]
    text = "\n".join(lines)
    assert "receiver: device 1 disconnected M705 101B (link down)" in text
    assert "receiver: device 1 connected M705 101B (link up)" in text
    assert "M705(1) DJ mouse buttons=16 [phantom: HID button 16 = X button 20]" in text
    assert "Performance MX(2) DJ mouse buttons=none x=5 y=-3" in text
