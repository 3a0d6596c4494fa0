"""Bolt's shared mouse node (detect/shared.py, the Detector, input/sysfs_map.py, the virtual
Bolt's mouse interface, recovery/diversion.py): a phantom on the receiver's own mouse node is
reported with the receiver, its paired mice and the likely one; "a button the mouse does not
have" holds there only when every paired mouse lacks it; watch --fix releases it on that node;
a stale diversion on Bolt is reset and verified by the next press on the shared node."""

from __future__ import annotations

import json
import os

import pytest
from test_families import make_node
from test_transport_discovery import MOUSE  # noqa: F401 - make_node's module, for the descriptor

from phantombutton import models
from phantombutton.cli.main import main
from phantombutton.detect.events import DeviceAdded, DeviceInfo, HidppTraffic, KeyEvent
from phantombutton.detect.findings import Rule
from phantombutton.detect.rules import Detector
from phantombutton.detect.shared import Candidate, SharedNodes, is_shared
from phantombutton.input.sysfs_map import describe, pointer_nodes
from phantombutton.virtual.descriptors import HIDPP_RECEIVER_DESCRIPTOR
from phantombutton.virtual.families import (
    MOUSE_INTERFACE_DESCRIPTOR, make_receiver, mouse_interface_report, parse_mouse_interface_report,
)

BTN_MIDDLE, BTN_PHANTOM = 0x112, 0x11F
RX, NODE = "/dev/hidraw7", "/dev/input/event4"
SHARED = DeviceInfo(node=NODE, name="Logitech USB Receiver Mouse", vendor=0x046D, product=0xC548,
                    receiver_node=RX, receiver_product=0xC548)
FIVE = models.replace(models.M705_406D, name="Five", wpid=None)


def model_for(wpid):
    return {0xB034: models.replace(FIVE, name="MX Master 3S", wpid=0xB034),
            0x4082: models.MX_MASTER_3_4082}.get(wpid) or models.replace(models.GENERIC, wpid=wpid)


def detector(candidates):
    return Detector(model_for=model_for, paired=lambda node: candidates if node == RX else None)


def start(det):
    det.feed(DeviceAdded(0.0, SHARED, at_start=True))


def hidpp(t, slot, sub=0x09, params=bytes(16)):
    """A HID++ 2.0 event (software id 0) from `slot` on the receiver's node."""
    return HidppTraffic(t, RX, bytes([0x11, slot, sub, 0x00]) + params)


def link(t, slot, up):
    """A 0x41 device connection notification (Bolt: protocol 0x10; bit 0x40: link lost)."""
    return HidppTraffic(t, RX, bytes([0x10, slot, 0x41, 0x10, 0x02 | (0 if up else 0x40), 0x34, 0xB0]))


def test_shared_node_is_one_with_a_receiver_and_no_slot():
    assert is_shared(SHARED)
    assert not is_shared(DeviceInfo(node="/dev/input/event9", receiver_node=RX, slot=1))
    assert not is_shared(DeviceInfo(node="/dev/input/event9"))


def test_a_button_every_paired_mouse_lacks_is_a_phantom_at_once_with_receiver_candidates_and_likely():
    det = detector([Candidate(2, 0xB034, "MX Master 3S")])
    start(det)
    [f] = det.feed(KeyEvent(1.0, NODE, BTN_PHANTOM, 1))
    assert f.rule is Rule.UNKNOWN_BUTTON and f.node == NODE and f.slot is None
    assert f.evidence[1] == "no mouse paired to this receiver has such a button"
    assert f"{NODE} is the shared mouse node of the Bolt receiver C548 ({RX})" in f.evidence[2]
    assert f.evidence[3] == "paired: slot 2 MX Master 3S (B034, state not seen)"
    assert f.evidence[4] == "likely: slot 2 MX Master 3S - the only mouse paired"
    assert "the MX Master 3S does not have" in f.cause
    assert "side-scroll" not in f.fix and f"release {NODE} 20" in f.fix   # no WPID setting for a receiver id


def test_a_button_one_candidate_has_is_no_phantom_and_an_unknown_candidate_waits_held_for():
    det = detector([Candidate(1, 0xB034, "MX Master 3S"), Candidate(2, 0x4082, "MX Master 3")])
    start(det)
    assert det.feed(KeyEvent(1.0, NODE, BTN_MIDDLE, 1)) == []          # both have a middle button
    assert det.tick(100.0) == [] or all(f.rule is Rule.HELD_IDLE for f in det.active())
    # a candidate of unknown model: nothing can be ruled out, so HID 16 waits held-for
    det = detector([Candidate(1, 0xB034, "MX Master 3S"), Candidate(2, 0x9999, "Mystery")])
    start(det)
    assert det.feed(KeyEvent(1.0, NODE, BTN_PHANTOM, 1)) == []
    [f] = det.tick(1.0 + det.t.held_for)
    assert f.rule is Rule.UNKNOWN_BUTTON and "the model is not known" in f.evidence[1]


def test_unreadable_candidates_are_said_and_rule_nothing_out():
    det = Detector(model_for=model_for, paired=lambda node: None)
    start(det)
    assert det.feed(KeyEvent(1.0, NODE, BTN_PHANTOM, 1)) == []
    [f] = det.tick(2.0)
    assert "its paired mice could not be read (HID++ pairing registers)" in f.evidence
    det = Detector(model_for=model_for)          # the daemon's: no reader given
    start(det)
    det.feed(KeyEvent(1.0, NODE, BTN_PHANTOM, 1))
    [f] = det.tick(2.0)
    assert f.rule is Rule.UNKNOWN_BUTTON and "its paired mice were not read" in f.evidence


def test_likely_is_the_slot_heard_last_unless_its_link_dropped():
    cands = [Candidate(1, 0xB034, "MX Master 3S"), Candidate(3, 0x4082, "MX Master 3")]
    det = detector(cands)
    start(det)
    det.feed(hidpp(0.5, 1))
    det.feed(hidpp(0.8, 3))
    [f] = det.feed(KeyEvent(1.0, NODE, BTN_PHANTOM, 1))
    assert f.evidence[4].startswith("likely: slot 3 MX Master 3 - the last HID++ traffic on the receiver's node "
                                    "came from slot 3")
    assert "slot 1 MX Master 3S (B034, state not seen); slot 3 MX Master 3 (4082, state not seen)" in f.evidence[3]
    # slot 3's link drops: the one still up that spoke last is slot 1
    det = detector(cands)
    start(det)
    det.feed(link(0.1, 1, True))
    det.feed(hidpp(0.5, 1))
    det.feed(hidpp(0.8, 3))
    det.feed(link(0.9, 3, False))
    [f] = det.feed(KeyEvent(1.0, NODE, BTN_PHANTOM, 1))
    assert "slot 3 MX Master 3 (4082, link lost at 0.900 s)" in f.evidence[3]
    assert f.evidence[4].startswith("likely: slot 1 MX Master 3S")
    # traffic after the press says nothing of it; nothing heard, two links up: cannot tell
    nodes = SharedNodes(lambda node: cands)
    nodes.heard(RX, 1, 5.0)
    assert nodes.likely(RX, 1.0) is None
    nodes.connection(RX, 3, True, 0.2)
    assert nodes.likely(RX, 1.0)[0].slot == 3        # the only one whose link is up
    nodes.connection(RX, 1, True, 0.3)
    assert nodes.likely(RX, 1.0) is None


def test_own_requests_replies_are_no_activity():
    from phantombutton import SOFTWARE_ID

    det = detector([Candidate(1, 0xB034, "A"), Candidate(2, 0xB034, "B")])
    start(det)
    det.feed(hidpp(0.5, 1))
    det.feed(HidppTraffic(0.8, RX, bytes([0x11, 2, 0x05, 0x10 | SOFTWARE_ID]) + bytes(16)))   # our reply
    [f] = det.feed(KeyEvent(1.0, NODE, BTN_PHANTOM, 1))
    assert f.evidence[4].startswith("likely: slot 1 A")


# --- the node in sysfs ------------------------------------------------------------------------

def make_shared_event(root, n, hid_id, phys, name="Logitech USB Receiver Mouse", driver="hid-generic"):
    """eventN of an input device whose HID device (hid-generic, no receiver above) is hid_id."""
    hid_dir = root / "devices" / "usb1" / "1-8:1.1" / hid_id
    inp = hid_dir / "input" / f"input{n}"
    (inp / "id").mkdir(parents=True)
    (inp / "capabilities").mkdir()
    (inp / "phys").write_text(phys + "\n")
    (inp / "name").write_text(name + "\n")
    _, vendor, product = hid_id.split(".")[0].split(":")
    (inp / "id" / "vendor").write_text(vendor.lower() + "\n")
    (inp / "id" / "product").write_text(product.lower() + "\n")
    (inp / "capabilities" / "rel").write_text("143\n")
    (inp / "capabilities" / "key").write_text("ffff0000 0 0 0 0\n")
    drivers = root / "bus" / "hid" / "drivers" / driver
    drivers.mkdir(parents=True, exist_ok=True)
    os.symlink(drivers, hid_dir / "driver")
    os.symlink(hid_dir, inp / "device")           # inputN/device -> its HID device, as in sysfs
    event = root / "class" / "input" / f"event{n}"
    event.mkdir(parents=True)
    os.symlink(inp, event / "device")


def test_sysfs_describes_bolt_mouse_node_as_shared_by_its_receiver(tmp_path):
    make_node(tmp_path, 7, "0003:046D:C548", "Logitech USB Receiver", "usb-0000:00:14.0-8/input2", "hid-generic",
              HIDPP_RECEIVER_DESCRIPTOR)
    make_shared_event(tmp_path, 4, "0003:046D:C548.0005", "usb-0000:00:14.0-8/input1")
    make_shared_event(tmp_path, 6, "0003:046D:C077.0006", "usb-0000:00:14.0-9/input0", name="Other Mouse")
    p = describe("event4", str(tmp_path), "/dev")
    assert p.is_shared and p.is_hidpp_mouse and not p.is_receiver_child
    assert (p.receiver_node, p.receiver_product, p.product, p.slot) == ("/dev/hidraw7", 0xC548, 0xC548, None)
    assert 0x11F in p.buttons
    other = describe("event6", str(tmp_path), "/dev")
    assert not other.is_shared and other.receiver_node is None
    assert [n.node for n in pointer_nodes(sysfs=str(tmp_path), dev="/dev")] == ["/dev/input/event4"]


# --- the virtual Bolt ---------------------------------------------------------------------------

def test_bolt_model_sends_presses_on_its_mouse_interface_diverted_ones_as_hidpp():
    assert mouse_interface_report(0x8004, dx=-3, wheel=1)[0] == 0x02
    assert len(MOUSE_INTERFACE_DESCRIPTOR) > 0
    assert parse_mouse_interface_report(mouse_interface_report(0x8004, dx=-3, wheel=-1)) == (0x8004, True, -1)
    assert parse_mouse_interface_report(b"\x11" + bytes(19)) is None
    rx = make_receiver("bolt-stale-diversion", default_reader=False)
    reader = rx.open_reader()
    rx.press(2, 0x0004)            # the middle button, diverted: an event, not the button
    reports = reader.pop()          # now: before the profile's scripted presses
    assert [r[0] for r in reports] == [0x11, 0x02]
    assert parse_mouse_interface_report(reports[1])[0] == 0
    rx = make_receiver("bolt", default_reader=False)
    reader = rx.open_reader()
    rx.press(2, 0x8000)
    assert [parse_mouse_interface_report(r) for r in reader.pop(now=1e12)] == [(0x8000, False, 0)]


@pytest.fixture
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def run(capsys, profile, *args):
    rc = main(["--virtual", "--profile", profile, *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_watch_fix_releases_a_phantom_on_the_virtual_bolt_mouse_node(capsys, no_display):
    rc, out, err = run(capsys, "bolt-phantom", "watch", "--json", "--fix", "--duration", "0.6",
                       "--poll-interval", "0.05")
    assert rc == 0, err
    events = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    [finding] = [e for e in events if e["event"] == "finding"]
    f = finding["finding"]
    assert (f["node"], f["rule"], f["code"]) == ("virtual:mouse", "unknown-button", BTN_PHANTOM)
    assert "paired: slot 2 MX Master 3S (B034, state not seen)" in f["evidence"]
    [released] = [e for e in events if e["event"] == "released"]
    assert released["recovery"]["released"] and released["recovery"]["node"] == "virtual:mouse"


def test_status_and_release_on_the_virtual_bolt_mouse_node(capsys, no_display):
    rc, out, _ = run(capsys, "bolt-phantom", "status", "--no-x")
    assert rc == 3 and "likely: slot 2 MX Master 3S - the only mouse paired" in out
    rc, out, err = run(capsys, "bolt-phantom", "release", "virtual:mouse", "20")
    assert rc == 0 and "released by step 1" in out, err


def test_watch_fix_resets_a_stale_diversion_on_bolt_and_the_next_press_reaches_the_shared_node(capsys, no_display):
    rc, out, err = run(capsys, "bolt-stale-diversion", "watch", "--json", "--fix", "--duration", "2.2",
                       "--poll-interval", "0.05")
    assert rc == 0, err
    events = [e for e in (json.loads(x) for x in out.splitlines() if x.startswith("{"))
              if e["event"].startswith("diversion-")]
    assert [e["event"] for e in events] == ["diversion-finding", "diversion-repaired", "diversion-verified"]
    assert events[0]["device"] == "MX Master 3S B034 in slot 2 on Logitech USB Receiver Mouse (virtual:mouse)"
    assert any("no other process holds virtual:c548 open" in e for e in events[0]["evidence"])
    assert "next press reached evdev (virtual:mouse)" in events[2]["message"]


def test_watch_fix_resets_a_stale_thumb_wheel_on_bolt_and_the_next_turn_reaches_the_shared_node(
        capsys, no_display, monkeypatch):
    from phantombutton.virtual import profiles
    from phantombutton.virtual.mice import mx_master_3s_stale_thumb_wheel

    monkeypatch.setitem(profiles.PROFILES, "bolt", lambda: {2: mx_master_3s_stale_thumb_wheel()})
    monkeypatch.setitem(profiles.SCRIPTS, "bolt", tuple(
        profiles.Step(at, "thumb", slot=2, data=bytes([n & 0xFF])) for at, n in ((0.3, 3), (1.5, -2))))
    rc, out, err = run(capsys, "bolt", "watch", "--json", "--fix", "--duration", "2.2", "--poll-interval", "0.05")
    assert rc == 0, err
    events = [e for e in (json.loads(x) for x in out.splitlines() if x.startswith("{"))
              if e["event"].startswith("diversion-")]
    assert [e["event"] for e in events] == ["diversion-finding", "diversion-repaired", "diversion-verified"]
    assert events[0]["message"].startswith("stale diversion: thumb wheel diverted to HID++")
    assert any("no other process holds virtual:c548 open" in e for e in events[0]["evidence"])
    assert "its next turn reached evdev as REL_HWHEEL (virtual:mouse)" in events[2]["message"]
