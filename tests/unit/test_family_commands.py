"""`mute` and capture -> `analyze` on every receiver family and on the direct Bluetooth mouse,
on the virtual platform (the real drivers: tests/lab/guest/stage4/test_family_capture_lab.py).

- mute: the node `status` names in its fix is muted, and only it (EVIOCSKEYCODE read back);
  the phantom is released at once and a new report of it stays quiet; a button the mouse has
  (on Bolt's shared node: that any paired mouse has) is refused;
- capture -> analyze: a capture written as `capture` writes it (its header, the paired mice of a
  shared node, the hidraw nodes it records, the receiver's raw reports as `- hid:` entries) is
  read back by `analyze`, which names the phantom's device, its receiver family and, on Bolt,
  the paired mouse most likely to hold it; on Nano and Lightspeed a button held across a link
  loss is found from the capture alone (the family travels in the device block).
"""

from __future__ import annotations

import dataclasses

import pytest

import phantombutton.virtual.platform as vplatform
from phantombutton.buttons import hid_button_scancode
from phantombutton.capture import meta as capture_meta
from phantombutton.capture.reader import Capture
from phantombutton.capture.record import CaptureMeta, CaptureWriter, DeviceHeader, HidrawHeader
from phantombutton.cli.cmd_analyze import analyze_file
from phantombutton.cli.main import main
from phantombutton.detect.events import DeviceAdded, HidppTraffic, KeyEvent
from phantombutton.detect.shared import Candidate, SharedNodes
from phantombutton.virtual.platform import VirtualPlatform

BTN_LEFT, BTN_MIDDLE, BTN_PHANTOM = 0x110, 0x112, 0x11F
PHANTOM, MIDDLE = 0x8000, 0x0004
KEY_RESERVED = 0

# profile -> (slot the model reports from, the event node it shows on, the node of its HID
# reports, the hidraw name a capture gives that node, the receiver's product id or None)
FAMILIES = {
    "nano": (2, "virtual:2", "virtual:c534", "/dev/hidraw1", 0xC534),
    "lightspeed": (1, "virtual:1", "virtual:c539", "/dev/hidraw2", 0xC539),
    "lightspeed-slot7": (7, "virtual:7", "virtual:c539", "/dev/hidraw2", 0xC539),
    "bolt": (2, "virtual:mouse", "virtual:c548", "/dev/hidraw3", 0xC548),
    "bluetooth": (0xFF, "virtual:255", "virtual:b023", "/dev/hidraw4", None),
}
NAMES = {"nano": "Logitech M185n", "lightspeed": "Logitech G305", "lightspeed-slot7": "Logitech G305",
         "bolt": "Logitech USB Receiver Mouse", "bluetooth": "Logitech Wireless Mouse MX Master 3"}


@pytest.fixture
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


@pytest.fixture
def world(monkeypatch, no_display):
    """One virtual platform per test, the one every CLI call in it sees (as one machine)."""
    made = {}

    def make(profile):
        platform = made[profile] = VirtualPlatform(profile)
        platform.nodes.pump()     # the kernel model reads the receiver from now on
        monkeypatch.setattr(vplatform, "VirtualPlatform", lambda _profile: platform)
        return platform

    yield make
    for p in made.values():
        p.close()


def cli(capsys, profile, *args):
    rc = main(["--virtual", "--profile", profile, *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("profile", sorted(FAMILIES))
def test_mute_silences_the_diagnosed_node_only_and_reads_it_back(world, capsys, profile):
    slot, node, *_ = FAMILIES[profile]
    platform = world(profile)
    kernel = platform.nodes
    platform.model.press(slot, PHANTOM)
    rc, out, err = cli(capsys, profile, "status", "--no-x")
    assert rc == 3, out + err
    assert f"PHANTOM {NAMES[profile]} ({node})" in out
    assert f"durable: phantombutton mute {node} 0x11F" in out     # the fix names the node

    rc, out, err = cli(capsys, profile, "mute", node, "20")
    assert rc == 0, err
    assert f"({node}): muted 0x11F" in out and "read back" in out
    assert BTN_PHANTOM not in kernel.held_keys(node)                         # released at once
    assert kernel.get_keycode(node, hid_button_scancode(BTN_PHANTOM)) == KEY_RESERVED
    assert {k: v for k, v in kernel.muted.items() if v} == {kernel._slot(node): {BTN_PHANTOM}}
    platform.model.press(slot, 0)
    platform.model.press(slot, PHANTOM)                                      # reported again: quiet
    assert BTN_PHANTOM not in kernel.held_keys(node)

    rc, out, err = cli(capsys, profile, "mute", node, "1")                  # its left button
    assert rc == 2 and "would disable a real button" in err
    assert kernel.get_keycode(node, hid_button_scancode(BTN_LEFT)) == BTN_LEFT

    rc, out, err = cli(capsys, profile, "unmute", node, "20")
    assert rc == 0 and kernel.get_keycode(node, hid_button_scancode(BTN_PHANTOM)) == BTN_PHANTOM


def test_mute_on_bolt_names_the_shared_node_and_how_to_reach_it(world, capsys):
    world("bolt")
    rc, _out, err = cli(capsys, "bolt", "mute", "mx", "20")
    assert rc == 2
    assert "virtual:mouse (every mouse paired to virtual:c548, Logitech USB Receiver Mouse)" in err


def _record(platform, profile, path, script):
    """Write a capture of `platform` as `capture` does: the header (the paired mice of a shared
    node read from the receiver), the hidraw nodes it records, then the kernel's events and the
    raw reports of those nodes, as they come, while `script` runs."""
    _slot, _node, raw_node, hidraw, _product = FAMILIES[profile]

    def os_name(n):
        return hidraw if n == raw_node else n

    kernel = platform.nodes
    infos = [o.device for o in kernel.start() if isinstance(o, DeviceAdded)]
    headers = [DeviceHeader(node=i.node, name=i.name, id=(3, 0x046D, i.product or 0, 0),
                            codes={1: sorted(i.buttons), 2: [0, 1, 8]}, info=i) for i in infos]
    paired = capture_meta.paired_of(headers, platform)
    recorded = capture_meta.hidraw_nodes(headers)
    assert recorded == [raw_node]        # the receiver's node, or the direct mouse's own
    for h in headers:                    # the names of the OS's nodes: /dev/hidrawN
        h.info = dataclasses.replace(h.info, receiver_node=os_name(h.info.receiver_node),
                                     hidpp_node=os_name(h.info.hidpp_node))
    meta = CaptureMeta(start=platform.clock(), hidraw=[HidrawHeader(node=hidraw)],
                       held_at_start={h.node: [] for h in headers})
    if paired:
        meta.extra["paired"] = {os_name(n): [dataclasses.asdict(c) for c in cs] for n, cs in paired.items()}
    transport = (platform.open_direct(platform.direct_devices()[0]) if platform.direct
                 else platform.open_receiver(raw_node))
    with CaptureWriter(str(path), headers, meta) as writer:
        for step in script:
            step()
            while (data := transport.read(0.05)) is not None:
                writer.hid(hidraw, platform.clock(), data)
            for obs in kernel.poll(0.05):
                if isinstance(obs, KeyEvent):
                    writer.observation(obs)
        writer.close(platform.clock() + 0.5)
    transport.close()


@pytest.mark.parametrize("profile", sorted(FAMILIES))
def test_capture_then_analyze_names_the_phantom_and_keeps_its_hid_reports(world, tmp_path, profile):
    slot, node, _raw, hidraw, product = FAMILIES[profile]
    platform = world(profile)
    path = tmp_path / f"{profile}.yml"
    _record(platform, profile, path, [lambda: platform.model.press(slot, PHANTOM)])

    report = analyze_file(str(path))
    assert report["verdict"] != "clean" and report["hid_reports"] >= 1
    [finding] = [f for f in report["findings"] if f.code == BTN_PHANTOM]
    assert (finding.node, finding.device, str(finding.rule)) == (node, NAMES[profile], "unknown-button")
    # its fix names the node; side-scroll (a HID++ 1.0 register of the M705s) is never offered
    assert f"durable: phantombutton mute {node} 0x11F" in finding.fix and "side-scroll" not in finding.fix
    sender = "the mouse" if profile == "bluetooth" else "the receiver"   # no receiver to blame
    assert finding.cause.startswith(f"{sender} reported a button the ")
    cap = Capture(str(path))
    obs = list(cap.observations())
    [info] = [o.device for o in obs if isinstance(o, DeviceAdded)]
    assert info.receiver_product == product            # the family, from the device block
    # the hid entries are the device's: its receiver's node, or a direct mouse's own
    assert {o.node for o in obs if isinstance(o, HidppTraffic)} == {hidraw}
    assert hidraw in (info.receiver_node, info.hidpp_node)
    if profile == "bolt":
        text = "\n".join(finding.evidence)
        assert f"shared mouse node of the Bolt receiver C548 ({hidraw})" in text
        assert "likely: slot 2 MX Master 3S - the only mouse paired" in text
        assert finding.wpid is None        # C548 is the receiver's product id, no mouse's WPID


@pytest.mark.parametrize("profile", ["nano", "lightspeed", "lightspeed-slot7"])
def test_analyze_finds_a_button_held_across_a_link_loss_from_the_capture_alone(world, tmp_path, profile):
    slot, node, *_ = FAMILIES[profile]
    platform = world(profile)
    path = tmp_path / f"{profile}.yml"
    _record(platform, profile, path, [lambda: platform.model.press(slot, MIDDLE),
                                      lambda: platform.model.disconnect(slot)])
    report = analyze_file(str(path))
    assert [(f.node, str(f.rule), f.code) for f in report["findings"]] == [(node, "held-at-link-loss", BTN_MIDDLE)]


def test_a_lightspeed_mouse_in_slot_7_is_listed_with_its_child_node(world, capsys):
    world("lightspeed-slot7")
    rc, out, err = cli(capsys, "lightspeed-slot7", "list")
    assert rc == 0, err
    assert "  7: G305            4074  mouse    HID++ 4.2  serial ED5E9515  virtual:c539:7" in out.splitlines()
    rc, out, err = cli(capsys, "lightspeed-slot7", "info", "--json", "7")
    assert rc == 0, err
    assert '"slot": 7' in out and '"wpid": "4074"' in out


def test_mute_learns_an_unknown_mouse_from_its_own_slot_only(world, capsys):
    """The M185n (4054) is in no table: `mute` reads its buttons through the receiver, and reads
    the pairing register of its slot only (an empty slot's read makes hid-logitech-dj
    re-enumerate: devices/receiver.py)."""
    platform = world("nano")
    written = []
    opened = platform.open_receiver

    def spying(node):
        t = opened(node)
        write = t.write
        t.write = lambda data: (written.append(bytes(data)), write(data))[1]
        return t

    platform.open_receiver = spying
    rc, _out, err = cli(capsys, "nano", "mute", "virtual:2", "1")
    assert rc == 2 and "Logitech M185n has button 0x110" in err
    pairing_reads = {w[4] for w in written if w[2:4] == bytes([0x83, 0xB5])}
    assert pairing_reads and all(sub & 0x0F == 1 for sub in pairing_reads), [hex(s) for s in pairing_reads]


def test_a_shared_node_of_a_lightspeed_receiver_tells_slot_7_apart():
    """C547/C54D are driven by hid-generic as Bolt is (receivers.py): their mice share the
    receiver's mouse node, and slot 7 is theirs too; HID++ traffic from slot 7 names its mouse."""
    mice = [Candidate(1, 0x4074, "G305"), Candidate(7, 0x407F, "G502")]
    shared = SharedNodes(lambda node: mice)
    shared.heard("/dev/hidraw3", 1, 1.0)
    shared.heard("/dev/hidraw3", 7, 2.0)
    assert shared.likely("/dev/hidraw3", 3.0)[0].slot == 7
    shared.connection("/dev/hidraw3", 7, False, 2.5)           # its link lost since: not it
    assert shared.likely("/dev/hidraw3", 3.0)[0].slot == 1
