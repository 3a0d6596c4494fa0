"""One mouse button under all its names: HID button n, evdev code, X button, MSC_SCAN, label.

Below every layer (no imports from phantombutton): the protocol, input, detection, recovery
and service layers all ask "which button is this?" and must answer alike.

- HID button n (1..16): hid-logitech-dj.c mse_descriptor declares 16 buttons (Usage Page
  Button, usages 1..16), bit n-1 of a DJ mouse report.
- evdev code: hid-input.c hidinput_configure_usage maps Button usage n of a mouse to
  BTN_MOUSE + n - 1, so HID 1..16 are 0x110..0x11F; 0x118..0x11F have no name in
  linux/input-event-codes.h.
- MSC_SCAN: hid-input reports the usage itself before the key, page 0x09 << 16 | n.
- X button: xf86-input-evdev and xf86-input-libinput agree: LEFT 1, MIDDLE 2, RIGHT 3, and
  every other BTN_* code is 8 + code - BTN_SIDE (4..7 are scroll emulation, never held).

The phantom is HID button 16 = evdev 0x11F = X button 20 = MSC_SCAN 0x90010.
"""

from __future__ import annotations

from enum import IntEnum


class Btn(IntEnum):
    """evdev codes of the named mouse buttons (linux/input-event-codes.h)."""

    LEFT = 0x110
    RIGHT = 0x111
    MIDDLE = 0x112
    SIDE = 0x113
    EXTRA = 0x114
    FORWARD = 0x115
    BACK = 0x116
    TASK = 0x117


HID_BUTTONS = 16                 # buttons of hid-logitech-dj's DJ mouse report
PHANTOM_HID_BUTTON = 16          # evdev 0x11F, X button 20: no Logitech mouse here has it
BTN_MOUSE_FIRST = int(Btn.LEFT)  # HID button 1
BTN_MOUSE_LAST = BTN_MOUSE_FIRST + HID_BUTTONS - 1   # 0x11F, HID button 16
HID_BUTTON_PAGE = 0x09
KEY_MAX = 0x2FF                  # linux/input-event-codes.h; the last code X maps a button to

# What `info` calls the buttons a mouse has (HID 1..5 are what Logitech prints on the box).
LABELS: dict[int, str] = {
    Btn.LEFT: "left", Btn.RIGHT: "right", Btn.MIDDLE: "middle", Btn.SIDE: "back (side)",
    Btn.EXTRA: "forward (extra)", Btn.FORWARD: "BTN_FORWARD", Btn.BACK: "BTN_BACK", Btn.TASK: "BTN_TASK",
}


def is_mouse_button(code: int) -> bool:
    """One of the 16 codes a DJ mouse can report (0x110..0x11F)."""
    return BTN_MOUSE_FIRST <= code <= BTN_MOUSE_LAST


def hid_button_to_evdev(n: int) -> int:
    """HID button n (1..16) -> evdev code (BTN_MOUSE + n - 1)."""
    if not 1 <= n <= HID_BUTTONS:
        raise ValueError(f"HID button {n} out of 1..{HID_BUTTONS}")
    return BTN_MOUSE_FIRST + n - 1


def hid_button_for(code: int) -> int | None:
    """HID button number (1..16) behind an evdev code, None for other codes."""
    return code - BTN_MOUSE_FIRST + 1 if is_mouse_button(code) else None


def hid_button_scancode(code: int) -> int:
    """MSC_SCAN value (HID usage, Button page) of a DJ mouse's evdev code: 0x11F -> 0x90010."""
    return HID_BUTTON_PAGE << 16 | (code - BTN_MOUSE_FIRST + 1)


_X_BUTTONS = {int(Btn.LEFT): 1, int(Btn.MIDDLE): 2, int(Btn.RIGHT): 3}
_X_CODES = {x: code for code, x in _X_BUTTONS.items()}


def x_button_for(code: int) -> int | None:
    """X button number of an evdev code, None for codes X does not map to a button."""
    if code in _X_BUTTONS:
        return _X_BUTTONS[code]
    return 8 + code - Btn.SIDE if Btn.SIDE <= code <= KEY_MAX else None


def code_for_x_button(button: int) -> int | None:
    """Inverse of x_button_for; None for 4..7 (scroll) and out-of-range numbers."""
    if button in _X_CODES:
        return _X_CODES[button]
    return Btn.SIDE + button - 8 if button >= 8 else None


def buttons_of(mask: int) -> tuple[int, ...]:
    """HID button numbers (1-based) set in a 16-bit button mask."""
    return tuple(n for n in range(1, HID_BUTTONS + 1) if mask >> (n - 1) & 1)


def evdev_name(code: int) -> str | None:
    """BTN_LEFT .. BTN_TASK; None for codes without a name (HID buttons 9..16)."""
    try:
        return f"BTN_{Btn(code).name}"
    except ValueError:
        return None


def short_name(code: int) -> str:
    """BTN_MIDDLE, or the code in hex where the kernel has no name (0x11F)."""
    return evdev_name(code) or f"0x{code:03X}"


def label(code: int) -> str:
    """What `info` calls a button: "left", "back (side)", else the code in hex."""
    return LABELS.get(code, f"0x{code:X}")


def describe_button(code: int) -> str:
    """`BTN_LEFT 0x110 (X button 1, HID button 1)` or `0x11F (X button 20, HID button 16)`:
    every name a maintainer may search for."""
    xb, hb, name = x_button_for(code), hid_button_for(code), evdev_name(code)
    parts = ([f"X button {xb}"] if xb is not None else []) + ([f"HID button {hb}"] if hb is not None else [])
    head = f"{name} 0x{code:03X}" if name else f"0x{code:03X}"
    return f"{head} ({', '.join(parts)})" if parts else head
