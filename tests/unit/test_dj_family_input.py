"""Mouse input of the non-DJ receivers hid-logitech-dj drives (Nano C534, Lightspeed C539):
report 0x02 in each family's layout, on the interface the real receiver sends it on, and what
the kernel model, `watch --fix` and the uhid bridge make of it. The family comes from the
receiver's product id here (receivers.py), nothing is passed in."""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from phantombutton.detect.findings import Rule
from phantombutton.detect.rules import Detector
from phantombutton.recovery import watcher as W
from phantombutton.recovery.live import LiveLayers
from phantombutton.transport.discovery import hid_input_reports, is_hidpp_descriptor
from phantombutton.virtual import uhid
from phantombutton.virtual.families import NANO_MOUSE_COLLECTION, make_receiver
from phantombutton.virtual.platform import VirtualPlatform
from phantombutton.virtual.wire import mouse_report

BTN_MIDDLE, PHANTOM = 0x112, 0x11F
SLOT = {"nano": 2, "lightspeed": 1}     # virtual/profiles.py


def test_report_2_layouts_match_the_childs_descriptors():
    # mse_descriptor: 16 buttons, X/Y 12-bit packed, wheel, pan -> 8 bytes with the id
    assert mouse_report(0x8001, dx=-1, dy=2, wheel=-1).hex(" ") == "02 01 80 ff 2f 00 ff 00"
    # mse_high_res_descriptor: X/Y 16-bit little-endian -> 9 bytes
    assert mouse_report(0x8001, dx=-1, dy=300, wheel=1, pan=-2, high_res=True).hex(" ") == \
        "02 01 80 ff ff 2c 01 01 fe"
    assert mouse_report(0, dx=99999, high_res=True)[3:5] == (32767).to_bytes(2, "little")


@pytest.mark.parametrize("profile, length", [("nano", 8), ("lightspeed", 9)])
def test_a_press_is_one_report_2_in_the_family_layout(profile, length):
    model = make_receiver(profile)
    model.press(SLOT[profile], 0x8000)
    [report] = model.default.pop(float("inf"))
    assert (report[0], len(report), report[1:3]) == (0x02, length, b"\x00\x80")
    # Bolt: the receiver's own mouse interface, in the 16-bit layout (the uhid bridge routes a
    # report that is neither HID++ nor DJ to that interface)
    bolt = make_receiver("bolt")
    bolt.press(2, 0x8000)
    [report] = bolt.default.pop(float("inf"))
    assert (report[0], len(report), report[1:3]) == (0x02, 9, b"\x00\x80")


def test_nano_declares_its_mouse_report_on_the_hidpp_interface():
    model = make_receiver("nano")
    reports = hid_input_reports(model.uhid_descriptor)
    assert reports[2] == (0x09, 16 + 24 + 8 + 8)           # buttons first, 56 bits
    assert is_hidpp_descriptor(model.uhid_descriptor)       # discovery still finds HID++ there
    assert model.uhid_descriptor.startswith(NANO_MOUSE_COLLECTION)
    assert not hasattr(make_receiver("default"), "uhid_descriptor")


@pytest.mark.parametrize("profile", ["nano", "lightspeed"])
def test_the_kernel_model_gives_report_2_to_the_child_and_keeps_it_held_at_link_loss(profile):
    model = make_receiver(profile)
    kernel = VirtualPlatform(receiver=model).source()
    kernel.start()
    slot = SLOT[profile]
    node = f"virtual:{slot}"
    model.press(slot, 0x8004)
    assert kernel.held_keys(node) == {BTN_MIDDLE, PHANTOM}
    model.move(slot, 5, -5)
    model.wheel(slot, -1)
    kinds = [type(o).__name__ for o in kernel.poll(0)]
    assert kinds.count("Motion") == 1 and kinds.count("WheelFrame") == 1
    model.disconnect(slot)                  # 0x41 link lost: no all-released report
    kernel.poll(0)
    assert kernel.held_keys(node) == {BTN_MIDDLE, PHANTOM}


@pytest.mark.parametrize("profile", ["nano", "lightspeed"])
def test_watch_fix_releases_hid_16_at_once_and_a_button_held_across_a_link_loss(profile):
    model = make_receiver(profile)
    source = VirtualPlatform(receiver=model).source()
    w = W.Watcher(source, Detector(), layers=LiveLayers(nodes=source), fix=True, poll_interval=0.01)
    w.start()
    slot = SLOT[profile]
    node = f"virtual:{slot}"
    model.press(slot, 0x8000)
    evs = _steps(w, until=lambda evs: any(e.outcome is not None for e in evs))
    assert [(e.finding.rule, e.finding.code) for e in evs if e.kind == "finding"] == [(Rule.UNKNOWN_BUTTON, PHANTOM)]
    assert [e.kind for e in evs if e.outcome is not None] == ["released"]
    assert PHANTOM not in source.held_keys(node)
    model.press(slot, 0x0004)                # a hand holds the middle button: left alone
    evs = [e for _ in range(3) for e in w.step()]
    assert not any(e.kind in ("finding", "released") for e in evs)
    model.disconnect(slot)                   # the mouse sleeps with it held
    evs = [e for _ in range(3) for e in w.step()]
    found = [e.finding for e in evs if e.kind == "finding"]
    assert [(f.rule, f.code, f.node) for f in found] == [(Rule.HELD_AT_LINK_LOSS, BTN_MIDDLE, node)]
    family = "Nano receiver (C534)" if profile == "nano" else "Lightspeed receiver (C539)"
    assert family in " | ".join(found[0].evidence)
    assert [e.kind for e in evs if e.outcome is not None] == ["released"]
    assert source.held_keys(node) == frozenset()


def _steps(w, until, timeout: float = 2.0) -> list:
    """Watcher steps until `until(events)`: HID button 16 of a model whose buttons are not
    known (the M185n) is found after the held-for wait, one the model lacks at once."""
    evs: list = []
    end = time.monotonic() + timeout
    while not until(evs) and time.monotonic() < end:
        evs += w.step()
    return evs


def _bridge(profile):
    from phantombutton.virtual.families import uhid_interfaces

    model = make_receiver(profile)
    phys, interfaces = uhid_interfaces(model, "usb-0000:00:14.0-5/input2")
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(1 + len(interfaces))]
    bridge = uhid.UhidBridge(model, os.dup(pairs[0][1].fileno()), phys=phys)
    # the extra interfaces open /dev/uhid themselves: hand them the other socketpairs' ends
    for fd in bridge.extra_fds:
        os.close(fd)
    bridge.extra_fds = [os.dup(p[1].fileno()) for p in pairs[1:]]
    for p in pairs:
        p[1].close()
        p[0].settimeout(2)
    return model, bridge, [p[0] for p in pairs]


def _inputs(kernel_side) -> list[bytes]:
    out = []
    kernel_side.setblocking(False)
    while True:
        try:
            ev = kernel_side.recv(uhid.EVENT_SIZE)
        except BlockingIOError:
            return out
        if struct.unpack_from("<I", ev)[0] == uhid.UhidEvent.INPUT2:
            size = struct.unpack_from("<H", ev, 4)[0]
            out.append(ev[6:6 + size])


@pytest.mark.parametrize("profile, where", [("nano", 0), ("lightspeed", 1)])
def test_the_bridge_sends_report_2_on_the_interface_the_receiver_uses(profile, where, monkeypatch):
    monkeypatch.setattr(uhid.os, "open", lambda *a, **k: os.open(os.devnull, os.O_RDWR))
    model, bridge, sides = _bridge(profile)
    try:
        create = sides[0].recv(uhid.EVENT_SIZE)
        size = struct.unpack_from("<H", create, 4 + 128 + 64 + 64)[0]
        assert create[280:280 + size] == model.uhid_descriptor
        assert len(sides) == (2 if profile == "lightspeed" else 1)
        model.press(SLOT[profile], 0x8000)
        model.inject(bytes.fromhex("10 ff 41 0c 42 74 40"))   # HID++ stays on the HID++ interface
        bridge._deliver_due()
        got = [_inputs(s) for s in sides]
        [report] = [r for r in got[where] if r[0] == 0x02]
        assert report[1:3] == b"\x00\x80"
        assert [r[0] for r in got[0]] == ([0x02, 0x10] if where == 0 else [0x10])
    finally:
        bridge.close()
        for s in sides:
            s.close()
