"""Evdev events of one node -> detect/events.py observations, one SYN frame at a time.

The one conversion used by the live evdev source, the capture reader and so replay: what
`watch` sees live is what `analyze` and `watch --replay` see in a capture of it. It is the
job of libinput's `frames()` (tools/libinput-replay.py): events up to an EV_SYN are a frame.

- every EV_KEY is a KeyEvent (the rules keep mouse buttons: `buttons.is_mouse_button`);
- a frame with EV_REL/EV_ABS is one Motion at its time, flagged `wheel` when it holds a wheel
  code (REL_WHEEL, REL_HWHEEL and their _HI_RES twins), `hwheel` for a horizontal one, and
  `pointer` for any other axis;
- a frame with vertical wheel is also a WheelFrame (REL_WHEEL_HI_RES and REL_WHEEL summed).
"""

from __future__ import annotations

from collections.abc import Iterable

from phantombutton.detect.events import KeyEvent, Motion, Observation, WheelFrame
from phantombutton.input.evdev_node import EV_ABS, EV_KEY, EV_REL, EV_SYN

SYN_DROPPED = 3
REL_HWHEEL, REL_WHEEL, REL_WHEEL_HI_RES, REL_HWHEEL_HI_RES = 0x06, 0x08, 0x0B, 0x0C
_WHEEL_CODES = frozenset((REL_HWHEEL, REL_WHEEL, REL_WHEEL_HI_RES, REL_HWHEEL_HI_RES))

Event = tuple[float, int, int, int]   # (time, type, code, value)


def frames_to_observations(node: str, events: Iterable[Event]) -> tuple[list[Observation], bool]:
    """Events of `node` -> observations; True if a SYN_DROPPED was among them.
    A last frame without its EV_SYN (a capture cut short) still gives its Motion."""
    out: list[Observation] = []
    moved = None          # time of the frame's last motion event
    wheel = pointer = hwheel = False
    hi = low = 0          # REL_WHEEL_HI_RES, REL_WHEEL of the frame
    dropped = False
    for t, typ, code, value in events:
        if typ == EV_REL or typ == EV_ABS:
            moved = t
            if typ == EV_REL and code in _WHEEL_CODES:
                wheel = True
                hwheel = hwheel or code in (REL_HWHEEL, REL_HWHEEL_HI_RES)
                if code == REL_WHEEL_HI_RES:
                    hi += value
                elif code == REL_WHEEL:
                    low += value
            else:
                pointer = True
        elif typ == EV_KEY:
            out.append(KeyEvent(t, node, code, value))
        elif typ == EV_SYN:
            if code == SYN_DROPPED:
                dropped = True
            if moved is not None:
                out.append(Motion(moved, node, wheel, pointer, hwheel))
                if hi or low:
                    out.append(WheelFrame(moved, node, hi, low))
                moved, wheel, pointer, hwheel, hi, low = None, False, False, False, 0, 0
    if moved is not None:
        out.append(Motion(moved, node, wheel, pointer, hwheel))
    return out, dropped
