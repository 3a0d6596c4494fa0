"""Event type/code names for the comments of a capture, and libinput's keycode hiding.

Only what a mouse capture needs; anything else prints as a number (comments are for humans,
the numbers are the data).
"""

from __future__ import annotations

from phantombutton.buttons import BTN_MOUSE_FIRST, BTN_MOUSE_LAST, HID_BUTTON_PAGE, Btn, evdev_name
from phantombutton.hidpp.dj import DjReportType
from phantombutton.hidpp.frames import DJ_REPORT_IDS
from phantombutton.input.evdev_node import EV_ABS, EV_KEY, EV_MSC, EV_REL, EV_SYN, SYN_REPORT  # noqa: F401 (re-exported)

MSC_SCAN = 4

TYPE_NAMES = {0: "EV_SYN", 1: "EV_KEY", 2: "EV_REL", 3: "EV_ABS", 4: "EV_MSC", 5: "EV_SW",
              0x11: "EV_LED", 0x12: "EV_SND", 0x14: "EV_REP", 0x15: "EV_FF"}
_CODE_NAMES = {
    EV_SYN: {0: "SYN_REPORT", 1: "SYN_CONFIG", 2: "SYN_MT_REPORT", 3: "SYN_DROPPED"},
    EV_REL: {0: "REL_X", 1: "REL_Y", 2: "REL_Z", 6: "REL_HWHEEL", 7: "REL_DIAL", 8: "REL_WHEEL",
             9: "REL_MISC", 11: "REL_WHEEL_HI_RES", 12: "REL_HWHEEL_HI_RES"},
    EV_ABS: {0: "ABS_X", 1: "ABS_Y"},
    EV_MSC: {0: "MSC_SERIAL", 4: "MSC_SCAN", 5: "MSC_TIMESTAMP"},
    EV_KEY: {**{int(b): str(evdev_name(b)) for b in Btn},
             1: "KEY_ESC", 15: "KEY_TAB", 28: "KEY_ENTER", 29: "KEY_LEFTCTRL", 30: "KEY_A"},
}

# libinput record's obfuscation (tools/libinput-record.c): most keys of the main block and
# the keypad become KEY_A unless --show-keycodes.
KEY_ESC, KEY_TAB, KEY_ENTER, KEY_LEFTCTRL, KEY_A, KEY_CAPSLOCK = 1, 15, 28, 29, 30, 58
KEY_KP7, KEY_KPDOT = 71, 83
KEYBOARD_REPORT_ID = 0x01   # a keyboard child's input report (hid-logitech-dj kbd_descriptor)


def code_name(type_: int, code: int) -> str:
    name = _CODE_NAMES.get(type_, {}).get(code)
    if name:
        return name
    if type_ == EV_KEY and BTN_MOUSE_FIRST <= code <= BTN_MOUSE_LAST:
        return f"BTN_0x{code:03X}"   # HID buttons 9..16 have no kernel name; 0x11F = X button 20
    return f"{code}"


def hide_key(type_: int, code: int, value: int) -> tuple[int, int, bool]:
    """(code, value, hidden?) after libinput's keycode hiding. MSC_SCAN of mouse buttons (HID
    Button page, 0x9xxxx) is kept: it reveals nothing typed and is the phantom's evidence."""
    if type_ == EV_KEY:
        if code in (KEY_ESC, KEY_TAB, KEY_ENTER, KEY_LEFTCTRL):
            return code, value, False
        if KEY_ESC < code < KEY_CAPSLOCK or KEY_KP7 <= code <= KEY_KPDOT:
            return KEY_A, value, True
    elif type_ == EV_MSC and code == MSC_SCAN and (value >> 16) != HID_BUTTON_PAGE:
        return code, 30, True
    return code, value, False


def hide_hid_report(data: bytes) -> tuple[bytes, bool]:
    """Zero the key bytes of keyboard reports a receiver carries (DJ report type 0x01, or a
    report with id 0x01 on a keyboard child). HID++ and mouse reports are kept."""
    if len(data) > 3 and data[0] in DJ_REPORT_IDS and data[2] == DjReportType.KEYBOARD:
        return data[:3] + bytes(len(data) - 3), True
    if len(data) > 1 and data[0] == KEYBOARD_REPORT_ID:
        return data[:1] + bytes(len(data) - 1), True
    return data, False
