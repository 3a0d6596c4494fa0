"""Choose a device the way Solaar users expect: slot number, WPID, serial, or a piece of
the name (case-insensitive). Unknown or ambiguous -> UsageProblem naming the choices."""

from __future__ import annotations

import re

from phantombutton.errors import UsageProblem
from phantombutton.numbers import is_ascii_int

_HEX = re.compile(r"^(0x)?[0-9a-f]+$")


def describe_choice(device) -> str:
    serial = f", serial {device.serial}" if device.serial else ""
    return f"{device.slot} ({device.short_name}, WPID {device.wpid:04X}{serial})"


def _short_names(device) -> list[str]:
    return [n.lower() for n in (device.short_name, device.pairing.name) if n]


def _long_names(device) -> list[str]:
    return [n.lower() for n in (device.model.full_name, device.pairing.name) if n]


def select_device(devices: list, spec: str):
    """The one device `spec` names among `devices` (from all receivers)."""
    if not devices:
        raise UsageProblem("no paired devices on the receiver; pair one first (e.g. with Solaar)")
    text = spec.strip().lower()
    choices = "; ".join(describe_choice(d) for d in devices)
    if not text:
        raise UsageProblem(f"empty device name; valid: {choices}")
    by_slot = is_ascii_int(text) and len(text) <= 2   # not "²": isdigit() is true, int() fails
    tests = []   # (what a match is, the test), tried in order: the first that matches decides
    if by_slot:
        tests.append(("slot", lambda d: d.slot == int(text)))
    elif _HEX.match(text):
        digits = text.removeprefix("0x")
        if len(digits) <= 4:
            tests.append(("several devices of this WPID", lambda d: d.wpid == int(digits, 16)))
        tests.append(("serial", lambda d: d.serial and d.serial.lower() == digits))
    if not by_slot:
        # names: exact short name first, then part of the short name, then of the model's name
        # ("perf" is the Performance MX, not the "Marathon Mouse/Performance Plus M705")
        tests += [("name", lambda d: text in _short_names(d)),
                  ("name", lambda d: any(text in n for n in _short_names(d))),
                  ("name", lambda d: any(text in n for n in _long_names(d)))]
    for how, test in tests:
        matches = [d for d in devices if test(d)]
        if len(matches) > 1:
            which = "; ".join(describe_choice(d) for d in matches)
            raise UsageProblem(f"device {spec!r} is ambiguous ({how}): {which}; name it by slot or serial")
        if matches:
            return matches[0]
    raise UsageProblem(f"no device in slot {text}; valid: {choices}" if by_slot
                       else f"no device {spec!r}; valid: {choices}")


def select_paired(receivers: list, spec: str):
    """The one device `spec` names among every receiver's paired devices."""
    return select_device([d for r in receivers for d in r.devices()], spec)


def paired_or_all(receivers: list, spec: str | None) -> list:
    """The device `spec` names, or every paired device when there is no `spec`."""
    if spec:
        return [select_paired(receivers, spec)]
    return [d for r in receivers for d in r.devices()]
