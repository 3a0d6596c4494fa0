"""Unsolicited HID++ messages -> typed values.

Receiver notifications use HID++ 1.0 sub ids 0x40..0x7F in short reports:
    0x40 device disconnection: address 0x02 = unpaired (Solaar notifications.py
         _process_hidpp10_notification; any other address is "of unknown type")
    0x41 device connection: address = protocol (0x04 Unifying, 0x0A Nano, 0x0C Lightspeed,
         0x10 Bolt), p0 bits 0-3 kind, 0x10 software present, 0x20 encrypted, 0x40 link NOT
         established; p1..p2 WPID (LE). One layout for every protocol but 27 MHz (0x02), as
         hid-logitech-dj.c logi_hidpp_recv_queue_notif reads the eQUAD ones and Solaar's
         notifications.py the rest; a Bolt link is always encrypted (Solaar: "Bolt protocol
         always encrypted"), whatever bit 0x20 says
    0x42 connection status (address bit 0 = link lost), 0x49 raw input (ignored by everyone),
    0x4A pairing lock (address 1 = open, p0 = error), 0x4B power (address 1 = powered on)
HID++ 2.0 events are feature messages with software id 0 (always long reports).
HID++ 1.0 mice send register notifications as short reports whose sub id is the register
(battery 0x07 / 0x0D); since a short 2.0 request to feature index 7 or 13 would look the
same, only those two registers are read as notifications.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from phantombutton.hidpp.errors import enum_name
from phantombutton.hidpp.frames import HidppFrame, ReportId, build_short
from phantombutton.hidpp.hidpp10 import Register, kind_name


class NotificationId(IntEnum):
    DEVICE_UNPAIRED = 0x40
    DEVICE_CONNECTION = 0x41
    CONNECTION_STATUS = 0x42
    RAW_INPUT = 0x49
    PAIRING_LOCK = 0x4A
    POWER = 0x4B


NOTIFICATION_NAMES: dict[int, str] = {
    NotificationId.DEVICE_UNPAIRED: "device unpaired",   # only with address UNPAIRED_ADDRESS
    NotificationId.DEVICE_CONNECTION: "device connection",
    NotificationId.CONNECTION_STATUS: "DJ connection status",
    NotificationId.PAIRING_LOCK: "pairing lock",
    NotificationId.POWER: "power",
}


class Protocol(IntEnum):
    """Byte 3 of the 0x41 notification (names as in hid-logitech-dj)."""

    BLUETOOTH = 0x01
    MHZ27 = 0x02
    EQUAD = 0x03
    UNIFYING = 0x04          # "eQUAD step 4 DJ"
    DFU_LITE = 0x05
    EQUAD_STEP4_LITE = 0x06
    EQUAD_STEP4_GAMING = 0x07
    EQUAD_GAMEPAD = 0x08
    EQUAD_NANO_LITE = 0x0A
    LIGHTSPEED = 0x0C
    LIGHTSPEED_1_1 = 0x0D
    LIGHTSPEED_1_2 = 0x0F
    BOLT = 0x10              # not in 6.1's hid-logitech-dj (hid-generic drives Bolt); Solaar


def protocol_name(code: int) -> str:
    return enum_name(Protocol, code, "protocol 0x{:02X}").replace("mhz27", "27 MHz")


UNPAIRED_ADDRESS = 0x02   # 0x40 with this address: the device was unpaired


def notification_name(sub_id: int, address: int) -> str:
    """What a receiver notification is, in the words of findings and context lines."""
    if sub_id == NotificationId.DEVICE_UNPAIRED and address != UNPAIRED_ADDRESS:
        return f"device disconnection of unknown type 0x{address:02X}"
    return NOTIFICATION_NAMES.get(sub_id, f"notification 0x{sub_id:02X}")


CONNECTION_SOFTWARE_PRESENT = 0x10
CONNECTION_ENCRYPTED = 0x20
CONNECTION_LINK_NOT_ESTABLISHED = 0x40


class DeviceUnpaired(NamedTuple):
    """HID++ 1.0 notification 0x40: a device was unpaired."""

    devnum: int


class DeviceConnection(NamedTuple):
    """HID++ 1.0 notification 0x41: a device connected or its link changed."""

    devnum: int
    protocol: int
    kind: int
    software_present: bool
    encrypted: bool
    link_established: bool
    wpid: int

    @property
    def kind_name(self) -> str:
        return kind_name(self.kind)


class ConnectionStatus(NamedTuple):
    """HID++ 1.0 notification 0x42 (DJ connection status): the link was lost or is back."""

    devnum: int
    link_lost: bool


class PairingLock(NamedTuple):
    """HID++ 1.0 notification 0x4A: the pairing lock opened or closed."""

    open: bool
    error: int


class PowerOn(NamedTuple):
    """HID++ 1.0 notification 0x4B: a device's power state."""

    devnum: int
    powered_on: bool


class RawInput(NamedTuple):
    """HID++ 1.0 notification 0x49: raw input of a device."""

    devnum: int
    address: int


class OtherNotification(NamedTuple):
    """A 1.0 notification sub id we do not model; kept so nothing is silently dropped."""

    devnum: int
    sub_id: int
    address: int
    params: bytes


class RegisterNotification(NamedTuple):
    """A HID++ 1.0 device reporting a register by itself (battery 0x07/0x0D)."""

    devnum: int
    register: int
    value: bytes


class FeatureEvent(NamedTuple):
    """HID++ 2.0 event (software id 0)."""

    devnum: int
    feature_index: int
    function: int
    params: bytes


Notification = (
    DeviceUnpaired | DeviceConnection | ConnectionStatus | PairingLock | PowerOn | RawInput
    | OtherNotification | RegisterNotification | FeatureEvent
)

BATTERY_NOTIFICATION_REGISTERS = frozenset({Register.BATTERY_STATUS, Register.BATTERY_CHARGE})


def is_receiver_notification(frame: HidppFrame) -> bool:
    return 0x40 <= frame.sub_id < 0x80


def parse(frame: HidppFrame) -> Notification | None:
    """Type an unsolicited frame; None if it is not a notification (a reply or request)."""
    sub, addr, p = frame.sub_id, frame.address, frame.params
    if is_receiver_notification(frame):
        if sub == NotificationId.DEVICE_UNPAIRED and addr == UNPAIRED_ADDRESS:
            return DeviceUnpaired(frame.devnum)
        if sub == NotificationId.DEVICE_CONNECTION:
            return DeviceConnection(
                frame.devnum, addr, p[0] & 0x0F,
                bool(p[0] & CONNECTION_SOFTWARE_PRESENT),
                bool(p[0] & CONNECTION_ENCRYPTED) or addr == Protocol.BOLT,
                not p[0] & CONNECTION_LINK_NOT_ESTABLISHED, p[1] | p[2] << 8,
            )
        if sub == NotificationId.CONNECTION_STATUS:
            return ConnectionStatus(frame.devnum, bool(addr & 0x01))
        if sub == NotificationId.PAIRING_LOCK:
            return PairingLock(addr == 0x01, p[0])
        if sub == NotificationId.POWER:
            return PowerOn(frame.devnum, addr == 0x01)
        if sub == NotificationId.RAW_INPUT:
            return RawInput(frame.devnum, addr)
        return OtherNotification(frame.devnum, sub, addr, p)
    if frame.report_id == ReportId.SHORT and sub in BATTERY_NOTIFICATION_REGISTERS:
        return RegisterNotification(frame.devnum, sub, bytes((addr,)) + p[:2])
    if sub < 0x40 and frame.software_id == 0 and frame.report_id != ReportId.SHORT:
        return FeatureEvent(frame.devnum, sub, frame.function, p)
    return None


def build_connection(devnum: int, wpid: int, *, kind: int = 2, link_established: bool = True,
                     encrypted: bool = True, software_present: bool = False,
                     protocol: int = Protocol.UNIFYING) -> bytes:
    """`10 <slot> 41 <protocol> <flags|kind> <wpid lo> <wpid hi>` as the receiver sends it."""
    flags = kind & 0x0F
    flags |= CONNECTION_SOFTWARE_PRESENT if software_present else 0
    flags |= CONNECTION_ENCRYPTED if encrypted else 0
    flags |= 0 if link_established else CONNECTION_LINK_NOT_ESTABLISHED
    return build_short(devnum, NotificationId.DEVICE_CONNECTION, protocol, bytes((flags, wpid & 0xFF, wpid >> 8)))
