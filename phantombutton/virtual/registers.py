"""The Unifying receiver model's own HID++ 1.0 registers (virtual/receiver.py VirtualReceiver
is a ReceiverRegisters; virtual/families.py overrides what differs per family), and the reports
that announce a paired device: the DJ "device paired" report and the 0x41 connection
notification.

Registers: 0x00 notification flags, 0x02 connection state (byte 1 the paired count; writing
0x02 is "fake device arrival": a 0x41 per paired device), 0xB2 pairing (lock open/close,
unpair), 0xB3 activity counters, 0xB5 pairing information (0x03 serial, 0x2n/0x3n/0x4n per
slot), 0xF1 firmware. The receiver speaks HID++ 1.0 only. No I/O: the caller queues the
answers.
"""

from __future__ import annotations

from .device import VirtualDevice
from .profiles import ReceiverSpec
from .wire import RECEIVER, SHORT, Err10, Sub, dj_short, error10, long, short

DJ_PAIRED, DJ_UNPAIRED = 0x41, 0x40
LINK_DOWN, ENCRYPTED = 0x40, 0x20  # 0x41 notification info bits
CONNECTION_STATE, PAIRING, ACTIVITY, PAIRING_INFO, FIRMWARE, NOTIFICATIONS = 0x02, 0xB2, 0xB3, 0xB5, 0xF1, 0x00


class ReceiverRegisters:
    """The registers' state: the receiver's spec, its paired devices (slot -> device), DJ mode,
    the notification flags (0x000900 where hid-logitech-dj set them) and the pairing lock."""

    def __init__(self, devices: dict[int, VirtualDevice], dj_mode: bool):
        self.spec = ReceiverSpec()
        self.devices = devices
        self.dj_mode = dj_mode
        self.notification_flags = bytes([0x00, 0x09, 0x00]) if dj_mode else bytes(3)
        self.pairing_open = False

    # ---- the reports that announce a paired device ------------------------------------------
    def _dj_paired(self, slot: int, device: VirtualDevice) -> bytes:
        ident = device.identity
        return dj_short(slot, DJ_PAIRED, bytes([0, ident.wpid & 0xFF, ident.wpid >> 8])
                        + ident.rf_reports.to_bytes(4, "little"))

    def _connection(self, slot: int, device: VirtualDevice, online: bool | None = None) -> bytes:
        online = device.online if online is None else online
        info = device.identity.kind | (ENCRYPTED if online else LINK_DOWN)
        wpid = device.identity.wpid
        return short(slot, Sub.DEVICE_CONNECTION, self.spec.protocol, bytes([info, wpid & 0xFF, wpid >> 8]))

    # ---- the registers ------------------------------------------------------------------------
    def _receiver_request(self, request: bytes) -> list[bytes]:
        sub, reg, p = request[2], request[3], request[4:]
        if sub not in (Sub.GET_REGISTER, Sub.SET_REGISTER, Sub.GET_LONG_REGISTER, Sub.SET_LONG_REGISTER):
            return [error10(request, Err10.INVALID_SUBID)]  # the receiver speaks HID++ 1.0 only
        if sub == Sub.GET_REGISTER:
            if reg == NOTIFICATIONS:
                return [short(RECEIVER, sub, reg, self.notification_flags)]
            if reg == CONNECTION_STATE:   # byte 1: paired devices, online or not (Solaar count())
                return [short(RECEIVER, sub, reg, bytes([0, len(self.devices), 0]))]
            if reg == FIRMWARE:
                firmware = dict(self.spec.firmware)
                if p[0] not in firmware:   # a receiver that shows no firmware has no 0xF1
                    return [error10(request, Err10.INVALID_VALUE if firmware else Err10.INVALID_ADDRESS)]
                return [short(RECEIVER, sub, reg, bytes([p[0]]) + firmware[p[0]])]
        if sub == Sub.SET_REGISTER:
            if request[0] != SHORT:
                return [error10(request, Err10.INVALID_VALUE)]
            if reg == NOTIFICATIONS:
                self.notification_flags = bytes(p[:3])
                return [short(RECEIVER, sub, reg)]
            if reg == CONNECTION_STATE:
                answers = [short(RECEIVER, sub, reg)]
                if p[0] == 0x02:  # "fake device arrival": announce every paired device again
                    answers += [self._connection(s, d) for s, d in sorted(self.devices.items())]
                return answers
            if reg == PAIRING:
                return self._pairing(request)
        if sub == Sub.GET_LONG_REGISTER:
            if reg == PAIRING_INFO:
                return self._pairing_info(request)
            if reg == ACTIVITY:
                counters = bytes(self.devices[s].identity.activity if s in self.devices else 0
                                 for s in range(1, 7))
                return [long(RECEIVER, sub, reg, counters)]
        return [error10(request, Err10.INVALID_ADDRESS)]   # SET_LONG_REGISTER: none is writable

    def _pairing(self, request: bytes) -> list[bytes]:
        action, slot = request[4], request[5]
        ack = short(RECEIVER, Sub.SET_REGISTER, PAIRING)
        if action in (0x01, 0x02):  # open / close the pairing lock
            self.pairing_open = action == 0x01
            return [ack, short(RECEIVER, Sub.PAIRING_LOCK, 0x01 if self.pairing_open else 0x00)]
        if action == 0x03 and slot in self.devices:  # unpair
            del self.devices[slot]
            answers = [ack, short(slot, Sub.DEVICE_UNPAIRED, 0x02)]
            if self.dj_mode:
                answers.append(dj_short(slot, DJ_UNPAIRED))
            return answers
        return [error10(request, Err10.INVALID_VALUE)]

    def _pairing_info(self, request: bytes) -> list[bytes]:
        which = request[4]
        kind, n = which & 0xF0, (which & 0x0F) + 1
        if which == 0x03 and self.spec.serial:   # a Nano keeps no serial: error
            value = bytes([which]) + self.spec.serial + bytes([0, self.spec.max_devices])
        elif kind in (0x20, 0x30, 0x40) and n in self.devices:
            ident = self.devices[n].identity
            if kind == 0x20:  # polling interval, WPID (big-endian), device kind
                value = bytes([which, 0, ident.polling_ms, ident.wpid >> 8, ident.wpid & 0xFF, 0, 0, ident.kind])
            elif kind == 0x30:  # serial, report types, power switch location
                value = (bytes([which]) + ident.serial + ident.rf_reports.to_bytes(4, "little")
                         + bytes([ident.power_switch]))
            else:  # name: length, ASCII
                name = ident.name.encode()[:14]
                value = bytes([which, len(name)]) + name
        else:
            return [error10(request, Err10.INVALID_VALUE)]
        return [long(RECEIVER, Sub.GET_LONG_REGISTER, PAIRING_INFO, value)]
