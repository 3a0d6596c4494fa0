"""An emulated HID++ 1.0 mouse: a register file answered as the real device does.

Values come from register probes of real devices (reference/solaar-device-docs):
unknown registers answer error 02 (invalid address), 2.0-style requests (sub-id < 0x80,
e.g. the protocol ping) answer error 01 (invalid sub-id) - which is how the kernel and
Solaar recognise HID++ 1.0 - and the firmware register 0xF1 answers 03 (invalid value)
for sub-registers other than 01..04.
"""

from __future__ import annotations

from dataclasses import dataclass

from .device import Identity, VirtualDevice
from .wire import Err10, Sub, error10, long, short

FIRMWARE = 0xF1
FEATURES, FAST_SCROLL, FAST_SCROLL_UNITS = 0x01, 0x40, 8   # register 0x01 bit 0x40: 8 units a notch


@dataclass(frozen=True)
class Register:
    power_on: bytes  # 3 bytes (short) or 16 (long)
    writable: bytes | None = None  # per-byte mask of bits a write keeps; None = read-only
    valid: range | None = None  # accepted values of byte 0 (e.g. DPI 0x81..0x8F), else error 03


class Hidpp10Device(VirtualDevice):
    def __init__(self, identity: Identity, registers: dict[int, Register],
                 long_registers: dict[int, Register] | None = None, firmware: dict[int, bytes] | None = None):
        super().__init__(identity)
        self.spec = dict(registers)
        self.long_spec = dict(long_registers or {})
        self.firmware = dict(firmware or {})  # 0xF1 sub-register -> 2 bytes
        self.power_on()

    def power_on(self) -> None:
        self.registers = {reg: spec.power_on for reg, spec in self.spec.items()}
        self.long_registers = {reg: spec.power_on for reg, spec in self.long_spec.items()}

    def kernel_wheel_setup(self) -> None:
        # hidpp10_enable_scrolling_acceleration, for the mice with HIDPP_QUIRK_HI_RES_SCROLL_1P0
        if self.identity.wpid in (0x1017, 0x101A, 0x101B):
            self._fast_scroll(True)

    def forget_wheel_mode(self) -> None:
        self._fast_scroll(False)

    def _fast_scroll(self, on: bool) -> None:
        if FEATURES in self.registers:
            v = self.registers[FEATURES]
            first = (v[0] | FAST_SCROLL) if on else (v[0] & ~FAST_SCROLL & 0xFF)
            self.registers[FEATURES] = bytes([first]) + v[1:]

    def wheel_units(self) -> tuple[int, bool]:
        fast = FEATURES in self.registers and self.registers[FEATURES][0] & FAST_SCROLL
        return (FAST_SCROLL_UNITS if fast else 1), False

    def handle(self, request: bytes) -> list[bytes]:
        devnum, sub, reg = request[1], request[2], request[3]
        params = request[4:]
        if sub == Sub.GET_REGISTER:
            if reg == FIRMWARE and self.firmware:
                if params[0] not in self.firmware:
                    return [error10(request, Err10.INVALID_VALUE)]
                return [short(devnum, sub, reg, bytes([params[0]]) + self.firmware[params[0]])]
            if reg not in self.registers:
                return [error10(request, Err10.INVALID_ADDRESS)]
            return [short(devnum, sub, reg, self.registers[reg])]
        if sub == Sub.GET_LONG_REGISTER:
            if reg not in self.long_registers:
                return [error10(request, Err10.INVALID_ADDRESS)]
            return [long(devnum, sub, reg, self.long_registers[reg])]
        if sub in (Sub.SET_REGISTER, Sub.SET_LONG_REGISTER):
            is_long = sub == Sub.SET_LONG_REGISTER
            if is_long != (request[0] == 0x11):
                return [error10(request, Err10.INVALID_VALUE)]
            table, spec_table = (self.long_registers, self.long_spec) if is_long else (self.registers, self.spec)
            spec = spec_table.get(reg)
            if spec is None or spec.writable is None:
                return [error10(request, Err10.INVALID_ADDRESS)]
            value = bytes(params[: len(spec.power_on)])
            if spec.valid is not None and value[0] not in spec.valid:
                return [error10(request, Err10.INVALID_VALUE)]
            table[reg] = bytes(v & m for v, m in zip(value, spec.writable, strict=False))
            return [short(devnum, sub, reg)]
        # sub-ids below 0x80 are HID++ 2.0 feature requests (ping included): not understood
        return [error10(request, Err10.INVALID_SUBID)]
