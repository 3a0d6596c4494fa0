"""phantombutton's own HID++ client against the real kernel nodes (receiver and child)."""

from __future__ import annotations

import json
import re
import time

import labkit
import pytest


@pytest.fixture
def engine_on():
    """Engine(HidrawTransport(node)) factory; closed after the test."""
    from phantombutton.transport.engine import Engine
    from phantombutton.transport.hidraw import HidrawTransport

    opened = []

    def open_(node):
        t = HidrawTransport(node)
        opened.append(t)
        return Engine(t)

    yield open_
    for t in opened:
        t.close()


def test_discovery_finds_the_receiver_node(bridge):
    from phantombutton.transport.discovery import find_receivers

    [receiver] = find_receivers()
    assert receiver.node == labkit.receiver_node()
    assert (receiver.product, receiver.driver) == (0xC52B, "logitech-djreceiver")
    assert [(c.node, c.slot, c.wpid) for c in receiver.children] == [(labkit.m705_hidraw(), 1, "101B")]


def test_engine_reads_registers_through_receiver_and_child_node(bridge, engine_on):
    receiver = engine_on(labkit.receiver_node())
    assert receiver.read_register(0xFF, 0x02)[1] == 1  # one device paired
    via_receiver = receiver.read_register(0x01, 0x01)
    child = engine_on(labkit.m705_hidraw())
    via_child = child.read_register(0x01, 0x01)
    assert via_receiver == via_child
    assert via_child[0] & 0x40  # the kernel set smooth scroll when the M705 connected
    # the two paths really differ in the kernel: OUTPUT vs SET_REPORT (re-addressed)
    vias = {t[3] for t in bridge.traffic(time.monotonic() - 5)
            if t[1] == "out" and t[2].startswith("10 01 81 01")}
    assert vias == {"output", "set_report"}, vias


def test_list_shows_receiver_node_and_m705(bridge):
    r = labkit.phantombutton("list")
    assert r.returncode == 0, r.stderr
    assert labkit.receiver_node() in r.stdout, r.stdout
    assert re.search(r"^\s+1: M705\s+101B\s+mouse\s+HID\+\+ 1\.0", r.stdout, re.M), r.stdout


def test_info_reads_receiver_and_m705_without_disturbing_the_kernel(bridge):
    node = labkit.m705_event_node()
    since = labkit.uptime()
    t0 = time.monotonic()
    r = labkit.phantombutton("info", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    [rcv] = data["receivers"]
    assert rcv["node"] == labkit.receiver_node()
    assert rcv["product"].upper() == "C52B" and rcv["paired"] == 1
    # no more HID++ requests than `solaar show` (23), none about an empty slot (0xB5 0x21..0x45)
    hidpp = [h for _, d, h, _ in bridge.traffic(t0) if d == "out" and h.startswith(("10 ", "11 "))]
    assert len(hidpp) <= 23, hidpp
    assert not [h for h in hidpp if re.match(r"10 ff 83 b5 [234][1-5]", h)], hidpp
    [dev] = rcv["devices"]
    assert (dev["slot"], dev["wpid"], dev["protocol"]) == (1, "101B", "HID++ 1.0")
    assert dev["online"] is True
    assert "side-scroll" in dev["settings"]
    # the kernel's child device survives our reads (no re-probe storm, no 5 s timeouts)
    time.sleep(0.5)
    assert labkit.event_nodes(labkit.M705_NAME) == [node]
    assert not [s for _, s in labkit.kernel_lines(since) if re.search(r"timeout|failed", s, re.I)]


def test_side_scroll_set_get_round_trip_through_the_kernel(bridge):
    child = labkit.Hidraw(labkit.m705_hidraw())
    try:
        original = child.request(bytes.fromhex("10 01 81 01 00 00 00"))[4]
        for value, bit in (("off", 0), ("on", 0x02)):
            since = time.monotonic()
            r = labkit.phantombutton("set", "1", "side-scroll", value)
            assert r.returncode == 0, r.stderr
            assert r.stdout.startswith(f"side-scroll: {value}"), r.stdout
            g = labkit.phantombutton("get", "1", "side-scroll")
            assert (g.returncode, g.stdout.strip()) == (0, f"side-scroll: {value}")
            # what reached the mouse: only bit 0x02 changed (read-modify-write), 0x40 kept
            writes = [t[2] for t in bridge.traffic(since) if t[1] == "out" and t[2].startswith("10 01 80 01")]
            assert writes and int(writes[-1].split()[4], 16) == (original & ~0x02) | bit, writes
            # and an independent reader (raw child node) sees the same value
            assert child.request(bytes.fromhex("10 01 81 01 00 00 00"))[4] & 0x02 == bit
    finally:
        child.request(bytes([0x10, 0x01, 0x80, 0x01, original, 0, 0]))
        child.close()


def test_engine_sees_link_notifications_on_the_receiver_node(bridge, engine_on):
    from phantombutton.transport.engine import UnsolicitedKind

    engine = engine_on(labkit.receiver_node())
    while engine.poll(0):
        pass
    bridge.call("disconnect", slot=1)
    bridge.call("connect", slot=1)
    seen = []
    end = time.monotonic() + 5
    while time.monotonic() < end and len([u for u in seen if u.raw[2] == 0x41]) < 2:
        u = engine.poll(0.5)
        if u and u.kind == UnsolicitedKind.NOTIFICATION:
            seen.append(u)
    link = [u.raw[4] & 0x40 for u in seen if u.raw[:3] == bytes.fromhex("10 01 41")]
    assert link == [0x40, 0], [u.raw.hex(" ") for u in seen]  # lost, then back
