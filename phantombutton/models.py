"""The models we know: physical buttons (evdev codes), protocol and settings, per WPID.

Lets later code say "this model has no button 16": the phantom is HID button 16 = evdev
0x11F (BTN_MOUSE + 15) = X button 20, and none of these mice has a 16th button.

Sources: the `solaar show` dumps and register probes of Solaar's docs/devices, kept in
tests/data/solaar-device-docs/ (feature tables, REPROG_CONTROLS_V4 control lists), and
docs/hidpp.md. Wheel tilt is reported as AC Pan (REL_HWHEEL)
while register 0x01 bit 0x02 ("side-scroll", special button function) is on, the power-on
default of the HID++ 1.0 mice; with it off the tilt sends plain HID buttons. Which button
numbers it then uses is not in our dumps: `tilt_codes` lists HID buttons 6/7
(BTN_FORWARD 0x115 / BTN_BACK 0x116) as the likely pair, not verified.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from phantombutton.buttons import PHANTOM_HID_BUTTON, Btn, hid_button_to_evdev

BTN_LEFT = int(Btn.LEFT)
BTN_EXTRA = int(Btn.EXTRA)      # HID button 5, "forward"
BTN_TASK = int(Btn.TASK)        # HID button 8
BTN_PHANTOM = hid_button_to_evdev(PHANTOM_HID_BUTTON)   # 0x11F, HID button 16 = X button 20

FIVE_BUTTONS = frozenset(range(BTN_LEFT, BTN_EXTRA + 1))   # HID buttons 1..5: left .. forward

SIDE_SCROLL = "side-scroll"
SMOOTH_SCROLL = "smooth-scroll"
DPI = "dpi"


@dataclass(frozen=True)
class Model:
    """One mouse model: its buttons, protocol and the settings it offers."""

    name: str                         # short name, used in log lines: "M705"
    full_name: str
    wpid: int | None                  # None for the generic fallback
    hidpp10: bool                     # HID++ 1.0 (registers) or 2.0+ (features)
    buttons: frozenset[int]           # evdev codes of physical buttons, always present
    tilt_codes: frozenset[int] = frozenset()   # codes the tilt sends when side-scroll is off
    hidpp10_settings: tuple[str, ...] = ()
    kernel_sets_smooth_scroll: bool = False    # hid-logitech-hidpp writes 0x40 on connect
    controls: tuple[str, ...] = ()             # REPROG_CONTROLS_V4 controls (2.0 models)
    known: bool = True

    def has_button(self, code: int) -> bool:
        """Can this model ever report evdev `code`? (False for 0x11F on every known model.)"""
        return code in self.buttons or code in self.tilt_codes

    @property
    def protocol(self) -> str:
        return "HID++ 1.0" if self.hidpp10 else "HID++ 2.0"


_TILT_PAIR = frozenset({int(Btn.FORWARD), int(Btn.BACK)})   # HID buttons 6 and 7

# register 0x01 reads 02 00 00 at power-on; the kernel makes it 42 00 00
M705_101B = Model(
    name="M705", full_name="Marathon Mouse M705 (M-R0009)", wpid=0x101B, hidpp10=True,
    buttons=FIVE_BUTTONS, tilt_codes=_TILT_PAIR,
    hidpp10_settings=(SIDE_SCROLL, SMOOTH_SCROLL), kernel_sets_smooth_scroll=True,
)
# HID++ 4.5; tilt is AC Pan unless diverted through REPROG_CONTROLS_V4
M705_406D = Model(
    name="M705", full_name="Marathon Mouse/Performance Plus M705 (M-R0073)", wpid=0x406D, hidpp10=False,
    buttons=FIVE_BUTTONS,
    controls=("Left Button", "Right Button", "Middle Button", "Back Button", "Forward Button",
              "Left Tilt", "Right Tilt"),
)
# DPI in register 0x63 (0x81..0x8F = 100..1500); the thumb (zoom) button's code is not in our dumps
PERFORMANCE_MX_101A = Model(
    name="Performance MX", full_name="Performance Mouse MX", wpid=0x101A, hidpp10=True,
    buttons=FIVE_BUTTONS, tilt_codes=_TILT_PAIR,
    hidpp10_settings=(SIDE_SCROLL, SMOOTH_SCROLL, DPI), kernel_sets_smooth_scroll=True,
)
ANYWHERE_MX_1017 = Model(
    name="Anywhere MX", full_name="Anywhere Mouse MX", wpid=0x1017, hidpp10=True,
    buttons=FIVE_BUTTONS, tilt_codes=_TILT_PAIR,
    hidpp10_settings=(SIDE_SCROLL, SMOOTH_SCROLL), kernel_sets_smooth_scroll=True,
)
# gesture button and Smart Shift act through HID++ diversion, not as evdev buttons
MX_MASTER_3_4082 = Model(
    name="MX Master 3", full_name="Wireless Mouse MX Master 3", wpid=0x4082, hidpp10=False,
    buttons=FIVE_BUTTONS,
    controls=("Left Button", "Right Button", "Middle Button", "Back Button", "Forward Button",
              "Mouse Gesture Button", "Smart Shift", "Virtual Gesture Button"),
)
# The same mouse over Bluetooth, seen by its product id (MX-Master-3-Wireless-Mouse-B023.txt:
# "Transport IDs: {'btleid': 'B023', 'wpid': '4082'}", the same 8 controls).
MX_MASTER_3_B023 = replace(MX_MASTER_3_4082, wpid=0xB023)

# Gaming mice have no REPROG_CONTROLS_V4 (their buttons live in ONBOARD_PROFILES 0x8100), so
# the mouse cannot tell us its buttons (buttoncache.py): the table keeps them. Values are for
# the factory profile; a profile edited in G HUB can map a button to any mouse button.
# G305: HID++ 4.2; the sixth button (DPI cycle) acts in the mouse in the factory profile
# (G305-Lightspeed-Wireless-Gaming-Mouse-4074.txt).
G305_4074 = Model(
    name="G305", full_name="G305 LIGHTSPEED Wireless Gaming Mouse", wpid=0x4074, hidpp10=False,
    buttons=FIVE_BUTTONS,
)
# G502: HID++ 4.2; which HID buttons the tilt and G buttons send in the factory profile is not
# in the dump: 1..8 assumed.
G502_407F = Model(
    name="G502", full_name="G502 LIGHTSPEED Wireless Gaming Mouse", wpid=0x407F, hidpp10=False,
    buttons=frozenset(range(BTN_LEFT, BTN_TASK + 1)),
)

# model unknown: buttons assumed to be HID 1..8; cannot rule a code out for sure
GENERIC = Model(
    name="mouse", full_name="unknown Logitech mouse", wpid=None, hidpp10=False,
    buttons=frozenset(range(BTN_LEFT, BTN_TASK + 1)), known=False,
)

MODELS: dict[int, Model] = {
    m.wpid: m for m in (M705_101B, M705_406D, PERFORMANCE_MX_101A, ANYWHERE_MX_1017, MX_MASTER_3_4082,
                        MX_MASTER_3_B023, G305_4074, G502_407F)
    if m.wpid is not None
}


def model_for(wpid: int | None, *, hidpp10: bool | None = None) -> Model:
    """The model for a WPID; an unknown one gets the generic model (carrying the WPID and,
    if given, the protocol we observed). Unknown models get no settings: we write only to
    registers we know the meaning of on that model."""
    if wpid is not None and wpid in MODELS:
        return MODELS[wpid]
    if wpid is not None and not hidpp10:
        # a HID++ 2.0 mouse missing from the table: its buttons as it told them (buttoncache.py)
        from phantombutton.buttoncache import cached_model   # cycle: buttoncache.py imports this module

        if (learned := cached_model(wpid)) is not None:
            return learned
    if wpid is None and hidpp10 is None:
        return GENERIC
    return replace(GENERIC, wpid=wpid, hidpp10=bool(hidpp10))


def has_button(wpid: int | None, code: int) -> bool | None:
    """Does the model with this WPID have the button behind evdev `code`? None: the WPID or
    its model is unknown, so nothing can be ruled out (a mute needs a definite False)."""
    if wpid is None:
        return None
    m = model_for(wpid)
    return m.has_button(code) if m.known else None
