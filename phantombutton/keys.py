"""Keyboard keys as this tool names them: modifiers by name, any other key hidden.

Below every layer, like buttons.py: the detection rules, the input layer and the CLI must
agree on which held key is a modifier and how a key may be shown. Codes are
linux/input-event-codes.h.
"""

from __future__ import annotations

KEY_A = 30

# Modifiers first: a held modifier turns every click and scroll into a shortcut.
MODIFIERS = {29: "KEY_LEFTCTRL", 97: "KEY_RIGHTCTRL", 42: "KEY_LEFTSHIFT", 54: "KEY_RIGHTSHIFT",
             56: "KEY_LEFTALT", 100: "KEY_RIGHTALT", 125: "KEY_LEFTMETA", 126: "KEY_RIGHTMETA"}


def is_modifier(code: int) -> bool:
    return code in MODIFIERS


def is_keyboard_key(code: int) -> bool:
    """Keyboard keys (KEY_ESC..KEY_MICMUTE and the 0x160+ range), not mouse/joystick buttons."""
    return 1 <= code < 0x100 or 0x160 <= code < 0x2FF


def key_label(code: int, show_keycodes: bool = False) -> str:
    """Modifiers by name; any other key only with `show_keycodes` (what was typed stays out)."""
    if code in MODIFIERS:
        return MODIFIERS[code]
    return f"key {code}" if show_keycodes else "a key (code hidden; --show-keycodes shows it)"
