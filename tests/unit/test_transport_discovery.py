"""Discovery of HID++ nodes on a fake sysfs tree (the real one is exercised in the lab)."""

from __future__ import annotations

import os

from phantombutton.transport.discovery import (
    Skipped, find_receivers, hid_input_reports, hidpp_nodes, is_hidpp_descriptor,
)
from phantombutton.virtual.descriptors import HIDPP_RECEIVER_DESCRIPTOR

# The DJ child's descriptor starts with the 16-button mouse collection (Generic Desktop), then
# the HID++ collections: the first collection is not the vendor one.
MOUSE = bytes.fromhex(  # hid-logitech-dj's 16-button DJ mouse, report 2 (7 bytes)
    "05010902a10185020901a1000509190129101500250195107501810205011601f826ff07750c9502093009318106"
    "1581257f7508950109388106050c0a380295018106c0c0"
)
HIDPP_SHORT_ONLY = bytes.fromhex("0600ff0901a10185107508950615002600ff0901810009019100c0")
WRONG_SIZE = bytes.fromhex("0600ff0901a10185107508950515002600ff0901810009019100c0")  # 5 bytes, not 6
KEYBOARD = bytes.fromhex("05010906a101850175019508150025010507" "19e029e78102c0")


def make_node(root, n, hid_id, name, phys, driver, descriptor, symlink=False):
    hidraw = root / "class" / "hidraw" / f"hidraw{n}"
    device = root / "devices" / f"{hid_id}.{n:04X}" if symlink else hidraw / "device"
    device.mkdir(parents=True)
    hidraw.mkdir(parents=True, exist_ok=True)
    if symlink:
        os.symlink(device, hidraw / "device")
    (device / "report_descriptor").write_bytes(descriptor)
    bus, vendor, product = hid_id.split(":")
    (device / "uevent").write_text(
        f"DRIVER={driver}\nHID_ID={bus}:0000{vendor}:0000{product}\nHID_NAME={name}\n"
        f"HID_PHYS={phys}\nHID_UNIQ=\nMODALIAS=hid:b{bus}g0102v0000{vendor}p0000{product}\n"
    )


def fake_tree(root):
    phys = "usb-0000:00:14.0-1/input2"
    make_node(root, 0, "0003:046D:C52B", "Logitech USB Receiver", "usb-0000:00:14.0-1/input0", "logitech-djreceiver", KEYBOARD)
    make_node(root, 1, "0003:046D:C52B", "Logitech USB Receiver", "usb-0000:00:14.0-1/input1", "logitech-djreceiver", MOUSE)
    make_node(root, 2, "0003:046D:C52B", "Logitech USB Receiver", phys, "logitech-djreceiver", HIDPP_RECEIVER_DESCRIPTOR, symlink=True)
    make_node(root, 10, "0003:046D:406D", "Logitech M705", phys + ":3", "logitech-hidpp-device", MOUSE + HIDPP_RECEIVER_DESCRIPTOR[:54])
    make_node(root, 3, "0003:046D:101B", "Logitech M705", phys + ":1", "logitech-hidpp-device", MOUSE + HIDPP_RECEIVER_DESCRIPTOR)
    # some other vendor's device that happens to use the same report ids
    make_node(root, 4, "0003:1234:5678", "Other", "usb-0000:00:14.0-2/input0", "hid-generic", HIDPP_SHORT_ONLY)
    make_node(root, 5, "0003:046D:C52B", "Broken", "usb-0000:00:14.0-3/input2", "hid-generic", WRONG_SIZE)


def test_descriptor_parser_finds_hidpp_reports():
    assert hid_input_reports(MOUSE) == {2: (0x09, 56)}
    reports = hid_input_reports(HIDPP_RECEIVER_DESCRIPTOR)
    assert reports == {0x10: (0xFF00, 48), 0x11: (0xFF00, 152), 0x20: (0xFF00, 112), 0x21: (0xFF00, 248)}
    assert is_hidpp_descriptor(HIDPP_RECEIVER_DESCRIPTOR)
    assert is_hidpp_descriptor(MOUSE + HIDPP_RECEIVER_DESCRIPTOR)
    assert is_hidpp_descriptor(HIDPP_SHORT_ONLY)
    assert not is_hidpp_descriptor(MOUSE)
    assert not is_hidpp_descriptor(WRONG_SIZE)
    assert not is_hidpp_descriptor(b"")


def test_descriptor_parser_handles_push_pop_and_long_items():
    # push, change page to Generic Desktop, pop: the input must be on 0xFF00 again;
    # a long item (0xFE) in between is skipped.
    descriptor = bytes.fromhex("0600ff851075089506" "a40501b4" "fe020000aa" "8100")
    assert hid_input_reports(descriptor) == {0x10: (0xFF00, 48)}


def test_find_receivers_with_children(tmp_path):
    fake_tree(tmp_path)
    receivers = find_receivers(str(tmp_path))
    assert [r.node for r in receivers] == ["/dev/hidraw2"]
    receiver = receivers[0]
    assert (receiver.vendor, receiver.product, receiver.driver) == (0x046D, 0xC52B, "logitech-djreceiver")
    assert [(c.node, c.slot, c.wpid, c.driver) for c in receiver.children] == [
        ("/dev/hidraw3", 1, "101B", "logitech-hidpp-device"),
        ("/dev/hidraw10", 3, "406D", "logitech-hidpp-device"),
    ]


def test_hidpp_nodes_skip_non_hidpp_interfaces(tmp_path):
    fake_tree(tmp_path)
    nodes = [n.node for n in hidpp_nodes(str(tmp_path))]
    assert nodes == ["/dev/hidraw2", "/dev/hidraw3", "/dev/hidraw4", "/dev/hidraw10"]


def test_receiver_without_dj_driver_is_found_by_interface(tmp_path):
    make_node(tmp_path, 0, "0003:046D:C52B", "Logitech USB Receiver", "usb-0000:00:1d.0-1/input2", "hid-generic",
              HIDPP_RECEIVER_DESCRIPTOR)
    assert [r.node for r in find_receivers(str(tmp_path))] == ["/dev/hidraw0"]


def test_no_sysfs_means_no_receivers(tmp_path):
    assert find_receivers(str(tmp_path / "missing")) == []


def test_unreadable_or_odd_entries_are_skipped(tmp_path):
    (tmp_path / "class" / "hidraw" / "hidraw0").mkdir(parents=True)  # no device directory
    (tmp_path / "class" / "hidraw" / "notes").mkdir()
    make_node(tmp_path, 1, "0003:046D:C52B", "x", "p/input2", "logitech-djreceiver", HIDPP_RECEIVER_DESCRIPTOR)
    (tmp_path / "class" / "hidraw" / "hidraw1" / "device" / "uevent").write_text("HID_ID=garbage\n")
    assert find_receivers(str(tmp_path)) == []


def test_every_handled_family_is_found_27mhz_is_skipped_with_why(tmp_path):
    fake_tree(tmp_path)
    # a Nano receiver the DJ driver binds (its HID++ node), a Bolt left to hid-generic on 6.1,
    # a 27 MHz receiver, and a Logitech interface 2 that is no receiver at all (a wired
    # mouse's HID++ interface)
    make_node(tmp_path, 6, "0003:046D:C534", "Logitech USB Receiver", "usb-0000:00:14.0-4/input1",
              "logitech-djreceiver", HIDPP_RECEIVER_DESCRIPTOR)
    make_node(tmp_path, 7, "0003:046D:C548", "Logitech USB Receiver", "usb-0000:00:14.0-5/input2",
              "hid-generic", HIDPP_RECEIVER_DESCRIPTOR)
    make_node(tmp_path, 8, "0003:046D:C08B", "Logitech G502", "usb-0000:00:14.0-6/input2",
              "hid-generic", HIDPP_RECEIVER_DESCRIPTOR)
    make_node(tmp_path, 9, "0003:046D:C517", "Logitech USB Receiver", "usb-0000:00:14.0-7/input1",
              "logitech-djreceiver", HIDPP_RECEIVER_DESCRIPTOR)
    skipped: list[Skipped] = []
    found = find_receivers(str(tmp_path), skipped)
    assert [(r.node, r.product) for r in found] == [
        ("/dev/hidraw2", 0xC52B), ("/dev/hidraw6", 0xC534), ("/dev/hidraw7", 0xC548)]
    assert [s.node for s in skipped] == ["/dev/hidraw9"]
    assert "27 MHz Receiver (046d:C517, 27 MHz) is listed only" in skipped[0].reason
