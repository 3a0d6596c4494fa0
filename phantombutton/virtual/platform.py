"""The virtual platform (`phantombutton --virtual`): the receiver model behind a kernel model.

The virtual receiver (receiver.py) answers like the real one; the kernel model (kernel.py)
reads it through a reader of its own, as hid-logitech-dj does, and makes the event nodes
`virtual:<slot>`. Each open of the receiver is a new transport with its own queue (hidraw fans
out). The X session is the machine's, if any. Everything above runs the same code as on
hardware.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from phantombutton.transport import virtual as vt
from phantombutton.receivers import RECEIVERS, ButtonPath, KernelDriver
from phantombutton.transport.discovery import LOGITECH, HidppNode, Skipped

from .bluetooth import BT_NAME, BUS_BLUETOOTH, DIRECT_INDEX, make_model
from .receiver import VirtualReceiver

if TYPE_CHECKING:
    from .kernel import VirtualKernel

class VirtualPlatform:
    kernel = False

    def __init__(self, profile: str = "default", *, receiver: VirtualReceiver | None = None,
                 clock=time.monotonic, kernel_wheel: bool = True):
        # unknown profile: UsageProblem naming the valid ones; kernel_wheel: the wheel as the
        # kernel leaves it at connect (hi-res on), as on a running system
        self.model = receiver or make_model(profile, kernel_wheel=kernel_wheel, clock=clock,
                                            default_reader=False)
        self.clock = clock
        self._kernel: VirtualKernel | None = None

    @property
    def nodes(self) -> VirtualKernel:
        """The kernel model, made at first use (`info` and `set` need none); from then on it
        reads every report through its own reader."""
        if self._kernel is None:
            from .kernel import VirtualKernel   # start-up: not for info, list, set (~15 ms)

            self._kernel = VirtualKernel(self.model, self.clock)
        return self._kernel

    def _pump(self) -> None:
        if self._kernel is not None:
            self._kernel.pump()

    def plug(self, receiver: VirtualReceiver) -> None:
        """Another receiver is plugged in (after the model's unplug()): a fresh kernel state."""
        self.close()
        self.model, self._kernel = receiver, None

    @property
    def direct(self) -> bool:
        return getattr(self.model, "direct", False)

    @property
    def _node(self) -> str:
        """The hidraw node of the receiver, or of a mouse without one: virtual:c52b, virtual:b023."""
        return f"virtual:{self.model.product_id:04x}"

    def receivers(self, skipped: list[Skipped] | None = None) -> list[HidppNode]:
        if self.model.unplugged or self.direct:
            return []
        product = self.model.product_id
        node = self._node
        family = RECEIVERS.get(product)
        receiver = HidppNode(node=node, bus=3, vendor=LOGITECH, product=product,
                             name="Logitech USB Receiver (virtual)", phys="",
                             driver="hid-generic" if family and family.kernel is KernelDriver.GENERIC
                             else "logitech-djreceiver", sysfs="")
        if family is not None and family.buttons is ButtonPath.CHILD_HIDRAW:
            # hid-logitech-dj makes a child per device the non-DJ enumeration announced
            receiver.children = [
                HidppNode(node=f"{node}:{slot}", bus=3, vendor=LOGITECH, product=d.identity.wpid,
                          name="", phys="", driver="logitech-hidpp-device", sysfs="", slot=slot)
                for slot, d in sorted(self.model.devices.items())]
        elif family is not None and family.buttons is ButtonPath.RECEIVER_MOUSE_NODE:
            receiver.mouse_nodes = ("virtual:mouse",)
        return [receiver]

    def open_receiver(self, node: str) -> vt.VirtualTransport:
        # looked up at call time: tests count the reports written by replacing the class
        return vt.VirtualTransport(self.model, node=node, after_read=self._pump)

    def direct_devices(self) -> list[HidppNode]:
        """The mouse of a direct profile ("bluetooth"), as transport/direct.py finds one."""
        if self.model.unplugged or not self.direct:
            return []
        return [HidppNode(node=self._node, bus=BUS_BLUETOOTH, vendor=LOGITECH,
                          product=self.model.product_id, name=f"Logitech {BT_NAME} (virtual)", phys="",
                          driver="logitech-hidpp-device", sysfs="", slot=DIRECT_INDEX)]

    def open_direct(self, node: HidppNode) -> vt.VirtualTransport:
        return vt.VirtualTransport(self.model, node=node.node, after_read=self._pump)

    def listeners(self, node: str) -> tuple[str, ...]:
        return ()   # nobody else has the virtual receiver open

    def event_node(self, receiver_node: str, slot: int) -> str | None:   # direct: virtual:255
        return f"virtual:{slot}" if slot in self.model.devices else None   # kernel.py virtual_node

    def source(self, *, all_mice: bool = False, hidpp: bool = False) -> VirtualKernel:
        return self.nodes

    def x_session(self, timeout: float | None = None, display: str | None = None):
        """The session's X server, if any: the virtual mice are not in it, but what X holds
        (and how the tools cope with a silent or lost server) is the same."""
        from phantombutton.input.xinput import X_TIMEOUT, XSession   # start-up: not for info, list, set (~6 ms)

        return XSession(display, timeout=X_TIMEOUT if timeout is None else timeout)

    def close(self) -> None:
        if self._kernel is not None:
            self._kernel.shutdown()
