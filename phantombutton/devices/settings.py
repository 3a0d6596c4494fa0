"""Device settings: read, and write with read-modify-write of only the bit concerned, then
a read-back that must show the new value (evidence first: never report a write as done
without reading it back).

HID++ 1.0 (per the model table, only on models we know):
    side-scroll     register 0x01 bit 0x02 (on = tilt sends AC Pan; the power-on default)
    smooth-scroll   register 0x01 bit 0x40 (the kernel turns it on at connect; `off` needs
                    force on those models, see `refusal`)
    dpi             register 0x63 byte 0, 0x81..0x8F = 100..1500 (Performance MX)
HID++ 2.0 (by feature, devices/settings20.py): wheel-resolution, wheel-target, dpi,
    thumb-wheel, and diversions (REPROG_CONTROLS_V4 controls, thumb wheel, wheel target:
    read = what is diverted; set `reset` clears it - a stale one is a known stuck-button cause)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from phantombutton.models import DPI, SIDE_SCROLL, SMOOTH_SCROLL
from phantombutton.errors import PhantomError, UsageProblem
from phantombutton.hidpp import hidpp10
from phantombutton.hidpp.hidpp10 import MouseButtonFlag, Register
from phantombutton.numbers import ascii_int

DIVERSIONS = "diversions"
ON_WORDS = {"on": True, "true": True, "1": True, "yes": True, "off": False, "false": False, "0": False, "no": False}


class NotApplied(PhantomError):
    """The device did not keep what we wrote (read-back differs)."""


@dataclass(frozen=True)
class Setting:
    """A setting `get`/`set` know: how to read and write it on a device."""

    name: str
    description: str
    choices: tuple[str, ...]           # accepted values, as shown to users
    read: Callable[[object], str]
    write: Callable[[object, str], str]   # returns the value read back
    register: int | None = None           # HID++ 1.0 register the value lives in
    decode: Callable[[bytes], str] | None = None   # register value -> setting value
    validate: Callable[[object, str], str] | None = None   # (device, text) -> value, UsageProblem

    def parse(self, device, text: str) -> str:
        if self.validate is not None:
            return self.validate(device, text)
        value = text.strip().lower()
        if self.name == DPI:
            try:   # ASCII digits only: int() would read "٨٠٠" as 800
                dpi = ascii_int(value)
                hidpp10.dpi_to_code(dpi)
            except ValueError:
                raise UsageProblem(f"{text!r} is not a valid {self.name} for {device.label}; "
                                   f"valid: {', '.join(self.choices)}") from None
            return str(dpi)
        if value in ON_WORDS and set(self.choices) == {"on", "off"}:
            return "on" if ON_WORDS[value] else "off"
        if value not in self.choices:
            raise UsageProblem(f"{text!r} is not a valid value of {self.name}; valid: {', '.join(self.choices)}")
        return value


# --- register 0x01 bits ---------------------------------------------------------------


def _write_byte0(device, register: int, change: Callable[[int], int]) -> bytes:
    """Read-modify-write of `register`'s byte 0 (written only when `change` changes it; the
    other bytes stay as read); returns the value read back."""
    before = device.read_register(register)
    if (new0 := change(before[0])) != before[0]:
        device.write_register(register, bytes((new0,)) + before[1:3])
    return device.read_register(register)


def _bit_setting(name: str, bit: int, description: str) -> Setting:
    def decode(value: bytes) -> str:
        return "on" if value[0] & bit else "off"

    def read(device) -> str:
        return decode(device.read_register(Register.MOUSE_BUTTON_FLAGS))

    def write(device, value: str) -> str:
        # HID++ 1.0 replies carry no software id, and hid-logitech-hidpp.c hidpp10_set_register
        # read-modify-writes this register too (bit 0x40, at every connect): if its GET/SET
        # falls between ours, one of the two writes is lost. The read-back below checks only
        # our bit, so a lost kernel bit goes unnoticed; the daemon therefore writes only after
        # the kernel's connect set-up has settled (service/daemon.py settle delay).
        want = value == "on"   # only this bit changes, the other bits stay as read
        after = _write_byte0(device, Register.MOUSE_BUTTON_FLAGS,
                             lambda b: (b | bit) if want else (b & ~bit & 0xFF))
        if bool(after[0] & bit) != want:
            raise NotApplied(
                f"{device.label}: wrote {name} {value} but register 0x01 reads back {after.hex(' ')}; "
                f"the device or another program changed it")
        return decode(after)

    return Setting(name, description, ("on", "off"), read, write, Register.MOUSE_BUTTON_FLAGS, decode)


SIDE_SCROLL_SETTING = _bit_setting(
    SIDE_SCROLL, MouseButtonFlag.SIDE_SCROLL,
    "wheel tilt sends horizontal scroll (on, power-on default) or plain buttons (off); register 0x01 bit 0x02")
SMOOTH_SCROLL_SETTING = _bit_setting(
    SMOOTH_SCROLL, MouseButtonFlag.SMOOTH_SCROLL,
    "smooth (high resolution) scrolling; register 0x01 bit 0x40 (the kernel sets it at connect)")


# --- Performance MX DPI ---------------------------------------------------------------


def _read_dpi(device) -> str:
    return _decode_dpi(device.read_register(Register.MOUSE_DPI))


def _decode_dpi(value: bytes) -> str:
    code = value[0]
    try:
        return str(hidpp10.dpi_from_code(code))
    except ValueError:
        return f"code 0x{code:02X}"


def _write_dpi(device, value: str) -> str:
    code = hidpp10.dpi_to_code(int(value))
    after = _write_byte0(device, Register.MOUSE_DPI, lambda _: code)
    if after[0] != code:
        raise NotApplied(f"{device.label}: wrote dpi {value} but register 0x63 reads back {after.hex(' ')}")
    return str(hidpp10.dpi_from_code(after[0]))


DPI_SETTING = Setting(DPI, "sensor resolution, register 0x63 (0x81..0x8F = 100..1500 dpi)",
                      tuple(str(d) for d in range(100, 1600, 100)), _read_dpi, _write_dpi,
                      Register.MOUSE_DPI, _decode_dpi)


# --- HID++ 2.0 diversions (devices/settings20.py) --------------------------------------


def _settings20():
    from phantombutton.devices import settings20   # cycle: settings20.py imports this module (Setting)

    return settings20


def _read_diversions(device) -> str:
    return _settings20().read_diversions(device)


def _reset_diversions(device, value: str) -> str:
    return _settings20().reset_diversions(device, value)


DIVERSIONS_SETTING = Setting(
    DIVERSIONS, "controls, thumb wheel and wheel diverted to software (REPROG_CONTROLS_V4, "
                "THUMB_WHEEL, HIRES_WHEEL target); `reset` clears them",
    ("reset",), _read_diversions, _reset_diversions)

_HIDPP10 = {SIDE_SCROLL: SIDE_SCROLL_SETTING, SMOOTH_SCROLL: SMOOTH_SCROLL_SETTING, DPI: DPI_SETTING}


def settings_for(device) -> dict[str, Setting]:
    """The settings this device offers: by model for HID++ 1.0, by features for 2.0."""
    if device.hidpp10:
        return {name: _HIDPP10[name] for name in device.model.hidpp10_settings}
    # a 2.0 device's settings follow its feature table, which only an online device tells
    device.require_online()
    return _settings20().settings_for(device)


def read_all(device, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every setting's value (but `skip`), reading each HID++ 1.0 register once (side-scroll
    and smooth-scroll share register 0x01)."""
    values: dict[int, bytes] = {}
    out = {}
    for name, setting in settings_for(device).items():
        if name in skip:
            continue
        if setting.register is not None and setting.decode is not None:
            if setting.register not in values:
                values[setting.register] = device.read_register(setting.register)
            out[name] = setting.decode(values[setting.register])
        else:
            out[name] = setting.read(device)
    return out


def lookup(device, name: str) -> Setting:
    available = settings_for(device)
    key = name.strip().lower().replace("_", "-")
    if key not in available:
        valid = ", ".join(available) if available else "none (no known settings on this model)"
        raise UsageProblem(f"{device.label} has no setting {name!r}; valid: {valid}")
    return available[key]


def get(device, name: str) -> str:
    setting = lookup(device, name)
    device.require_online()
    return setting.read(device)


def refusal(device, setting: Setting, value: str) -> str | None:
    """Why writing `value` would hurt, or None. hid-logitech-hidpp.c hi_res_scroll_enable sets
    register 0x01 bit 0x40 at every connect of the HID++ 1.0 mice with
    HIDPP_QUIRK_HI_RES_SCROLL_1P0 (1017, 101A, 101B) and fixes their wheel_multiplier at 8:
    hidpp_scroll_counter_handle_scroll takes each wheel unit as 1/8 of a detent. With the bit
    cleared behind it, the mouse sends one unit per detent, so the wheel is 8x slow until
    the next reconnect, which sets the bit again anyway."""
    if not device.hidpp10:
        return _settings20().refusal(device, setting.name, value)
    if setting.name == SMOOTH_SCROLL and value == "off" and device.model.kernel_sets_smooth_scroll:
        return (f"smooth-scroll off makes the wheel of {device.label} 8x slow until it reconnects: "
                "the kernel turns smooth scroll on at every connect and divides each wheel step by 8; "
                "add --force to write it anyway")
    return None


def put(device, name: str, value: str, *, force: bool = False) -> str:
    """Write a setting; returns the value read back afterwards (NotApplied if it differs).
    A value with a `refusal` is a UsageProblem unless `force`."""
    setting = lookup(device, name)
    parsed = setting.parse(device, value)
    why = None if force else refusal(device, setting, parsed)
    if why:
        raise UsageProblem(why)
    device.require_online()
    return setting.write(device, parsed)
