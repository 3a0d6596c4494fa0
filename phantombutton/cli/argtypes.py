"""click parameter types for numbers: ASCII digits, finite, inside a range.

click.FloatRange lets "nan" through (every comparison with nan is false), and "inf" and
"1e999" satisfy a lower bound; a time or speed that is nan or infinite never ends a loop or
overflows a division, so these types refuse them with a usage error (exit 2).
"""

from __future__ import annotations

import click

from phantombutton.numbers import finite_float


class Finite(click.ParamType):
    """A finite number of seconds (or a factor) with `low <= value <= high`; `above` makes the
    lower bound exclusive; `zero_ok` allows 0 even when `low` is above it (a "none" value)."""

    name = "number"

    def __init__(self, low: float = 0.0, high: float | None = None, *, above: bool = False,
                 zero_ok: bool = False):
        self.low, self.high, self.above, self.zero_ok = low, high, above, zero_ok

    def convert(self, value, param, ctx) -> float:
        try:   # a float is a default value: repr keeps all its digits
            v = finite_float(repr(value) if isinstance(value, float) else str(value))
        except ValueError:
            self.fail(f"{value!r} is not a finite decimal number", param, ctx)
        if self.zero_ok and v == 0:
            return 0.0
        if v < self.low or (self.above and v == self.low):
            self.fail(f"{value!r} must be {'>' if self.above else '>='} {self.low:g}", param, ctx)
        if self.high is not None and v > self.high:
            self.fail(f"{value!r} must be <= {self.high:g}", param, ctx)
        return v


SECONDS = Finite(0.0)                   # a duration; 0 allowed
POSITIVE_SECONDS = Finite(0.0, above=True)
