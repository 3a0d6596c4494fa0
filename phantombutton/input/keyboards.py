"""Keyboards as the kernel lists them, which of them are virtual, and who made a virtual one.

Pure file reading under `sysfs`/`proc` roots (tests use fake trees), plus the state query
(EVIOCGKEY through input/evdev_node.held_keys). Keystrokes are never read: only which keys are
held, so nothing typed passes through this tool.

A device is *virtual* when the kernel says so: its bus is BUS_VIRTUAL (0x06, what uinput users
such as logiops, Solaar's rule engine and input-remapper set, linux/input.h) or its sysfs path
is under /sys/devices/virtual/input (uinput devices have no parent device).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from phantombutton.buttons import is_mouse_button
from phantombutton.input import procfs
from phantombutton.keys import KEY_A, MODIFIERS, is_keyboard_key
from phantombutton.input.sysfs_map import _hex, event_names, parse_bitmap
from phantombutton.sysfs import read_text

BUS_VIRTUAL = 0x06

@dataclass(frozen=True)
class KeyboardNode:
    """One keyboard event node as sysfs describes it."""

    node: str              # /dev/input/eventN
    name: str
    bus: int | None
    virtual: bool
    keys: frozenset[int]   # keyboard keys it advertises (and mouse buttons, if physical)


def describe_keyboard(event_name: str, sysfs: str = "/sys", dev: str = "/dev") -> KeyboardNode | None:
    """eventN if it can send keyboard keys (KEY_A or a modifier), or if it is a physical device
    with mouse buttons; None otherwise or if gone. A physical mouse button held counts as a
    finger on the hardware: a remapper may map it to Ctrl (a Ctrl-drag on the thumb button)."""
    input_dir = os.path.realpath(os.path.join(sysfs, "class/input", event_name, "device"))
    name = read_text(os.path.join(input_dir, "name"))
    if name is None:
        return None
    caps = parse_bitmap(read_text(os.path.join(input_dir, "capabilities/key")) or "0")
    keys = frozenset(c for c in caps if is_keyboard_key(c))
    bus = _hex(os.path.join(input_dir, "id/bustype"))
    rel = os.path.relpath(input_dir, os.path.realpath(sysfs))
    virtual = bus == BUS_VIRTUAL or rel.startswith("devices/virtual/input")
    buttons = frozenset() if virtual else frozenset(c for c in caps if is_mouse_button(c))
    if KEY_A not in keys and not keys & MODIFIERS.keys() and not buttons:
        return None
    return KeyboardNode(os.path.join(dev, "input", event_name), name, bus, virtual, keys | buttons)


def keyboard_nodes(sysfs: str = "/sys", dev: str = "/dev") -> list[KeyboardNode]:
    return [k for k in (describe_keyboard(n, sysfs, dev) for n in event_names(sysfs)) if k is not None]


# Names the remappers give their uinput devices (their sources: logiops src/logid/InputDevice.cpp
# "LogiOps Virtual Input"; Solaar lib/logitech_receiver/diversion.py "solaar-keyboard";
# input-remapper "input-remapper <device> forwarded/mapped").
NAME_HINTS = (("logiops", "logid (logiops)"), ("solaar", "solaar"), ("input-remapper", "input-remapper"),
              ("key-mapper", "input-remapper"), ("kmonad", "kmonad"), ("keyd", "keyd"),
              ("xremap", "xremap"), ("evremap", "evremap"))


@dataclass(frozen=True)
class Owner:
    """Who made a virtual device, and how sure we are."""

    process: str | None    # "logid (pid 812)"
    how: str               # how it was decided
    guess: bool

    def describe(self) -> str:
        return (self.process or "unknown process") + f" ({'guess: ' if self.guess else ''}{self.how})"


def uinput_holders(proc: str = "/proc", uinput: str = "/dev/uinput") -> list[tuple[int, str]]:
    """(pid, comm) of processes with /dev/uinput open, per /proc/PID/fd (other users' processes
    are visible only to root)."""
    return procfs.holders(procfs.links_to({uinput}), proc)[0]


def owner_of(kb: KeyboardNode, holders: list[tuple[int, str]]) -> Owner:
    """/proc cannot tie a uinput fd to the device it created (the fd points at /dev/uinput,
    not at inputN), so: one program holding /dev/uinput whose name matches the device's name
    is a decision; a name match alone, or a single holder alone, is a guess."""
    hinted = next((prog for key, prog in NAME_HINTS if key in kb.name.lower()), None)
    if hinted:
        stem = hinted.split()[0]
        match = [(p, c) for p, c in holders if stem.startswith(c[:15]) or c.startswith(stem)]
        if len(match) == 1:
            p, c = match[0]
            return Owner(f"{c} (pid {p})", "device name and the only matching /dev/uinput holder", False)
        return Owner(hinted, "device name only", True)
    if len(holders) == 1:
        p, c = holders[0]
        return Owner(f"{c} (pid {p})", "the only process holding /dev/uinput", True)
    if holders:
        names = ", ".join(f"{c} (pid {p})" for p, c in holders)
        return Owner(f"one of {names}", "processes holding /dev/uinput", True)
    return Owner(None, "no process holds /dev/uinput (it may have exited, or /proc of other "
                 "users is hidden)", True)
