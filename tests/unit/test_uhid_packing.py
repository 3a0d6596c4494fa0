"""struct uhid_event packing of phantombutton.virtual.uhid (pure logic; the lab runs the rest)."""

import glob
import struct

import pytest

from phantombutton.virtual import uhid


def test_every_event_is_full_size():
    for ev in (uhid.pack_create2(), uhid.pack_input2(b"\x10\xff\x80\x00\x00\x09\x00"),
               uhid.pack_set_report_reply(7), uhid.pack_get_report_reply(7, 5), uhid.pack_destroy()):
        assert len(ev) == uhid.EVENT_SIZE == 4376


def test_create2_layout():
    ev = uhid.pack_create2()
    assert struct.unpack_from("<I", ev, 0)[0] == 11
    assert ev[4:4 + 128].rstrip(b"\0") == b"Logitech USB Receiver"
    assert ev[132:132 + 64].rstrip(b"\0") == b"usb-0000:00:14.0-1/input2"
    rd_size, bus, vendor, product = struct.unpack_from("<HHII", ev, 260)
    assert (rd_size, bus, vendor, product) == (98, 3, 0x046D, 0xC52B)
    assert ev[280:280 + 98] == uhid.HIDPP_DESCRIPTOR


def test_descriptor_declares_the_four_unifying_reports():
    d = uhid.HIDPP_DESCRIPTOR
    assert len(d) == 98
    assert d[:5] == bytes([0x06, 0x00, 0xFF, 0x09, 0x01])  # usage 0xFF000001 first
    # report id -> report count, in order: 0x10/6, 0x11/19, 0x20/14, 0x21/31
    ids = [d[i + 1] for i in range(len(d) - 1) if d[i] == 0x85]
    counts = [d[i + 1] for i in range(len(d) - 1) if d[i] == 0x95]
    assert ids == [0x10, 0x11, 0x20, 0x21]
    assert counts == [6, 19, 14, 31]


def test_input2_carries_size_then_data():
    report = bytes.fromhex("20 01 02 00 80") + bytes(10)
    ev = uhid.pack_input2(report)
    assert struct.unpack_from("<IH", ev, 0) == (12, 15)
    assert ev[6:6 + 15] == report


def test_parse_output_and_set_report():
    out = bytearray(uhid.EVENT_SIZE)
    struct.pack_into("<I", out, 0, 6)
    out[4:11] = bytes.fromhex("10 ff 81 00 00 00 00")
    struct.pack_into("<HB", out, 4 + 4096, 7, 1)
    ev = uhid.parse_event(bytes(out))
    assert (ev.kind, ev.data) == (uhid.UhidEvent.OUTPUT, bytes.fromhex("10 ff 81 00 00 00 00"))

    sr = bytearray(uhid.EVENT_SIZE)
    struct.pack_into("<IIBBH", sr, 0, 13, 42, 0x20, 1, 15)
    sr[12:27] = bytes.fromhex("20 ff 80 3f") + bytes(11)
    ev = uhid.parse_event(bytes(sr))
    assert (ev.kind, ev.request_id, ev.report_number) == (13, 42, 0x20)
    assert ev.data[:4] == bytes.fromhex("20 ff 80 3f") and len(ev.data) == 15
    reply = uhid.pack_set_report_reply(42)
    assert struct.unpack_from("<IIH", reply, 0) == (14, 42, 0)


def test_descriptor_is_the_one_in_the_installed_hid_logitech_dj_module():
    """Byte-identical to `hidpp_descriptor` of the kernel we boot in the lab (98 bytes in 6.1)."""
    modules = sorted(glob.glob("/lib/modules/*/kernel/drivers/hid/hid-logitech-dj.ko"))
    if not modules:
        pytest.skip("no uncompressed hid-logitech-dj.ko installed (linux-image-amd64)")
    for path in modules:
        with open(path, "rb") as f:
            assert uhid.HIDPP_DESCRIPTOR in f.read(), path
