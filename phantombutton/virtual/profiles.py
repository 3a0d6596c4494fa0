"""Receiver profiles: which emulated devices sit in which slots.

Every value here is from a real dump in reference/solaar-device-docs unless its comment
says otherwise:
  "default"        C52B receiver + M705 101B (HID++ 1.0) in slot 1: the bug's setup
  "mixed"          default + Performance MX 101A (slot 2) + M705 406D (HID++ 4.5, slot 3)
  "performance-mx" C52B + Performance MX in slot 1
  "m705-406d"      C52B + M705 406D in slot 1
  "empty"          C52B with nothing paired
  "phantom"        default, the mouse reporting HID button 16 held 0.1 s after the start
  "original-bug"   default, replaying the seed's report (SCRIPTS): the M705 101B reconnects
                   with side-scroll off, the kernel probes it, another program (Solaar's
                   software id) reads it, then the mouse reports HID button 16 held
  "wheel-desync"   default, the M705 back in low resolution with no reconnection (a wake):
                   the kernel still expects hi-res, so the wheel is 8x slow
  "mixed-wheel-desync"  mixed, every mouse in that state
  "bluetooth"      no receiver: the MX Master 3 over Bluetooth (B023) alone, answering on
                   device index 0xFF (virtual/bluetooth.py; DIRECT_PROFILES)
Receiver families (virtual/families.py, mice from virtual/mice.py):
  "bolt"           Bolt C548 + MX Master 3S B034 (HID++ 4.5) in slot 2
  "bolt-phantom"   bolt, HID button 16 held 0.1 s after the start on the receiver's own
                   mouse node (shared by every paired mouse: hid-generic on 6.1)
  "bolt-stale-diversion"  bolt with the MX Master 3S's middle button left diverted to HID++
                   (as "stale-diversion"): pressed at 0.3 s and again at 1.5 s
  "lightspeed"     Lightspeed C539 + G305 4074 (HID++ 4.2) in slot 1
  "lightspeed-slot7"  lightspeed with the G305 in slot 7, the slot only Lightspeed receivers have
                   (receivers.py; Solaar's base_usb.py max_devices 7 - a guess for a G305)
  "nano"           Nano C534 + Wireless Mouse M185 new 4054 (HID++ 4.5) in slot 2
  "mx-master-3s"   C52B + MX Master 3S B034 (HID++ 4.5, virtual/mice.py) in slot 1
  "stale-diversion"  mx-master-3s with its middle button left diverted to HID++ by a
                   program that exited: its presses arrive only as HID++ events; the
                   middle button is pressed at 0.3 s and again at 1.5 s
  "stale-thumb-wheel"  mx-master-3s with its thumb wheel left diverted to HID++ (THUMB_WHEEL
                   reporting mode 1) by a program that exited: turned at 0.3 s and 1.5 s
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import UsageProblem
from .device import Identity, VirtualDevice
from .hidpp10_device import Hidpp10Device, Register
from .hidpp20_device import HIDDEN, Control, Feature, Firmware, Hidpp20Device, Hidpp20Spec, hidden
from .mice import g305, m185n, mx_master_3s, mx_master_3s_stale_diversion, mx_master_3s_stale_thumb_wheel

ANY = b"\xff\xff\xff"


class UnknownProfile(UsageProblem, ValueError):
    """A profile name that does not exist: exit 2 for the CLI, a ValueError for plain callers."""


@dataclass(frozen=True)
class ReceiverSpec:
    """What tells one receiver from another (virtual/families.py SPECS); the defaults are the
    C52B of Unifying-Receiver-C52B.txt."""

    protocol: int = 0x04   # 0x41 notification protocol byte: Unifying
    serial: bytes = bytes.fromhex("E0662192")   # 0xB5 0x03 (Unifying layout) or 0xFB (Bolt); b"" = none
    max_devices: int = 6
    firmware: tuple[tuple[int, bytes], ...] = (  # 0xF1 sub-register -> 2 bytes; () = errors
        (0x01, bytes([0x24, 0x11])),  # firmware 24.11
        (0x02, bytes([0x00, 0x36])),  # build B0036
        (0x03, bytes([0xAA, 0xAC])),  # "Other: AA.AC"
        (0x04, bytes([0x02, 0x09])),  # bootloader 02.09
    )


def m705_101b() -> Hidpp10Device:
    """Marathon Mouse M705 (M-R0009), HID++ 1.0: Marathon-Mouse-M705-101B.txt."""
    registers = {
        0x00: Register(bytes.fromhex("100000"), ANY),  # notification flags (battery 0x10)
        0x01: Register(bytes.fromhex("020000"), ANY),  # 0x02 side-scroll/special buttons, 0x40 smooth
        0x0D: Register(bytes.fromhex("644734")),  # battery: 100 %, ?, 0x34
        0xD0: Register(bytes.fromhex("000000"), bytes.fromhex("f1ffff")),  # "accepts mask 0xF1"
        0xD2: Register(bytes.fromhex("000003")),  # read-only
        0xD4: Register(bytes.fromhex("000004")),  # read-only
        0xF3: Register(bytes.fromhex("000000"), ANY),  # raw input stream switch
    }
    firmware = {0x01: bytes([0x17, 0x01]), 0x02: bytes([0x00, 0x17]),  # 17.01.B0017
                0x03: bytes([0x00, 0x04]), 0x04: bytes([0x02, 0x06])}  # other 00.04, bootloader 02.06
    identity = Identity(wpid=0x101B, name="M705", serial=bytes.fromhex("23691D3D"), activity=225)
    return Hidpp10Device(identity, registers, firmware=firmware)


def performance_mx() -> VirtualDevice:
    """Performance Mouse MX, HID++ 1.0: performance-mx.txt (registers)."""
    registers = {
        0x00: Register(bytes.fromhex("100000"), ANY),
        0x01: Register(bytes.fromhex("020000"), ANY),
        0x07: Register(bytes.fromhex("070000")),  # battery level 7 = full
        0x51: Register(bytes.fromhex("111100"), ANY),  # LEDs
        0x63: Register(bytes.fromhex("890000"), ANY, valid=range(0x81, 0x90)),  # DPI 0x81..0x8F
        0xD0: Register(bytes.fromhex("000000"), ANY),
        0xD4: Register(bytes.fromhex("000012")),
        0xF3: Register(bytes.fromhex("000000"), ANY),
    }
    # Not in the dump (its F1 probe only shows the error for sub-register 00): plausible values.
    firmware = {0x01: bytes([0x11, 0x01]), 0x02: bytes([0x00, 0x31]),
                0x03: bytes([0x00, 0x05]), 0x04: bytes([0x02, 0x08])}
    # Serial not in the dump: made up.
    identity = Identity(wpid=0x101A, name="Performance MX", serial=bytes.fromhex("5A1F0C42"), activity=132)
    return Hidpp10Device(identity, registers, firmware=firmware)


def m705_406d() -> VirtualDevice:
    """Marathon Mouse M705 (M-R0073), HID++ 4.5: Marathon-Mouse-M705-406D.txt (27-feature table)."""
    features = [
        Feature(0x0000), Feature(0x0001, version=1), Feature(0x0003, version=2), Feature(0x0005),
        Feature(0x1D4B), Feature(0x0020), Feature(0x1000), Feature(0x1B04, version=4),
        Feature(0x2205), Feature(0x2100), Feature(0x00C2),
        *hidden(0x1802, 0x1803, 0x1806, 0x1810, 0x1830, 0x1890, 0x18A1, 0x1DF3),
        Feature(0x1E00, HIDDEN),
        *hidden(0x1EB0, 0x1861, 0x18B1, 0x1850, 0x1F03, 0x18C0),
        Feature(0x2121, version=1),
    ]
    extra = bytes.fromhex("5F5048B901")
    # Control ids and task ids: Solaar's names in the dump mapped to the HID++ numbers.
    mse_reprog, divertable = 0x11, 0x31  # mouse|reprogrammable (+ divertable)
    controls = [
        Control(0x0050, 0x0038, mse_reprog, 1, 0x01, hid_button=1),  # Left Button / Left Click
        Control(0x0051, 0x0039, mse_reprog, 1, 0x01, hid_button=2),  # Right Button
        Control(0x0052, 0x003A, divertable, 2, 0x03, hid_button=3),  # Middle Button
        Control(0x0053, 0x003C, divertable, 2, 0x03, hid_button=4),  # Back Button
        Control(0x0056, 0x003E, divertable, 2, 0x03, hid_button=5),  # Forward Button
        Control(0x005B, 0x003F, divertable, 2, 0x03),  # Left Tilt / Mouse Scroll Left Button
        Control(0x005D, 0x0040, divertable, 2, 0x03),  # Right Tilt
    ]
    spec = Hidpp20Spec(
        features=features,
        name="Marathon Mouse/Performance Plus M705",
        firmware=[Firmware(1, "BOT", 0x59, 0x00, 0x0002, extra), Firmware(0, "RQM", 0x67, 0x01, 0x0005, extra)],
        unit_id=bytes.fromhex("5E1A15B8"),
        model_id=bytes.fromhex("406D00000000"),
        transports=0x04,
        battery=(50, 20, 0),
        controls=controls,
    )
    identity = Identity(wpid=0x406D, name="M705", serial=bytes.fromhex("B14D65DA"), activity=40)
    return Hidpp20Device(identity, spec)


def m705_101b_side_scroll_off() -> VirtualDevice:
    device = m705_101b()
    device.registers[0x01] = bytes(3)   # register 0x01 bit 0x02 (side-scroll) off
    return device


@dataclass(frozen=True)
class Step:
    """One scripted event, `at` seconds after the receiver is created."""

    at: float
    action: str              # "reconnect" | "request" (another program writes `data`) | "press"
    #                          | "forget-wheel" (the mouse drops the kernel's hi-res wheel mode)
    #                          | "thumb" (a thumb-wheel turn: `data` one signed byte)
    slot: int = 1
    data: bytes = b""        # request: the report written; press: the 16-bit HID button mask


PHANTOM = (0x8000).to_bytes(2, "little")      # HID button 16 held (evdev 0x11F, X button 20)

SCRIPTS: dict[str, tuple[Step, ...]] = {
    "phantom": (Step(0.1, "press", data=PHANTOM),),
    # after a wake: the mouse is back in low resolution, the kernel still divides by 8
    "wheel-desync": (Step(0.0, "forget-wheel"),),
    "mixed-wheel-desync": tuple(Step(0.0, "forget-wheel", slot=n) for n in (1, 2, 3)),
    # a press of the middle button (HID button 3) while it is diverted, then one more
    "stale-diversion": (Step(0.3, "press", data=(0x0004).to_bytes(2, "little")), Step(0.4, "press", data=bytes(2)),
                        Step(1.5, "press", data=(0x0004).to_bytes(2, "little")), Step(1.6, "press", data=bytes(2))),
    "stale-thumb-wheel": tuple(Step(at, "thumb", data=bytes([amount & 0xFF]))
                               for at, amount in ((0.3, 2), (1.5, -1))),
    "bolt-phantom": (Step(0.1, "press", slot=2, data=PHANTOM),),
    "bolt-stale-diversion": tuple(Step(at, "press", slot=2, data=(bits).to_bytes(2, "little"))
                                  for at, bits in ((0.3, 0x0004), (0.4, 0), (1.5, 0x0004), (1.6, 0))),
    "original-bug": (
        Step(0.5, "reconnect"),
        # hid-logitech-hidpp's probe (hidpp_root_get_protocol_version, software id 1, which a
        # HID++ 1.0 device answers with an error) and its battery read (register 0x0D)
        Step(0.55, "request", data=bytes.fromhex("10010011 00005a")),
        Step(0.56, "request", data=bytes.fromhex("1001810d 000000")),
        # another program (software id 0x0B, Solaar's) pings and reads the mode register 0x01
        Step(0.6, "request", data=bytes.fromhex("1001001b 00005a")),
        Step(0.61, "request", data=bytes.fromhex("10018101 000000")),
        Step(0.62, "request", data=bytes.fromhex("10018100 000000")),
        Step(0.9, "press", data=PHANTOM),
    ),
}

PROFILES: dict[str, Callable[[], dict[int, VirtualDevice]]] = {
    "default": lambda: {1: m705_101b()},
    "mixed": lambda: {1: m705_101b(), 2: performance_mx(), 3: m705_406d()},
    "performance-mx": lambda: {1: performance_mx()},
    "m705-406d": lambda: {1: m705_406d()},
    "empty": lambda: {},
    "phantom": lambda: {1: m705_101b()},
    "original-bug": lambda: {1: m705_101b_side_scroll_off()},
    "wheel-desync": lambda: {1: m705_101b()},
    "mixed-wheel-desync": lambda: {1: m705_101b(), 2: performance_mx(), 3: m705_406d()},
    "bolt": lambda: {2: mx_master_3s()},
    "bolt-phantom": lambda: {2: mx_master_3s()},
    "bolt-stale-diversion": lambda: {2: mx_master_3s_stale_diversion()},
    "lightspeed": lambda: {1: g305()},
    "lightspeed-slot7": lambda: {7: g305()},
    "nano": lambda: {2: m185n()},
    "mx-master-3s": lambda: {1: mx_master_3s()},
    "stale-diversion": lambda: {1: mx_master_3s_stale_diversion()},
    "stale-thumb-wheel": lambda: {1: mx_master_3s_stale_thumb_wheel()},
}

# Profiles whose receiver is not the Unifying C52B: profile -> USB product id
# (virtual/families.py make_receiver builds the family's model).
PROFILE_RECEIVERS: dict[str, int] = {"bolt": 0xC548, "bolt-phantom": 0xC548, "bolt-stale-diversion": 0xC548,
                                      "lightspeed": 0xC539, "lightspeed-slot7": 0xC539, "nano": 0xC534}


# Profiles without a receiver: virtual/bluetooth.py make_model builds them (not `build`).
DIRECT_PROFILES = ("bluetooth",)


def profile_names() -> list[str]:
    return list(PROFILES) + list(DIRECT_PROFILES)


def build(profile: str) -> dict[int, VirtualDevice]:
    """Fresh devices of a profile, by slot. Unknown name: UnknownProfile naming the valid ones."""
    if profile not in PROFILES:
        raise UnknownProfile(f"unknown virtual profile {profile!r}; choose one of: "
                             f"{', '.join(profile_names())}")
    return PROFILES[profile]()
