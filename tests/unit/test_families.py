"""The receiver families: discovery on a fake sysfs, the Bolt registers, each family's
pairing reads against the family models (virtual/families.py), and list/info on each."""

from __future__ import annotations

import json

import pytest
from test_transport_discovery import MOUSE, make_node

from phantombutton.cli.main import main
from phantombutton.devices.receiver import Receiver
from phantombutton.devices.report import receivers_tree
from phantombutton.errors import PhantomError
from phantombutton.hidpp import bolt
from phantombutton.hidpp.errors import FrameError
from phantombutton.receivers import ButtonPath, Family, KernelDriver, family_of, handled_products
from phantombutton.transport.discovery import find_receivers, receiver_mouse_nodes
from phantombutton.transport.engine import Engine
from phantombutton.transport.virtual import VirtualTransport
from phantombutton.virtual.descriptors import HIDPP_RECEIVER_DESCRIPTOR
from phantombutton.virtual.families import FamilyReceiver, make_receiver
from phantombutton.virtual.mice import g305

# --- discovery -------------------------------------------------------------------------


def make_event(root, n, phys, vendor, product, rel="3", name="Logitech USB Receiver Mouse"):
    dev = root / "class" / "input" / f"event{n}" / "device"
    (dev / "id").mkdir(parents=True)
    (dev / "capabilities").mkdir()
    (dev / "phys").write_text(phys + "\n")
    (dev / "name").write_text(name + "\n")
    (dev / "id" / "vendor").write_text(f"{vendor:04x}\n")
    (dev / "id" / "product").write_text(f"{product:04x}\n")
    (dev / "capabilities" / "rel").write_text(rel + "\n")


def test_bolt_receiver_gets_its_own_mouse_node_nano_gets_children(tmp_path):
    bolt_phys, nano_phys = "usb-0000:00:14.0-5/input2", "usb-0000:00:14.0-4/input1"
    make_node(tmp_path, 7, "0003:046D:C548", "Logitech USB Receiver", bolt_phys, "hid-generic",
              HIDPP_RECEIVER_DESCRIPTOR)
    make_node(tmp_path, 6, "0003:046D:C534", "Logitech USB Receiver", nano_phys, "logitech-djreceiver",
              HIDPP_RECEIVER_DESCRIPTOR)
    make_node(tmp_path, 8, "0003:046D:4054", "Logitech M185n", nano_phys + ":2", "logitech-hidpp-device",
              MOUSE + HIDPP_RECEIVER_DESCRIPTOR)
    make_event(tmp_path, 4, "usb-0000:00:14.0-5/input1", 0x046D, 0xC548)                # the mouse
    make_event(tmp_path, 5, "usb-0000:00:14.0-5/input1", 0x046D, 0xC548, rel="0",
               name="Logitech USB Receiver Consumer Control")                          # no motion
    make_event(tmp_path, 9, "usb-0000:00:14.0-9/input1", 0x046D, 0xC548)                # another USB device
    make_event(tmp_path, 3, "usb-0000:00:14.0-5/input0", 0x1234, 0xC548)                # another vendor
    found = {r.product: r for r in find_receivers(str(tmp_path))}
    assert found[0xC548].mouse_nodes == ("/dev/input/event4",) and found[0xC548].children == []
    assert [(c.node, c.slot) for c in found[0xC534].children] == [("/dev/hidraw8", 2)]
    assert found[0xC534].mouse_nodes == ()


def test_mouse_nodes_of_a_receiver_without_phys_or_input_class(tmp_path):
    make_node(tmp_path, 7, "0003:046D:C548", "x", "usb-1/input2", "hid-generic", HIDPP_RECEIVER_DESCRIPTOR)
    [node] = find_receivers(str(tmp_path))
    assert node.mouse_nodes == ()                       # no /sys/class/input at all
    node.phys = ""
    assert receiver_mouse_nodes(node, str(tmp_path)) == ()


def test_nano_hidpp_node_on_interface_1_only(tmp_path):
    # the C534's interface 0 (keyboard) also bound to the DJ driver, with a HID++ descriptor
    # copy in the test: only interface 1 is the receiver; Bolt's interface 1 is no HID++ node
    make_node(tmp_path, 1, "0003:046D:C548", "x", "usb-2/input1", "hid-generic", HIDPP_RECEIVER_DESCRIPTOR)
    make_node(tmp_path, 2, "0003:046D:C548", "x", "usb-2/input2", "hid-generic", HIDPP_RECEIVER_DESCRIPTOR)
    assert [r.node for r in find_receivers(str(tmp_path))] == ["/dev/hidraw2"]


# --- Bolt registers ---------------------------------------------------------------------


def test_bolt_pairing_name_and_unique_id():
    value = bytes.fromhex("52 02 34b0 cd2a6bb7") + bytes(8)
    rec = bolt.parse_pairing(value, 2)
    assert (rec.wpid, rec.kind, rec.serial) == (0xB034, 2, "CD2A6BB7")
    name = bytes([0x62, 0x01, 12]) + b"MX Master 3S" + b"\0"
    assert bolt.parse_name(name, 2) == "MX Master 3S"
    assert bolt.parse_unique_id(bytes(16)) is None
    assert bolt.parse_unique_id(bytes.fromhex("38423638")) == "38423638"
    with pytest.raises(FrameError):
        bolt.parse_pairing(value, 1)        # the answer for slot 2, asked slot 1
    with pytest.raises(FrameError):
        bolt.parse_name(b"\x62\x01", 2)     # too short


# --- each family through the devices layer --------------------------------------------------


def open_family(profile, children=None, model=None):
    model = model or make_receiver(profile)
    return model, Receiver(Engine(VirtualTransport(model)), f"virtual:{model.product_id:04x}",
                           model.product_id, children)


def receiver_reads(model):
    """(sub-id, register, first parameter) of every request to the receiver."""
    return [(e.request[2], e.request[3], e.request[4]) for e in model.log
            if e.request[:1] in (b"\x10", b"\x11") and e.request[1] == 0xFF]


@pytest.mark.parametrize("profile, children, expect", [
    ("bolt", None, (2, 0xB034, "MX Master 3S", "CD2A6BB7")),
    ("lightspeed", {1: "/dev/hidraw9"}, (1, 0x4074, "G305", "ED5E9515")),
    ("nano", {2: "/dev/hidraw9"}, (2, 0x4054, "M185n", "00000000")),
])
def test_each_family_reads_its_pairing_registers(profile, children, expect):
    model, receiver = open_family(profile, children)
    [device] = receiver.devices()
    assert (device.slot, device.wpid, device.pairing.name, device.serial) == expect
    assert device.protocol() >= (4, 0) and device.kind == "mouse"
    reads = receiver_reads(model)
    pairing = [p for sub, reg, p in reads if (sub, reg) == (0x83, 0xB5)]
    if profile == "bolt":
        # 0x5n / 0x6n in slot order until the paired count is found (hid-generic: no driver
        # routes these replies, no child nodes say which slot)
        assert pairing == [0x51, 0x52, 0x62]
    elif profile == "nano":
        assert pairing == [0x21, 0x31, 0x41]    # only the child's slot
    else:
        assert pairing == [0x20, 0x30, 0x40]


def test_receiver_details_per_family_match_the_dumps():
    model, receiver = open_family("bolt")
    d = receiver.details()
    assert (d.name, d.serial, d.max_devices, d.paired, d.firmware) == (
        "Bolt Receiver", "38423638313332394241363434313837", 6, 1, {})
    reads = receiver_reads(model)
    assert (0x83, 0xFB, 0) in reads and (0x83, 0xB5, 0x03) not in reads
    assert [r for r in reads if r[1] == 0xF1] == [(0x81, 0xF1, 1)]   # no firmware: asked once
    model, receiver = open_family("nano", {2: "/dev/hidraw9"})
    d = receiver.details()
    assert (d.serial, d.max_devices, d.firmware) == (None, 2, {"firmware": "29.01.B0016"})
    assert (0x83, 0xB5, 0x03) not in receiver_reads(model)
    model, receiver = open_family("lightspeed", {1: "/dev/hidraw9"})
    d = receiver.details()
    assert (d.serial, d.max_devices) == ("C1469DD4", 1)
    assert d.firmware == {"firmware": "39.06.B0040", "bootloader": "02.09", "other": "AA.BE"}


def test_lightspeed_device_in_slot_7_is_found():
    model = FamilyReceiver("lightspeed", 0xC539)
    model.devices = {7: g305()}
    _, receiver = open_family("lightspeed", {7: "/dev/hidraw9"}, model)
    assert [d.slot for d in receiver.devices()] == [7]
    # without the child node: slots 1..7 in order, stopping at the paired count
    model = FamilyReceiver("lightspeed", 0xC539)
    model.devices = {7: g305()}
    _, receiver = open_family("lightspeed", None, model)
    assert [d.slot for d in receiver.devices()] == [7]


def test_non_dj_enumeration_carries_the_family_protocol():
    # the kernel's `10 ff 80 02 02 00 00`: one 0x41 per paired device, protocol byte per family
    for profile, proto in (("bolt", 0x10), ("lightspeed", 0x0C), ("nano", 0x0A)):
        model = make_receiver(profile)
        model.handle_output(bytes.fromhex("10ff8002020000"))
        replies = model.default.pop(now=float("inf"))
        notes = [r for r in replies if r[2] == 0x41]
        assert [(r[1], r[3]) for r in notes] == [(slot, proto) for slot in model.devices]
        model.handle_output(bytes.fromhex("20ff8000000000000000000000000000"[:30]))   # DJ switch
        assert model.dj_mode is False


def test_a_receiver_that_fails_is_listed_with_why_the_others_still_read():
    _, good = open_family("bolt")
    _, bad = open_family("lightspeed", {1: "/dev/hidraw9"})

    def broken(*a, **k):
        raise PhantomError("read failed (EIO)")

    bad.paired_count = broken
    tree = receivers_tree([bad, good], full=False)
    assert tree[0]["error"] == "virtual:c539: read failed (EIO)" and tree[0]["devices"] == []
    assert [d["wpid"] for d in tree[1]["devices"]] == ["B034"]


# --- CLI ------------------------------------------------------------------------------------


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_and_info_on_every_family(capsys):
    code, out, err = run(capsys, "--virtual", "--profile", "bolt", "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "virtual:c548  Bolt Receiver C548"
    assert "mouse node virtual:mouse" in lines[1]
    assert lines[2].split() == ["2:", "MX", "Master", "3S", "B034", "mouse", "HID++", "4.5", "serial", "CD2A6BB7"]
    code, out, _ = run(capsys, "--virtual", "--profile", "bolt", "info")
    assert code == 0
    for line in ("Serial        : 38423638313332394241363434313837", "Paired        : 1 of 6",
                 "2: MX Master 3S - MX Master 3S", "Battery       : 25%, discharging",
                 "Firmware      : RBM 22.00.B0003", "Features      : 36", "Controls      : 8"):
        assert line in out, line
    code, out, _ = run(capsys, "--virtual", "--profile", "lightspeed", "info", "--json")
    [r] = json.loads(out)["receivers"]
    assert (r["family"], r["serial"], r["devices"][0]["full_name"]) == (
        "Lightspeed", "C1469DD4", "G305 Lightspeed Wireless Gaming Mouse")
    code, out, _ = run(capsys, "--virtual", "--profile", "nano", "list", "--json")
    [r] = json.loads(out)["receivers"]
    assert (r["family"], r["devices"][0]["name"], r["devices"][0]["serial"]) == ("Nano", "M185n", "00000000")


# --- uhid: one device per interface ------------------------------------------------------------


def test_uhid_interfaces_per_family():
    from phantombutton.transport.discovery import hid_input_reports
    from phantombutton.virtual.families import (
        MOUSE_INTERFACE_DESCRIPTOR,
        uhid_interfaces,
    )

    phys = "usb-0000:00:14.0-6/input2"
    assert uhid_interfaces(make_receiver("default"), phys) == (phys, ())
    # Lightspeed: its mouse interface too, which hid-logitech-dj forwards to the child
    assert uhid_interfaces(make_receiver("lightspeed"), phys) == (
        phys, ((MOUSE_INTERFACE_DESCRIPTOR, "usb-0000:00:14.0-6/input1"),))
    assert uhid_interfaces(make_receiver("nano"), phys) == ("usb-0000:00:14.0-6/input1", ())
    # Bolt: the HID++ interface, and its own mouse interface on the same USB path
    assert uhid_interfaces(make_receiver("bolt"), phys) == (
        phys, ((MOUSE_INTERFACE_DESCRIPTOR, "usb-0000:00:14.0-6/input1"),))
    # report 2: 16 buttons + 16-bit X and Y + wheel + pan = 64 bits; report 3: consumer
    # control (a second application, so hid-input names the nodes); no HID++ report
    reports = hid_input_reports(MOUSE_INTERFACE_DESCRIPTOR)
    assert [(rid, bits) for rid, (_page, bits) in reports.items()] == [(2, 64), (3, 32)]


# --- the Lightspeed product ids no profile uses ----------------------------------------------
# lab.md (modinfo of Debian 12's 6.1 hid-logitech-dj): C53A and C53F are bound by
# hid-logitech-dj, C547 and C54D are not (hid-generic drives them, as Bolt)
@pytest.mark.parametrize("product, name, kernel, buttons", [
    (0xC53A, "Powerplay Receiver", KernelDriver.DJ_HIDPP, ButtonPath.CHILD_HIDRAW),
    (0xC53F, "Lightspeed Receiver", KernelDriver.DJ_HIDPP, ButtonPath.CHILD_HIDRAW),
    (0xC547, "Lightspeed Receiver", KernelDriver.GENERIC, ButtonPath.RECEIVER_MOUSE_NODE),
    (0xC54D, "Lightspeed Receiver", KernelDriver.GENERIC, ButtonPath.RECEIVER_MOUSE_NODE),
])
def test_lightspeed_ids_family_interface_and_driver(tmp_path, product, name, kernel, buttons):
    f = family_of(product)
    assert (f.family, f.name, f.hidpp_interface, f.kernel, f.buttons) == (Family.LIGHTSPEED, name, 2, kernel, buttons)
    assert list(f.slots) == [1, 2, 3, 4, 5, 6, 7] and not f.releases_on_link_loss
    assert product in handled_products()
    # discovery: HID++ on interface 2 under the driver that binds it; interface 1 is no receiver
    driver = "logitech-djreceiver" if kernel is KernelDriver.DJ_HIDPP else "hid-generic"
    phys = "usb-0000:00:14.0-3/input"
    make_node(tmp_path, 1, f"0003:046D:{product:04X}", "Logitech USB Receiver", phys + "1", driver, MOUSE)
    make_node(tmp_path, 2, f"0003:046D:{product:04X}", "Logitech USB Receiver", phys + "2", driver,
              HIDPP_RECEIVER_DESCRIPTOR)
    make_event(tmp_path, 4, phys + "1", 0x046D, product)
    [found] = find_receivers(str(tmp_path))
    assert (found.node, found.product, found.driver) == ("/dev/hidraw2", product, driver)
    # hid-generic: the receiver's own mouse node is where its mice's buttons arrive
    assert found.mouse_nodes == (("/dev/input/event4",) if buttons is ButtonPath.RECEIVER_MOUSE_NODE else ())
