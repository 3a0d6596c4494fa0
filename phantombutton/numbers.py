"""Numbers typed by users: ASCII digits only, finite values only.

Python's int() and str.isdigit() accept every Unicode digit ("٣" is 3, "²" passes isdigit()
and then makes int() fail) and float() accepts "nan", "inf" and "1e999". A button, slot, DPI
or duration is written with ASCII digits; anything else is refused with the caller's message.
"""

from __future__ import annotations

import math
import re

_DEC = re.compile(r"[0-9]+", re.ASCII)
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def is_ascii_int(text: str) -> bool:
    """True for a non-empty run of ASCII digits 0-9 (no sign, no spaces, no underscores)."""
    return _DEC.fullmatch(text) is not None


def ascii_int(text: str, base: int = 10) -> int:
    """int(text) for ASCII digits (hex digits for base 16); ValueError for anything else."""
    if (_HEX if base == 16 else _DEC).fullmatch(text) is None or base not in (10, 16):
        raise ValueError(f"not a number: {text!r}")
    return int(text, base)


def finite_float(text: str) -> float:
    """float(text) for a plain decimal number; ValueError for nan, inf, overflow or Unicode."""
    if _FLOAT.fullmatch(text.strip()) is None:
        raise ValueError(f"not a number: {text!r}")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value
