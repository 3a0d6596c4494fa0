"""Map /dev/input/eventN to what it is: name, ids, buttons, and for the children of a
Logitech receiver the slot, the child hidraw node and the receiver's hidraw node.

Pure file reading under a `sysfs` root (tests use a fake tree). Layout (Linux 6.x):
  /sys/class/input/eventN/device          -> .../input/inputM (name, phys, id/, capabilities/)
  .../input/inputM/device                 -> the HID device, e.g. 0003:046D:101B.0002
  that HID device's parent                -> the receiver's HID device 0003:046D:C52B.0001
  <hid device>/hidraw/hidrawK             -> its hidraw node
  phys of a receiver child                -> receiver phys + ":<slot>" ("usb-...-1/input2:1")
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, replace

from phantombutton.buttons import Btn, is_mouse_button
from phantombutton.input.bits import set_bits
from phantombutton.receivers import RECEIVERS, ButtonPath
from phantombutton.transport import discovery   # find_receivers looked up at each call, as service/platform.py does
from phantombutton.sysfs import read_text

LOGITECH = 0x046D
REL_X, REL_Y = 0, 1
_HID_DIR = re.compile(r"^([0-9A-F]{4}):([0-9A-F]{4}):([0-9A-F]{4})\.[0-9A-F]{4}$", re.I)
_SLOT = re.compile(r":(\d)$")


@dataclass(frozen=True)
class PointerNode:
    """One pointer event node as sysfs describes it, with its receiver and slot."""

    node: str                      # /dev/input/eventN
    name: str
    vendor: int | None
    product: int | None            # receiver children: the WPID
    buttons: frozenset[int]        # BTN_* codes 0x110..0x11F it advertises
    has_motion: bool
    slot: int | None = None
    hidpp_node: str | None = None      # the child's hidraw node
    receiver_node: str | None = None   # the receiver's hidraw node
    receiver_product: int | None = None
    phys: str = ""
    direct: bool = False               # a HID++ mouse without a receiver (hidpp_node is its own)

    @property
    def is_receiver_child(self) -> bool:
        return self.slot is not None

    @property
    def is_shared(self) -> bool:
        """A receiver's own mouse node (Bolt on hid-generic), shared by every paired mouse."""
        return self.receiver_node is not None and self.slot is None

    @property
    def is_hidpp_mouse(self) -> bool:
        """A receiver's child, a receiver's shared mouse node or a direct HID++ mouse: watched
        without --all."""
        return self.is_receiver_child or self.is_shared or self.direct

    @property
    def is_mouse(self) -> bool:
        return self.has_motion and Btn.LEFT in self.buttons


def parse_bitmap(text: str, word_bits: int = 64) -> frozenset[int]:
    """A sysfs capability bitmap: hex words, most significant first."""
    return frozenset(i * word_bits + b for i, word in enumerate(reversed(text.split()))
                     for b in set_bits(int(word, 16)))


def _hex(path: str) -> int | None:
    v = read_text(path)
    try:
        return int(v, 16) if v else None
    except ValueError:
        return None


def hidraw_of(hid_dir: str, dev: str = "/dev") -> str | None:
    try:
        names = sorted(os.listdir(os.path.join(hid_dir, "hidraw")))
    except OSError:
        return None
    return os.path.join(dev, names[0]) if names else None


def _driver(hid_dir: str) -> str:
    return os.path.basename(os.path.realpath(os.path.join(hid_dir, "driver")))


def describe(event_name: str, sysfs: str = "/sys", dev: str = "/dev") -> PointerNode | None:
    """What eventN is; None if it vanished meanwhile."""
    input_dir = os.path.realpath(os.path.join(sysfs, "class/input", event_name, "device"))
    name = read_text(os.path.join(input_dir, "name"))
    if name is None:
        return None
    key = parse_bitmap(read_text(os.path.join(input_dir, "capabilities/key")) or "0")
    rel = parse_bitmap(read_text(os.path.join(input_dir, "capabilities/rel")) or "0")
    phys = read_text(os.path.join(input_dir, "phys")) or ""
    node = PointerNode(
        node=os.path.join(dev, "input", event_name), name=name,
        vendor=_hex(os.path.join(input_dir, "id/vendor")),
        product=_hex(os.path.join(input_dir, "id/product")),
        buttons=frozenset(c for c in key if is_mouse_button(c)),
        has_motion=REL_X in rel and REL_Y in rel, phys=phys)
    hid_dir = os.path.realpath(os.path.join(input_dir, "device"))
    m = _HID_DIR.match(os.path.basename(hid_dir))
    parent = os.path.dirname(hid_dir)
    pm = _HID_DIR.match(os.path.basename(parent))
    if m and not pm and int(m.group(2), 16) == LOGITECH and _driver(hid_dir) == discovery.HIDPP_DEVICE_DRIVER:
        # no receiver above: a mouse on Bluetooth or a USB cable (transport/direct.py)
        return replace(node, product=int(m.group(3), 16), hidpp_node=hidraw_of(hid_dir, dev), direct=True)
    if m and not pm and int(m.group(2), 16) == LOGITECH:
        receiver = _shared_by(int(m.group(3), 16), event_name, sysfs, dev)
        if receiver is not None:   # the receiver's own mouse node: every paired mouse reports here
            return replace(node, product=int(m.group(3), 16), receiver_node=receiver,
                           receiver_product=int(m.group(3), 16))
    if not (m and pm):
        return node
    if int(pm.group(2), 16) != LOGITECH or int(m.group(2), 16) != LOGITECH:
        return node
    slot = _SLOT.search(phys)
    return replace(node, slot=int(slot.group(1)) if slot else None,
                   product=int(m.group(3), 16), hidpp_node=hidraw_of(hid_dir, dev),
                   receiver_node=hidraw_of(parent, dev), receiver_product=int(pm.group(3), 16))


def _shared_by(product: int, event_name: str, sysfs: str, dev: str) -> str | None:
    """The HID++ hidraw node of the receiver whose own mouse node `event_name` is (receivers.py
    `ButtonPath.RECEIVER_MOUSE_NODE`: Bolt on a kernel whose hid-logitech-dj lacks it), found as
    discovery finds its mouse nodes; None for any other node."""
    family = RECEIVERS.get(product)
    if family is None or family.buttons is not ButtonPath.RECEIVER_MOUSE_NODE:
        return None
    for r in discovery.find_receivers(sysfs):
        if r.product == product and any(os.path.basename(n) == event_name for n in r.mouse_nodes):
            return os.path.join(dev, os.path.basename(r.node))
    return None


def event_names(sysfs: str = "/sys") -> list[str]:
    try:
        names = [n for n in os.listdir(os.path.join(sysfs, "class/input")) if n.startswith("event")]
    except OSError:
        return []
    return sorted(names, key=lambda n: int(n[5:]) if n[5:].isdigit() else 1 << 30)


def pointer_nodes(all_mice: bool = False, sysfs: str = "/sys", dev: str = "/dev") -> list[PointerNode]:
    """Receiver children first (by slot), then direct HID++ mice, then - with all_mice -
    every other mouse."""
    found = [d for d in (describe(n, sysfs, dev) for n in event_names(sysfs)) if d is not None]
    children = sorted((d for d in found if d.is_receiver_child and d.buttons),
                      key=lambda d: (d.receiver_node or "", d.slot))
    children += [d for d in found if d.is_shared and d.buttons]
    children += [d for d in found if d.direct and d.buttons]
    if not all_mice:
        return children
    return children + [d for d in found if not d.is_hidpp_mouse and d.is_mouse]


def event_node_for(receiver_node: str, slot: int, sysfs: str = "/sys") -> str | None:
    """/dev/input/eventN of the mouse in `slot` behind the receiver at /dev/hidrawN.

    Only the event nodes of the receiver's children are looked at (the paired devices' HID
    devices are children of the receiver's), each placed in its slot by `describe`."""
    hid_dir = os.path.join(sysfs, "class", "hidraw", os.path.basename(receiver_node), "device")
    for event in sorted(glob.glob(os.path.join(hid_dir, "[0-9]*:*", "input", "input*", "event*"))):
        p = describe(os.path.basename(event), sysfs)
        if p is not None and p.slot == slot:
            return p.node
    return None
