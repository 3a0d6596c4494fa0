"""A HID++ 2.0 mouse's buttons as the mouse tells them (REPROG_CONTROLS_V4), cached per WPID
and firmware under $XDG_CACHE_HOME/phantombutton/ (default ~/.cache/phantombutton/).

So "a button the model does not have" works for a mouse missing from the model table
(models.py): `models.model_for` asks `cached_model(wpid)` on a miss. devices/buttons20.py reads
the controls from the mouse and calls `save`; `phantombutton buttons --refresh` re-reads.

Which evdev codes a control can send (docs/hidpp.md "DJ mouse input"; Solaar
special_keys.py names the controls):
- a mouse control ("mse" flag, not virtual) with a standard id: its HID button
  (STANDARD_HID_BUTTON: left 1 .. forward 5);
- tilt, the gesture button, Smart Shift and the virtual gesture button: none (AC Pan, or acted
  on by the firmware or by software through a diversion);
- any other mouse control: HID buttons 6 to 8 are assumed possible, since we cannot tell
  which it uses (a guess that can only make the tool more careful, never release a button
  the mouse has).
Keyboard-key controls (no "mse" flag, e.g. a thumb button that sends Ctrl+Alt+Tab) are not
mouse buttons. No HID button above 8 is ever possible, so HID button 16 is always ruled out.

A file that cannot be parsed is ignored with a note (and rewritten at the next read);
files are written atomically (outfile.atomic_output).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, replace

from phantombutton.buttons import hid_button_to_evdev
from phantombutton.models import GENERIC
from phantombutton.outfile import OutputError, atomic_output, describe_os_error

# controls that report no HID button when not diverted (see above)
NO_HID_BUTTON = frozenset({0x005B, 0x005D, 0x00C3, 0x00C4, 0x00D7})
STANDARD_HID_BUTTON = {0x0050: 1, 0x0051: 2, 0x0052: 3, 0x0053: 4, 0x0054: 4, 0x00BD: 4,
                       0x0056: 5, 0x0057: 5}
MSE, VIRTUAL = 0x01, 0x80
UNMAPPED_BUTTONS = (6, 7, 8)
FORMAT = 1
RECHECK = 60.0            # seconds before a WPID with no cache file is looked up again


@dataclass(frozen=True)
class LearnedControl:
    """One REPROG_CONTROLS_V4 control as read from the mouse (getCidInfo)."""

    cid: int
    task: int
    flags: int
    flags2: int = 0

    @property
    def hid_buttons(self) -> tuple[int, ...]:
        """HID buttons this control may send when not diverted."""
        if not self.flags & MSE or self.flags & VIRTUAL or self.cid in NO_HID_BUTTON:
            return ()
        if self.cid in STANDARD_HID_BUTTON:
            return (STANDARD_HID_BUTTON[self.cid],)
        return UNMAPPED_BUTTONS


@dataclass(frozen=True)
class ButtonMap:
    """A model's controls as read from one mouse (one cache file per WPID and firmware)."""

    wpid: int
    firmware: str
    name: str
    controls: tuple[LearnedControl, ...]
    read_at: float = 0.0          # time.time() of the read from the mouse

    def codes(self) -> frozenset[int]:
        return frozenset(hid_button_to_evdev(b) for c in self.controls for b in c.hid_buttons)

    def guessed(self) -> bool:
        """Some control's HID button is assumed (UNMAPPED_BUTTONS), not known."""
        return any(c.hid_buttons == UNMAPPED_BUTTONS for c in self.controls)

    def model(self):
        return replace(
            GENERIC, name=self.name or f"mouse {self.wpid:04X}", full_name=self.name or GENERIC.full_name,
            wpid=self.wpid, hidpp10=False, buttons=self.codes(), known=True,
            controls=tuple(f"0x{c.cid:04X}" for c in self.controls))

    def to_json(self) -> dict:
        return {"format": FORMAT, "wpid": f"{self.wpid:04X}", "firmware": self.firmware, "name": self.name,
                "read_at": round(self.read_at, 3),
                "controls": [{"cid": f"0x{c.cid:04X}", "task": f"0x{c.task:04X}", "flags": c.flags,
                              "flags2": c.flags2} for c in self.controls]}

    @classmethod
    def from_json(cls, data) -> ButtonMap:
        """Raises ValueError (or KeyError/TypeError) on anything but what to_json wrote."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a phantombutton button cache (format 1)")
        controls = []
        for c in data["controls"]:
            flags, flags2 = c["flags"], c.get("flags2", 0)
            if not (isinstance(flags, int) and isinstance(flags2, int) and 0 <= flags < 256 and 0 <= flags2 < 256):
                raise ValueError("bad control flags")
            controls.append(LearnedControl(_hex16(c["cid"]), _hex16(c["task"]), flags, flags2))
        name, firmware, read_at = data.get("name", ""), data.get("firmware", ""), data.get("read_at", 0.0)
        if not isinstance(name, str) or not isinstance(firmware, str) or not isinstance(read_at, (int, float)):
            raise ValueError("bad name, firmware or time")
        return cls(_hex16(data["wpid"]), firmware, name, tuple(controls), float(read_at))


def _hex16(text) -> int:
    if not isinstance(text, str) or not re.fullmatch(r"(0x)?[0-9A-Fa-f]{1,4}", text):
        raise ValueError(f"bad 16-bit hex value {text!r}")
    return int(text, 16)


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "phantombutton")


def _firmware_key(firmware: str) -> str:
    return re.sub(r"[^0-9A-Za-z.]+", "_", firmware).strip("_") or "unknown"


def path_for(wpid: int, firmware: str) -> str:
    return os.path.join(cache_dir(), f"buttons-{wpid:04X}-{_firmware_key(firmware)}.json")


def _read(path: str, notes: list[str] | None) -> ButtonMap | None:
    try:
        with open(path, encoding="utf-8") as f:
            return ButtonMap.from_json(json.loads(f.read(1 << 20)))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        if notes is not None:
            notes.append(f"{path}: ignored, not a readable button cache ({type(e).__name__}: {e}); "
                         "it is rewritten at the next read from the mouse")
        return None


def load(wpid: int, firmware: str | None = None, *, notes: list[str] | None = None) -> ButtonMap | None:
    """The cached map of this WPID and firmware; firmware None: the newest of this WPID."""
    if firmware is not None:
        found = _read(path_for(wpid, firmware), notes)
        return found if found is not None and found.wpid == wpid else None
    directory = cache_dir()
    try:
        names = [n for n in os.listdir(directory) if n.startswith(f"buttons-{wpid:04X}-") and n.endswith(".json")]
    except OSError:
        return None
    maps = [m for n in names if (m := _read(os.path.join(directory, n), notes)) is not None and m.wpid == wpid]
    return max(maps, key=lambda m: m.read_at, default=None)


def save(bmap: ButtonMap) -> str:
    """Write the map (atomically); returns its path. OutputError when it cannot be written."""
    path = path_for(bmap.wpid, bmap.firmware)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    except OSError as e:
        raise OutputError(describe_os_error(os.path.dirname(path), e)) from None
    with atomic_output(path) as f:
        f.write(json.dumps(bmap.to_json(), indent=1) + "\n")
    _memo[bmap.wpid] = (time.monotonic(), bmap)
    return path


_memo: dict[int, tuple[float, ButtonMap | None]] = {}


def cached_model(wpid: int):
    """The learned model of a WPID (models.Model), from this process's reads or the cache
    directory; None when the mouse was never read. A miss is looked up again after RECHECK."""
    hit = _memo.get(wpid)
    if hit is None or (hit[1] is None and time.monotonic() - hit[0] > RECHECK):
        hit = _memo[wpid] = (time.monotonic(), load(wpid))
    return hit[1].model() if hit[1] is not None else None


def forget() -> None:
    """Drop what this process remembers (tests; a changed XDG_CACHE_HOME)."""
    _memo.clear()
