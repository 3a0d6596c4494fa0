"""The models table: which buttons exist, so later code can rule the phantom out."""

from __future__ import annotations

import pytest

from phantombutton import models
from phantombutton.models import BTN_PHANTOM, model_for
from phantombutton import buttons


@pytest.mark.parametrize("wpid,name,hidpp10", [
    (0x101B, "M705", True), (0x406D, "M705", False), (0x101A, "Performance MX", True),
    (0x1017, "Anywhere MX", True), (0x4082, "MX Master 3", False),
])
def test_known_models(wpid, name, hidpp10):
    m = model_for(wpid)
    assert (m.name, m.wpid, m.hidpp10, m.known) == (name, wpid, hidpp10, True)
    assert m.has_button(models.BTN_LEFT) and m.has_button(models.BTN_EXTRA)
    # the phantom: HID button 16 = evdev 0x11F = X button 20 exists on none of them
    assert BTN_PHANTOM == buttons.hid_button_to_evdev(buttons.PHANTOM_HID_BUTTON)
    assert buttons.x_button_for(BTN_PHANTOM) == 20
    assert not m.has_button(BTN_PHANTOM)


def test_m705_101b_settings_and_kernel_quirk():
    m = model_for(0x101B)
    assert m.hidpp10_settings == ("side-scroll", "smooth-scroll")
    assert m.kernel_sets_smooth_scroll
    assert model_for(0x101A).hidpp10_settings == ("side-scroll", "smooth-scroll", "dpi")
    assert model_for(0x4082).hidpp10_settings == ()


def test_406d_controls_match_the_real_dump():
    from pathlib import Path

    dump = (Path(__file__).resolve().parents[1] / "data" / "solaar-device-docs" / "Marathon-Mouse-M705-406D.txt").read_text()
    for control in model_for(0x406D).controls:
        assert f": {control}" in dump


def test_unknown_wpid_gets_generic_model_without_settings():
    m = model_for(0x1234, hidpp10=True)
    assert not m.known and m.wpid == 0x1234 and m.hidpp10 and m.hidpp10_settings == ()
    assert m.has_button(models.BTN_TASK) and not m.has_button(BTN_PHANTOM)
    assert model_for(None) is models.GENERIC
