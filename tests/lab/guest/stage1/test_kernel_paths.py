"""HID++ through the kernel's nodes (receiver node and the M705's child node).

Plain hidraw fds here (no phantombutton code), so a failure points at the model, the bridge
or the kernel path, not at our HID++ client (tested in test_hidpp_client.py).
"""

from __future__ import annotations

import time

import labkit


def test_receiver_node_answers_hidpp10(receiver_node):
    h = labkit.Hidraw(receiver_node)
    try:
        # register 0x02 byte 1: number of paired devices; the default profile has the M705
        reply = h.request(bytes.fromhex("10 ff 81 02 00 00 00"))
        assert reply[:4] == bytes.fromhex("10 ff 81 02"), reply.hex(" ")
        assert reply[5] == 1, reply.hex(" ")
    finally:
        h.close()


def test_child_node_readdresses_to_slot_1(m705_node, bridge):
    """HID++ written to the child node reaches the model as slot 1 (kernel SET_REPORT path)."""
    h = labkit.Hidraw(m705_node)
    try:
        since = time.monotonic()
        # written with index 0xFF: the kernel rewrites it to the child's slot, replies say 01
        reply = h.request(bytes.fromhex("10 ff 81 01 00 00 00"), index=0x01)
        assert reply[:4] == bytes.fromhex("10 01 81 01"), reply.hex(" ")
        assert reply[4] & 0x40, reply.hex(" ")  # the kernel set smooth scroll on connect
        out = [(t[2], t[3]) for t in bridge.traffic(since) if t[1] == "out"]
        assert ("10 01 81 01 00 00 00", "set_report") in out, out
    finally:
        h.close()


def test_side_scroll_round_trip_through_the_kernel(m705_node):
    h = labkit.Hidraw(m705_node)
    try:
        before = h.request(bytes.fromhex("10 01 81 01 00 00 00"))[4]
        try:
            for value in (before & ~0x02, before | 0x02):
                ack = h.request(bytes([0x10, 0x01, 0x80, 0x01, value, 0, 0]))
                assert ack[2] == 0x80, ack.hex(" ")
                assert h.request(bytes.fromhex("10 01 81 01 00 00 00"))[4] == value
        finally:
            h.request(bytes([0x10, 0x01, 0x80, 0x01, before, 0, 0]))
    finally:
        h.close()


def test_m705_answers_the_20_ping_as_a_10_device(m705_node):
    h = labkit.Hidraw(m705_node)
    try:
        reply = h.request(bytes.fromhex("10 01 00 1e 00 00 5a"))
        assert reply[:6] == bytes.fromhex("10 01 8f 00 1e 01"), reply.hex(" ")
    finally:
        h.close()
