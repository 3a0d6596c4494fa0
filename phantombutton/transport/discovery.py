"""Find HID++ nodes from sysfs: Unifying receivers and the child nodes of their devices.

A node speaks HID++ when its report descriptor declares input report 0x10 with 6 data bytes
or 0x11 with 19, on a vendor usage page: 0xFF00 (receivers, USB) or 0xFF43 (Bluetooth mice).
The receiver's node is the interface (phys ending in `input2`) of a Logitech (046d) receiver;
hid-logitech-dj gives each paired device a child node whose phys is the receiver's phys plus
`:<slot>` and whose driver is logitech-hidpp-device. Pure logic over a sysfs tree: pass another root to test it.

Only Unifying receivers (C52B, C532) are handled: the other families hid-logitech-dj drives
enumerate, address and report mouse input differently (no DJ mouse reports, other pairing
registers), so `find_receivers` skips them with a note instead of treating them as Unifying.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterator

LOGITECH = 0x046D
HIDPP_REPORTS = {0x10: 6, 0x11: 19}  # report id -> data bytes after the id
VENDOR_PAGE = 0xFF00
VENDOR_PAGES = frozenset({VENDOR_PAGE, 0xFF43})   # 0xFF43: Logitech Bluetooth HID++ collections
RECEIVER_DRIVER = "logitech-djreceiver"
CHILD_DRIVER = "logitech-hidpp-device"

UNIFYING_PIDS = frozenset({0xC52B, 0xC532})   # the same ids as udev/70-phantombutton.rules
# The receivers hid-logitech-dj.c binds (logi_dj_receivers), by family; all but Unifying are
# skipped for now.
OTHER_RECEIVERS: dict[int, str] = {
    0xC52F: "Nano (mouse only)", 0xC534: "Nano",
    0xC531: "G700 gaming", 0xC537: "G602 gaming", 0xC539: "Lightspeed", 0xC53A: "Lightspeed (powerplay)",
    0xC53F: "Lightspeed", 0xC543: "Lightspeed", 0xC547: "Lightspeed 1.3", 0xC54D: "Lightspeed 1.3",
    0xC548: "Bolt",
    0xC513: "27 MHz", 0xC517: "27 MHz", 0xC51B: "27 MHz",
    **{pid: "Bluetooth" for pid in (0xC70A, 0xC70E, 0xC71B, 0xC71C, 0xC713, 0xC714, 0xC71E, 0xC71F)},
}


@dataclass
class HidppNode:
    """A hidraw node that speaks HID++, as sysfs describes it."""

    node: str  # /dev/hidrawN
    bus: int
    vendor: int
    product: int  # receiver PID, or the device's wireless PID for child nodes
    name: str
    phys: str
    driver: str
    sysfs: str  # the hidraw's sysfs directory
    slot: int | None = None  # child nodes: device index on the receiver
    children: list["HidppNode"] = field(default_factory=list)

    @property
    def wpid(self) -> str:
        return f"{self.product:04X}"


def hid_input_reports(descriptor: bytes) -> dict[int, tuple[int, int]]:
    """Input reports of a HID report descriptor: report id -> (usage page, data bits).

    Short items only (long items, tag 0xFE, are skipped); global state with push/pop.
    """
    reports: dict[int, tuple[int, int]] = {}
    state = {"page": 0, "size": 0, "count": 0, "id": 0}
    stack: list[dict] = []
    i = 0
    while i < len(descriptor):
        prefix = descriptor[i]
        if prefix == 0xFE:  # long item: data size in the next byte
            if i + 1 >= len(descriptor):
                break
            i += 3 + descriptor[i + 1]
            continue
        size = (0, 1, 2, 4)[prefix & 0x03]
        data = descriptor[i + 1 : i + 1 + size]
        value = int.from_bytes(data, "little")
        kind, tag = (prefix >> 2) & 0x03, prefix >> 4
        if kind == 1:  # global
            if tag == 0x0:
                state["page"] = value
            elif tag == 0x7:
                state["size"] = value
            elif tag == 0x8:
                state["id"] = value
            elif tag == 0x9:
                state["count"] = value
            elif tag == 0xA:
                stack.append(dict(state))
            elif tag == 0xB and stack:
                state = stack.pop()
        elif kind == 0 and tag == 0x8:  # main: Input
            rid = state["id"]
            page, bits = reports.get(rid, (state["page"], 0))
            reports[rid] = (page, bits + state["size"] * state["count"])
        i += 1 + size
    return reports


def is_hidpp_descriptor(descriptor: bytes) -> bool:
    reports = hid_input_reports(descriptor)
    return any(
        rid in reports and reports[rid][0] in VENDOR_PAGES and reports[rid][1] == nbytes * 8
        for rid, nbytes in HIDPP_REPORTS.items()
    )


def read_uevent(path: str) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep:
                    values[key] = value
    except OSError:
        pass
    return values


def _node(sysfs_dir: str, name: str) -> HidppNode | None:
    device = os.path.join(sysfs_dir, "device")
    try:
        with open(os.path.join(device, "report_descriptor"), "rb") as f:
            descriptor = f.read()
    except OSError:
        return None
    if not is_hidpp_descriptor(descriptor):
        return None
    uevent = read_uevent(os.path.join(device, "uevent"))
    try:  # HID_ID=0003:0000046D:0000C52B
        bus, vendor, product = (int(part, 16) for part in uevent.get("HID_ID", "").split(":"))
    except ValueError:
        return None
    driver = uevent.get("DRIVER") or os.path.basename(os.path.realpath(os.path.join(device, "driver")))
    return HidppNode(
        node=f"/dev/{name}", bus=bus, vendor=vendor, product=product,
        name=uevent.get("HID_NAME", ""), phys=uevent.get("HID_PHYS", ""), driver=driver, sysfs=sysfs_dir,
    )


def hidpp_nodes(sysfs: str = "/sys") -> list[HidppNode]:
    """Every hidraw node whose descriptor speaks HID++, sorted by node number."""
    base = os.path.join(sysfs, "class", "hidraw")
    try:
        names = os.listdir(base)
    except OSError:
        return []
    found = []
    for name in sorted(names, key=lambda n: (len(n), n)):
        if name.startswith("hidraw") and name[6:].isdigit():
            node = _node(os.path.join(base, name), name)
            if node is not None:
                found.append(node)
    return found


def _slot_of(child_phys: str, receiver_phys: str) -> int | None:
    prefix = receiver_phys + ":"
    if receiver_phys and child_phys.startswith(prefix) and child_phys[len(prefix):].isdigit():
        return int(child_phys[len(prefix):])
    return None


@dataclass(frozen=True)
class Skipped:
    """A receiver node found but not used, and why (one line for stderr)."""

    node: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.node}: {self.reason}"


def _receiver_nodes(sysfs: str) -> Iterator[HidppNode]:
    """Logitech receivers' HID++ nodes, each with its paired devices' child nodes."""
    nodes = hidpp_nodes(sysfs)
    for node in nodes:
        is_receiver = node.vendor == LOGITECH and (
            node.driver == RECEIVER_DRIVER or node.phys.endswith("input2")
        ) and node.driver != CHILD_DRIVER
        if not is_receiver:
            continue
        for other in nodes:
            slot = _slot_of(other.phys, node.phys)
            if other is not node and slot is not None:
                other.slot = slot
                node.children.append(other)
        node.children.sort(key=lambda c: c.slot or 0)
        yield node


def _why_not(node: HidppNode) -> str | None:
    """None for a receiver we handle, "" for a node that is no known receiver (left out
    silently), else why a receiver the user may expect to see is skipped."""
    if node.product in UNIFYING_PIDS:
        return None
    family = OTHER_RECEIVERS.get(node.product)
    if family is None and node.driver != RECEIVER_DRIVER:
        return ""   # a Logitech HID++ interface 2 that is no known receiver: not ours, say nothing
    what = f"{family} receiver" if family else "receiver"
    return (f"Logitech {what} (046d:{node.product:04X}) is not a Unifying receiver; "
            f"only Unifying receivers (046d:C52B, 046d:C532) are handled so far")


def find_receivers(sysfs: str = "/sys", skipped: list[Skipped] | None = None) -> list[HidppNode]:
    """Unifying receivers' HID++ nodes, each with its paired devices' child nodes. Other
    receivers are left out; with `skipped`, each is added to it with the reason."""
    out = []
    for node in _receiver_nodes(sysfs):
        reason = _why_not(node)
        if reason is None:
            out.append(node)
        elif reason and skipped is not None:
            skipped.append(Skipped(node.node, reason))
    return out
