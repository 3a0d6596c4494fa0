"""Capture writer: a `libinput record` version 1 file with phantombutton's extras.

Layout (a superset: libinput's tools ignore keys they do not know):

    version: 1, ndevices, libinput:, system:     -- as libinput record writes them
    phantombutton:                                -- tool version, kernel, X driver, clock,
                                                     receivers (descriptor, firmware), paired
                                                     devices and settings, state at start
    devices:
    - node: /dev/input/eventN                     -- evdev header, hid descriptor, udev
      phantombutton: {slot, wpid, ...}
      events:                                     -- LAST in the file, one entry per write:
      - evdev: [...]                                 libinput frames (ending in SYN_REPORT)
      - hid: {time, hidrawN: [...]}                  raw hidraw reports, as --with-hidraw
      - xinput: {...}  - device: {...}  - held: {...}  - evdev-node: {...}   (ours)

Everything after `events:` is a list of complete entries, each written with one write() and
flushed, so a capture killed at any point is valid YAML up to its last complete frame.
The header of every device but the first lives in the phantombutton block: libinput writes
the other devices only at exit, which a SIGKILL would lose. Their frames go in the same
events list as `evdev-node` entries (libinput's tools skip entries without an `evdev` key).
Times: CLOCK_MONOTONIC relative to `phantombutton.start`, like libinput's offset.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from phantombutton import __version__
from phantombutton.capture import names as N
from phantombutton.capture.fields import one_line, scalar
from phantombutton.detect.events import (
    DeviceAdded, DeviceInfo, DeviceRemoved, HeldState, HidppTraffic, KeyEvent, Observation, XButtons,
)
from phantombutton.hidpp.decode import describe
from phantombutton.hidpp.errors import FrameError
from phantombutton.hidpp.frames import DJ_REPORT_IDS, HIDPP_REPORT_IDS
from phantombutton.outfile import OutputError, describe_os_error, streaming_output

END_MARKER = "# end of capture"
_DESCRIBED = HIDPP_REPORT_IDS | DJ_REPORT_IDS   # reports the decoder names in a comment


@dataclass
class DeviceHeader:
    """What libinput record prints about an event node, plus what we know of the mouse."""

    node: str
    name: str
    id: tuple[int, int, int, int]                      # bustype, vendor, product, version
    codes: dict[int, list[int]]                        # {EV type: [codes]}
    properties: list[int] = field(default_factory=list)
    absinfo: dict[int, tuple[int, int, int, int, int]] = field(default_factory=dict)
    hid: bytes | None = None                           # HID report descriptor
    udev: list[str] = field(default_factory=list)      # KEY=VALUE
    info: DeviceInfo | None = None                     # slot, WPID, receiver, X slave, settings
    # hidraw nodes recorded for this device besides its receiver's and its child's HID++ nodes:
    # a receiver's shared mouse node's own interface (Bolt), whose reports are its buttons
    input_hidraw: tuple[str, ...] = ()

    def device_info(self) -> DeviceInfo:
        if self.info is not None:
            return self.info
        return DeviceInfo(node=self.node, name=self.name, vendor=self.id[1], product=self.id[2],
                          buttons=frozenset(c for c in self.codes.get(N.EV_KEY, ()) if c >= 0x100))


@dataclass
class HidrawHeader:
    """A hidraw node whose reports we record (the receiver's HID++ interface, a child)."""

    node: str
    name: str = ""
    phys: str = ""
    id: tuple[int, int, int] = (0, 0, 0)               # bus, vendor, product
    descriptor: bytes = b""
    firmware: str | None = None


@dataclass
class CaptureMeta:
    """The phantombutton block. `extra` is free-form (receiver serial, paired list, ...)."""

    start: float                                       # CLOCK_MONOTONIC time of t = 0
    kernel: str = ""
    x_input_driver: str | None = None                  # "libinput", "evdev", None (no X)
    hidraw: list[HidrawHeader] = field(default_factory=list)
    held_at_start: dict[str, list[int]] = field(default_factory=dict)   # node -> EVIOCGKEY codes
    x_at_start: list[XButtons] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    libinput_version: str = "unknown"
    os: str = ""
    dmi: str = ""


def _j(v: Any) -> str:
    """JSON is YAML flow syntax: one line, trivially parsed back, valid for yaml.safe_load;
    a string is a double-quoted YAML scalar."""
    return json.dumps(v, separators=(", ", ": "))


def _hexlist(data: bytes, indent: str) -> str:
    """libinput's layout of a byte list: 16 per line, `[` and `]` on their own lines."""
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 16]) for i in range(0, len(data), 16)]
    return "[\n" + ",\n".join(indent + "  " + r for r in rows) + "\n" + indent + "]"


def _x_dict(x: XButtons, t: tuple[int, int] | None = None) -> dict:
    d: dict[str, Any] = {"time": list(t)} if t is not None else {}
    return d | dict(device=x.device_id, node=x.device_node, master=x.is_master, buttons=sorted(x.buttons))


def _info_dict(i: DeviceInfo) -> dict:
    # receiver_product: the receiver's family (receivers.py) decides rules at link loss and
    # names a shared mouse node's receiver; written only when known (older captures lack it)
    d = {"slot": i.slot, "wpid": i.product, "receiver": i.receiver_node, "hidraw": i.hidpp_node,
         "x_slave": i.x_slave_id, "settings": {k: v for k, v in i.settings}}
    if i.receiver_product is not None:
        d["receiver_product"] = i.receiver_product
    return d


class CaptureWriter:
    """Write a capture frame by frame. `fp` is a text file opened by the caller (or a path)."""

    def __init__(self, fp: IO[str] | str | os.PathLike, devices: Sequence[DeviceHeader],
                 meta: CaptureMeta, *, show_keycodes: bool = False,
                 describe_hid: Any = None, name: str | None = None):
        if not devices:
            raise ValueError("a capture needs at least one event node")
        self._own = isinstance(fp, (str, os.PathLike))
        self.fp: IO[str] = streaming_output(os.fspath(fp)) if isinstance(fp, (str, os.PathLike)) else fp
        # for error messages: the path given, else standard output
        self.name = name or (os.fspath(fp) if isinstance(fp, (str, os.PathLike)) else "standard output")
        self.devices = list(devices)
        self.primary = self.devices[0].node
        self.meta = meta
        self.show_keycodes = show_keycodes
        self._describe = describe_hid or _describe_hidpp
        self._last_syn_ms: dict[str, int] = {}
        self.frames = 0
        self.events = 0
        self.closed = False
        try:
            self._write_header()
        except OutputError:
            if self._own:
                with contextlib.suppress(OSError):   # the same error again, from the flush in close()
                    self.fp.close()
            raise

    # -- header ----------------------------------------------------------------------------
    def _write_header(self) -> None:
        m = self.meta
        w = []
        w.append("# libinput record\n")
        w.append(f"# written by phantombutton {__version__}: a libinput record version 1 file with extra keys\n")
        w.append("# (ignored by libinput's tools). Times: CLOCK_MONOTONIC minus phantombutton.start.\n")
        w.append("version: 1\nndevices: 1\n")
        w.append(f"libinput:\n  version: {_j(m.libinput_version)}\n  git: \"unknown\"\n")
        w.append(f"system:\n  os: {_j(m.os)}\n  kernel: {_j(m.kernel)}\n  dmi: {_j(m.dmi)}\n")
        s, us = divmod(round(m.start * 1e6), 1_000_000)
        w.append("phantombutton:\n")
        w.append(f"  version: {_j(__version__)}\n")
        w.append("  clock: monotonic\n")
        w.append(f"  start: [{s}, {us}]\n")
        w.append(f"  kernel: {_j(m.kernel)}\n")
        w.append(f"  x_input_driver: {_j(m.x_input_driver)}\n")
        w.append(f"  show_keycodes: {_j(self.show_keycodes)}\n")
        w.append("  hidraw: " + _j([{"node": h.node, "name": h.name, "phys": h.phys, "id": list(h.id),
                                     "firmware": h.firmware, "descriptor": h.descriptor.hex()}
                                    for h in m.hidraw]) + "\n")
        w.append("  held_at_start: " + _j({k: self._held(v) for k, v in m.held_at_start.items()}) + "\n")
        w.append("  x_at_start: " + _j([_x_dict(x) for x in m.x_at_start]) + "\n")
        w.append("  other_devices: " + _j([self._header_dict(d) for d in self.devices[1:]]) + "\n")
        for k, v in m.extra.items():
            w.append(f"  {k}: {_j(v)}\n")
        w.append("devices:\n")
        w.append(self._device_yaml(self.devices[0]))
        w.append("  events:\n")
        self._write("".join(w))

    @staticmethod
    def _header_dict(d: DeviceHeader) -> dict:
        return {"node": d.node, "name": d.name, "id": list(d.id),
                "codes": {str(k): v for k, v in sorted(d.codes.items())}, "properties": d.properties,
                "hid": d.hid.hex() if d.hid else None, "udev": d.udev,
                "phantombutton": _info_dict(d.device_info())}

    def _device_yaml(self, d: DeviceHeader) -> str:
        w = [f"- node: {scalar(d.node)}\n", "  evdev:\n"]
        bus, vid, pid, ver = d.id
        w.append(f"    # Name: {one_line(d.name)}\n")
        w.append(f"    # ID: bus 0x{bus:04x} vendor 0x{vid:04x} product 0x{pid:04x} version 0x{ver:04x}\n")
        w.append(f"    name: {_j(d.name)}\n")
        w.append(f"    id: [{bus}, {vid}, {pid}, {ver}]\n")
        w.append("    codes:\n")
        for t in sorted(d.codes):
            w.append(f"      {t}: [{', '.join(str(c) for c in sorted(d.codes[t]))}] # {N.TYPE_NAMES.get(t, t)}\n")
        if d.absinfo:
            w.append("    absinfo:\n")
            for c in sorted(d.absinfo):
                w.append(f"      {c}: [{', '.join(str(v) for v in d.absinfo[c])}]\n")
        w.append(f"    properties: [{', '.join(str(p) for p in d.properties)}]\n")
        if d.hid:
            w.append("  hid: " + _hexlist(d.hid, "  ") + "\n")
        # an empty list, not a null: libinput replay iterates it
        w.append("  udev:\n    properties:" + ("\n" if d.udev else " []\n"))
        for p in d.udev:
            w.append(f"    - {scalar(p)}\n")
        w.append("  phantombutton: " + _j(_info_dict(d.device_info())) + "\n")
        return "".join(w)

    # -- entries ---------------------------------------------------------------------------
    def _write(self, s: str) -> None:
        try:
            self.fp.write(s)
            self.fp.flush()
        except OSError as e:   # ENOSPC, EPIPE, EIO: one line naming the output
            raise OutputError(describe_os_error(self.name, e)) from None

    def _held(self, codes) -> list[int]:
        """EVIOCGKEY codes as the frames show them: keyboard keys hidden like hide_key does
        (several letters collapse into one KEY_A), mouse buttons kept."""
        if self.show_keycodes:
            return sorted(codes)
        return sorted({N.hide_key(N.EV_KEY, c, 1)[0] for c in codes})

    def _time(self, t: float) -> tuple[int, int]:
        return divmod(round(max(0.0, t - self.meta.start) * 1e6), 1_000_000)

    def evdev(self, node: str, events: Sequence[tuple[float, int, int, int]]) -> None:
        """One evdev frame (t, type, code, value)..., ending with SYN_REPORT (added if missing)."""
        if not events:
            return
        evs = list(events)
        if evs[-1][1:3] != (N.EV_SYN, N.SYN_REPORT):
            evs.append((evs[-1][0], N.EV_SYN, N.SYN_REPORT, 0))
        lines = []
        for t, typ, code, value in evs:
            s, us = self._time(t)
            hidden = False
            if not self.show_keycodes:
                code, value, hidden = N.hide_key(typ, code, value)
            if typ == N.EV_SYN and code == N.SYN_REPORT:
                ms = s * 1000 + us // 1000
                dt = ms - self._last_syn_ms.get(node, ms)
                self._last_syn_ms[node] = ms
                desc = f"------------ SYN_REPORT (0) ---------- {dt:+d}ms"
            else:
                desc = f"{N.TYPE_NAMES.get(typ, typ)} / {N.code_name(typ, code):<20s} {value:6d}"
                if hidden:
                    desc += " (obfuscated)"
            lines.append(f"[{s:3d}, {us:6d}, {typ:3d}, {code:3d}, {value:7d}] # {desc}")
        if node == self.primary:
            self._write("  - evdev:\n" + "".join(f"    - {ln}\n" for ln in lines))
        else:
            frame = [[*self._time(t), typ, code, value] for t, typ, code, value in evs]
            if not self.show_keycodes:
                frame = [[s, us, typ, *N.hide_key(typ, code, value)[:2]] for s, us, typ, code, value in frame]
            self._write(f"  - evdev-node: {_j({'node': node, 'frame': frame})}\n")
        self.frames += 1
        self.events += len(evs)

    def hid(self, node: str, t: float, data: bytes) -> None:
        """A raw report read from hidraw `node`, exactly as `libinput record --with-hidraw`."""
        data = bytes(data)
        note = ""
        if not self.show_keycodes:
            data, hidden = N.hide_hid_report(data)
            if hidden:
                note = "keyboard report, keys hidden"
        if not note:
            note = self._describe(data)
        s, us = self._time(t)
        name = os.path.basename(node)
        comment = f" # {one_line(note)}" if note else ""
        self._write(f"  - hid:{comment}\n      time: [{s:3d}, {us:6d}]\n"
                    f"      {name}: {_hexlist(data, '      ')}\n")
        self.frames += 1

    def observation(self, obs: Observation) -> None:
        """Entries for the observations that are not raw evdev frames (X state changes,
        hotplug, EVIOCGKEY re-syncs, HID++ traffic). KeyEvent becomes a one-key frame;
        Motion carries no values and is only recorded through evdev()."""
        if isinstance(obs, HidppTraffic):
            self.hid(obs.node, obs.t, obs.data)
        elif isinstance(obs, XButtons):
            self._write(f"  - xinput: {_j(_x_dict(obs, self._time(obs.t)))}\n")
        elif isinstance(obs, DeviceAdded):
            d = {"time": list(self._time(obs.t)), "added": obs.device.node, "name": obs.device.name,
                 "vendor": obs.device.vendor, "product": obs.device.product, **_info_dict(obs.device)}
            self._write(f"  - device: {_j(d)}\n")
        elif isinstance(obs, DeviceRemoved):
            self._write(f"  - device: {_j({'time': list(self._time(obs.t)), 'removed': obs.node})}\n")
        elif isinstance(obs, HeldState):
            held = {'time': list(self._time(obs.t)), 'node': obs.node, 'codes': self._held(obs.codes)}
            self._write(f"  - held: {_j(held)}\n")
        elif isinstance(obs, KeyEvent):
            self.evdev(obs.node, [(obs.t, N.EV_KEY, obs.code, obs.value)])

    def close(self, end: float | None = None) -> None:
        """Write the end marker (a comment: the events list stays valid YAML), with the time the
        capture stopped when known, so time-based rules see the quiet seconds at the end."""
        if self.closed:
            return
        self.closed = True
        at = " time [%d, %d]," % self._time(end) if end is not None else ""
        self._write(f"{END_MARKER}:{at} {self.frames} entries, {self.events} evdev events\n")
        if self._own:
            self.fp.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _describe_hidpp(data: bytes) -> str:
    """The decoder's line for a HID++ or DJ report, the comment of its `- hid:` entry."""
    if not data or data[0] not in _DESCRIBED:
        return ""
    try:
        return describe(data).replace("\n", " ")
    except FrameError:   # junk: a comment must never stop a capture
        return ""
