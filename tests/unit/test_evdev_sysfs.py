"""sysfs mapping of event nodes on a fake tree laid out like Linux 6.1 with a Unifying
receiver (hid-logitech-dj), a USB mouse and a keyboard."""

from __future__ import annotations

import os

from phantombutton.input.sysfs_map import describe, parse_bitmap, pointer_nodes

RECV = "devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.2/0003:046D:C52B.0001"


def _input(root, hid_rel, input_name, event_name, *, name, phys, vendor, product, key, rel):
    hid = root / "sys" / hid_rel
    inp = hid / "input" / input_name
    (inp / "id").mkdir(parents=True)
    (inp / "capabilities").mkdir()
    (inp / "name").write_text(name + "\n")
    (inp / "phys").write_text(phys + "\n")
    (inp / "id/vendor").write_text(f"{vendor:04x}\n")
    (inp / "id/product").write_text(f"{product:04x}\n")
    (inp / "capabilities/key").write_text(key + "\n")
    (inp / "capabilities/rel").write_text(rel + "\n")
    os.symlink(hid, inp / "device")
    ev = inp / event_name
    ev.mkdir()
    os.symlink(inp, ev / "device")
    cls = root / "sys/class/input"
    cls.mkdir(parents=True, exist_ok=True)
    os.symlink(ev, cls / event_name)
    return hid


def fake_tree(root):
    recv = root / "sys" / RECV
    (recv / "hidraw/hidraw0").mkdir(parents=True)
    # M705 child: keys 0x110..0x11F -> bits 16..31 of the 5th 64-bit word
    m705 = _input(root, f"{RECV}/0003:046D:101B.0002", "input7", "event5", name="Logitech M705",
                  phys="usb-0000:00:14.0-1/input2:1", vendor=0x046D, product=0xC52B,
                  key="ffff0000 0 0 0 0", rel="1943")
    (m705 / "hidraw/hidraw1").mkdir(parents=True)
    # a keyboard on the same receiver, slot 2: no mouse buttons
    _input(root, f"{RECV}/0003:046D:2010.0003", "input8", "event6", name="Logitech K800",
           phys="usb-0000:00:14.0-1/input2:2", vendor=0x046D, product=0xC52B,
           key="fffffffffffffffe", rel="0")
    # a plain USB mouse
    _input(root, "devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/0003:093A:2510.0004",
           "input9", "event2", name="PixArt USB Optical Mouse", phys="usb-0000:00:14.0-2/input0",
           vendor=0x093A, product=0x2510, key="70000 0 0 0 0", rel="103")


def test_parse_bitmap_words_are_most_significant_first():
    assert parse_bitmap("ffff0000 0 0 0 0") == frozenset(range(256 + 16, 256 + 32))
    assert parse_bitmap("1943") == frozenset({0, 1, 6, 8, 11, 12})
    assert parse_bitmap("0") == frozenset()


def test_receiver_child_gets_slot_wpid_and_both_hidraw_nodes(tmp_path):
    fake_tree(tmp_path)
    d = describe("event5", str(tmp_path / "sys"), "/dev")
    assert d.node == "/dev/input/event5" and d.name == "Logitech M705"
    assert d.slot == 1 and d.product == 0x101B and d.receiver_product == 0xC52B
    assert d.hidpp_node == "/dev/hidraw1" and d.receiver_node == "/dev/hidraw0"
    assert 0x11F in d.buttons and d.is_mouse and d.is_receiver_child


def test_plain_mouse_is_not_a_receiver_child(tmp_path):
    fake_tree(tmp_path)
    d = describe("event2", str(tmp_path / "sys"))
    assert d.slot is None and d.hidpp_node is None and d.vendor == 0x093A
    assert d.buttons == frozenset({0x110, 0x111, 0x112}) and d.is_mouse


def test_pointer_nodes_children_first_all_adds_other_mice(tmp_path):
    fake_tree(tmp_path)
    sysfs = str(tmp_path / "sys")
    assert [d.node for d in pointer_nodes(sysfs=sysfs)] == ["/dev/input/event5"]
    assert [d.node for d in pointer_nodes(True, sysfs=sysfs)] == ["/dev/input/event5", "/dev/input/event2"]


def test_vanished_node_and_missing_tree(tmp_path):
    assert describe("event9", str(tmp_path)) is None
    assert pointer_nodes(sysfs=str(tmp_path / "nothing")) == []
