"""Typed observations fed to the detection rules, from live nodes or from a capture.

Every source (evdev listener, X poller, hidraw listener, capture reader, replay) turns what
it sees into these value objects; the rules in detect/ never do I/O. Times are seconds on
CLOCK_MONOTONIC, the clock of evdev (EVIOCSCLOCKID) and of `libinput record --with-hidraw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class DeviceInfo:
    """What we know of one pointer device; fields unknown to a source stay None."""

    node: str                      # /dev/input/eventN, or the node name in a capture
    name: str = ""
    vendor: int | None = None
    product: int | None = None     # for receiver children: the WPID
    slot: int | None = None        # receiver slot 1..6
    receiver_node: str | None = None   # receiver's HID++ hidraw node
    hidpp_node: str | None = None      # the child hidraw node
    receiver_product: int | None = None   # the receiver's USB product id (receivers.py family)
    x_slave_id: int | None = None
    buttons: frozenset[int] = field(default_factory=frozenset)  # evdev BTN_* codes it advertises
    # settings known when it was seen, e.g. (("side-scroll", "off"),); shown with findings
    settings: tuple[tuple[str, str], ...] = ()


class DeviceAdded(NamedTuple):
    """A pointer device appeared (or was there when the source started)."""

    t: float
    device: DeviceInfo
    # True when the device was already there when the source started (initial enumeration,
    # a capture's device list): not a (re)connection, so rule b does not apply.
    at_start: bool = False


class DeviceRemoved(NamedTuple):
    """A pointer device's node went away."""

    t: float
    node: str


class KeyEvent(NamedTuple):
    """EV_KEY from an event node (value 1 press, 0 release, 2 repeat)."""

    t: float
    node: str
    code: int
    value: int


class Motion(NamedTuple):
    """Any EV_REL/EV_ABS activity of a pointer (motion, wheel): proof a human is there."""

    t: float
    node: str
    wheel: bool = False      # the frame had wheel events (REL_WHEEL, REL_HWHEEL, hi-res); set by
    pointer: bool = True     # the capture reader, for the timeline; pointer: any other axis
    hwheel: bool = False     # the frame had REL_HWHEEL or REL_HWHEEL_HI_RES (a thumb wheel's or a
    #                          tilt's turn: recovery/thumbwheel.py verifies a thumb-wheel reset by it)


class WheelFrame(NamedTuple):
    """One SYN frame's vertical wheel: REL_WHEEL_HI_RES (120 = a notch) and REL_WHEEL values.
    Sent besides the frame's Motion; detect/wheel.py judges the stream."""

    t: float
    node: str
    hi: int
    low: int


class HeldState(NamedTuple):
    """Keys held per EVIOCGKEY at a point in time (at attach, or a capture's start state)."""

    t: float
    node: str
    codes: frozenset[int]


class HidppTraffic(NamedTuple):
    """One raw report seen on a receiver's (or child's) hidraw node."""

    t: float
    node: str        # hidraw node it was seen on
    data: bytes


class DjInput(NamedTuple):
    """One DJ mouse report (0x20, type 0x02) seen on a receiver's hidraw node, reduced to
    what the kernel would turn into events: `active` when it moves, scrolls or changes the
    buttons against the slot's previous report (hid-logitech-dj forwards it to the child,
    whose hid-input emits EV_REL/EV_KEY only for a change). Input for detect/stall.py."""

    t: float
    node: str        # the receiver's hidraw node
    slot: int        # DJ device number 1..6
    active: bool


class XButtons(NamedTuple):
    """XI 1.x QueryDeviceState of one X device: the 1-based button numbers held."""

    t: float
    device_id: int
    device_node: str | None   # the "Device Node" property, None for the master
    is_master: bool
    buttons: frozenset[int]


Observation = (DeviceAdded | DeviceRemoved | KeyEvent | Motion | HeldState | HidppTraffic | XButtons
               | WheelFrame | DjInput)
