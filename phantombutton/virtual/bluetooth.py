"""The MX Master 3 over Bluetooth (046d:B023), a mouse without a receiver: profile "bluetooth".

From MX-Master-3-Wireless-Mouse-B023.txt (reference/solaar-device-docs): the 30-feature
table with its hidden/internal flags, DEVICE_NAME "Wireless Mouse MX Master 3", friendly
name "MX Master 3", firmware BOT 95.01.B0015 / MPM 19.01.B0015, unit id 198E3EB8, model id
B02340820000, battery 100 % (next level 50 %), HIRES_WHEEL multiplier 15, the 8 controls.
Guesses, marked: feature versions; the second flags byte of the controls (raw XY,
analytics) is not modelled; the report descriptor (below).

`VirtualDirect` is the VirtualReceiver machinery (readers, latency, faults, uhid bridge)
with the receiver taken out: every HID++ report goes to the mouse, which answers on the
device index it was sent (0xFF, as hid-logitech-hidpp.c `__hidpp_send_report` sends), and
its buttons and motion are plain HID mouse reports (report id 2), as a Bluetooth mouse's.
"""

from __future__ import annotations

from .descriptors import HIGH_RES_MOUSE_COLLECTION
from .device import Identity
from .families import make_receiver
from .hidpp20_device import HIDDEN, Control, Feature, Firmware, Hidpp20Device, Hidpp20Spec, hidden
from .profiles import DIRECT_PROFILES
from .receiver import VirtualReceiver
from .wire import LONG, SHORT, long, mouse_report, well_formed

PRODUCT_ID = 0xB023
DIRECT_INDEX = 0xFF
BUS_BLUETOOTH = 0x05
FRIENDLY_NAME = "MX Master 3"
# What BlueZ gives the HID device (the mouse's Bluetooth name) before hid-logitech-hidpp
# overwrites it with "Logitech " + DEVICE_NAME (hidpp_overwrite_name, hidpp_prefix_name).
BT_NAME = "MX Master 3"
BT_PHYS = "00:1a:7d:da:71:13"      # the host adapter's address (made up)
BT_UNIQ = "d1:8e:3e:b8:02:3b"      # the mouse's address (made up)

# A guess at the mouse's descriptor (no dump has it): a boot-style mouse with 16 buttons,
# 16-bit X/Y, wheel and AC Pan as report 2, and the HID++ long report 0x11 (19 bytes) on the
# vendor page 0xFF43 that Logitech Bluetooth devices use, without the short report 0x10:
# hid-logitech-hidpp then sends its short requests long (hidpp_validate_device,
# hidpp_send_rap_command_sync).
DESCRIPTOR = HIGH_RES_MOUSE_COLLECTION + bytes.fromhex(
    "06 43 ff 0a 02 02 a1 01 85 11 75 08 95 13 15 00 26 ff 00 09 02 81 00 09 02 91 00 c0")


def mx_master_3_bt() -> Hidpp20Device:
    """Wireless Mouse MX Master 3 over Bluetooth, HID++ 4.5: MX-Master-3-Wireless-Mouse-B023.txt."""
    features = [
        Feature(0x0000), Feature(0x0001, version=1), Feature(0x0003, version=2), Feature(0x0005),
        Feature(0x1D4B), Feature(0x0020), Feature(0x0021), Feature(0x0007),
        Feature(0x1000), Feature(0x1B04, version=4), Feature(0x1814), Feature(0x2250),
        Feature(0x2201), Feature(0x2110), Feature(0x2121, version=1), Feature(0x2150),
        Feature(0x2251), Feature(0x00C2),
        *hidden(0x1802, 0x1803, 0x1806, 0x1813, 0x1805, 0x1830, 0x18A1),
        Feature(0x1E00, HIDDEN),
        *hidden(0x1EB0, 0x1861, 0x9300, 0x9001),
    ]
    mse, divertable = 0x01, 0x31   # mouse; mouse|reprogrammable|divertable
    controls = [
        Control(0x0050, 0x0038, mse, 1, 0x01, hid_button=1),          # Left Button / Left Click
        Control(0x0051, 0x0039, mse, 1, 0x01, hid_button=2),          # Right Button
        Control(0x0052, 0x003A, divertable, 3, 0x07, hid_button=3),   # Middle Button
        Control(0x0053, 0x003C, divertable, 2, 0x03, hid_button=4),   # Back Button
        Control(0x0056, 0x003E, divertable, 2, 0x03, hid_button=5),   # Forward Button
        Control(0x00C3, 0x009C, divertable, 3, 0x07),                 # Mouse Gesture Button
        Control(0x00C4, 0x009D, divertable, 3, 0x07),                 # Smart Shift
        Control(0x00D7, 0x00B4, 0xA0, 4, 0x00),                       # Virtual Gesture Button: divertable, virtual
    ]
    spec = Hidpp20Spec(
        features=features,
        name="Wireless Mouse MX Master 3",
        # the dump's third entity ("Other", empty) is left out; after the build the dump shows
        # "00006A9CA89D" for the bootloader (no WPID), "B0236A9CA89D" for the firmware
        firmware=[Firmware(1, "BOT", 0x95, 0x01, 0x0015, bytes.fromhex("6A9CA89D"), wpid=0),
                  Firmware(0, "MPM", 0x19, 0x01, 0x0015, bytes.fromhex("6A9CA89D"))],
        unit_id=bytes.fromhex("198E3EB8"),
        model_id=bytes.fromhex("B02340820000"),
        transports=0x06,      # btleid 0x02 + wpid 0x04: model id B023 4082 (Solaar get_ids)
        battery=(100, 50, 0),
        controls=controls,
        wheel_multiplier=15,
        friendly_name=FRIENDLY_NAME,
    )
    identity = Identity(wpid=PRODUCT_ID, name=FRIENDLY_NAME, serial=spec.unit_id)
    return Hidpp20Device(identity, spec)


class VirtualDirect(VirtualReceiver):
    """A direct HID++ mouse behind the same model machinery; its one device is at 0xFF."""

    direct = True

    def __init__(self, profile: str = "bluetooth", **kw):
        super().__init__("empty", dj_mode=False, **kw)
        self.profile = profile
        self.devices = {DIRECT_INDEX: mx_master_3_bt()}
        self.product_id = PRODUCT_ID
        if self.kernel_wheel:
            self.devices[DIRECT_INDEX].kernel_wheel_setup()

    def uhid_create(self) -> dict:
        """What the uhid bridge creates: a Bluetooth HID device named as BlueZ names it."""
        return {"descriptor": DESCRIPTOR, "name": BT_NAME, "phys": BT_PHYS, "uniq": BT_UNIQ,
                "bus": BUS_BLUETOOTH, "product": PRODUCT_ID, "version": 0x0019}

    def _dispatch(self, report: bytes) -> tuple[list[bytes], str]:
        if report[:1] not in (bytes([SHORT]), bytes([LONG])) or not well_formed(report):
            return [], "ignored: not a HID++ report"
        device = self.devices[DIRECT_INDEX]
        if not device.online:
            return [], "mouse off: no answer"
        return device.handle(report), ""

    def _announce(self, slot: int, device, now: float | None = None) -> None:
        """A Bluetooth link coming back: WIRELESS_DEVICE_STATUS event 0 (status 1 =
        reconnection), which hid-logitech-hidpp takes as a connect (hidpp_report_is_connect_event)."""
        index = device.index.get(0x1D4B)
        if device.online and index is not None:
            self._push(long(DIRECT_INDEX, index, 0x00, bytes([1])), self._clock() if now is None else now)

    def _mouse(self, slot: int, dx: int = 0, dy: int = 0, wheel: int = 0, pan: int = 0,
               at: float | None = None) -> None:
        # the 16-bit layout of the descriptor this mouse declares (DESCRIPTOR)
        report = mouse_report(self._buttons.get(slot, 0), dx, dy, wheel, pan, high_res=True)
        self._push(report, self._clock() if at is None else at)


def make_model(profile: str = "default", **kw) -> VirtualReceiver:
    """The model of a profile: a receiver with its devices, or (DIRECT_PROFILES) a mouse alone."""
    return VirtualDirect(profile, **kw) if profile in DIRECT_PROFILES else make_receiver(profile, **kw)
