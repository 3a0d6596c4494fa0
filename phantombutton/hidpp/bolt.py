"""HID++ 1.0 registers of a Bolt receiver (046d:C548), which differ from Unifying's.

The Bolt receiver still speaks HID++ 1.0 registers, but with its own sub-registers of 0xB5
(Solaar's logitech_receiver/receiver.py `BoltReceiver`, hidpp10_constants.py
`InfoSubRegisters.BOLT_PAIRING_INFORMATION`/`BOLT_DEVICE_NAME`, `Registers.BOLT_UNIQUE_ID`):
- 0xB5 sub 0x50+n (n = slot, not n - 1 as on Unifying): b1 low nibble = device kind,
  b2-b3 = WPID **little-endian**, b4-b7 = serial;
- 0xB5 sub 0x60+n with a second parameter 0x01: b2 = name length, name from b3;
- long register 0xFB (no parameter): the receiver's 16-byte unique id, its serial;
- 0x41 connection notifications carry protocol 0x10 (hid-logitech-dj.c
  `logi_hidpp_recv_queue_notif`: case 0x10 "Bolt").
Pure parsing; the devices layer reads them (devices/pairing.py).
"""

from __future__ import annotations

from typing import NamedTuple

from phantombutton.hidpp.hidpp10 import pairing_value

PAIRING = 0x50          # + slot
NAME = 0x60             # + slot, second parameter NAME_PART
NAME_PART = 0x01
UNIQUE_ID = 0xFB        # long register: the receiver's serial


class BoltPairing(NamedTuple):
    """A Bolt receiver's pairing information for one slot."""

    slot: int
    wpid: int
    kind: int
    serial: str


def pairing_params(slot: int) -> bytes:
    return bytes((PAIRING + slot,))


def name_params(slot: int) -> bytes:
    return bytes((NAME + slot, NAME_PART))


def parse_pairing(value: bytes, slot: int) -> BoltPairing:
    v = pairing_value(value, PAIRING + slot, 8, "Bolt pairing info")
    return BoltPairing(slot, int.from_bytes(v[2:4], "little"), v[1] & 0x0F, v[4:8].hex().upper())


def parse_name(value: bytes, slot: int) -> str:
    v = pairing_value(value, NAME + slot, 3, "Bolt pairing info")
    n = min(v[2], 14, len(v) - 3)
    return v[3 : 3 + n].decode("ascii", "replace")


def parse_unique_id(value: bytes) -> str | None:
    """Register 0xFB: the serial Solaar shows (all 16 bytes in hex); None when all zero."""
    return value.hex().upper() if any(value) else None
