"""evdev button codes and the X button numbers both X input drivers give them.

xf86-input-libinput and xf86-input-evdev agree: LEFT 1, MIDDLE 2, RIGHT 3, and every other
BTN_* code is 8 + code - BTN_SIDE (4..7 are scroll emulation and never held). So the
phantom 0x11F (HID button 16) is X button 20.
"""

from __future__ import annotations

from phantombutton.hidpp import dj
from phantombutton.hidpp.dj import Btn

# defined once, with the kernel's other evdev constants (0x110..0x11F; 0x11F is the phantom)
from phantombutton.input.evdev_node import KEY_MAX, is_mouse_button


def x_button_for(code: int) -> int | None:
    """X button number of an evdev code (hidpp/dj.py's mapping, which the daemon and `info`
    use too), None for codes X does not map to a button."""
    return dj.evdev_to_x_button(code) if Btn.LEFT <= code <= KEY_MAX else None


_FIXED_BACK = {x_button_for(c): int(c) for c in (Btn.LEFT, Btn.MIDDLE, Btn.RIGHT)}


def code_for_x_button(button: int) -> int | None:
    """Inverse of x_button_for; None for 4..7 (scroll) and out-of-range numbers."""
    if button in _FIXED_BACK:
        return _FIXED_BACK[button]
    if button >= 8:
        return Btn.SIDE + button - 8
    return None


def hid_button_for(code: int) -> int | None:
    """HID button number (1..16) the DJ driver maps to this code: n -> 0x10F + n."""
    return code - 0x10F if is_mouse_button(code) else None


def code_name(code: int) -> str:
    try:
        return f"BTN_{Btn(code).name}"
    except ValueError:
        return f"0x{code:03X}"


def describe_button(code: int) -> str:
    """`0x11F (X button 20, HID button 16)`: every name a maintainer may search for."""
    parts = []
    xb = x_button_for(code)
    if xb is not None:
        parts.append(f"X button {xb}")
    hb = hid_button_for(code)
    if hb is not None:
        parts.append(f"HID button {hb}")
    name = code_name(code)
    if not name.startswith("0x"):
        name = f"{name} 0x{code:03X}"
    return f"{name} ({', '.join(parts)})" if parts else name
