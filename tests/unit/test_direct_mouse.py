"""Mice without a receiver: discovery on a fake sysfs tree, the long-only transport, the event
node's mapping, and the virtual MX Master 3 over Bluetooth (profile "bluetooth") through the
CLI, the detector and the release chain. The real driver's side is in the lab (stage 4)."""

from __future__ import annotations

import json
import os

import pytest

from phantombutton.cli.main import main
from phantombutton.input.sysfs_map import describe, pointer_nodes
from phantombutton.transport.direct import LongOnlyTransport, find_direct, long_only
from phantombutton.transport.discovery import find_receivers, is_hidpp_descriptor
from phantombutton.virtual.bluetooth import DESCRIPTOR as BT_DESCRIPTOR
from phantombutton.virtual.descriptors import HIDPP_RECEIVER_DESCRIPTOR

UHID = "devices/virtual/misc/uhid"
RECV = "devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.2/0003:046D:C52B.0001"
USB_MOUSE = "devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.2/0003:046D:C08B.0005"


def hid_device(root, rel, hidraw, hid_id, driver, descriptor, name="x"):
    """A HID device at sys/<rel> with a hidraw node, bound to `driver`."""
    sys = root / "sys"
    dev = sys / rel
    (dev / "hidraw" / hidraw).mkdir(parents=True)
    drv = sys / "bus/hid/drivers" / driver
    drv.mkdir(parents=True, exist_ok=True)
    os.symlink(drv, dev / "driver")
    (dev / "report_descriptor").write_bytes(descriptor)
    bus, vendor, product = hid_id.split(":")
    (dev / "uevent").write_text(f"DRIVER={driver}\nHID_ID={bus}:0000{vendor}:0000{product}\n"
                                f"HID_NAME={name}\nHID_PHYS=\n")
    cls = sys / "class/hidraw" / hidraw
    cls.mkdir(parents=True)
    os.symlink(dev, cls / "device")
    return dev


def event(root, hid, input_name, event_name, name, product, key="ffff0000 0 0 0 0"):
    inp = hid / "input" / input_name
    (inp / "id").mkdir(parents=True)
    (inp / "capabilities").mkdir()
    (inp / "name").write_text(name + "\n")
    (inp / "phys").write_text("00:1a:7d:da:71:13\n")
    (inp / "id/vendor").write_text("046d\n")
    (inp / "id/product").write_text(f"{product:04x}\n")
    (inp / "capabilities/key").write_text(key + "\n")
    (inp / "capabilities/rel").write_text("1943\n")
    os.symlink(hid, inp / "device")
    ev = inp / event_name
    ev.mkdir()
    os.symlink(inp, ev / "device")
    cls = root / "sys/class/input"
    cls.mkdir(parents=True, exist_ok=True)
    os.symlink(ev, cls / event_name)


def fake_tree(root):
    bt = hid_device(root, f"{UHID}/0005:046D:B023.0003", "hidraw3", "0005:046D:B023", "logitech-hidpp-device",
                    BT_DESCRIPTOR, "Logitech Wireless Mouse MX Master 3")
    event(root, bt, "input9", "event9", "Logitech Wireless Mouse MX Master 3", 0xB023)
    # a USB-cabled HID++ mouse with both HID++ reports
    hid_device(root, USB_MOUSE, "hidraw5", "0003:046D:C08B", "logitech-hidpp-device", HIDPP_RECEIVER_DESCRIPTOR[:54])
    # a receiver and its paired mouse (a child HID device): not direct
    hid_device(root, RECV, "hidraw0", "0003:046D:C52B", "logitech-djreceiver", HIDPP_RECEIVER_DESCRIPTOR)
    hid_device(root, f"{RECV}/0003:046D:101B.0002", "hidraw1", "0003:046D:101B", "logitech-hidpp-device",
               HIDPP_RECEIVER_DESCRIPTOR)
    # a Logitech HID++ device the HID++ driver does not drive (hid-generic): left alone
    hid_device(root, f"{UHID}/0005:046D:B999.0006", "hidraw6", "0005:046D:B999", "hid-generic", BT_DESCRIPTOR)


def test_bluetooth_descriptor_is_hidpp_on_page_ff43_long_only():
    assert is_hidpp_descriptor(BT_DESCRIPTOR)


def test_find_direct_takes_only_hidpp_driven_logitech_mice_without_a_receiver(tmp_path):
    fake_tree(tmp_path)
    sysfs = str(tmp_path / "sys")
    found = find_direct(sysfs)
    assert [(n.node, n.bus, n.product, n.slot) for n in found] == [
        ("/dev/hidraw3", 5, 0xB023, 0xFF), ("/dev/hidraw5", 3, 0xC08B, 0xFF)]
    assert [long_only(n.sysfs) for n in found] == [True, False]
    assert "/dev/hidraw3" not in [r.node for r in find_receivers(sysfs)]


def test_long_only_transport_sends_short_requests_long():
    class Inner:
        node = "/dev/hidraw3"

        def __init__(self):
            self.written: list[bytes] = []

        def write(self, data):
            self.written.append(bytes(data))

    inner = Inner()
    t = LongOnlyTransport(inner)
    t.write(bytes.fromhex("10ff001e00005a"))
    t.write(bytes.fromhex("11ff0210") + bytes(16))
    assert inner.written[0] == bytes.fromhex("11ff001e00005a") + bytes(13)
    assert len(inner.written[0]) == 20 and inner.written[1][:4] == bytes.fromhex("11ff0210")


def test_event_node_of_a_direct_mouse_is_watched_without_all(tmp_path):
    fake_tree(tmp_path)
    sysfs = str(tmp_path / "sys")
    d = describe("event9", sysfs)
    assert d.direct and d.slot is None and d.product == 0xB023 and d.hidpp_node == "/dev/hidraw3"
    assert [p.node for p in pointer_nodes(sysfs=sysfs)] == ["/dev/input/event9"]


# ---------------------------------------------------------------- the virtual Bluetooth mouse
def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(autouse=True)
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def test_list_shows_the_mouse_without_a_receiver(capsys):
    rc, out, err = run(capsys, "--virtual", "--profile", "bluetooth", "list")
    assert rc == 0, err
    assert out.splitlines() == ["virtual:b023  Bluetooth (no receiver) 046d:B023",
                                "  -: MX Master 3     B023  mouse    HID++ 4.5  serial 198E3EB8"]


def test_info_json_answers_like_the_dump(capsys):
    rc, out, err = run(capsys, "--virtual", "--profile", "bluetooth", "info", "--json")
    assert rc == 0, err
    (rec,) = json.loads(out)["receivers"]
    assert rec["connection"] == "Bluetooth" and rec["product"] == "B023"
    (d,) = rec["devices"]
    assert (d["name"], d["full_name"], d["wpid"], d["serial"], d["protocol"]) == (
        "MX Master 3", "Wireless Mouse MX Master 3", "B023", "198E3EB8", "HID++ 4.5")
    assert d["firmware"] == {"bootloader": "BOT 95.01.B0015", "firmware": "MPM 19.01.B0015"}
    assert len(d["features"]) == 30 and d["features"][14]["id"] == "2121"
    assert [c["cid"] for c in d["controls"]][-3:] == ["0x00C3", "0x00C4", "0x00D7"]
    assert d["model_known"] and not d["has_phantom_button"] and d["errors"] == []


def test_info_selects_the_mouse_by_name_product_id_or_unit_id(capsys):
    for spec in ("master", "b023", "198e3eb8"):
        rc, out, err = run(capsys, "--virtual", "--profile", "bluetooth", "info", spec)
        assert rc == 0, err
        assert out.startswith("-: MX Master 3 - Wireless Mouse MX Master 3") and "Connection    : Bluetooth" in out


def test_virtual_mouse_answers_on_index_ff_and_ignores_dj():
    from phantombutton.virtual.bluetooth import VirtualDirect

    m = VirtualDirect()
    m.handle_output(bytes.fromhex("11ff001a00005a") + bytes(13))    # ping, long
    m.handle_output(bytes.fromhex("20ff8000") + bytes(11))           # DJ: nobody answers
    (reply,) = m.default.pop()
    assert reply[:7] == bytes.fromhex("11ff001a04055a") and len(reply) == 20


def test_unknown_profile_names_bluetooth(capsys):
    rc, _, err = run(capsys, "--virtual", "--profile", "nope", "list")
    assert rc == 2 and "bluetooth" in err


def test_watch_fix_releases_hid_button_16_on_the_bluetooth_mouse():
    from phantombutton.detect.rules import Detector
    from phantombutton.recovery.live import LiveLayers
    from phantombutton.recovery.watcher import Watcher
    from phantombutton.virtual.platform import VirtualPlatform

    platform = VirtualPlatform("bluetooth")
    w = Watcher(platform.source(), Detector(), layers=LiveLayers(nodes=platform.nodes), fix=True,
                poll_interval=0.02)
    w.start()
    platform.model.press(0xFF, 0x8000)
    evs = []
    for _ in range(10):
        evs += w.step()
    finding = next(e.finding for e in evs if e.kind == "finding")
    assert finding.rule == "unknown-button" and finding.code == 0x11F and finding.node == "virtual:255"
    assert [e.kind for e in evs].count("released") == 1
    assert 0x11F not in platform.nodes.held_keys("virtual:255")
    platform.close()


def test_debug_trace_names_the_direct_mouse(capsys):
    rc, _, err = run(capsys, "--virtual", "--profile", "bluetooth", "--debug", "info", "master")
    assert rc == 0
    assert "MX Master 3(direct) request idx 0 ROOT fn 0" in err   # not "receiver": there is none
