"""Typed access to the values of a capture, and the escaping of what we write into one.

Reading: every JSON-flow value of a capture (our extras) comes from a file a stranger may
have edited. Each accessor checks one field's type and range and raises `FieldError`
naming the field; the reader adds the file and the line. Times are checked for range:
a float loses its 0.25 s resolution past 2^50 s and detection ticks on these times.

Writing: a value that lands in a YAML comment or a hid-recorder line must stay on that line.
"""

from __future__ import annotations

import json
import re
from typing import Any

from phantombutton.detect.events import XButtons
from phantombutton.detect.shared import Candidate

MAX_SECONDS = 1 << 32         # ~136 years of CLOCK_MONOTONIC: any real capture fits
MAX_DEPTH = 16                # our extras nest 4 deep (other_devices[].codes.N[])
U16 = (0, 0xFFFF)             # struct input_event type and code
S32 = (-(1 << 31), (1 << 31) - 1)   # struct input_event value
BYTE = (0, 0xFF)


class FieldError(ValueError):
    def __init__(self, name: str, problem: str):
        super().__init__(f"{name}: {problem}")


def _show(v: Any) -> str:
    s = json.dumps(v) if not isinstance(v, str) else repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def integer(v: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    # bool is an int subclass; `true` is not a number in a capture
    if not isinstance(v, int) or isinstance(v, bool):
        raise FieldError(name, f"expected an integer, got {_show(v)}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise FieldError(name, f"{_show(v)} out of range {lo}..{hi}")
    return v


def opt_integer(v: Any, name: str, lo: int | None = None, hi: int | None = None) -> int | None:
    return None if v is None else integer(v, name, lo, hi)


def text(v: Any, name: str) -> str:
    if not isinstance(v, str):
        raise FieldError(name, f"expected a string, got {_show(v)}")
    return v


def opt_text(v: Any, name: str) -> str | None:
    return None if v is None else text(v, name)


def mapping(v: Any, name: str, optional: bool = True) -> dict:
    if v is None and optional:
        return {}
    if not isinstance(v, dict):
        raise FieldError(name, f"expected a {{...}} mapping, got {_show(v)}")
    return v


def sequence(v: Any, name: str, optional: bool = True) -> list:
    if v is None and optional:
        return []
    if not isinstance(v, list):
        raise FieldError(name, f"expected a [...] list, got {_show(v)}")
    return v


def integers(v: Any, name: str, lo: int | None = None, hi: int | None = None) -> list[int]:
    return [integer(x, f"{name}[{i}]", lo, hi) for i, x in enumerate(sequence(v, name))]


def seconds(sec: int, usec: int, name: str = "time") -> float:
    """[sec, usec] as libinput record writes times, checked for range."""
    if not 0 <= sec <= MAX_SECONDS:
        raise FieldError(name, f"seconds {_show(sec)} out of range 0..{MAX_SECONDS}")
    if not 0 <= usec <= 999_999:
        raise FieldError(name, f"microseconds {_show(usec)} out of range 0..999999")
    return sec + usec / 1e6


def time_pair(v: Any, name: str = "time") -> float:
    if not (isinstance(v, list) and len(v) == 2):
        raise FieldError(name, f"expected [seconds, microseconds], got {_show(v)}")
    return seconds(integer(v[0], name), integer(v[1], name), name)


def settings(v: Any, name: str) -> tuple[tuple[str, str], ...]:
    d = mapping(v, name)
    for k, val in d.items():
        if isinstance(val, (dict, list)):
            raise FieldError(f"{name}.{k}", f"expected a value, got {_show(val)}")
    return tuple(sorted((str(k), str(val)) for k, val in d.items()))


def check_depth(s: str, name: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH before json.loads recurses into it. The
    bracket count is a C-speed pre-check; only a suspicious line is scanned."""
    if s.count("[") + s.count("{") <= MAX_DEPTH:
        return
    depth, quoted, escaped = 0, False, False
    for ch in s:
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise FieldError(name, f"nested deeper than {MAX_DEPTH} levels")
        elif ch in "]}":
            depth -= 1


# -- the shapes of our extras ------------------------------------------------------------------
def small_number(key: str) -> bool:
    """An event type key (`1:` in codes): ASCII digits, few enough for int()."""
    return key.isascii() and key.isdigit() and len(key) <= 5


def event_codes(v: Any, name: str) -> dict[int, list[int]]:
    """{"EV type": [codes]} as JSON writes a device's codes (keys are strings)."""
    out: dict[int, list[int]] = {}
    for k, cs in mapping(v, name).items():
        if not small_number(k):
            raise FieldError(name, f"event type {k!r} is not a number")
        out[integer(int(k), name, *U16)] = integers(cs, f"{name}.{k}", *U16)
    return out


def xbuttons(t: float, v: Any, name: str) -> XButtons:
    """An X device's state: {device, node, master, buttons}."""
    d = mapping(v, name, optional=False)
    return XButtons(t, integer(d.get("device"), f"{name}.device", 0, 0xFFFF),
                    opt_text(d.get("node"), f"{name}.node"), bool(d.get("master")),
                    frozenset(integers(d.get("buttons"), f"{name}.buttons", 0, 255)))


def device_extra(v: Any, name: str) -> dict[str, Any]:
    """Our per-device block (and a `- device:` entry's same keys), each field typed;
    settings become the sorted ((name, value), ...) of DeviceInfo."""
    d = mapping(v, name)
    return {
        "slot": opt_integer(d.get("slot"), f"{name}.slot", 0, 255),
        "wpid": opt_integer(d.get("wpid"), f"{name}.wpid", 0, 0xFFFF),
        "receiver": opt_text(d.get("receiver"), f"{name}.receiver"),
        "receiver_product": opt_integer(d.get("receiver_product"), f"{name}.receiver_product", 0, 0xFFFF),
        "hidraw": opt_text(d.get("hidraw"), f"{name}.hidraw"),
        "x_slave": opt_integer(d.get("x_slave"), f"{name}.x_slave", 0, 0xFFFF),
        "settings": settings(d.get("settings"), f"{name}.settings"),
    }


def paired(v: Any, name: str) -> dict[str, list[Candidate]]:
    """`paired`: receiver hidraw node -> the mice paired to it, read when the capture started
    for receivers with a shared mouse node (detect/shared.py candidates)."""
    out: dict[str, list[Candidate]] = {}
    for node, mice in mapping(v, name).items():
        where = f"{name}.{text(node, name)}"
        cands = out[node] = []
        for i, x in enumerate(sequence(mice, where)):
            m = mapping(x, f"{where}[{i}]", optional=False)
            cands.append(Candidate(integer(m.get("slot"), f"{where}[{i}].slot", 0, 255),
                                   opt_integer(m.get("wpid"), f"{where}[{i}].wpid", 0, 0xFFFF),
                                   opt_text(m.get("name"), f"{where}[{i}].name") or ""))
    return out


def hidraw_header(v: Any, name: str) -> dict[str, Any]:
    """One entry of the `hidraw` list (what the hid-recorder export writes), checked."""
    d = mapping(v, name, optional=False)
    text(d.get("node"), f"{name}.node")
    opt_text(d.get("name"), f"{name}.name")
    opt_text(d.get("phys"), f"{name}.phys")
    integers(d.get("id"), f"{name}.id", 0, 0xFFFFFFFF)
    try:
        bytes.fromhex(opt_text(d.get("descriptor"), f"{name}.descriptor") or "")
    except ValueError:
        raise FieldError(f"{name}.descriptor", "not hex bytes") from None
    return d


# -- writing -----------------------------------------------------------------------------------
# C0/C1 controls, DEL, and the characters YAML 1.1 (PyYAML) also treats as line breaks
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(s: str) -> str:
    """`s` for a comment or a hid-recorder line: controls become `\\xNN`/`\\uNNNN` escapes,
    so a device name cannot end its line and forge the next one."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", s)


_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_=./:+,@-]*")


def scalar(s: str) -> str:
    """A YAML scalar: `s` bare when it is plainly safe (a node path, KEY=value), else
    JSON-quoted (valid YAML, one line, every control escaped)."""
    return s if _PLAIN.fullmatch(s) else json.dumps(s)
