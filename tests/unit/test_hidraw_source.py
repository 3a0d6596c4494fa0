"""The hidraw listener's pure parts, with sockets standing in for hidraw nodes (one report
per read, like hidraw), and what the detector makes of its observations. The real nodes are
exercised in the lab (tests/lab/guest/stage1/test_watch_lab.py)."""

from __future__ import annotations

import errno
import selectors
import socket

import pytest

from phantombutton.detect.events import DeviceAdded, DeviceInfo, DjInput, HeldState, HidppTraffic, KeyEvent
from phantombutton.detect.findings import Rule
from phantombutton.detect.rules import Detector
from phantombutton.input.evdev_source import EvdevSource
from phantombutton.input.hidraw_source import HidrawSource, HidrawTag, keep_report

RECV = "/dev/hidraw0"
CONNECT_41 = bytes.fromhex("10 01 41 04 01 1b 10")           # slot 1, M705 101B, link up
DJ_MOUSE_PHANTOM = bytes.fromhex("20 01 02 00 80") + bytes(10)
DJ_KEYBOARD = bytes.fromhex("20 02 01 00 00 04") + bytes(9)  # key 'a' from a keyboard
DJ_LINK_LOSS = bytes.fromhex("20 01 42 01") + bytes(11)


@pytest.mark.parametrize("report, kept", [
    (CONNECT_41, True),
    (bytes.fromhex("11 ff 83 b5 03") + bytes(15), True),
    (bytes.fromhex("12 01 00 1e") + bytes(60), True),
    (DJ_LINK_LOSS, True),
    (DJ_MOUSE_PHANTOM, False),
    (DJ_KEYBOARD, False),          # key codes never leave the listener
    (b"\x10\x01", False),
    (bytes.fromhex("01 02 03 04"), False),
])
def test_keep_report(report, kept):
    assert keep_report(report) is kept


class FakeNodes:
    """Opener giving one end of a SOCK_SEQPACKET pair per node: reads keep report bounds."""

    def __init__(self, denied=()):
        self.peers: dict[str, socket.socket] = {}
        self.mine: list[socket.socket] = []
        self.denied = set(denied)
        self.opened = 0

    def open(self, node: str) -> int:
        if node in self.denied:
            raise PermissionError(errno.EACCES, "Permission denied", node)
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        a.setblocking(False)
        self.peers[node] = b
        self.mine.append(a)
        self.opened += 1
        return a.detach()


def drain(sel, src):
    out = []
    for key, _ in sel.select(0.5):
        assert isinstance(key.data, HidrawTag)
        out += src.read(key.data.node)
    return out


def test_reads_hidpp_and_notifications_reduces_mouse_input_and_eof_drops_node():
    nodes = FakeNodes()
    clock = iter(range(100, 200)).__next__
    src = HidrawSource(find=lambda: [RECV], open_node=nodes.open, clock=lambda: float(clock()))
    sel = selectors.DefaultSelector()
    src.start(sel)
    assert src.fd_count() == 1
    for r in (CONNECT_41, DJ_MOUSE_PHANTOM, DJ_KEYBOARD, DJ_LINK_LOSS):
        nodes.peers[RECV].send(r)
    got = drain(sel, src)
    mouse = [o for o in got if isinstance(o, DjInput)]   # the mouse report, reduced (no bytes kept)
    assert [(o.node, o.slot, o.active) for o in mouse] == [(RECV, DJ_MOUSE_PHANTOM[1], True)]
    got = [o for o in got if not isinstance(o, DjInput)]
    assert [o.data for o in got] == [CONNECT_41, DJ_LINK_LOSS]      # the keyboard report is dropped
    assert all(isinstance(o, HidppTraffic) and o.node == RECV for o in got)
    assert got[0].t < got[1].t
    nodes.peers[RECV].close()          # the receiver went away
    assert drain(sel, src) == [] and src.fd_count() == 0
    sel.close()


def test_rescan_follows_the_receivers_without_leaking_fds():
    nodes = FakeNodes()
    present = [RECV]
    src = HidrawSource(find=lambda: list(present), open_node=nodes.open)
    sel = selectors.DefaultSelector()
    src.start(sel)
    for i in range(50):
        present[:] = [] if i % 2 == 0 else [RECV]
        src.rescan()
        assert src.fd_count() == len(present)
    src.close()
    assert src.fd_count() == 0 and not sel.get_map()
    sel.close()


def test_permission_denied_is_noted_once_and_watching_goes_on():
    nodes = FakeNodes(denied={RECV})
    src = HidrawSource(find=lambda: [RECV, "/dev/hidraw3"], open_node=nodes.open)
    sel = selectors.DefaultSelector()
    src.start(sel)
    src.rescan()
    src.rescan()
    assert len(src.problems) == 1
    assert RECV in src.problems[0] and "EACCES" in src.problems[0] and "install-udev" in src.problems[0]
    assert src.fd_count() == 1 and not src.wants(RECV)   # the readable one is read
    src.close()
    sel.close()


def test_evdev_source_owns_the_hidraw_fds_and_reports_their_problems(tmp_path):
    nodes = FakeNodes(denied={"/dev/hidraw9"})
    hr = HidrawSource(find=lambda: [RECV, "/dev/hidraw9"], open_node=nodes.open)
    src = EvdevSource(sysfs=str(tmp_path), dev=str(tmp_path), hidraw=hr)
    src.start()
    assert any("/dev/hidraw9" in p for p in src.problems)
    before = src.fd_count()
    nodes.peers[RECV].send(CONNECT_41)
    obs = src.poll(0.5)
    assert [o.data for o in obs if isinstance(o, HidppTraffic)] == [CONNECT_41]
    assert before == hr.fd_count() + (1 if src._inotify else 0)
    src.close()
    assert hr.fd_count() == 0


M705 = DeviceInfo(node="/dev/input/event3", name="Logitech M705", vendor=0x046D, product=0x101B,
                  slot=1, receiver_node=RECV, hidpp_node="/dev/hidraw1",
                  buttons=frozenset(range(0x110, 0x120)))


def detector_after_reconnect(press_code: int, dt: float):
    d = Detector()
    d.feed(DeviceAdded(10.0, M705, at_start=True))
    d.feed(HeldState(10.0, M705.node, frozenset()))
    d.feed(HidppTraffic(20.0, RECV, CONNECT_41))    # a DJ reconnect: no new node, only this
    return d.feed(KeyEvent(20.0 + dt, M705.node, press_code, 1))


def test_reconnect_seen_on_hidraw_makes_a_press_suspect_rule_b():
    found = detector_after_reconnect(0x113, 0.12)     # BTN_SIDE: the M705 has it
    assert [f.rule for f in found] == [Rule.PRESS_AFTER_CONNECT]
    assert any("device connection notification, slot 1, WPID 101B, link established" in c
               for c in found[0].hidpp_context), found[0].hidpp_context
    assert detector_after_reconnect(0x113, 5.0) == []  # long after: an ordinary press


def test_phantom_after_reconnect_names_the_connection_in_its_context():
    found = detector_after_reconnect(0x11F, 0.05)
    assert [f.rule for f in found] == [Rule.UNKNOWN_BUTTON]
    ctx = " | ".join(found[0].hidpp_context)
    assert "device connection notification, slot 1" in ctx and "50 ms before the press" in ctx
