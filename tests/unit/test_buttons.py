"""One button, every name: HID button n, evdev code, X button, MSC_SCAN, label."""

from __future__ import annotations

import pytest

from phantombutton import buttons as B


@pytest.mark.parametrize("n", range(1, B.HID_BUTTONS + 1))
def test_every_name_of_each_dj_button_agrees(n):
    code = B.hid_button_to_evdev(n)
    assert B.is_mouse_button(code) and B.hid_button_for(code) == n
    assert B.hid_button_scancode(code) == 0x90000 | n          # MSC_SCAN: Button page, usage n
    assert B.code_for_x_button(B.x_button_for(code)) == code
    assert B.buttons_of(1 << (n - 1)) == (n,)


def test_the_phantom_and_the_named_buttons():
    code = B.hid_button_to_evdev(B.PHANTOM_HID_BUTTON)
    assert (code, B.x_button_for(code), B.hid_button_scancode(code)) == (0x11F, 20, 0x90010)
    assert B.describe_button(0x11F) == "0x11F (X button 20, HID button 16)"
    assert B.describe_button(0x110) == "BTN_LEFT 0x110 (X button 1, HID button 1)"
    assert B.describe_button(0x2FF) == "0x2FF (X button 500)"
    assert [B.evdev_name(c) for c in (0x113, 0x118)] == ["BTN_SIDE", None]
    assert [B.label(c) for c in (0x110, 0x113, 0x11F)] == ["left", "back (side)", "0x11F"]


def test_codes_outside_the_dj_mouse():
    assert not B.is_mouse_button(0x10F) and not B.is_mouse_button(0x120)
    assert B.hid_button_for(0x120) is None and B.x_button_for(0x10F) is None
    assert B.code_for_x_button(5) is None
    with pytest.raises(ValueError):
        B.hid_button_to_evdev(0)
