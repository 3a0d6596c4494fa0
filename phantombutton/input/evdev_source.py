"""Live evdev source: pointer nodes -> detect/events.py observations, following hotplug.

- Devices: children of Logitech receivers (slot, WPID, hidraw nodes from sysfs), and with
  `all_mice` every other mouse.
- Held state at attach: EVIOCGKEY on a second fd (EVIOCGKEY drops the queued EV_KEY events
  of the fd it runs on), after the reading fd is open, so nothing falls between the two;
  again after SYN_DROPPED.
- Times: CLOCK_MONOTONIC (EVIOCSCLOCKID), the clock of `time.monotonic()`.
- Hotplug: inotify on /dev/input (IN_CREATE/IN_ATTRIB/IN_DELETE), or a rescan every
  `rescan` seconds where inotify is unavailable. udev sets permissions after the node
  appears, hence IN_ATTRIB and a retry of nodes that were denied.
Events are parsed from the raw struct input_event stream (no library on the hot path).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import selectors
import struct
import time

from phantombutton.buttons import is_mouse_button
from phantombutton.detect.events import DeviceAdded, DeviceInfo, DeviceRemoved, HeldState, Observation
from phantombutton.errors import AccessDenied, DeviceGone
from phantombutton.input import evdev_node as en
from phantombutton.input.frames import frames_to_observations
from phantombutton.input.hidraw_source import HidrawSource, HidrawTag
from phantombutton.input.sysfs_map import PointerNode, describe, pointer_nodes

_WAKE = object()   # selector tag of a wake fd
IN_CREATE, IN_DELETE, IN_ATTRIB = 0x100, 0x200, 0x004
_IN_EVENT = struct.Struct("=iIII")


def device_info(p: PointerNode) -> DeviceInfo:
    return DeviceInfo(node=p.node, name=p.name, vendor=p.vendor, product=p.product, slot=p.slot,
                      receiver_node=p.receiver_node, hidpp_node=p.hidpp_node, buttons=p.buttons,
                      receiver_product=p.receiver_product)


def parse_events(buf: bytes) -> list[tuple[float, int, int, int]]:
    """struct input_event (64-bit timeval) records -> (t, type, code, value)."""
    whole = buf[: len(buf) - len(buf) % en.INPUT_EVENT.size]
    return [(sec + usec / 1e6, typ, code, value)
            for sec, usec, typ, code, value in en.INPUT_EVENT.iter_unpack(whole)]


class _Inotify:
    def __init__(self, path: str):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        wd = libc.inotify_add_watch(self.fd, path.encode(), IN_CREATE | IN_DELETE | IN_ATTRIB)
        if wd < 0:
            e = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(e, f"inotify_add_watch {path}")

    def read(self) -> list[tuple[int, str]]:
        try:
            buf = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        out, pos = [], 0
        while pos + _IN_EVENT.size <= len(buf):
            _wd, mask, _cookie, length = _IN_EVENT.unpack_from(buf, pos)
            name = buf[pos + _IN_EVENT.size: pos + _IN_EVENT.size + length].rstrip(b"\0").decode()
            out.append((mask, name))
            pos += _IN_EVENT.size + length
        return out

    def close(self) -> None:
        os.close(self.fd)


class EvdevSource:
    """Call `start()` once, then `poll(timeout)` repeatedly; `close()` at the end."""

    def __init__(self, all_mice: bool = False, *, sysfs: str = "/sys", dev: str = "/dev",
                 rescan: float = 2.0, clock=time.monotonic, hidpp: bool = True,
                 hidraw: HidrawSource | None = None):
        self.all_mice, self.sysfs, self.dev = all_mice, sysfs, dev
        self.rescan_every = rescan
        self.clock = clock
        self.sel = selectors.DefaultSelector()
        self.devices: dict[str, tuple[int, PointerNode]] = {}   # node -> (fd, what it is)
        self.denied: dict[str, AccessDenied] = {}               # nodes we may not read
        self.problems: list[str] = []                            # one-line notes for the UI
        self._inotify: _Inotify | None = None
        self._next_rescan = 0.0
        self.woken = False      # a wake fd (the X connection) became readable in poll()
        # the receivers' HID++ nodes, read in the same select() (rule b, HID++ context)
        self.hidraw = hidraw if hidraw is not None else (
            HidrawSource(sysfs, clock=clock) if hidpp else None)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> list[Observation]:
        try:
            self._inotify = _Inotify(os.path.join(self.dev, "input"))
            self.sel.register(self._inotify.fd, selectors.EVENT_READ, None)
        except OSError:
            self._inotify = None  # no /dev/input yet or no inotify: periodic rescan
        if self.hidraw is not None:
            self.hidraw.start(self.sel)
        out = self._scan(at_start=True)
        self._take_hidraw_problems()
        return out

    def _take_hidraw_problems(self) -> None:
        if self.hidraw is not None and self.hidraw.problems:
            self.problems += self.hidraw.problems
            self.hidraw.problems.clear()

    def close(self) -> None:
        for node in list(self.devices):
            self._detach(node)
        if self.hidraw is not None:
            self.hidraw.close()
        if self._inotify:
            self.sel.unregister(self._inotify.fd)
            self._inotify.close()
            self._inotify = None
        self.sel.close()

    def add_wake_fd(self, fd: int) -> None:
        """Also wake poll() when `fd` is readable (the X connection's raw events)."""
        self.sel.register(fd, selectors.EVENT_READ, _WAKE)

    def fd_count(self) -> int:
        """File descriptors held open (event nodes, hidraw nodes, inotify): churn must not grow it."""
        return (len(self.devices) + (1 if self._inotify else 0)
                + (self.hidraw.fd_count() if self.hidraw is not None else 0))

    # -- attach / detach -------------------------------------------------------------------
    def _scan(self, at_start: bool = False) -> list[Observation]:
        out: list[Observation] = []
        wanted = {p.node: p for p in pointer_nodes(self.all_mice, self.sysfs, self.dev)}
        for node in [n for n in self.devices if n not in wanted]:
            out += self._detach(node)
        for node, p in wanted.items():
            if node not in self.devices:
                out += self._attach(p, at_start)
        self._next_rescan = self.clock() + self.rescan_every
        return out

    def _attach(self, p: PointerNode, at_start: bool) -> list[Observation]:
        try:
            fd = en.open_node(p.node)
        except AccessDenied as e:
            if p.node not in self.denied:
                self.problems.append(str(e))
            self.denied[p.node] = e
            return []
        except (DeviceGone, OSError):
            return []
        self.denied.pop(p.node, None)
        en.set_monotonic_clock(fd)
        t = self.clock()
        try:
            held = en.held_keys(p.node)   # a second fd: the reading fd keeps its queue
        except (AccessDenied, DeviceGone, OSError):
            os.close(fd)
            return []
        self.devices[p.node] = (fd, p)
        self.sel.register(fd, selectors.EVENT_READ, p.node)
        if self.hidraw is not None and self.hidraw.wants(p.receiver_node):
            self.hidraw.rescan()   # a new receiver (or one we could not open before)
        return [DeviceAdded(t, device_info(p), at_start=at_start),
                HeldState(t, p.node, frozenset(c for c in held if is_mouse_button(c)))]

    def _detach(self, node: str) -> list[Observation]:
        fd, _ = self.devices.pop(node, (None, None))
        if fd is None:
            return []
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(fd)
        os.close(fd)
        return [DeviceRemoved(self.clock(), node)]

    # -- reading -----------------------------------------------------------------------------
    def poll(self, timeout: float) -> list[Observation]:
        """Block in select() for up to `timeout` s; read whatever became ready."""
        out: list[Observation] = []
        self.woken = False
        if self._inotify is None:
            now = self.clock()
            if now >= self._next_rescan:
                out += self._scan()
            timeout = min(timeout, max(0.0, self._next_rescan - now))
        ready = self.sel.select(timeout)
        # HID++ first: within one wake-up the order across fds is unknown, and a notification
        # (0x41) usually precedes the input it explains (hidraw has no timestamps; see
        # hidraw_source.py)
        ready.sort(key=lambda kv: not isinstance(kv[0].data, HidrawTag))
        for key, _ in ready:
            if key.data is None:
                out += self._on_inotify()
            elif key.data is _WAKE:
                self.woken = True
            elif isinstance(key.data, HidrawTag) and self.hidraw is not None:  # registered by hidraw.start
                out += self.hidraw.read(key.data.node)
            elif key.data in self.devices:
                out += self._read(key.data)
        self._take_hidraw_problems()
        return out

    def _on_inotify(self) -> list[Observation]:
        assert self._inotify is not None   # its fd is registered only while it is open
        changes = [(m, n, os.path.join(self.dev, "input", n)) for m, n in self._inotify.read()
                   if n.startswith("event")]
        out: list[Observation] = []
        for mask, _, node in changes:
            if mask & IN_DELETE:
                out += self._detach(node)
        # new nodes, and nodes whose permissions udev just changed
        for mask, name, node in changes:
            if mask & (IN_CREATE | IN_ATTRIB) and node not in self.devices:
                p = describe(name, self.sysfs, self.dev)
                if p and (p.is_hidpp_mouse and p.buttons or self.all_mice and p.is_mouse):
                    out += self._attach(p, at_start=False)
        return out

    def _read(self, node: str) -> list[Observation]:
        fd, _ = self.devices[node]
        chunks: list[bytes] = []
        while True:
            try:
                buf = os.read(fd, en.INPUT_EVENT.size * 64)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno in (errno.ENODEV, errno.EIO, errno.EBADF):
                    return self._obs(node, chunks) + self._detach(node)
                raise
            if not buf:
                break
            chunks.append(buf)
            if len(buf) < en.INPUT_EVENT.size * 64:
                break
        return self._obs(node, chunks)

    def _obs(self, node: str, chunks: list[bytes]) -> list[Observation]:
        if not chunks:
            return []
        obs, dropped = frames_to_observations(node, parse_events(b"".join(chunks)))
        if dropped:  # the kernel's buffer overflowed: our view is stale, read the state
            with contextlib.suppress(AccessDenied, DeviceGone, OSError):
                held = en.held_keys(node)
                obs.append(HeldState(self.clock(), node, frozenset(c for c in held if is_mouse_button(c))))
        return obs
