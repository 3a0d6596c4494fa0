"""The hardware platform: Logitech receivers through sysfs and hidraw, event nodes through
evdev ioctls (input/evdev_node.py), the X server of the session. transport/platform.py says
what a Platform is; cli/main.py chooses one."""

from __future__ import annotations

from phantombutton.input import evdev_node, procfs
from phantombutton.input.sysfs_map import event_node_for
from phantombutton.transport.base import Transport
from phantombutton.receivers import handled_products
from phantombutton.transport import direct, discovery, hidraw
from phantombutton.transport.discovery import LOGITECH, HidppNode, Skipped


class HardwarePlatform:
    kernel = True
    nodes = evdev_node      # held_keys, write_key, get_keycode, set_keycode on /dev/input/eventN

    def __init__(self, sysfs: str = "/sys"):
        self.sysfs = sysfs

    def receivers(self, skipped: list[Skipped] | None = None) -> list[HidppNode]:
        # Safety: only Logitech (046d) receivers of a handled family, never any other hidraw node.
        handled = handled_products()
        return [r for r in discovery.find_receivers(self.sysfs, skipped=skipped)
                if r.vendor == LOGITECH and r.product in handled]

    def open_receiver(self, node: str) -> Transport:
        return hidraw.HidrawTransport(node)     # AccessDenied names node, errno and fix

    def direct_devices(self) -> list[HidppNode]:
        """Logitech HID++ mice on Bluetooth or a USB cable, driven by hid-logitech-hidpp."""
        return direct.find_direct(self.sysfs)

    def open_direct(self, node: HidppNode) -> Transport:
        transport = hidraw.HidrawTransport(node.node)
        return direct.LongOnlyTransport(transport) if direct.long_only(node.sysfs) else transport

    def listeners(self, node: str) -> tuple[str, ...] | None:
        return procfs.hidraw_listeners(node)

    def event_node(self, receiver_node: str, slot: int) -> str | None:
        return event_node_for(receiver_node, slot, self.sysfs)

    def source(self, *, all_mice: bool = False, hidpp: bool = False):
        from phantombutton.input.evdev_source import EvdevSource   # start-up: not for info, list (~13 ms)

        return EvdevSource(all_mice, hidpp=hidpp, sysfs=self.sysfs)

    def x_session(self, timeout: float | None = None, display: str | None = None):
        from phantombutton.input.xinput import X_TIMEOUT, XSession   # start-up: not for info, list, set (~5 ms)

        return XSession(display, timeout=X_TIMEOUT if timeout is None else timeout)

    def close(self) -> None:
        pass
