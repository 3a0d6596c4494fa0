"""A mouse without a receiver (Bluetooth or USB cable), standing where a receiver stands.

`list`, `info`, `get`/`set` and device selection walk receivers and their devices; a direct
mouse is one "receiver" with one device, addressed by device index 0xFF on its own hidraw
node (transport/direct.py). Its pairing record is made from the mouse itself, as Solaar's
device.py does for receiver-less devices: the friendly name (0x0007) as the short name, the
unit id from DEVICE_FW_VERSION (0x0003 function 0) as the serial (Solaar shows it as
"Unit ID"; its "Serial number" stays empty for these mice), the product id as the WPID.
"""

from __future__ import annotations

from phantombutton.devices.device import Device, FeatureMissing
from phantombutton.devices.receiver import Pairing, ReceiverDetails
from phantombutton.hidpp.errors import HidppError
from phantombutton.hidpp.hidpp10 import DeviceKind
from phantombutton.hidpp.hidpp20 import FeatureId
from phantombutton.transport.direct import BUS_NAMES, DIRECT_INDEX


def unit_id(device: Device) -> str | None:
    """DEVICE_FW_VERSION getEntityCount: count, unit id (4 bytes), transport, model id."""
    try:
        return device.call(FeatureId.DEVICE_FW_VERSION, 0)[1:5].hex().upper()
    except (FeatureMissing, HidppError):
        return None


def friendly_name(device: Device) -> str | None:
    """DEVICE_FRIENDLY_NAME, None when empty."""
    try:
        return device.read_name(FeatureId.DEVICE_FRIENDLY_NAME, echo=1) or None
    except (FeatureMissing, HidppError):
        return None


class DirectMouse:
    """The one-device "receiver" of a direct mouse (same reading interface as Receiver)."""

    direct = True

    def __init__(self, engine, node: str, product: int, bus: int, hid_name: str = ""):
        self.engine = engine
        self.node = node
        self.product = product
        self.bus = bus
        self.hid_name = hid_name.removeprefix("Logitech ")
        self.child_nodes = {DIRECT_INDEX: node}    # `list` shows the node on the device line
        self._devices: list[Device] | None = None

    @property
    def connection(self) -> str:
        return BUS_NAMES.get(self.bus, f"bus {self.bus:04X}")

    @property
    def name(self) -> str:
        return f"{self.connection}, no receiver"

    def close(self) -> None:
        self.engine.transport.close()

    def devices(self) -> list[Device]:
        """The mouse itself: ping, then its unit id and friendly name (offline: what sysfs said)."""
        if self._devices is None:
            pairing = Pairing(DIRECT_INDEX, self.product, DeviceKind.MOUSE, 0, name=self.hid_name)
            device = Device(self, pairing)
            if device.online and not device.hidpp10:
                pairing.serial = device.serial = unit_id(device)
                pairing.name = friendly_name(device) or pairing.name
            self._devices = [device]
        return self._devices

    def known_names(self) -> dict[int, str]:
        return {d.slot: d.short_name for d in self._devices or ()}

    def known_features(self) -> dict[int, dict[int, int]]:
        return {d.slot: d.known_features() for d in self._devices or () if d.known_features()}

    def details(self) -> ReceiverDetails:
        return ReceiverDetails(name=self.name, node=self.node, product=self.product, serial=None,
                               max_devices=None, firmware={}, notifications=None, paired=1)
