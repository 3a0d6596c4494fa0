"""The paired mice behind a receiver's shared mouse node (detect/shared.py), read once per
receiver from its pairing registers (devices/pairing.py: Bolt's 0xB5 0x5n/0x6n), for the
Detector of `watch` and `status`. A HID++ 2.0 mouse missing from the model table has its
buttons read from REPROG_CONTROLS_V4 (devices/buttons20.py, cached per WPID and firmware), so
"a button no paired mouse has" can be decided at once."""

from __future__ import annotations

import contextlib

from phantombutton import models
from phantombutton.detect.events import DeviceInfo
from phantombutton.detect.shared import Candidate, Paired, SharedNodes, is_shared
from phantombutton.devices.buttons20 import button_map
from phantombutton.devices.receiver import Receiver
from phantombutton.errors import PhantomError
from phantombutton.hidpp.errors import HidppError
from phantombutton.transport.engine import Engine


def paired_reader(platform) -> Paired:
    """receiver hidraw node -> its paired mice (None when it cannot be read: unknown node,
    no permission, the receiver gone or silent). Reads only the paired slots' records."""
    def paired(node: str) -> list[Candidate] | None:
        try:
            found = [r for r in platform.receivers() if r.node == node]
            if not found:
                return None
            transport = platform.open_receiver(node)
        except (PhantomError, OSError):
            return None
        # the child nodes tell the occupied slots: an empty slot's pairing read makes
        # hid-logitech-dj re-enumerate (devices/receiver.py)
        children = {c.slot: c.node for c in found[0].children if c.slot is not None}
        receiver = Receiver(Engine(transport), node, found[0].product, children)
        try:
            out = [Candidate(p.slot, p.wpid, p.name or p.short_name) for p in receiver.pairings()]
            for device in receiver.devices():
                # an unknown HID++ 2.0 mouse's buttons, read and cached; an offline or HID++ 1.0
                # mouse, or one that does not answer, stays unknown (nothing is ruled out for it)
                if not models.model_for(device.wpid).known:
                    with contextlib.suppress(PhantomError, HidppError, OSError):
                        button_map(device)
            return out
        except (PhantomError, HidppError, OSError):
            return None
        finally:
            with contextlib.suppress(Exception):
                transport.close()

    return paired


def mouse_has_button(platform, info: DeviceInfo, code: int) -> bool | None:
    """Can the mouse behind event node `info` press evdev `code`? The Detector's answer, so
    `mute` refuses exactly the buttons detection calls real: on a receiver's shared mouse node,
    True if any paired mouse has it (detect/shared.py `SharedNodes.has_button`); elsewhere the
    mouse's model, an unknown HID++ 2.0 mouse's buttons read (and cached) from its receiver
    first. None: nothing can be ruled out."""
    if is_shared(info):
        return SharedNodes(paired_reader(platform)).has_button(info.receiver_node or "", code, models.model_for)
    if models.has_button(info.product, code) is None and info.receiver_node:
        paired_reader(platform)(info.receiver_node)   # learns its paired mice's buttons
    return models.has_button(info.product, code)
