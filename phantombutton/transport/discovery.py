"""Find HID++ nodes from sysfs: Logitech receivers of every family, and the child nodes
of their devices.

A node speaks HID++ when its report descriptor declares input report 0x10 with 6 data bytes
or 0x11 with 19, on a vendor usage page: 0xFF00 (receivers, USB) or 0xFF43 (Bluetooth mice).
A receiver's node is the HID++ interface of a Logitech (046d) receiver: receivers.py says
which interface that is per family (Nano C534: 1; Unifying, Lightspeed, Bolt: 2), read from
the phys suffix `inputN` (an emulated receiver has no USB interface, only the phys it was
given). hid-logitech-dj gives each paired device a child node whose phys is the receiver's
phys plus `:<slot>` and whose driver is logitech-hidpp-device: Unifying (DJ), Nano and
Lightspeed (non-DJ enumeration) alike. A Bolt receiver on a 6.1 kernel is driven by
hid-generic: no children, and every paired mouse reports through the receiver's own mouse
interface - a sibling HID device (same phys up to the last '/') whose event node is recorded
in `mouse_nodes`. Pure logic over a sysfs tree: pass another root to test it.

Handled families: receivers.py HANDLED (Unifying, Nano, Lightspeed, Bolt). 27 MHz receivers
and Bluetooth hubs are listed as skipped with the reason (read-only, nothing to read).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterator

from phantombutton.receivers import HANDLED, LOGITECH, RECEIVERS, ButtonPath
from phantombutton.sysfs import read_text

HIDPP_REPORTS = {0x10: 6, 0x11: 19}  # report id -> data bytes after the id
VENDOR_PAGES = frozenset({0xFF00, 0xFF43})   # 0xFF43: Logitech Bluetooth HID++ collections
RECEIVER_DRIVER = "logitech-djreceiver"
HIDPP_DEVICE_DRIVER = "logitech-hidpp-device"   # a receiver's child nodes and direct mice alike


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
    # receivers whose paired mice report through the receiver's own mouse interface (Bolt on
    # hid-generic): that interface's event node(s), shared by every paired mouse
    mouse_nodes: tuple[str, ...] = ()

    @property
    def wpid(self) -> str:
        return f"{self.product:04X}"


# Global items the parser keeps, by tag: usage page, report size, report id, report count.
_GLOBALS = {0x0: "page", 0x7: "size", 0x8: "id", 0x9: "count"}


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
        value = int.from_bytes(descriptor[i + 1 : i + 1 + size], "little")
        kind, tag = (prefix >> 2) & 0x03, prefix >> 4
        if kind == 1 and tag in _GLOBALS:
            state[_GLOBALS[tag]] = value
        elif kind == 1 and tag == 0xA:  # push
            stack.append(dict(state))
        elif kind == 1 and tag == 0xB and stack:  # pop
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
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return {key: value for key, sep, value in (line.rstrip("\n").partition("=") for line in f) if sep}
    except OSError:
        return {}


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
    nodes = (_node(os.path.join(base, name), name) for name in sorted(names, key=lambda n: (len(n), n))
             if name.startswith("hidraw") and name[6:].isdigit())
    return [node for node in nodes if node is not None]


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


def _interface(phys: str) -> int | None:
    """The USB interface number at the end of a phys ("usb-0000:00:14.0-1/input2" -> 2)."""
    tail = phys.rpartition("/")[2]
    return int(tail[5:]) if tail.startswith("input") and tail[5:].isdigit() else None


def _is_receiver(node: HidppNode) -> bool:
    if node.vendor != LOGITECH or node.driver == HIDPP_DEVICE_DRIVER:
        return False
    family = RECEIVERS.get(node.product)
    if family is not None and family.hidpp_interface is not None:
        return _interface(node.phys) == family.hidpp_interface or node.driver == RECEIVER_DRIVER
    return node.driver == RECEIVER_DRIVER or node.phys.endswith("input2")


def receiver_mouse_nodes(receiver: HidppNode, sysfs: str = "/sys") -> tuple[str, ...]:
    """Event nodes of the receiver's own mouse interface: input devices of the same vendor and
    product whose phys shares the receiver's up to the last '/' (another interface of the same
    USB device) and that report relative X and Y (hid-generic's "... Mouse" node)."""
    prefix = receiver.phys.rpartition("/")[0]
    if not prefix:
        return ()
    base = os.path.join(sysfs, "class", "input")
    try:
        names = sorted((n for n in os.listdir(base) if n.startswith("event") and n[5:].isdigit()),
                       key=lambda n: int(n[5:]))
    except OSError:
        return ()
    found = []
    for name in names:
        dev = os.path.join(base, name, "device")
        phys = read_text(os.path.join(dev, "phys")) or ""
        if phys.rpartition("/")[0] != prefix or phys == receiver.phys:
            continue
        try:
            vendor = int(read_text(os.path.join(dev, "id", "vendor")) or "0", 16)
            product = int(read_text(os.path.join(dev, "id", "product")) or "0", 16)
            rel = int((read_text(os.path.join(dev, "capabilities", "rel")) or "0").split()[-1], 16)
        except ValueError:
            continue
        if (vendor, product) == (receiver.vendor, receiver.product) and rel & 0x3 == 0x3:
            found.append(f"/dev/input/{name}")
    return tuple(found)


def _receiver_nodes(sysfs: str) -> Iterator[HidppNode]:
    """Logitech receivers' HID++ nodes, each with its paired devices' child nodes."""
    nodes = hidpp_nodes(sysfs)
    for node in nodes:
        if not _is_receiver(node):
            continue
        for other in nodes:
            slot = _slot_of(other.phys, node.phys)
            if other is not node and slot is not None:
                other.slot = slot
                node.children.append(other)
        node.children.sort(key=lambda c: c.slot or 0)
        family = RECEIVERS.get(node.product)
        if family is not None and family.buttons is ButtonPath.RECEIVER_MOUSE_NODE:
            node.mouse_nodes = receiver_mouse_nodes(node, sysfs)
        yield node


def _why_not(node: HidppNode) -> str | None:
    """None for a receiver we handle, "" for a node that is no known receiver (left out
    silently), else why a receiver the user may expect to see is skipped."""
    family = RECEIVERS.get(node.product)
    if family is not None and family.family in HANDLED:
        return None
    if family is None and node.driver != RECEIVER_DRIVER:
        return ""   # a Logitech HID++ interface that is no known receiver: not ours, say nothing
    if family is None:
        return (f"Logitech receiver 046d:{node.product:04X} is not in the receiver table; "
                f"its registers are unknown, so it is not read")
    return (f"Logitech {family.name} (046d:{node.product:04X}, {family.family.value}) is listed "
            f"only: {family.registers.value}, so there is nothing phantombutton can read or repair")


def find_receivers(sysfs: str = "/sys", skipped: list[Skipped] | None = None) -> list[HidppNode]:
    """Handled receivers' HID++ nodes (Unifying, Nano, Lightspeed, Bolt), each with its paired
    devices' child nodes (or, for Bolt, its own mouse node). Other receivers are left out;
    with `skipped`, each is added to it with the reason."""
    out = []
    for node in _receiver_nodes(sysfs):
        reason = _why_not(node)
        if reason is None:
            out.append(node)
        elif reason and skipped is not None:
            skipped.append(Skipped(node.node, reason))
    return out
