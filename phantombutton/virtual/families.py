"""Virtual receivers of the other families: Nano C534, Lightspeed C539, Bolt C548.

Each is the Unifying model (receiver.py) with what differs per family, from the dumps in
reference/solaar-device-docs (Nano-Receiver-C534.txt, Lightspeed-Receiver-C539.txt,
Bolt-Receiver-C548.txt) and receivers.py:
- no DJ mode: DJ commands are ignored (hid-logitech-dj.c `logi_dj_recv_switch_to_dj_mode`
  sends the DJ switch only to recvr_type_dj); the kernel enumerates with `10 ff 80 02 02`
  (`logi_dj_recv_query_hidpp_devices`) and the model answers one 0x41 per paired device
  carrying the family's protocol byte (`logi_hidpp_recv_queue_notif`: 0x0A nano lite, 0x0C
  Lightspeed 1, 0x10 Bolt);
- pairing registers: Nano answers 0xB5 0x2n, 0x3n (serial 00000000) and 0x4n, but not 0x03
  (no receiver serial);
  Lightspeed all of Unifying's; Bolt 0x5n/0x6n and long register 0xFB, and no 0xF1
  firmware (its dump shows none);
- notification flags: a running system's - 0x000900 where hid-logitech-dj set them (Nano,
  Lightspeed); 0 on Bolt, which on a 6.1 kernel only hid-generic drives;
- mouse input (Nano, Lightspeed): report 0x02, no slot in it, which hid-logitech-dj.c
  `logi_dj_raw_event` passes to `logi_dj_recv_forward_input_report`, i.e. to the first paired
  device that takes mouse reports. Nano C534 sends it on its HID++ interface (1), in the DJ
  layout (`mse_descriptor`, 12-bit X/Y); Lightspeed on its mouse interface (1), with 16-bit X/Y
  (`mse_high_res_descriptor`): wire.py `mouse_report`.
Guesses are marked "guess".
"""

from __future__ import annotations

from functools import partial

from phantombutton.receivers import RECEIVERS, ButtonPath, Family, RegisterSet

from .profiles import PROFILE_RECEIVERS, ReceiverSpec
from .receiver import VirtualReceiver
from .registers import PAIRING_INFO
from .descriptors import HIDPP_RECEIVER_DESCRIPTOR, HIGH_RES_MOUSE_COLLECTION
from .wire import RECEIVER, Err10, Sub, error10, long, mouse_report, parse_high_res_mouse_report

UNIQUE_ID = 0xFB


SPECS: dict[int, ReceiverSpec] = {
    # Nano-Receiver-C534.txt: firmware 29.01.B0016 only, no serial, 2 devices;
    # protocol 0x0A ("eQUAD nano Lite") is a guess
    0xC534: ReceiverSpec(0x0A, b"", 2, ((0x01, bytes([0x29, 0x01])), (0x02, bytes([0x00, 0x16])))),
    # Lightspeed-Receiver-C539.txt; protocol 0x0C ("eQUAD Lightspeed 1") is a guess
    0xC539: ReceiverSpec(0x0C, bytes.fromhex("C1469DD4"), 1, (
        (0x01, bytes([0x39, 0x06])), (0x02, bytes([0x00, 0x40])),
        (0x03, bytes([0xAA, 0xBE])), (0x04, bytes([0x02, 0x09])))),
    # Bolt-Receiver-C548.txt: the 16-byte unique id is its serial; no firmware shown
    0xC548: ReceiverSpec(0x10, bytes.fromhex("38423638313332394241363434313837"), 6, ()),
}


class FamilyReceiver(VirtualReceiver):
    """A non-DJ receiver of `product_id` with the devices of `profile`."""

    def __init__(self, profile: str, product_id: int, **kwargs):
        super().__init__(profile, dj_mode=False, **kwargs)
        self.product_id = product_id
        self.family = RECEIVERS[product_id]
        self.spec = SPECS[product_id]
        bolt = self.family.registers is RegisterSet.BOLT
        self.notification_flags = bytes(3) if bolt else bytes([0x00, 0x09, 0x00])
        # what the uhid bridge declares on the HID++ interface: Nano's also carries the mouse
        self.uhid_descriptor = (NANO_MOUSE_COLLECTION + HIDPP_RECEIVER_DESCRIPTOR
                                if self.family.hidpp_interface == 1 else HIDPP_RECEIVER_DESCRIPTOR)

    # ---- mouse input: report 0x02 (the child gets it from hid-logitech-dj) -----------------
    def _sends_input(self) -> bool:
        # Bolt on hid-generic: every paired mouse's input arrives on the receiver's own mouse
        # interface (report 2, no slot); a diverted control's press as a HID++ event (receiver.py)
        return self.family.buttons in (ButtonPath.CHILD_HIDRAW, ButtonPath.RECEIVER_MOUSE_NODE)

    def _mouse_input(self, slot, buttons, dx=0, dy=0, wheel=0, pan=0) -> bytes:
        # 16-bit X/Y on Lightspeed's children and on Bolt's mouse interface, 12-bit on Nano
        high_res = (self.family.family is Family.LIGHTSPEED
                    or self.family.buttons is ButtonPath.RECEIVER_MOUSE_NODE)
        return mouse_report(buttons, dx, dy, wheel, pan, high_res=high_res)

    # ---- what differs from Unifying -----------------------------------------------------------
    def _dj_command(self, report: bytes) -> tuple[list[bytes], str]:
        return [], "ignored: not a DJ receiver"

    def _receiver_request(self, request: bytes) -> list[bytes]:
        sub, reg = request[2], request[3]
        if sub == Sub.GET_LONG_REGISTER and reg == UNIQUE_ID and self.family.registers is RegisterSet.BOLT:
            return [long(RECEIVER, sub, reg, self.spec.serial)]
        return super()._receiver_request(request)

    def _pairing_info(self, request: bytes) -> list[bytes]:
        if self.family.registers is not RegisterSet.BOLT:
            return super()._pairing_info(request)
        which, part = request[4], request[5]
        kind, n = which & 0xF0, which & 0x0F
        device = self.devices.get(n)
        if kind not in (0x50, 0x60) or device is None:
            return [error10(request, Err10.INVALID_VALUE)]
        ident = device.identity
        if kind == 0x50:   # b1 kind, b2-3 WPID little-endian, b4-7 serial
            value = bytes([which, ident.kind]) + ident.wpid.to_bytes(2, "little") + ident.serial
        else:              # 0x6n 01: b1 part, b2 length, name
            if part != 0x01:
                return [error10(request, Err10.INVALID_VALUE)]
            name = ident.name.encode()[:14]
            value = bytes([which, part, len(name)]) + name
        return [long(RECEIVER, Sub.GET_LONG_REGISTER, PAIRING_INFO, value)]


def make_receiver(profile: str = "default", **kwargs) -> VirtualReceiver:
    """The receiver model of a profile: a FamilyReceiver for the family profiles (`bolt`,
    `lightspeed`, `nano`), else the Unifying one. Unknown profile: UnknownProfile."""
    product = PROFILE_RECEIVERS.get(profile)
    if product is None:
        return VirtualReceiver(profile, **kwargs)
    return FamilyReceiver(profile, product, **kwargs)


# The receiver's own mouse interface under hid-generic (Bolt on 6.1): the high-res mouse as
# report 2; hid-generic names its input "<name> Mouse".
# A Consumer Control application (report 3) follows, as on the real interface: with more than
# one application hid-input names each node by it ("... Mouse", "... Consumer Control").
MOUSE_INTERFACE_DESCRIPTOR = HIGH_RES_MOUSE_COLLECTION + bytes.fromhex(
    "05 0c 09 01 a1 01 85 03 75 10 95 02 15 01 26 ff 02 19 01 2a ff 02 81 00 c0")


# The mouse application of a Nano C534's HID++ interface (1): report 2 in the layout of
# hid-logitech-dj.c `mse_descriptor` (16 buttons, 12-bit X/Y, wheel, AC pan). hid-core drops
# a report whose id the interface does not declare (hid-core.c `hid_get_report`) before
# `logi_dj_raw_event` sees it.
NANO_MOUSE_COLLECTION = bytes.fromhex(
    "05 01 09 02 a1 01 85 02 09 01 a1 00 05 09 19 01 29 10 15 00 25 01 95 10 75 01 81 02"
    "05 01 16 01 f8 26 ff 07 75 0c 95 02 09 30 09 31 81 06"
    "15 81 25 7f 75 08 95 01 09 38 81 06 05 0c 0a 38 02 95 01 81 06 c0 c0")


# One report of the receiver's mouse interface (MOUSE_INTERFACE_DESCRIPTOR), and its
# (buttons, moved, wheel); None for any other report
mouse_interface_report = partial(mouse_report, high_res=True)
parse_mouse_interface_report = parse_high_res_mouse_report


def uhid_interfaces(model, phys: str) -> tuple[str, tuple[tuple[bytes, str], ...]]:
    """The phys of the model's HID++ uhid device (its inputN suffix is the family's HID++
    interface: 1 on Nano) and the other interfaces to create: the receiver's mouse interface
    (1) where the HID++ one is another - on Bolt hid-generic makes it the one event node of
    every paired mouse; on Lightspeed hid-logitech-dj binds it too (same phys prefix: the same
    receiver) and forwards its report 0x02 to the child."""
    family = RECEIVERS.get(getattr(model, "product_id", 0))
    if family is None or family.hidpp_interface is None:
        return phys, ()
    base, sep, _ = phys.rpartition("/")
    prefix = base + sep if sep else ""
    hidpp_phys = f"{prefix}input{family.hidpp_interface}"
    extra: tuple[tuple[bytes, str], ...] = ()
    if family.buttons is ButtonPath.RECEIVER_MOUSE_NODE or family.family is Family.LIGHTSPEED:
        extra = ((MOUSE_INTERFACE_DESCRIPTOR, f"{prefix}input1"),)
    return hidpp_phys, extra
