"""A receiver seen through the request engine: identity, pairing table, devices.

Every family (receivers.py) is read here; what differs per family - the pairing registers,
the serial, the slot range - is in devices/pairing.py and the family table.

Reads only, and as few as needed: the receiver is shared with the kernel, Solaar and the
user's keyboard. hid-logitech-dj.c logi_dj_hidpp_event routes every `11 ff 83 b5 xx` reply to
slot (xx & 0x0F) + 1: with no device there it queues a re-enumeration (`20 ff 81`), with one
there hid-logitech-hidpp may take the reply for the answer to its own 0xB5 query. So:
- the per-slot pairing registers (0xB5 0x2n/0x3n/0x4n, Bolt 0x5n/0x6n) are read only for
  slots that hold a device: those with a child node (the kernel's enumeration - DJ on
  Unifying, `10 ff 80 02 02` and the 0x41 answers on Nano and Lightspeed - made one per
  paired device), then the others, stopping once register 0x02's paired count is reached,
  as Solaar's receiver.py (`__iter__`, `count()`) does. A Bolt receiver on a 6.1 kernel is
  driven by hid-generic: no driver routes its replies, so nobody is disturbed by the slot
  reads, and no child nodes tell the slots, so its slots are read in order up to the count;
- 0xB5 sub 0x03 (serial, max devices; read as slot 4) is read by `details()`, which only
  `info` calls;
- writing 0x02 to register 0x02 makes the receiver announce every device again and the
  kernel re-probe them: we only ever read register 0x02.
"""

from __future__ import annotations

from dataclasses import dataclass

from phantombutton.devices import pairing as pairing_regs
from phantombutton.devices.device import Device
from phantombutton.devices.pairing import Pairing
from phantombutton.receivers import RECEIVERS, ReceiverFamily
from phantombutton.hidpp import hidpp10
from phantombutton.hidpp.errors import Hidpp10Error
from phantombutton.hidpp.frames import RECEIVER
from phantombutton.hidpp.hidpp10 import Register

_UNREAD = object()


@dataclass(frozen=True)
class ReceiverDetails:
    """What `info` shows about the receiver itself."""

    name: str
    node: str
    product: int
    serial: str | None
    max_devices: int | None
    firmware: dict[str, str]
    notifications: int | None     # register 0x00 flags, 3 bytes big-endian
    paired: int                   # register 0x02 byte 1, else the pairings found


class Receiver:
    def __init__(self, engine, node: str, product: int = 0xC52B, child_nodes: dict[int, str] | None = None):
        self.engine = engine
        self.node = node
        self.product = product
        self.child_nodes = dict(child_nodes or {})
        # an unknown product id is read as a Unifying receiver (the oldest, commonest layout)
        self.family: ReceiverFamily = RECEIVERS.get(product) or RECEIVERS[0xC52B]
        self.known = product in RECEIVERS
        self.mouse_nodes: tuple[str, ...] = ()   # Bolt: the receiver's own mouse event node(s)
        self._pairings: list[Pairing] | None = None
        self._devices: list | None = None
        self._paired_count: int | None | object = _UNREAD

    @property
    def name(self) -> str:
        return self.family.name if self.known else f"Logitech receiver {self.product:04X}"

    def close(self) -> None:
        self.engine.transport.close()

    # --- registers --------------------------------------------------------------------

    def _read(self, register: int, params: bytes = b"", *, long: bool = False) -> bytes | None:
        """A register value, or None when the receiver answers with a HID++ 1.0 error."""
        try:
            return self.engine.read_register(RECEIVER, register, params, long=long)
        except Hidpp10Error:
            return None

    def paired_count(self) -> int | None:
        """Register 0x02 byte 1: how many devices are paired (Solaar receiver.py count(),
        cli/show.py "Has N paired device(s)"); read once."""
        if self._paired_count is _UNREAD:
            value = self._read(Register.CONNECTION_STATE)
            self._paired_count = None if value is None else value[1]
        return self._paired_count  # type: ignore[return-value]

    def notification_flags(self) -> int | None:
        value = self._read(Register.NOTIFICATIONS)
        return None if value is None else int.from_bytes(value[:3], "big")

    def firmware(self) -> dict[str, str]:
        return hidpp10.read_firmware(self._read)

    # --- pairing table ----------------------------------------------------------------

    def pairing(self, slot: int) -> Pairing | None:
        """Slot `slot`'s pairing record, or None when the slot is empty."""
        return pairing_regs.read(self, slot)

    def pairings(self) -> list[Pairing]:
        """The paired slots' records: the slots with a child node first, then the others of the
        family's range (Lightspeed: up to 7), reading no slot once `paired_count()` are found
        (all slots when register 0x02 cannot be read)."""
        if self._pairings is None:
            count = self.paired_count()
            first, last = self.family.first_slot, self.family.last_slot
            known = sorted(s for s in self.child_nodes if first <= s <= last)
            found: list[Pairing] = []
            for slot in known + [s for s in range(first, last + 1) if s not in known]:
                if count is not None and len(found) >= count:
                    break
                if (p := self.pairing(slot)) is not None:
                    found.append(p)
            self._pairings = sorted(found, key=lambda p: p.slot)
        return self._pairings

    def devices(self) -> list:
        """The paired devices as Device objects (no device traffic until asked)."""
        if self._devices is None:
            self._devices = [Device(self, p) for p in self.pairings()]
        return self._devices

    def names(self) -> dict[int, str]:
        """slot -> short name (reads the pairing table if needed; known_names does no I/O)."""
        return {d.slot: d.short_name for d in self.devices()}

    def known_names(self) -> dict[int, str]:
        """slot -> short name of what is known so far, without any I/O (for traces)."""
        return {p.slot: p.short_name for p in self._pairings or ()}

    def known_features(self) -> dict[int, dict[int, int]]:
        """slot -> {feature index -> feature id} learnt so far (no I/O), for the decoder."""
        return {d.slot: d.known_features() for d in self._devices or () if d.known_features()}

    def details(self) -> ReceiverDetails:
        # on Unifying and Lightspeed 0xB5 sub 0x03, which makes hid-logitech-dj re-enumerate:
        # only `info` asks (devices/pairing.py)
        serial, max_devices = pairing_regs.serial_and_max(self)
        return ReceiverDetails(
            name=self.name, node=self.node, product=self.product, serial=serial, max_devices=max_devices,
            firmware=self.firmware(), notifications=self.notification_flags(),
            paired=count if (count := self.paired_count()) is not None else len(self.pairings()),
        )
