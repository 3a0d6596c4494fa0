"""HidrawTransport's guards and error mapping (no hidraw nodes on this host: the lab runs it for real)."""

from __future__ import annotations

import errno
import os

import pytest

from phantombutton.errors import UDEV_FIX, AccessDenied, DeviceGone, PhantomError
from phantombutton.transport import hidraw as hidraw_transport
from phantombutton.transport.hidraw import HidrawTransport, check_node


@pytest.mark.parametrize("path", ["/dev/hidraw0", "/dev/hidraw12"])
def test_hidraw_paths_are_accepted(path):
    assert check_node(path) == path


@pytest.mark.parametrize("path", ["1-2:1.2", "/dev/bus/usb/001/002", "/dev/hidraw", "/dev/hidraw0x", "/tmp/hidraw0"])
def test_anything_but_hidraw_is_refused(path):
    with pytest.raises(PhantomError) as info:
        check_node(path)
    assert "not a hidraw node" in str(info.value)


def test_permission_denied_names_node_errno_and_fix(monkeypatch):
    def denied(path, flags):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(AccessDenied) as info:
        HidrawTransport("/dev/hidraw3")
    assert (info.value.node, info.value.errno_name, info.value.fix) == ("/dev/hidraw3", "EACCES", UDEV_FIX)


def test_missing_node_is_device_gone():
    with pytest.raises(DeviceGone) as info:
        HidrawTransport("/dev/hidraw987")
    assert "/dev/hidraw987" in str(info.value) and "ENOENT" in str(info.value)


class FakeHidapiDevice:
    """Stands in for hidraw.device() after the node vanished: hidapi raises a bare IOError."""

    def __init__(self, message):
        self.message = message

    def read(self, size, timeout_ms=0):
        raise IOError("read error")

    def write(self, data):
        raise IOError("write error")

    def error(self):
        return self.message

    def close(self):
        raise IOError("close failed")


def transport_with(message, node="/dev/hidraw987"):
    t = object.__new__(HidrawTransport)
    t.node, t._dev = node, FakeHidapiDevice(message)
    return t


def test_vanished_node_maps_to_device_gone():
    # seen in the lab: after the receiver left, hidapi said "read error" / "Success"
    t = transport_with("Success", node="/dev/hidraw987")
    with pytest.raises(DeviceGone) as info:
        t.read(0.1)
    assert str(info.value).startswith("/dev/hidraw987: device gone during read (ENODEV)")
    with pytest.raises(DeviceGone):
        t.write(b"\x10\x01\x81\x01\x00\x00\x00")
    t.close()  # must not raise on a vanished device


@pytest.mark.parametrize("message, name", [
    ("hid_read_timeout: unexpected poll error (device disconnected)", "ENODEV"),
    ("read failed (/dev/hidraw0): Input/output error", "EIO"),
    ("No such device", "ENODEV"),
])
def test_gone_messages_map_to_device_gone_while_node_still_exists(tmp_path, message, name):
    node = tmp_path / "hidraw0"
    node.write_text("")  # the node is still there (removal races the read)
    t = transport_with(message, node=str(node))
    with pytest.raises(DeviceGone) as info:
        t.read(0.1)
    assert f"device gone during read ({name})" in str(info.value)


def test_other_failures_stay_plain_errors_when_node_exists(tmp_path):
    node = tmp_path / "hidraw0"
    node.write_text("")
    t = transport_with("Invalid argument", node=str(node))
    with pytest.raises(PhantomError) as info:
        t.write(b"\x10")
    assert not isinstance(info.value, DeviceGone) and "Invalid argument" in str(info.value)


def test_module_imports_hidraw_lazily():
    # `import hid` never, `import hidraw` only when a transport is opened
    source = open(hidraw_transport.__file__).read()
    assert "import hidraw  #" in source and "\nimport hidraw" not in source
