"""Read a HID++ 2.0 mouse's buttons from the mouse (REPROG_CONTROLS_V4 getCount + getCidInfo),
keyed by WPID and main firmware, through the cache of phantombutton/buttoncache.py.

Requests: with a cache hit, only the firmware version (DEVICE_FW_VERSION: getFeature, count,
one read per entity); on a miss or with `refresh`, also getFeature(0x1B04), getCount, one
getCidInfo per control (8 on an MX Master 3S) and the name (DEVICE_NAME, 3 requests).
No getCidReporting: which buttons exist does not depend on diversions.
"""

from __future__ import annotations

import time

from phantombutton import buttoncache
from phantombutton.buttoncache import ButtonMap, LearnedControl
from phantombutton.hidpp.errors import Hidpp20Error
from phantombutton.hidpp.hidpp20 import FeatureId
from phantombutton.outfile import OutputError

def read_map(device, firmware: str) -> ButtonMap:
    controls = tuple(LearnedControl(c.cid, c.task, c.flags, c.flags2) for c in device.control_infos())
    # DEVICE_NAME: the pairing's short name is unknown where only (receiver, slot) is (watch)
    return ButtonMap(device.wpid, firmware, device.full_name() or device.short_name, controls, time.time())


def button_map(device, *, refresh: bool = False, notes: list[str] | None = None) -> ButtonMap | None:
    """The mouse's map (cached unless `refresh`); None for a HID++ 1.0, offline or
    REPROG_CONTROLS_V4-less device. A cache that cannot be written is a note, not a failure."""
    if not device.online or device.hidpp10:
        return None
    if device.feature_index(FeatureId.REPROG_CONTROLS_V4) is None:
        return None
    notes = [] if notes is None else notes   # without a caller's list the notes go nowhere
    firmware = device.firmware().get("firmware", "")
    if not refresh:
        cached = buttoncache.load(device.wpid, firmware, notes=notes)
        if cached is not None:
            return cached
    try:
        bmap = read_map(device, firmware)
    except Hidpp20Error as e:
        notes.append(f"{device.label}: cannot read its controls ({e})")
        return None
    try:
        buttoncache.save(bmap)
    except OutputError as e:
        notes.append(f"button cache not written: {e}")
    return bmap
