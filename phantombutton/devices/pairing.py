"""Per-family reads of a receiver's pairing registers (receivers.py `RegisterSet`) into `Pairing`s.

`read(receiver, slot)` returns the slot's Pairing or None when the slot is empty;
`serial_and_max(receiver)` the receiver's serial and pairing capacity. Each reads only what
its family has (docs/receivers.md "Receiver families"):
- Unifying, Lightspeed: 0xB5 0x20+n-1 (WPID big-endian), 0x30+n-1 (serial), 0x40+n-1 (name);
  0xB5 0x03 serial and capacity.
- Nano (C52F, C534): the same 0x2n/0x3n/0x4n (the M185 on a C534 reads serial 00000000 there),
  but no receiver serial: 0xB5 0x03 fails (Nano-Receiver-C534.txt: "Serial: None"), so it is
  not asked; capacity from the table.
- Bolt: 0xB5 0x50+n (WPID little-endian, serial), 0x60+n 01 (name); serial in long
  register 0xFB; capacity from the table (hidpp/bolt.py).
Who calls which slot is the caller's business (devices/receiver.py: occupied slots only).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from phantombutton.hidpp import bolt, hidpp10
from phantombutton.hidpp.hidpp10 import PairingInfo, Register
from phantombutton.models import model_for
from phantombutton.receivers import RegisterSet

if TYPE_CHECKING:
    from phantombutton.devices.receiver import Receiver


@dataclass
class Pairing:
    """A slot's entry in the receiver's pairing table (register 0xB5)."""

    slot: int
    wpid: int
    kind: int
    polling_ms: int
    name: str = ""            # the short name the receiver stores ("M705")
    serial: str | None = None

    @property
    def short_name(self) -> str:
        """The model's name when we know the WPID, else the receiver's, else the slot."""
        m = model_for(self.wpid)
        return m.name if m.known else (self.name or f"device {self.slot}")


def _record(receiver: Receiver, slot: int):
    """The slot's first pairing register parsed (WPID, kind, ...); None when the slot is empty
    or the family has no pairing registers."""
    registers = receiver.family.registers
    if registers is RegisterSet.NONE:
        return None
    is_bolt = registers is RegisterSet.BOLT
    params = bolt.pairing_params(slot) if is_bolt else bytes((PairingInfo.DEVICE + slot - 1,))
    value = receiver._read(Register.PAIRING_INFO, params, long=True)
    if value is None:
        return None
    rec = bolt.parse_pairing(value, slot) if is_bolt else hidpp10.parse_pairing(value, slot)
    return rec if rec.wpid else None


def read(receiver: Receiver, slot: int) -> Pairing | None:
    rec = _record(receiver, slot)
    if rec is None:
        return None
    read_info = partial(receiver._read, Register.PAIRING_INFO, long=True)
    if receiver.family.registers is RegisterSet.BOLT:
        # Bolt keeps no polling rate or power-switch location in its pairing record
        pairing = Pairing(slot, rec.wpid, rec.kind, 0, serial=rec.serial)
        if (name := read_info(bolt.name_params(slot))) is not None:
            pairing.name = bolt.parse_name(name, slot)
        return pairing
    pairing = Pairing(slot, rec.wpid, rec.kind, rec.polling_ms)
    if (ext := read_info(bytes((PairingInfo.EXTENDED + slot - 1,)))) is not None:
        pairing.serial = hidpp10.parse_extended(ext, slot).serial
    if (name := read_info(bytes((PairingInfo.NAME + slot - 1,)))) is not None:
        pairing.name = hidpp10.parse_name(name, slot)
    return pairing


def wpid(receiver: Receiver, slot: int) -> int | None:
    """The WPID in `slot` from the family's first pairing register only (one request; the
    daemon's probe of which slots are paired), None when the slot is empty."""
    rec = _record(receiver, slot)
    return rec.wpid if rec is not None else None


def serial_and_max(receiver: Receiver) -> tuple[str | None, int | None]:
    """The receiver's serial and capacity. On Unifying and Lightspeed, 0xB5 0x03 (hid-logitech-dj
    re-enumerates on its answer: only `info` asks); elsewhere what the family has."""
    family = receiver.family
    capacity = len(family.slots)
    if family.registers is RegisterSet.BOLT:
        value = receiver._read(bolt.UNIQUE_ID, long=True)
        return (None if value is None else bolt.parse_unique_id(value)), capacity
    if family.registers in (RegisterSet.NANO, RegisterSet.NONE):
        return None, capacity
    value = receiver._read(Register.PAIRING_INFO, bytes((PairingInfo.RECEIVER,)), long=True)
    if value is None:
        return None, None
    info = hidpp10.parse_receiver_info(value)
    return info.serial, info.max_devices
