"""Streaming reader of `libinput record` files (ours and plain ones) -> observations.

Never loads the whole file: a line-oriented parser of the YAML subset libinput record writes
(and our JSON-flow extras), in bytes, one pass, constant memory. Unknown keys and unknown
event entries are skipped, as the format requires. Malformed input raises BadInput naming
the file and line: not a libinput record file, wrong version, binary junk, truncated, a
field of the wrong type or out of range (capture/fields.py checks each where it is read),
a line longer than infile.MAX_LINE, JSON nested deeper than fields.MAX_DEPTH.

A capture that ends after a complete entry without our end marker is a killed capture: it is
read (and `Capture.complete` is False). A file that ends inside an entry was truncated: error.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from phantombutton.capture import fields as F
from phantombutton.capture.names import EV_ABS, EV_KEY, EV_REL, EV_SYN, SYN_REPORT
from phantombutton.capture.record import END_MARKER
from phantombutton.detect.events import (
    DeviceAdded, DeviceInfo, DeviceRemoved, HeldState, HidppTraffic, KeyEvent, Motion, Observation,
)
from phantombutton.errors import BadInput
from phantombutton.infile import BoundedLines, open_input

SUPPORTED_VERSION = 1
_END_TIME = re.compile(r"time \[(\d+), (\d+)\]")
# libinput record (tools/libinput-record.c, print_wall_time) writes the wall clock every 5 s
# while events come: the only clock a plain recording has where no frame follows
_WALL_TIME = re.compile(r"# Current time is (\d\d):(\d\d):(\d\d)")
_WHEEL_CODES = frozenset((6, 8, 11, 12))   # REL_HWHEEL, REL_WHEEL and their _HI_RES twins


@dataclass(slots=True)
class DeviceEntry:
    node: str
    name: str = ""
    id: list[int] = field(default_factory=list)
    codes: dict[int, list[int]] = field(default_factory=dict)
    hid: list[int] = field(default_factory=list)
    udev: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)   # our per-device phantombutton block

    def info(self) -> DeviceInfo:
        x = self.extra
        vendor = self.id[1] if len(self.id) > 2 else None
        product = x.get("wpid") or (self.id[2] if len(self.id) > 2 else None)
        return DeviceInfo(node=self.node, name=self.name, vendor=vendor, product=product,
                          slot=x.get("slot"), receiver_node=x.get("receiver"), hidpp_node=x.get("hidraw"),
                          x_slave_id=x.get("x_slave"),
                          buttons=frozenset(c for c in self.codes.get(EV_KEY, ()) if c >= 0x100),
                          settings=x.get("settings") or ())


class Capture:
    """One capture file. Iterate `observations()` once; headers fill in as they are read."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.version: int | None = None
        self.meta: dict[str, Any] = {}       # the phantombutton block (empty for plain files)
        self.devices: list[DeviceEntry] = []
        self.complete = False                # our end marker seen
        self.lines = 0
        self.evdev_events = 0
        self.end_time = 0.0
        self.hid_reports = 0
        self._lines: BoundedLines | None = None
        # ("# Current time is" as seconds of the day, time of the last frame before it or None)
        self.wall_marks: list[tuple[int, float | None]] = []

    # -- errors ----------------------------------------------------------------------------
    def _bad(self, n: int, why: str, content: bool = True) -> BadInput:
        """`content`: the error is about what a line holds (a cut last line explains it)."""
        lines = self._lines
        if content and self.version is not None and lines is not None and lines.cut and n == lines.number:
            # whatever looked malformed, the real cause is the cut: say so
            why = ("truncated in the middle of this line (the file was cut, not just stopped): "
                   "re-copy it, or cut it after the last complete frame")
        return BadInput(f"{self.path} line {n}: {why}")

    def _text(self, n: int, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._bad(n, "binary data, not a text capture (expected a `libinput record` "
                               "YAML file)") from None

    # -- parsing ---------------------------------------------------------------------------
    def observations(self) -> Iterator[Observation]:
        f = open_input(self.path)
        with f:
            self._lines = BoundedLines(f, self.path)
            try:
                yield from self._parse(self._lines)
            except F.FieldError as e:
                raise self._bad(self._lines.number, str(e)) from None

    def _parse(self, f) -> Iterator[Observation]:  # noqa: C901 (one state machine, kept in one place)
        section = None          # top-level key we are in
        sub = None              # device-level key we are in
        dev: DeviceEntry | None = None
        entry = None            # current event entry kind: "evdev", "hid", "skip"
        keys: list[tuple[float, int, int]] = []
        moved = False
        wheel = False
        frame_t = 0.0
        frame_line = 0
        hid_t = 0.0
        hid_node = ""
        hid_bytes: list[int] | None = None   # open multi-line list
        hid_line = 0
        list_target = None                   # "devhid" while reading a device's hid: [ ... ]
        seen_key = False
        started = False                      # start-state observations emitted
        last_raw = b"\n"
        n = 0
        node = ""
        for n, raw in enumerate(f, 1):
            last_raw = raw
            # -- the hot path: one evdev event line inside a frame ---------------------------
            if entry == "evdev":
                s = raw.lstrip(b" ")
                if s[:3] == b"- [":
                    j = s.find(b"]")
                    try:
                        sec, usec, typ, code, value = map(int, s[3:j].split(b","))
                    except ValueError:
                        raise self._bad(n, "malformed evdev event, expected [sec, usec, type, code, value]") from None
                    if not (0 <= sec <= F.MAX_SECONDS and 0 <= usec <= 999_999 and 0 <= typ <= 0xFFFF
                            and 0 <= code <= 0xFFFF and F.S32[0] <= value <= F.S32[1]):
                        raise self._bad(n, "evdev event out of range: [sec 0..2^32, usec 0..999999, "
                                           "type and code 0..65535, value 32-bit]")
                    self.evdev_events += 1
                    if typ == EV_KEY:
                        keys.append((sec + usec / 1e6, code, value))
                    elif typ == EV_REL or typ == EV_ABS:
                        if typ == EV_REL and code in _WHEEL_CODES:
                            wheel = True
                        else:
                            moved = True
                    elif typ == EV_SYN and code == SYN_REPORT:
                        frame_t = sec + usec / 1e6
                        for t, c, v in keys:
                            yield KeyEvent(t, node, c, v)
                        if moved or wheel:
                            yield Motion(frame_t, node, wheel, moved)
                        keys = []
                        moved = wheel = False
                        entry = None
                        self.end_time = frame_t
                    continue
                if s[:1] == b"#" or s.strip() == b"":
                    continue
                # a frame without SYN_REPORT followed by something else: flush it leniently
                yield from self._flush(node, keys, moved or wheel)
                keys, moved, wheel, entry = [], False, False, None
            if b"\x00" in raw:
                raise self._bad(n, "binary data (NUL bytes), not a text capture")
            # -- multi-line byte lists ---------------------------------------------------------
            if hid_bytes is not None:
                s = raw.strip()
                if s.startswith(b"#") or not s:
                    continue
                closed = s.endswith(b"]")
                body = s[:-1] if closed else s
                try:
                    more = [int(x, 0) for x in body.split(b",") if x.strip()]
                except ValueError:
                    raise self._bad(n, "malformed byte list, expected 0x.. values") from None
                if any(not 0 <= b <= 0xFF for b in more):
                    raise self._bad(n, "byte list: a value out of range 0x00..0xff")
                hid_bytes.extend(more)
                if closed:
                    if list_target == "devhid":
                        dev.hid = hid_bytes  # type: ignore[union-attr]
                    else:
                        self.hid_reports += 1
                        yield HidppTraffic(hid_t, hid_node, bytes(hid_bytes))
                        entry = None
                    hid_bytes, list_target = None, None
                continue
            line = self._text(n, raw).rstrip("\r\n")
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                wall = _WALL_TIME.match(stripped)
                if wall:
                    h, m, sec = (int(x) for x in wall.groups())
                    seen = self.evdev_events or self.hid_reports
                    self.wall_marks.append((h * 3600 + m * 60 + sec, max(self.end_time, hid_t) if seen else None))
                elif stripped.startswith(END_MARKER):
                    self.complete = True
                    m = _END_TIME.search(stripped)
                    if m:
                        try:
                            sec, usec = int(m.group(1)), int(m.group(2))
                        except ValueError:   # more digits than int() takes
                            raise F.FieldError("end marker time", "not a number") from None
                        self.end_time = max(self.end_time, F.seconds(sec, usec, "end marker time"))
                continue
            indent = len(line) - len(line.lstrip(" "))
            if not seen_key:
                if indent or ":" not in stripped or stripped.startswith(("-", "[", "{")):
                    raise self._bad(n, "not a libinput record file (expected `version: 1` and YAML "
                                       "keys; record one with `phantombutton capture`)")
                seen_key = True
            # -- top level -----------------------------------------------------------------------
            if indent == 0 and not stripped.startswith("- "):
                key, _, value = stripped.partition(":")
                value = _strip_comment(value)
                section, sub, entry = key, None, None
                if key == "version":
                    try:
                        self.version = int(value)
                    except ValueError:
                        raise self._bad(n, f"version is not a number: {value!r}") from None
                    if self.version != SUPPORTED_VERSION:
                        raise self._bad(n, f"capture format version {self.version}, this tool reads "
                                           f"version {SUPPORTED_VERSION}; upgrade phantombutton")
                elif key == "devices" and self.version is None:
                    raise self._bad(n, "no `version:` before `devices:`; not a libinput record file")
                continue
            if section == "phantombutton" and indent == 2:
                key, _, value = stripped.partition(":")
                self.meta[key] = _meta_value(key, _flow(value, f"phantombutton.{key}"))
                continue
            if section != "devices":
                continue
            # -- devices -------------------------------------------------------------------------
            if indent == 0 and stripped.startswith("- "):
                key, _, value = stripped[2:].partition(":")
                if key.strip() == "node":
                    dev = DeviceEntry(node=F.text(_unquote(_strip_comment(value)), "node"))
                    self.devices.append(dev)
                    node = dev.node
                sub, entry = key.strip(), None
                continue
            if dev is None:
                continue
            if indent == 2 and not stripped.startswith("- "):
                key, _, value = stripped.partition(":")
                sub, entry = key, None
                value = _strip_comment(value)
                if key == "hid" and value.startswith("["):
                    if value.endswith("]"):
                        dev.hid = _ints(value, n, self, F.BYTE)
                    else:
                        hid_bytes, list_target = _ints(value + "]", n, self, F.BYTE), "devhid"
                elif key == "phantombutton":
                    dev.extra = F.device_extra(_flow(value, "phantombutton"), "phantombutton")
                elif key == "events":
                    yield from self._device_ready(dev, first=not started)
                    started = True
                continue
            if sub == "evdev":
                key, _, value = stripped.partition(":")
                value = _strip_comment(value)
                if indent == 4 and key == "name":
                    dev.name = _unquote(value)
                elif indent == 4 and key == "id":
                    dev.id = _ints(value, n, self, (0, 0xFFFF))
                elif indent == 6 and F.small_number(key) and value.startswith("["):
                    dev.codes[F.integer(int(key), "codes", *F.U16)] = _ints(value, n, self, F.U16)
                continue
            if sub == "udev":
                if stripped.startswith("- "):
                    dev.udev.append(_unquote(stripped[2:]))
                continue
            if sub != "events":
                continue
            # -- events entries -------------------------------------------------------------------
            if indent == 2 and stripped.startswith("- "):
                key, _, value = stripped[2:].partition(":")
                value = _strip_comment(value)
                entry = "skip"
                if key == "evdev":
                    entry, frame_line = "evdev", n
                    if value.startswith("["):   # flow style frame on one line
                        yield from self._flow_frame(node, _flow(value, "evdev"), n)
                        entry = None
                elif key == "hid":
                    entry, hid_line = "hid", n
                    if value.startswith("{"):
                        yield from self._flow_hid(_flow(value, "hid"), n)
                        entry = None
                elif key in ("xinput", "device", "held", "evdev-node"):
                    yield from self._extra(key, _flow(value, key), n)
                    entry = None
                continue
            if entry == "hid":
                key, _, value = stripped.partition(":")
                value = _strip_comment(value)
                if key == "time":
                    hid_t = F.time_pair(_ints(value, n, self), "hid time")
                elif key.startswith("hidraw") and value.startswith("["):
                    hid_node = "/dev/" + key
                    if value.endswith("]"):
                        self.hid_reports += 1
                        yield HidppTraffic(hid_t, hid_node, bytes(_ints(value, n, self, F.BYTE)))
                        entry = None
                    else:
                        hid_bytes, list_target = _ints(value + "]", n, self, F.BYTE), "hid"
            # anything else inside an entry we do not know: skipped
        # -- end of file ------------------------------------------------------------------------
        if n == 0:
            raise self._bad(1, "empty file, not a libinput record file", content=False)
        truncated = hid_bytes is not None or entry in ("evdev", "hid")
        if truncated or (not last_raw.endswith(b"\n") and section == "devices"):
            where = "evdev frame started at line %d" % frame_line if entry == "evdev" else (
                "byte list started at line %d" % hid_line if hid_bytes is not None else "last line")
            raise self._bad(n, f"truncated in the middle of an entry ({where}); the file was cut, "
                               "not just stopped: re-copy it, or cut it after the last complete frame")
        if self.version is None:
            raise self._bad(n, "no `version:` key; not a libinput record file", content=False)
        if not self.devices:
            raise self._bad(n, "no `devices:` entries; not a libinput record file", content=False)
        self.lines = n

    # -- helpers that emit observations --------------------------------------------------------
    def _flush(self, node, keys, moved) -> Iterator[Observation]:
        for t, c, v in keys:
            yield KeyEvent(t, node, c, v)
        if moved and keys:
            yield Motion(keys[-1][0], node)

    def _device_ready(self, dev: DeviceEntry, first: bool) -> Iterator[Observation]:
        yield DeviceAdded(0.0, dev.info(), at_start=True)
        if not first:
            return
        for e in self.meta.get("other_devices") or []:   # checked by _meta_value
            self.devices.append(e)
            yield DeviceAdded(0.0, e.info(), at_start=True)
        for n, codes in (self.meta.get("held_at_start") or {}).items():
            yield HeldState(0.0, n, frozenset(codes))
        for x in self.meta.get("x_at_start") or []:
            yield F.xbuttons(0.0, x, "x_at_start")

    def _flow_frame(self, node, frame, n, name: str = "evdev") -> Iterator[Observation]:
        if not isinstance(frame, list):
            raise self._bad(n, "malformed evdev frame")
        keys, moved, t = [], False, 0.0
        for i, ev in enumerate(frame):
            if not (isinstance(ev, list) and len(ev) == 5):
                raise self._bad(n, "malformed evdev event, expected [sec, usec, type, code, value]")
            where = f"{name}[{i}]"
            sec, usec = F.integer(ev[0], where), F.integer(ev[1], where)
            t = F.seconds(sec, usec, where)
            typ, code = F.integer(ev[2], where, *F.U16), F.integer(ev[3], where, *F.U16)
            value = F.integer(ev[4], where, *F.S32)
            self.evdev_events += 1
            if typ == EV_KEY:
                keys.append((t, code, value))
            elif typ in (EV_REL, EV_ABS):
                moved = True
        for tk, c, v in keys:
            yield KeyEvent(tk, node, c, v)
        if moved:
            yield Motion(t, node)
        self.end_time = max(self.end_time, t)

    def _flow_hid(self, d, n) -> Iterator[Observation]:
        if not isinstance(d, dict) or "time" not in d:
            raise self._bad(n, "malformed hid entry, expected {time: [sec, usec], hidrawN: [...]}")
        t = F.time_pair(d["time"], "hid.time")
        for k, v in d.items():
            if k.startswith("hidraw") and isinstance(v, list):
                self.hid_reports += 1
                yield HidppTraffic(t, "/dev/" + k, bytes(F.integers(v, f"hid.{k}", *F.BYTE)))

    def _extra(self, kind: str, d: Any, n: int) -> Iterator[Observation]:
        if not isinstance(d, dict) or "time" not in d and kind != "evdev-node":
            raise self._bad(n, f"malformed {kind} entry")
        if kind == "evdev-node":
            node = F.text(d.get("node", "?"), "evdev-node.node")
            yield from self._flow_frame(node, d.get("frame"), n, "evdev-node.frame")
            return
        t = F.time_pair(d["time"], f"{kind}.time")
        self.end_time = max(self.end_time, t)
        if kind == "xinput":
            yield F.xbuttons(t, d, "xinput")
        elif kind == "held":
            yield HeldState(t, F.text(d.get("node"), "held.node"),
                            frozenset(F.integers(d.get("codes"), "held.codes", *F.U16)))
        elif "removed" in d:
            yield DeviceRemoved(t, F.text(d["removed"], "device.removed"))
        elif "added" in d:
            x = F.device_extra(d, "device")
            yield DeviceAdded(t, DeviceInfo(
                node=F.text(d["added"], "device.added"), name=F.opt_text(d.get("name"), "device.name") or "",
                vendor=F.opt_integer(d.get("vendor"), "device.vendor", 0, 0xFFFF),
                product=x.get("wpid") or F.opt_integer(d.get("product"), "device.product", 0, 0xFFFF),
                slot=x.get("slot"), receiver_node=x.get("receiver"), hidpp_node=x.get("hidraw"),
                x_slave_id=x.get("x_slave"), settings=x.get("settings", ())))


def _other_device(v: Any, name: str) -> DeviceEntry:
    d = F.mapping(v, name, optional=False)
    return DeviceEntry(node=F.text(d.get("node", "?"), f"{name}.node"),
                       name=F.opt_text(d.get("name"), f"{name}.name") or "",
                       id=F.integers(d.get("id"), f"{name}.id", 0, 0xFFFF),
                       codes=F.event_codes(d.get("codes"), f"{name}.codes"),
                       extra=F.device_extra(d.get("phantombutton"), f"{name}.phantombutton"))


def _meta_value(key: str, v: Any) -> Any:
    """The phantombutton block's keys that the reader (and the hid-recorder export) use,
    checked where they are read, so the error names this line."""
    name = f"phantombutton.{key}"
    if key == "held_at_start":
        return {F.text(k, name): F.integers(c, f"{name}.{k}", *F.U16) for k, c in F.mapping(v, name).items()}
    if key == "x_at_start":
        for i, x in enumerate(F.sequence(v, name)):
            F.xbuttons(0.0, x, f"{name}[{i}]")
        return v
    if key == "other_devices":
        return [_other_device(x, f"{name}[{i}]") for i, x in enumerate(F.sequence(v, name))]
    if key == "hidraw":
        return [F.hidraw_header(x, f"{name}[{i}]") for i, x in enumerate(F.sequence(v, name))]
    if key in ("kernel", "x_input_driver"):
        return F.opt_text(v, name)
    return v


def _strip_comment(value: str) -> str:
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


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == '"' == v[-1]:
        try:
            return json.loads(v)
        except ValueError:
            return v[1:-1]
    if len(v) >= 2 and v[0] == "'" == v[-1]:
        return v[1:-1].replace("''", "'")
    return v


def _ints(value: str, n: int, cap: Capture, bounds: tuple[int, int] | None = None) -> list[int]:
    v = value.strip()
    if not (v.startswith("[") and v.endswith("]")):
        raise cap._bad(n, f"expected a list of numbers, got {v[:40]!r}")
    try:
        out = [int(x, 0) for x in v[1:-1].split(",") if x.strip()]
    except ValueError:
        raise cap._bad(n, f"expected a list of numbers, got {v[:40]!r}") from None
    if bounds is not None and any(not bounds[0] <= x <= bounds[1] for x in out):
        raise cap._bad(n, f"a number out of range {bounds[0]}..{bounds[1]} in {v[:40]!r}")
    return out


def _flow(value: str, name: str = "value") -> Any:
    """Our extras are JSON (valid YAML flow); libinput's own scalars may be bare strings."""
    v = _strip_comment(value)
    if not v:
        return None
    F.check_depth(v, name)
    try:
        return json.loads(v)
    except ValueError:
        return _unquote(v)


def read_observations(path: str | os.PathLike) -> Iterator[Observation]:
    """Observations of a capture in file order (for `analyze` and `watch --replay`)."""
    return Capture(path).observations()


def read_headers(path: str | os.PathLike) -> Capture:
    """The capture's metadata and device headers, reading only up to the first events."""
    cap = Capture(path)
    for obs in cap.observations():
        if not isinstance(obs, DeviceAdded):
            break
    return cap
