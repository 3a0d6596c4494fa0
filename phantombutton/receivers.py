"""Logitech receiver families: one table from USB product id to everything that differs.

Below every layer (pure data): discovery, the devices layer, detection, the udev rule writer
and the virtual receivers all read it, so a family is described once.

Sources (docs/receivers.md has the prose):
- which driver binds which product id: the kernel's drivers/hid/hid-logitech-dj.c
  `logi_dj_receivers` (Debian 12's 6.1 kernel, checked with `modinfo hid-logitech-dj`: it binds
  C52B C532 C52F C534 C531 C537 C539 C53A C53F, 27 MHz C513 C517 C51B; NOT C547 C54D C548,
  which hid-generic drives; 6.12 adds C543);
- interfaces, registers and slots: Solaar's `logitech_receiver/base_usb.py` (usb_interface,
  max_devices) and `receiver.py` (`BoltReceiver`), and the dumps in
  tests/data/solaar-device-docs/;
- where a paired mouse's buttons arrive: hid-logitech-dj.c `logi_dj_hidpp_event` /
  `logi_dj_recv_forward_input_report` (non-DJ receivers forward report 0x02 to the child),
  and, for receivers hid-generic drives, the receiver's own mouse interface;
- link loss: only DJ receivers (Unifying) get the kernel's all-released report when a link
  drops (`logi_dj_recv_forward_null_report` from `delayedwork_callback` on a DJ
  connection-status notification); on the others a held button stays held.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

LOGITECH = 0x046D


class Family(str, Enum):
    UNIFYING = "Unifying"
    NANO = "Nano"
    LIGHTSPEED = "Lightspeed"
    BOLT = "Bolt"
    MHZ27 = "27 MHz"
    BLUETOOTH_HUB = "Bluetooth hub"   # C70A.. : Dinovo / Bluetooth mini-receivers


class KernelDriver(str, Enum):
    """How the running kernel drives the receiver (6.1 unless the entry says otherwise)."""

    DJ = "hid-logitech-dj, DJ mode (child per paired device)"
    DJ_HIDPP = "hid-logitech-dj, HID++ mode (child per paired device, no DJ reports)"
    GENERIC = "hid-generic (no child devices)"


class ButtonPath(str, Enum):
    """Where a paired mouse's button reports arrive."""

    DJ_CHILD = "the paired device's own event node (DJ report 0x20 forwarded to its child)"
    CHILD_HIDRAW = "the paired device's child node (report 0x02 forwarded by hid-logitech-dj)"
    RECEIVER_MOUSE_NODE = "the receiver's own mouse interface, shared by every paired mouse"


class RegisterSet(str, Enum):
    """Which HID++ 1.0 receiver registers describe the pairings."""

    UNIFYING = "0xB5 0x20+n pairing (WPID big-endian), 0x30+n extended, 0x40+n name; serial in 0xB5 0x03"
    # the device serial in 0x30+n works on a C534 (Solaar's dump of the M185 there reads
    # 00000000 and the power switch location, both from it); only the receiver has no serial
    NANO = "0xB5 0x20+n pairing, 0x30+n extended, 0x40+n name; no receiver serial (0xB5 0x03 fails)"
    BOLT = "0xB5 0x50+n pairing (WPID little-endian, serial), 0x60+n name; serial in long register 0xFB"
    NONE = "no pairing registers (27 MHz: 1-byte device ids)"


@dataclass(frozen=True)
class ReceiverFamily:
    """What one receiver family is and how the kernel and we handle it."""

    family: Family
    name: str                    # what `solaar show` calls it
    hidpp_interface: int | None  # USB interface number of the HID++ collection (None: none)
    registers: RegisterSet
    first_slot: int
    last_slot: int               # Lightspeed may use slot 7 (powerplay: the mat itself)
    kernel: KernelDriver
    buttons: ButtonPath
    releases_on_link_loss: bool  # does the kernel release held buttons when the link drops

    @property
    def slots(self) -> range:
        return range(self.first_slot, self.last_slot + 1)


_UNIFYING = ReceiverFamily(Family.UNIFYING, "Unifying Receiver", 2, RegisterSet.UNIFYING, 1, 6,
                           KernelDriver.DJ, ButtonPath.DJ_CHILD, True)


def _lightspeed(name: str, kernel: KernelDriver = KernelDriver.DJ_HIDPP) -> ReceiverFamily:
    buttons = ButtonPath.CHILD_HIDRAW if kernel is KernelDriver.DJ_HIDPP else ButtonPath.RECEIVER_MOUSE_NODE
    return ReceiverFamily(Family.LIGHTSPEED, name, 2, RegisterSet.UNIFYING, 1, 7,
                          kernel, buttons, False)


RECEIVERS: dict[int, ReceiverFamily] = {
    0xC52B: _UNIFYING,
    0xC532: _UNIFYING,
    0xC52F: ReceiverFamily(Family.NANO, "Nano Receiver", 1, RegisterSet.NANO, 1, 1,
                           KernelDriver.DJ_HIDPP, ButtonPath.CHILD_HIDRAW, False),
    0xC534: ReceiverFamily(Family.NANO, "Nano Receiver", 1, RegisterSet.NANO, 1, 2,
                           KernelDriver.DJ_HIDPP, ButtonPath.CHILD_HIDRAW, False),
    0xC531: _lightspeed("G700 Gaming Receiver"),
    0xC537: _lightspeed("G602 Gaming Receiver"),
    0xC539: _lightspeed("Lightspeed Receiver"),
    0xC53A: _lightspeed("Powerplay Receiver"),
    0xC53F: _lightspeed("Lightspeed Receiver"),
    0xC543: _lightspeed("Lightspeed Receiver", KernelDriver.GENERIC),   # dj on 6.12, not 6.1
    0xC547: _lightspeed("Lightspeed Receiver", KernelDriver.GENERIC),
    0xC54D: _lightspeed("Lightspeed Receiver", KernelDriver.GENERIC),
    0xC548: ReceiverFamily(Family.BOLT, "Bolt Receiver", 2, RegisterSet.BOLT, 1, 6,
                           KernelDriver.GENERIC, ButtonPath.RECEIVER_MOUSE_NODE, False),
    **{pid: ReceiverFamily(Family.MHZ27, "27 MHz Receiver", None, RegisterSet.NONE, 1, 4,
                           KernelDriver.DJ_HIDPP, ButtonPath.CHILD_HIDRAW, False)
       for pid in (0xC513, 0xC517, 0xC51B)},
    **{pid: ReceiverFamily(Family.BLUETOOTH_HUB, "Bluetooth Mini-Receiver", None, RegisterSet.NONE,
                           1, 1, KernelDriver.DJ_HIDPP, ButtonPath.CHILD_HIDRAW, False)
       for pid in (0xC70A, 0xC70E, 0xC71B, 0xC71C, 0xC713, 0xC714, 0xC71E, 0xC71F)},
}

# Families phantombutton reads and repairs (27 MHz and Bluetooth hubs: listed, read-only).
HANDLED = frozenset({Family.UNIFYING, Family.NANO, Family.LIGHTSPEED, Family.BOLT})


def family_of(product: int) -> ReceiverFamily | None:
    """The family of a Logitech receiver's USB product id, None for anything else."""
    return RECEIVERS.get(product)


def handled_products() -> frozenset[int]:
    return frozenset(pid for pid, f in RECEIVERS.items() if f.family in HANDLED)
