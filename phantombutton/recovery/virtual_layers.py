"""The chain's I/O for `--virtual`: the VirtualKernel model stands for the event node.

There is no X server behind virtual nodes, so only kernel-side steps (1 write, 3 mute)
apply; the others report that they cannot act.
"""

from __future__ import annotations

from phantombutton.errors import PhantomError
from phantombutton.input.evdev_node import KEY_RESERVED
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
        self._map(t, True)
        return f"muted 0x{t.code:03X} on {t.node}"

    def unmute(self, t: Target) -> str:
        self._map(t, False)
        return f"0x{t.code:03X} on {t.node} maps to itself again"

    def _map(self, t: Target, mute: bool) -> None:
        """Mute or unmute in the kernel model, checked by reading its keymap back."""
        slot = self._slot(t)
        self.source.mute(slot, t.code, mute)
        want = KEY_RESERVED if mute else t.code
        back = KEY_RESERVED if t.code in self.source.kernel.muted.get(slot, ()) else t.code
        if back != want:
            raise PhantomError(f"{t.node}: set 0x{t.code:03X} to 0x{want:03X} but it reads back "
                               f"0x{back:03X}")

    def orphan_release(self, t: Target) -> str:
        raise PhantomError("no X server behind the virtual receiver")
