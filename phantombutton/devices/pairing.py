"""Per-family reads of a receiver's pairing registers (receivers.py `RegisterSet`).

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

from typing import TYPE_CHECKING

from phantombutton.hidpp import bolt, hidpp10
from phantombutton.hidpp.hidpp10 import PairingInfo, Register
from phantombutton.receivers import RegisterSet

if TYPE_CHECKING:
    from phantombutton.devices.receiver import Pairing, Receiver


def _unifying_record(receiver: Receiver, slot: int):
    value = receiver._read(Register.PAIRING_INFO, bytes((PairingInfo.DEVICE + slot - 1,)), long=True)
    rec = hidpp10.parse_pairing(value, slot) if value is not None else None
    return rec if rec is not None and rec.wpid else None


def _bolt_record(receiver: Receiver, slot: int):
    value = receiver._read(Register.PAIRING_INFO, bolt.pairing_params(slot), long=True)
    rec = bolt.parse_pairing(value, slot) if value is not None else None
    return rec if rec is not None and rec.wpid else None


def _unifying(receiver: Receiver, slot: int) -> Pairing | None:
    from phantombutton.devices.receiver import Pairing   # cycle: devices/receiver.py imports this module

    read = receiver._read
    rec = _unifying_record(receiver, slot)
    if rec is None:
        return None
    pairing = Pairing(slot, rec.wpid, rec.kind, rec.polling_ms)
    ext = read(Register.PAIRING_INFO, bytes((PairingInfo.EXTENDED + slot - 1,)), long=True)
    if ext is not None:
        info = hidpp10.parse_extended(ext, slot)
        pairing.serial, pairing.power_switch = info.serial, info.power_switch
    name = read(Register.PAIRING_INFO, bytes((PairingInfo.NAME + slot - 1,)), long=True)
    if name is not None:
        pairing.name = hidpp10.parse_name(name, slot)
    return pairing


def _bolt(receiver: Receiver, slot: int) -> Pairing | None:
    from phantombutton.devices.receiver import Pairing   # cycle: devices/receiver.py imports this module

    rec = _bolt_record(receiver, slot)
    if rec is None:
        return None
    # Bolt keeps no polling rate or power-switch location in its pairing record
    pairing = Pairing(slot, rec.wpid, rec.kind, 0, serial=rec.serial)
    name = receiver._read(Register.PAIRING_INFO, bolt.name_params(slot), long=True)
    if name is not None:
        pairing.name = bolt.parse_name(name, slot)
    return pairing


def read(receiver: Receiver, slot: int) -> Pairing | None:
    registers = receiver.family.registers
    if registers is RegisterSet.BOLT:
        return _bolt(receiver, slot)
    if registers is RegisterSet.NONE:
        return None
    return _unifying(receiver, slot)


def wpid(receiver: Receiver, slot: int) -> int | None:
    """The WPID in `slot` from the family's first pairing register only (one request; the
    daemon's probe of which slots are paired), None when the slot is empty."""
    registers = receiver.family.registers
    if registers is RegisterSet.NONE:
        return None
    rec = (_bolt_record if registers is RegisterSet.BOLT else _unifying_record)(receiver, slot)
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
