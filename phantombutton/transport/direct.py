"""Logitech HID++ mice without a receiver: on a USB cable or on Bluetooth, found from sysfs.

Such a mouse is a HID device of its own, bound to hid-logitech-hidpp (driver
`logitech-hidpp-device`), on bus 0005 (BUS_BLUETOOTH) or 0003 (BUS_USB), with no Logitech
receiver's HID device above it. Its hidraw node speaks HID++ to the mouse itself: device
index 0xFF, as the driver addresses every request it sends (hid-logitech-hidpp.c
`__hidpp_send_report`: "set the device_index as the receiver").

Bluetooth mice often declare only the long HID++ report (0x11) on their vendor page 0xFF43;
the driver then sends its short requests as long ones (hid-logitech-hidpp.c
`hidpp_send_rap_command_sync`: "Send as long report if short reports are not supported"),
and so does `LongOnlyTransport` here. Pure logic over a sysfs tree, like discovery.py.
"""

from __future__ import annotations

import os
import re

from ..hidpp.frames import REPORT_LENGTH, ReportId
from .discovery import HIDPP_DEVICE_DRIVER, LOGITECH, HidppNode, hid_input_reports, hidpp_nodes

DIRECT_INDEX = 0xFF           # the device index a direct mouse answers on
BUS_USB, BUS_BLUETOOTH = 0x03, 0x05
BUS_NAMES = {BUS_USB: "USB", BUS_BLUETOOTH: "Bluetooth"}
_HID_DIR = re.compile(r"^[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{4}\.[0-9A-F]{4}$", re.I)


def _hid_parent(node: HidppNode) -> str:
    """The name of the directory above the node's HID device (a receiver's HID device for a
    paired mouse; a USB interface, a Bluetooth connection or uhid's misc device otherwise)."""
    hid_dir = os.path.realpath(os.path.join(node.sysfs, "device"))
    return os.path.basename(os.path.dirname(hid_dir))


def is_direct(node: HidppNode) -> bool:
    """A Logitech HID++ node driven by hid-logitech-hidpp with no receiver above it."""
    return (node.vendor == LOGITECH and node.driver == HIDPP_DEVICE_DRIVER
            and node.bus in (BUS_USB, BUS_BLUETOOTH) and not _HID_DIR.match(_hid_parent(node)))


def find_direct(sysfs: str = "/sys") -> list[HidppNode]:
    """Direct HID++ mice's nodes, sorted by node number; `slot` is their device index 0xFF."""
    found = [node for node in hidpp_nodes(sysfs) if is_direct(node)]
    for node in found:
        node.slot = DIRECT_INDEX
    return found


def long_only(sysfs_dir: str) -> bool:
    """Does the node's report descriptor declare the long HID++ report but not the short one?"""
    try:
        with open(os.path.join(sysfs_dir, "device", "report_descriptor"), "rb") as f:
            reports = hid_input_reports(f.read())
    except OSError:
        return False
    return ReportId.LONG in reports and ReportId.SHORT not in reports


class LongOnlyTransport:
    """Wraps a Transport onto a node without the short report: short requests go out long.
    Replies match as before (the engine compares the bytes after the report id)."""

    def __init__(self, inner):
        self.inner = inner
        self.node = inner.node

    def write(self, data: bytes) -> None:
        if data[:1] == bytes([ReportId.SHORT]):   # as the long report, params zero-padded
            data = bytes([ReportId.LONG]) + bytes(data[1:]).ljust(REPORT_LENGTH[ReportId.LONG] - 1, b"\0")
        self.inner.write(bytes(data))

    def read(self, timeout: float) -> bytes | None:
        return self.inner.read(timeout)

    def close(self) -> None:
        self.inner.close()
