"""VirtualTransport: the in-process node onto the model."""

from __future__ import annotations

import time

import pytest

from phantombutton.errors import DeviceGone
from phantombutton.transport.base import Transport
from phantombutton.transport.virtual import VirtualTransport
from phantombutton.virtual.receiver import VirtualReceiver


def test_is_a_transport_and_reads_in_order():
    receiver = VirtualReceiver()
    t = VirtualTransport(receiver)
    assert isinstance(t, Transport)
    t.write(bytes.fromhex("10018101000000"))
    receiver.press(1, 0x8000)
    assert t.read(0.5) == bytes.fromhex("10018101020000")
    assert t.read(0.5)[:5] == bytes.fromhex("2001020080")
    assert t.read(0) is None


def test_read_waits_for_latency_and_times_out():
    receiver = VirtualReceiver()
    receiver.latency = 0.05
    t = VirtualTransport(receiver)
    t.write(bytes.fromhex("10018101000000"))
    assert t.read(0) is None  # not due yet
    start = time.monotonic()
    assert t.read(1.0) == bytes.fromhex("10018101020000")
    assert time.monotonic() - start >= 0.04
    start = time.monotonic()
    assert t.read(0.05) is None
    assert time.monotonic() - start >= 0.04


def test_unplugged_receiver_is_device_gone():
    receiver = VirtualReceiver()
    t = VirtualTransport(receiver)
    receiver.unplug()
    with pytest.raises(DeviceGone):
        t.write(bytes.fromhex("10018101000000"))
    with pytest.raises(DeviceGone):
        t.read(1.0)


def test_closed_transport_refuses_io():
    t = VirtualTransport(VirtualReceiver())
    t.close()
    with pytest.raises(ValueError):
        t.read(0)
