"""Streaming reader of `libinput record` files (ours and plain ones) -> observations.

Never loads the whole file: capture/tokens.py cuts the lines into tokens in one pass, in
constant memory; here one handler per kind of entry (the file's skeleton, a device's header,
each kind of event entry) turns them into observations, evdev frames through the live source's
own input/frames.py `frames_to_observations`. Unknown keys and unknown
event entries are skipped, as the format requires. Malformed input raises BadInput naming
the file and line: not a libinput record file, wrong version, binary junk, truncated, a
field of the wrong type or out of range (capture/fields.py checks each where it is read),
a line longer than infile.MAX_LINE, JSON nested deeper than fields.MAX_DEPTH.

A capture that ends after a complete entry without our end marker is a killed capture: it is
read (and `Capture.complete` is False). A file that ends inside an entry was truncated: error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from phantombutton.capture import fields as F
from phantombutton.capture.names import EV_KEY
from phantombutton.capture.record import END_MARKER
from phantombutton.capture.tokens import Comment, FrameEnd, Line, Tokens, flow, ints, unquote
from phantombutton.detect.events import DeviceAdded, DeviceInfo, DeviceRemoved, HeldState, HidppTraffic, Observation
from phantombutton.errors import BadInput
from phantombutton.infile import BoundedLines, open_input
from phantombutton.input.frames import Event, frames_to_observations

SUPPORTED_VERSION = 1
_END_TIME = re.compile(r"time \[(\d+), (\d+)\]")
# libinput record (tools/libinput-record.c, print_wall_time) writes the wall clock every 5 s
# while events come: the only clock a plain recording has where no frame follows
_WALL_TIME = re.compile(r"# Current time is (\d\d):(\d\d):(\d\d)")


@dataclass
class DeviceEntry:
    """One device of a capture's `devices:` list, as the reader collects it."""

    node: str
    name: str = ""
    id: list[int] = field(default_factory=list)
    codes: dict[int, list[int]] = field(default_factory=dict)
    hid: list[int] = field(default_factory=list)
    udev: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)   # our per-device phantombutton block

    def info(self) -> DeviceInfo:
        vendor, product = self.id[1:3] if len(self.id) > 2 else (None, None)
        return _device_info(self.node, self.name, vendor, product, self.extra,
                            frozenset(c for c in self.codes.get(EV_KEY, ()) if c >= 0x100))


def _device_info(node: str, name: str, vendor: int | None, product: int | None, extra: dict[str, Any],
                 buttons: frozenset[int] = frozenset()) -> DeviceInfo:
    """A device's header or `- device:` entry with our per-device block (fields.device_extra)."""
    return DeviceInfo(node=node, name=name, vendor=vendor, product=extra.get("wpid") or product,
                      slot=extra.get("slot"), receiver_node=extra.get("receiver"), hidpp_node=extra.get("hidraw"),
                      receiver_product=extra.get("receiver_product"), x_slave_id=extra.get("x_slave"),
                      buttons=buttons, settings=extra.get("settings") or ())


class Capture:
    """One capture file. Iterate `observations()` once; headers fill in as they are read."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.version: int | None = None
        self.meta: dict[str, Any] = {}       # the phantombutton block (empty for plain files)
        self.devices: list[DeviceEntry] = []
        self.complete = False                # our end marker seen
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

    # -- parsing ---------------------------------------------------------------------------
    def observations(self) -> Iterator[Observation]:
        with open_input(self.path) as f:
            self._lines = BoundedLines(f, self.path)
            try:
                yield from self._parse(Tokens(self._lines, self._bad))
            except F.FieldError as e:
                raise self._bad(self._lines.number, str(e)) from None

    def _parse(self, tokens: Tokens) -> Iterator[Observation]:
        """Dispatch each line to the handler of where it is: a top-level key, the phantombutton
        block, a device's header, one of its event entries."""
        st = _State(tokens)
        for line in tokens:
            if isinstance(line, Comment):
                self._on_comment(line, st)
                continue
            if not st.seen_key:
                if line.indent or line.key == line.text or line.item or line.text.startswith(("-", "[", "{")):
                    raise self._bad(line.n, "not a libinput record file (expected `version: 1` and YAML "
                                            "keys; record one with `phantombutton capture`)")
                st.seen_key = True
            if line.indent == 0 and not line.item:
                self._on_top(line, st)
            elif st.section == "phantombutton":
                if line.indent == 2 and not line.item:
                    self.meta[line.key] = _meta_value(line.key, flow(line.value, f"phantombutton.{line.key}"))
            elif st.section == "devices":
                yield from self._on_devices(line, st)
        self._at_end(st)

    def _on_devices(self, line: Line, st: _State) -> Iterator[Observation]:
        """A line of the `devices:` list: a device's start, header keys, or event entries."""
        if line.indent == 0:
            self._on_device_item(line, st)
        elif st.dev is None:
            pass
        elif line.indent == 2 and not line.item:
            yield from self._on_device_key(line, st, st.dev)
        elif st.sub == "evdev":
            self._on_evdev_header(line, st.dev)
        elif st.sub == "udev":
            if line.item:
                st.dev.udev.append(unquote(line.text))
        elif st.sub != "events":
            pass
        elif line.indent == 2 and line.item:
            yield from self._on_entry(line, st)
        elif st.entry == "hid":
            yield from self._on_hid_line(line, st)
        # anything else inside an entry we do not know: skipped

    # -- handlers: the file's skeleton ----------------------------------------------------------
    def _on_comment(self, c: Comment, st: _State) -> None:
        wall = _WALL_TIME.match(c.text)
        if wall:
            h, m, sec = (int(x) for x in wall.groups())
            seen = self.evdev_events or self.hid_reports
            self.wall_marks.append((h * 3600 + m * 60 + sec, max(self.end_time, st.hid_t) if seen else None))
        elif c.text.startswith(END_MARKER):
            self.complete = True
            t = _END_TIME.search(c.text)
            if t:
                try:
                    sec, usec = int(t.group(1)), int(t.group(2))
                except ValueError:   # more digits than int() takes
                    raise F.FieldError("end marker time", "not a number") from None
                self.end_time = max(self.end_time, F.seconds(sec, usec, "end marker time"))

    def _on_top(self, line: Line, st: _State) -> None:
        st.section, st.sub, st.entry = line.key, None, None
        if line.key == "version":
            try:
                self.version = int(line.value)
            except ValueError:
                raise self._bad(line.n, f"version is not a number: {line.value!r}") from None
            if self.version != SUPPORTED_VERSION:
                raise self._bad(line.n, f"capture format version {self.version}, this tool reads "
                                        f"version {SUPPORTED_VERSION}; upgrade phantombutton")
        elif line.key == "devices" and self.version is None:
            raise self._bad(line.n, "no `version:` before `devices:`; not a libinput record file")

    def _on_device_item(self, line: Line, st: _State) -> None:
        """`- node: /dev/input/eventN` starts a device (other items of the list: skipped)."""
        key = line.key.strip()
        if line.item and key == "node":
            st.dev = DeviceEntry(node=F.text(unquote(line.value), "node"))
            self.devices.append(st.dev)
        st.sub, st.entry = key, None

    def _on_device_key(self, line: Line, st: _State, dev: DeviceEntry) -> Iterator[Observation]:
        st.sub, st.entry = line.key, None
        if line.key == "hid" and line.value.startswith("["):
            got = st.tokens.byte_list(line.value, line.n)
            if got is None:
                st.open_list = line.n
            else:
                dev.hid = got
        elif line.key == "phantombutton":
            dev.extra = F.device_extra(flow(line.value, "phantombutton"), "phantombutton")
        elif line.key == "events":
            yield from self._device_ready(dev, first=not st.started)
            st.started = True

    def _on_evdev_header(self, line: Line, dev: DeviceEntry) -> None:
        if line.indent == 4 and line.key == "name":
            dev.name = unquote(line.value)
        elif line.indent == 4 and line.key == "id":
            dev.id = ints(line.value, line.n, self._bad, (0, 0xFFFF))
        elif line.indent == 6 and F.small_number(line.key) and line.value.startswith("["):
            dev.codes[F.integer(int(line.key), "codes", *F.U16)] = ints(line.value, line.n, self._bad, F.U16)

    def _at_end(self, st: _State) -> None:
        n = self._lines.number if self._lines else 0
        if n == 0:
            raise self._bad(1, "empty file, not a libinput record file", content=False)
        if st.open_list or st.open_frame or st.entry == "hid" or (
                not st.tokens.last_raw.endswith(b"\n") and st.section == "devices"):
            where = ("evdev frame started at line %d" % st.open_frame if st.open_frame else
                     "byte list started at line %d" % st.open_list if st.open_list else "last line")
            raise self._bad(n, f"truncated in the middle of an entry ({where}); the file was cut, "
                               "not just stopped: re-copy it, or cut it after the last complete frame")
        if self.version is None:
            raise self._bad(n, "no `version:` key; not a libinput record file", content=False)
        if not self.devices:
            raise self._bad(n, "no `devices:` entries; not a libinput record file", content=False)

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

    # -- handlers: event entries ---------------------------------------------------------------
    def _on_entry(self, line: Line, st: _State) -> Iterator[Observation]:
        st.entry = "skip"
        kind = line.key
        if kind == "evdev":
            if line.value.startswith("["):   # flow style frame on one line
                yield from self._frame(st.node, self._flow_events(flow(line.value, "evdev"), "evdev", line.n))
            else:
                yield from self._block_frame(st)
        elif kind == "hid":
            if line.value.startswith("{"):
                yield from self._flow_hid(flow(line.value, "hid"), line.n)
            else:
                st.entry, st.hid_line = "hid", line.n
        elif kind in _EXTRAS:
            yield from _EXTRAS[kind](self, flow(line.value, kind), line.n)

    def _block_frame(self, st: _State) -> Iterator[Observation]:
        got = st.tokens.frames()
        self.evdev_events += len(got.events)
        if got.syn_t is not None:
            self.end_time = got.syn_t
        if got.end is FrameEnd.EOF:
            st.open_frame = got.start
        yield from frames_to_observations(st.node, got.events)[0]

    def _frame(self, node: str, events: list[Event]) -> Iterator[Observation]:
        """A frame written in flow style (`- evdev: [[...], ...]`, `evdev-node`'s frame)."""
        self.evdev_events += len(events)
        if events:
            self.end_time = max(self.end_time, events[-1][0])
        yield from frames_to_observations(node, events)[0]

    def _flow_events(self, frame: Any, name: str, n: int) -> list[Event]:
        """`[[sec, usec, type, code, value], ...]`, each field checked."""
        if not isinstance(frame, list):
            raise self._bad(n, "malformed evdev frame")
        events = []
        for i, ev in enumerate(frame):
            if not (isinstance(ev, list) and len(ev) == 5):
                raise self._bad(n, "malformed evdev event, expected [sec, usec, type, code, value]")
            where = f"{name}[{i}]"
            t = F.seconds(F.integer(ev[0], where), F.integer(ev[1], where), where)
            events.append((t, F.integer(ev[2], where, *F.U16), F.integer(ev[3], where, *F.U16),
                           F.integer(ev[4], where, *F.S32)))
        return events

    def _on_hid_line(self, line: Line, st: _State) -> Iterator[Observation]:
        """`time:` and `hidrawN: [...]` of a block `- hid:` entry."""
        if line.key == "time":
            st.hid_t = F.time_pair(ints(line.value, line.n, self._bad), "hid time")
        elif line.key.startswith("hidraw") and line.value.startswith("["):
            data = st.tokens.byte_list(line.value, line.n)
            if data is None:
                st.open_list = st.hid_line
                return
            self.hid_reports += 1
            st.entry = None
            yield HidppTraffic(st.hid_t, "/dev/" + line.key, bytes(data))

    def _flow_hid(self, d, n) -> Iterator[Observation]:
        if not isinstance(d, dict) or "time" not in d:
            raise self._bad(n, "malformed hid entry, expected {time: [sec, usec], hidrawN: [...]}")
        t = F.time_pair(d["time"], "hid.time")
        for k, v in d.items():
            if k.startswith("hidraw") and isinstance(v, list):
                self.hid_reports += 1
                yield HidppTraffic(t, "/dev/" + k, bytes(F.integers(v, f"hid.{k}", *F.BYTE)))

    def _timed(self, kind: str, d: Any, n: int) -> float:
        if not isinstance(d, dict) or "time" not in d:
            raise self._bad(n, f"malformed {kind} entry")
        t = F.time_pair(d["time"], f"{kind}.time")
        self.end_time = max(self.end_time, t)
        return t

    def _on_xinput(self, d: Any, n: int) -> Iterator[Observation]:
        yield F.xbuttons(self._timed("xinput", d, n), d, "xinput")

    def _on_held(self, d: Any, n: int) -> Iterator[Observation]:
        t = self._timed("held", d, n)
        yield HeldState(t, F.text(d.get("node"), "held.node"),
                        frozenset(F.integers(d.get("codes"), "held.codes", *F.U16)))

    def _on_device(self, d: Any, n: int) -> Iterator[Observation]:
        t = self._timed("device", d, n)
        if "removed" in d:
            yield DeviceRemoved(t, F.text(d["removed"], "device.removed"))
        elif "added" in d:
            x = F.device_extra(d, "device")
            yield DeviceAdded(t, _device_info(
                F.text(d["added"], "device.added"), F.opt_text(d.get("name"), "device.name") or "",
                F.opt_integer(d.get("vendor"), "device.vendor", 0, 0xFFFF),
                x.get("wpid") or F.opt_integer(d.get("product"), "device.product", 0, 0xFFFF), x))

    def _on_evdev_node(self, d: Any, n: int) -> Iterator[Observation]:
        """A frame of a node that has no device entry (a keyboard), our extra."""
        if not isinstance(d, dict):
            raise self._bad(n, "malformed evdev-node entry")
        node = F.text(d.get("node", "?"), "evdev-node.node")
        yield from self._frame(node, self._flow_events(d.get("frame"), "evdev-node.frame", n))


_EXTRAS = {"xinput": Capture._on_xinput, "held": Capture._on_held, "device": Capture._on_device,
           "evdev-node": Capture._on_evdev_node}


@dataclass
class _State:
    """Where the parser is: the top-level key, the device and its key, the open entry."""

    tokens: Tokens
    seen_key: bool = False
    section: str | None = None
    dev: DeviceEntry | None = None
    sub: str | None = None
    entry: str | None = None        # "hid" while in a block `- hid:` entry, "skip" in others
    started: bool = False           # the start-state observations were given
    hid_t: float = 0.0
    hid_line: int = 0
    open_frame: int = 0             # line of an evdev frame the file ended in
    open_list: int = 0              # line of a byte list the file ended in

    @property
    def node(self) -> str:
        return self.dev.node if self.dev else ""


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
    if key == "paired":
        return F.paired(v, name)
    if key in ("kernel", "x_input_driver"):
        return F.opt_text(v, name)
    return v


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
