"""Tokenizer of the YAML subset `libinput record` writes (and our JSON-flow extras).

Lines come from infile.BoundedLines (each at most infile.MAX_LINE bytes), in bytes, one
pass. Iterating a `Tokens` gives one `Line` per line of structure (`key: value`,
`- key: value`, `- value`) or one `Comment`; blank lines are skipped. Two entries span
lines, and their handler reads the rest of them from the tokenizer:
- `frames()`: the `- [sec, usec, type, code, value]` rows of a block `- evdev:` entry, up to
  its SYN_REPORT, and of the frames that follow it (the hot path: one row per evdev event,
  parsed without decoding);
- `byte_list()`: a `[` list of bytes, on its line or continued on the next (a device's `hid:`
  descriptor, a `hidrawN:` report of a `- hid:` entry).
Errors name the line through the reader's `bad(line, why)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from phantombutton.capture import fields as F
from phantombutton.errors import BadInput
from phantombutton.infile import BoundedLines
from phantombutton.input.frames import Event

FRAMES_BATCH = 512   # events read in one go from consecutive frames
Bad = Callable[..., BadInput]   # bad(line number, why, content=True)


@dataclass
class Line:
    """One line of a capture, with its place in the YAML structure."""

    n: int          # line number
    indent: int     # leading spaces
    item: bool      # a `- ` sequence item
    text: str       # the line without indent, `- ` and newline
    key: str        # text before the first `:` (all of it when there is none)
    value: str      # after the `:`, a trailing ` # comment` dropped


@dataclass
class Comment:
    """A comment line of a capture."""

    n: int
    text: str       # from the `#`, stripped


class FrameEnd(Enum):
    SYN = "syn"       # ended by its SYN_REPORT row
    NEXT = "next"     # a line that is not a row came first (read next)
    EOF = "eof"       # the file ended inside it


@dataclass
class Frames:
    """The evdev events of one `- evdev:` block, cut into SYN frames."""

    events: list[Event]
    end: FrameEnd         # how the last frame ended
    start: int            # the line its `- evdev:` is on
    syn_t: float | None   # time of the last SYN_REPORT


class Tokens:
    def __init__(self, lines: BoundedLines, bad: Bad):
        self.lines = lines
        self.bad = bad
        self._it = iter(lines)
        self._pending: bytes | None = None   # a line a body reader stopped at
        self.last_raw = b"\n"

    @property
    def n(self) -> int:
        return self.lines.number

    def __iter__(self) -> Iterator[Line | Comment]:
        while True:
            raw = self._pending
            if raw is None:
                raw = next(self._it, None)
                if raw is None:
                    return
            self.last_raw = raw
            self._pending = None
            n = self.lines.number
            if b"\x00" in raw:
                raise self.bad(n, "binary data (NUL bytes), not a text capture")
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise self.bad(n, "binary data, not a text capture (expected a `libinput record` "
                                  "YAML file)") from None
            stripped = line.strip()
            if not stripped:
                continue
            if stripped[0] == "#":
                yield Comment(n, stripped)
                continue
            item = stripped.startswith("- ")
            text = stripped[2:] if item else stripped
            key, _, value = text.partition(":")
            yield Line(n, len(line) - len(line.lstrip(" ")), item, text, key, strip_comment(value))

    # -- bodies of multi-line entries -------------------------------------------------------
    def frames(self) -> Frames:
        """The rows of a block `- evdev:` entry as (time, type, code, value), up to and with
        its SYN_REPORT, then those of the block `- evdev:` entries right after it, up to
        `FRAMES_BATCH` events (memory stays flat). Comments and blank lines inside a frame are
        skipped; between frames they end the batch (a comment may be the wall clock)."""
        events: list[Event] = []
        append = events.append
        lines = self.lines
        start = lines.number
        syn_t = None
        in_frame = True
        raw = self.last_raw
        for raw in self._it:
            s = raw.lstrip(b" ")
            if not in_frame:
                if raw == b"  - evdev:\n":   # the next frame of the list
                    in_frame, start = True, lines.number
                    continue
                self._pending = raw
                return Frames(events, FrameEnd.SYN, start, syn_t)
            if s[:3] == b"- [":
                j = s.find(b"]")
                try:
                    sec, usec, typ, code, value = map(int, s[3:j].split(b","))
                except ValueError:
                    self.last_raw = raw
                    raise self.bad(lines.number, "malformed evdev event, expected [sec, usec, type, code, "
                                                 "value]") from None
                if not (0 <= sec <= F.MAX_SECONDS and 0 <= usec <= 999_999 and 0 <= typ <= 0xFFFF
                        and 0 <= code <= 0xFFFF and F.S32[0] <= value <= F.S32[1]):
                    self.last_raw = raw
                    raise self.bad(lines.number, "evdev event out of range: [sec 0..2^32, usec 0..999999, "
                                                 "type and code 0..65535, value 32-bit]")
                t = sec + usec / 1e6
                append((t, typ, code, value))
                if typ == 0 and code == 0:   # EV_SYN / SYN_REPORT ends the frame
                    in_frame, syn_t = False, t
                    if len(events) >= FRAMES_BATCH:
                        self.last_raw = raw
                        return Frames(events, FrameEnd.SYN, start, syn_t)
            elif not (s[:1] == b"#" or s.strip() == b""):
                self._pending = raw
                return Frames(events, FrameEnd.NEXT, start, syn_t)
        self.last_raw = raw
        return Frames(events, FrameEnd.EOF if in_frame else FrameEnd.SYN, start, syn_t)

    def byte_list(self, head: str, n: int) -> list[int] | None:
        """The byte list `head` on line `n` starts (`[...`): closed there, or continued on
        the following lines up to its `]`; None if the file ends first."""
        if head.endswith("]"):
            return ints(head, n, self.bad, F.BYTE)
        out = ints(head + "]", n, self.bad, F.BYTE)
        for raw in self._it:
            self.last_raw = raw
            if b"\x00" in raw:
                raise self.bad(self.n, "binary data (NUL bytes), not a text capture")
            s = raw.strip()
            if s.startswith(b"#") or not s:
                continue
            closed = s.endswith(b"]")
            body = s[:-1] if closed else s
            try:
                more = [int(x, 0) for x in body.split(b",") if x.strip()]
            except ValueError:
                raise self.bad(self.n, "malformed byte list, expected 0x.. values") from None
            if any(not 0 <= b <= 0xFF for b in more):
                raise self.bad(self.n, "byte list: a value out of range 0x00..0xff")
            out.extend(more)
            if closed:
                return out
        return None


# -- scalars ----------------------------------------------------------------------------------
def strip_comment(value: str) -> str:
    """Drop a trailing ` # comment` outside quotes; libinput puts them after flow lists."""
    v = value.strip()
    if "#" not in v:
        return v
    q = None
    for i, ch in enumerate(v):
        if q:
            if ch == "\\" and q == '"':
                continue
            if ch == q:
                q = None
        elif ch in "\"'":
            q = ch
        elif ch == "#" and (i == 0 or v[i - 1] in " \t"):
            return v[:i].rstrip()
    return v


def unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == '"' == v[-1]:
        try:
            return json.loads(v)
        except ValueError:
            return v[1:-1]
    if len(v) >= 2 and v[0] == "'" == v[-1]:
        return v[1:-1].replace("''", "'")
    return v


def ints(value: str, n: int, bad: Bad, bounds: tuple[int, int] | None = None) -> list[int]:
    """A one-line `[1, 0x02, ...]` list of numbers."""
    v = value.strip()
    if not (v.startswith("[") and v.endswith("]")):
        raise bad(n, f"expected a list of numbers, got {v[:40]!r}")
    try:
        out = [int(x, 0) for x in v[1:-1].split(",") if x.strip()]
    except ValueError:
        raise bad(n, f"expected a list of numbers, got {v[:40]!r}") from None
    if bounds is not None and any(not bounds[0] <= x <= bounds[1] for x in out):
        raise bad(n, f"a number out of range {bounds[0]}..{bounds[1]} in {v[:40]!r}")
    return out


def flow(value: str, name: str = "value") -> object:
    """Our extras are JSON (valid YAML flow); libinput's own scalars may be bare strings."""
    v = strip_comment(value)
    if not v:
        return None
    F.check_depth(v, name)
    try:
        return json.loads(v)
    except ValueError:
        return unquote(v)
