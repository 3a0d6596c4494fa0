"""UhidBridge's loop and control socket, with the real VirtualReceiver and a socketpair
standing in for /dev/uhid (the host has no uhid; tests/lab runs the real kernel side)."""

import json
import os
import socket
import struct
import threading
import time

import pytest

from phantombutton.virtual import uhid
from phantombutton.virtual.receiver import VirtualReceiver


def kernel_event(kind, body):
    return (struct.pack("<I", kind) + body).ljust(uhid.EVENT_SIZE, b"\0")


@pytest.fixture
def running(tmp_path):
    kernel, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock = str(tmp_path / "ctl.sock")
    bridge = uhid.UhidBridge(VirtualReceiver("default"), os.dup(ours.fileno()), control=sock)
    ours.close()
    thread = threading.Thread(target=bridge.run, daemon=True)
    thread.start()
    kernel.settimeout(5)
    yield bridge, kernel, sock
    if bridge.listener:
        control(sock, op="quit")  # wakes the loop at once
    thread.join(5)
    assert not thread.is_alive()
    kernel.close()


def read_event(kernel, kind):
    while True:
        ev = kernel.recv(uhid.EVENT_SIZE)
        assert len(ev) == uhid.EVENT_SIZE
        if struct.unpack_from("<I", ev)[0] == kind:
            return ev


def control(sock, **req):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock)
        s.sendall(json.dumps(req).encode() + b"\n")
        return json.loads(s.makefile().readline())


def test_create2_then_set_report_is_acked_and_answered(running):
    bridge, kernel, _ = running
    create = read_event(kernel, uhid.UhidEvent.CREATE2)
    assert create[280:280 + 98] == uhid.HIDPP_DESCRIPTOR
    request = bytes.fromhex("10 ff 81 02 00 00 00")  # connected devices
    kernel.send(kernel_event(uhid.UhidEvent.SET_REPORT,
                             struct.pack("<IBBH", 77, 0x10, 1, len(request)) + request))
    reply = read_event(kernel, uhid.UhidEvent.SET_REPORT_REPLY)
    assert struct.unpack_from("<IH", reply, 4) == (77, 0)
    answer = read_event(kernel, uhid.UhidEvent.INPUT2)
    size = struct.unpack_from("<H", answer, 4)[0]
    assert answer[6:6 + size][:4] == bytes.fromhex("10 ff 81 02")
    assert bridge.stats.hidpp_requests == 1


def test_output_event_reaches_the_model(running):
    bridge, kernel, _ = running
    body = bytearray(4096 + 3)
    request = bytes.fromhex("10 01 81 01 00 00 00")
    body[:7] = request
    struct.pack_into("<HB", body, 4096, 7, 1)
    kernel.send(kernel_event(uhid.UhidEvent.OUTPUT, bytes(body)))
    answer = read_event(kernel, uhid.UhidEvent.INPUT2)
    assert answer[6:10] == bytes.fromhex("10 01 81 01")
    assert [t[3] for t in bridge.stats.traffic if t[1] == "out"] == ["output"]


def test_get_report_is_refused_at_once(running):
    _, kernel, _ = running
    kernel.send(kernel_event(uhid.UhidEvent.GET_REPORT, struct.pack("<IBB", 5, 0x10, 1)))
    reply = read_event(kernel, uhid.UhidEvent.GET_REPORT_REPLY)
    assert struct.unpack_from("<IH", reply, 4)[0] == 5
    assert struct.unpack_from("<IH", reply, 4)[1] != 0


def test_control_press_becomes_a_dj_input_report(running):
    _, kernel, sock = running
    assert control(sock, op="press", slot=1, buttons=0x8000) == {"ok": True, "result": None}
    ev = read_event(kernel, uhid.UhidEvent.INPUT2)
    size = struct.unpack_from("<H", ev, 4)[0]
    report = ev[6:6 + size]
    assert report[:3] == bytes.fromhex("20 01 02") and report[3:5] == bytes.fromhex("00 80")


def test_control_errors_are_one_line_and_the_bridge_keeps_running(running):
    _, _, sock = running
    bad = control(sock, op="no_such_thing")
    assert bad["ok"] is False and "no_such_thing" in bad["error"]
    assert control(sock, op="_queue")["ok"] is False
    assert control(sock, op="ping") == {"ok": True, "result": "pong"}
    assert control(sock, op="stats")["result"]["hidpp_requests"] == 0


def test_unplug_destroys_the_device(running):
    bridge, kernel, sock = running
    assert control(sock, op="unplug")["ok"]
    read_event(kernel, uhid.UhidEvent.DESTROY)
    deadline = time.monotonic() + 5
    while bridge.fd != -1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bridge.fd == -1
