"""get/set of HID++ 2.0 settings on the virtual MX Master 3S: HIRES_WHEEL, ADJUSTABLE_DPI,
THUMB_WHEEL, diversions; read-modify-write with read-back, refusals, the dpi list parser."""

from __future__ import annotations

import pytest

from phantombutton.cli.main import main
from phantombutton.hidpp import hidpp20


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_dpi_list_with_a_step_range():
    params = bytes([0, 0x00, 0xC8, 0xE0, 0x32, 0x1F, 0x40, 0, 0])  # 200, step 50, 8000, end
    values = hidpp20.parse_dpi_list(params)
    assert values[:3] == (200, 250, 300) and values[-1] == 8000 and len(values) == 157
    assert hidpp20.parse_dpi_list(bytes([0, 0x01, 0x90, 0x03, 0x20, 0, 0])) == (400, 800)


def test_dpi_round_trip_reads_back(capsys):
    assert run(capsys, "--virtual", "--profile", "mx-master-3s", "get", "1", "dpi") == (0, "dpi: 1000\n", "")
    code, out, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "set", "1", "dpi", "1600")
    assert (code, err) == (0, "") and out == "dpi: 1600 (read back from MX Master 3S (slot 1, WPID B034))\n"


@pytest.mark.parametrize("value", ["1610", "9000", "abc", "٨٠٠"])
def test_dpi_outside_the_sensor_list_is_usage(capsys, value):
    code, out, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "set", "1", "dpi", value)
    assert code == 2 and out == "" and "valid: 200..8000 in steps of 50" in err and err.count("\n") == 1


def test_wheel_resolution_low_needs_force_and_says_the_kernel_resets_it(capsys):
    code, _, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "set", "1", "wheel-resolution", "low")
    assert code == 2 and "--force" in err and "every connect" in err
    code, out, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "set", "1", "wheel-resolution",
                         "low", "--force")
    assert code == 0 and out.startswith("wheel-resolution: low (read back")
    assert "writes the wheel mode at every connect" in err


def test_wheel_target_and_thumb_wheel_hidpp_need_force(capsys):
    for name in ("wheel-target", "thumb-wheel"):
        code, _, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "set", "1", name, "hidpp")
        assert code == 2 and "dead for every program but one reading HID++" in err
    code, out, _ = run(capsys, "--virtual", "--profile", "mx-master-3s", "set", "1", "thumb-wheel", "hid")
    assert (code, out.split(" (")[0]) == (0, "thumb-wheel: hid")


def _device(profile: str):
    from phantombutton.devices.device import Device
    from phantombutton.devices.receiver import Receiver
    from phantombutton.transport.engine import Engine
    from phantombutton.transport.virtual import VirtualTransport
    from phantombutton.virtual.receiver import VirtualReceiver

    rx = VirtualReceiver(profile)
    receiver = Receiver(Engine(VirtualTransport(rx)), "virtual:c52b")
    return rx, Device(receiver, receiver.pairing(1))


def test_diversions_list_and_reset_cover_controls_raw_xy_thumb_wheel_and_wheel_target():
    from phantombutton.devices import settings

    rx, dev = _device("mx-master-3s")
    mouse = rx.devices[1]
    gesture = next(c for c in mouse.controls if c.cid == 0x00C3)
    gesture.reporting = 0x01 | 0x10          # diverted with raw XY (what a gesture remapper sets)
    mouse.thumb = [1, 1]                     # thumb wheel diverted, inverted (the user's choice)
    mouse.wheel_mode |= 0x01                 # wheel to HID++
    assert settings.get(dev, "diversions") == (
        "Mouse Gesture Button (diverted, raw XY), thumb wheel (diverted), wheel (HID++ target)")
    assert settings.put(dev, "diversions", "reset") == "none"
    assert gesture.reporting == 0 and mouse.thumb == [0, 1] and not mouse.wheel_mode & 0x01


def test_raw_xy_on_a_control_without_it_is_refused_by_the_mouse():
    rx, dev = _device("mx-master-3s")
    from phantombutton.hidpp.errors import Hidpp20Error

    with pytest.raises(Hidpp20Error):   # Left Button: not divertable, no raw XY
        dev.call(hidpp20.FeatureId.REPROG_CONTROLS_V4, 3, bytes([0x00, 0x50, 0x30, 0, 0]))


def test_stale_profile_lists_the_middle_button(capsys):
    code, out, _ = run(capsys, "--virtual", "--profile", "stale-diversion", "get", "1", "diversions")
    assert (code, out) == (0, "diversions: Middle Button (diverted)\n")


def test_reset_clears_only_the_flags_that_are_set_persistent_and_forced_raw_xy_included():
    # persistently diverted with forced raw XY: clear both (state bit 0 + its valid bit), nothing else
    params = hidpp20.reset_reporting_params(0x00C3, 0x04 | 0x40)
    assert params == bytes([0x00, 0xC3, 0x08 | 0x80, 0, 0])
    assert hidpp20.reporting_names(0x04 | 0x40) == ["persistently diverted", "forced raw XY"]
    assert hidpp20.reset_reporting_params(0x0052, 0x01 | 0x10) == bytes([0x00, 0x52, 0x02 | 0x20, 0, 0])


def test_a_persistent_diversion_survives_a_power_cycle_and_reset_clears_it():
    from phantombutton.devices import settings

    rx, dev = _device("mx-master-3s")
    mouse = rx.devices[1]
    back = next(c for c in mouse.controls if c.cid == 0x0053)
    back.flags |= 0x40                       # as on mice whose Back button is persistently divertable
    mouse.spec.controls[3].flags |= 0x40
    dev.call(hidpp20.FeatureId.REPROG_CONTROLS_V4, 3, bytes([0x00, 0x53, 0x0C, 0, 0]))
    mouse.power_on()                         # switched off and on: the persistent divert stays
    assert settings.get(dev, "diversions") == "Back Button (persistently diverted)"
    assert settings.put(dev, "diversions", "reset") == "none"
