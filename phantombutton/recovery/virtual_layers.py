"""The chain's I/O for `--virtual`: the VirtualKernel model stands for the event node.

There is no X server behind virtual nodes, so only kernel-side steps (1 write, 3 mute)
apply; the others report that they cannot act.
"""

from __future__ import annotations

from phantombutton.errors import PhantomError
from phantombutton.input.virtual_source import VirtualSource, slot_of
from phantombutton.recovery.chain import Snapshot, Target


class VirtualLayers:
    def __init__(self, source: VirtualSource):
        self.source = source

    def _slot(self, t: Target) -> int:
        slot = slot_of(t.node or "")
        if slot is None:
            raise PhantomError(f"{t.node} is not a virtual node")
        return slot

    def snapshot(self, t: Target) -> Snapshot:
        slot = slot_of(t.node or "")
        kernel = None if slot is None or t.code is None else t.code in self.source.kernel.held(slot)
        return Snapshot(kernel, None, None)

    def write_release(self, t: Target) -> str:
        self.source.inject_key(self._slot(t), t.code, 0)
        return f"wrote EV_KEY 0x{t.code:03X} 0 + SYN_REPORT to {t.node}"

    def xtest_release(self, device_id: int, button: int) -> str:
        raise PhantomError("no X server behind the virtual receiver")

    def mute(self, t: Target) -> str:
        self.source.mute(self._slot(t), t.code)
        return f"muted 0x{t.code:03X} on {t.node}"

    def orphan_release(self, t: Target) -> str:
        raise PhantomError("no X server behind the virtual receiver")
