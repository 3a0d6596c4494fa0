"""The phantom button as the kernel sees it: held in EVIOCGKEY, released by link loss.

Tests run in file order on one receiver; the link-loss test goes last."""

from __future__ import annotations

import time

import evdev
import labkit
import pytest


def _held(node: str) -> set[int]:
    dev = evdev.InputDevice(node)
    try:
        return set(dev.active_keys())
    finally:
        dev.close()


def _read_events(dev) -> list[tuple[int, int, int]]:
    out = []
    try:
        for e in dev.read():
            out.append((e.type, e.code, e.value))
    except BlockingIOError:
        pass
    return out


@pytest.mark.parametrize("buttons,code", [(0x0001, 0x110), (0x0008, 0x113), (0x0100, 0x118)])
def test_ordinary_buttons_press_and_release(bridge, event_node, buttons, code):
    bridge.call("press", slot=1, buttons=buttons)
    labkit.wait_for(lambda: _held(event_node) == {code}, 5, what=f"{code:#x} held")
    bridge.call("press", slot=1, buttons=0)
    labkit.wait_for(lambda: _held(event_node) == set(), 5, what=f"{code:#x} released")


def test_phantom_press_is_held_then_link_loss_releases_it(bridge):
    node = labkit.m705_event_node()
    listener = labkit.Hidraw(labkit.receiver_node())
    events = evdev.InputDevice(node)
    try:
        bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        labkit.wait_for(lambda: labkit.BTN_PHANTOM in _held(node), 5, what="EV_KEY 0x11F held")
        assert _held(node) == {labkit.BTN_PHANTOM}
        # the press itself, with the HID usage as scancode: button page 9, usage 16
        seen = []
        labkit.wait_for(lambda: seen.extend(_read_events(events)) or
                        (evdev.ecodes.EV_KEY, labkit.BTN_PHANTOM, 1) in seen, 5, what="key event")
        assert (evdev.ecodes.EV_MSC, evdev.ecodes.MSC_SCAN, 0x90010) in seen

        time.sleep(0.3)
        assert labkit.BTN_PHANTOM in _held(node), "a held phantom must stay held"

        listener.drain()
        bridge.call("disconnect", slot=1)
        labkit.wait_for(lambda: labkit.BTN_PHANTOM not in _held(node), 5,
                        what="the kernel's null report to release 0x11F")
        assert _held(node) == set()
        # the evdev node survives link loss (hid-logitech-dj keeps the child)
        assert labkit.event_nodes(labkit.M705_NAME) == [node]
        lost, _ = listener.read_until(lambda r: r[:3] == bytes.fromhex("10 01 41"), 5)
        assert lost[4] & 0x40, lost.hex(" ")  # 0x41 with "link not established"

        # the mouse wakes up: a listener on the receiver node sees the 0x41 notification
        bridge.call("connect", slot=1)
        up, _ = listener.read_until(lambda r: r[:3] == bytes.fromhex("10 01 41"), 5)
        assert up[3] == 0x04 and not up[4] & 0x40, up.hex(" ")  # Unifying, link up
        assert up[5:7] == bytes.fromhex("1b 10"), up.hex(" ")  # WPID 101B, little-endian
        # and the same evdev node works again
        bridge.call("press", slot=1, buttons=0x0001)
        labkit.wait_for(lambda: _held(node) == {0x110}, 5, what="BTN_LEFT after reconnect")
        bridge.call("press", slot=1, buttons=0)
        labkit.wait_for(lambda: _held(node) == set(), 5, what="BTN_LEFT released")
    finally:
        events.close()
        listener.close()
