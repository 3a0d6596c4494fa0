"""HID++ traffic of each Unifying receiver, read from its hidraw node, as observations.

Every hidraw reader receives every input report of its node (hidraw.c hidraw_report_event;
docs/receivers.md): notifications
(0x41 device connection - a DJ reconnect makes no new node, only this), the kernel's and other
programs' HID++ replies, each 2.0 reply carrying its asker's software id. The detector uses
them for rule b (press soon after a (re)connection) and for a finding's HID++ context.

Read-only: the node is opened O_RDONLY and nothing is ever written, so watching cannot
disturb the receiver. Kept: HID++ frames (report ids 0x10, 0x11, 0x12) and DJ notifications
(0x20/0x21 with a report type >= 0x40); DJ mouse reports (0x20 type 0x02) only as a DjInput
(slot, and whether the kernel would make an event of it - detect/stall.py compares them with
the slot's evdev node); dropped: keyboard reports, whose key codes are nobody's business. Times are `clock()` at read:
hidraw has no timestamps; the fd is in the caller's select set, so a report is read within
a scheduling delay of its arrival.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from phantombutton.detect.events import DjInput, HidppTraffic, Observation
from phantombutton.hidpp.classify import DJ_NOTIFICATION_FIRST
from phantombutton.hidpp.dj import DjReportType, parse_mouse
from phantombutton.hidpp.errors import FrameError
from phantombutton.hidpp.frames import DJ_REPORT_IDS, HIDPP_REPORT_IDS, DjFrame, ReportId, parse
from phantombutton.transport import discovery   # find_receivers looked up at each call, as service/platform.py does

MAX_REPORTS_PER_READ = 256     # a burst is read in one go, bounded (the loop must go on)


def keep_report(report: bytes) -> bool:
    """HID++ frames and DJ notifications; not DJ input reports (motion, keys)."""
    if len(report) < 3:
        return False
    if report[0] in HIDPP_REPORT_IDS:
        return True
    return report[0] in DJ_REPORT_IDS and report[2] >= DJ_NOTIFICATION_FIRST


def dj_input(t: float, node: str, report: bytes, last_buttons: dict[tuple[str, int], int]) -> DjInput | None:
    """A DJ mouse report as a DjInput, or None for anything else. `last_buttons` (per node and
    slot) is updated: a report is `active` when it moves, scrolls or changes the buttons."""
    if len(report) < 3 or report[0] != ReportId.DJ_SHORT or report[2] != DjReportType.MOUSE:
        return None
    try:
        m = parse_mouse(cast(DjFrame, parse(report)))   # report id DJ_SHORT: parse gives a DjFrame
    except FrameError:
        return None
    key = (node, m.devnum)
    changed = last_buttons.get(key, 0) != m.buttons
    last_buttons[key] = m.buttons
    return DjInput(t, node, m.devnum, bool(changed or m.x or m.y or m.wheel or m.pan))


@dataclass(frozen=True)
class HidrawTag:
    """Selector data of a hidraw fd (tells the owner's select loop whose fd it is)."""

    node: str


def _open_read_only(node: str) -> int:
    return os.open(node, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)


class HidrawSource:
    """Receivers' HID++ nodes in a selector owned by the caller (EvdevSource's).

    `rescan()` when devices come or go (the caller's hotplug); a node that fails with
    ENODEV/EIO is dropped; one that may not be read is noted once in `problems`."""

    def __init__(self, sysfs: str = "/sys", *, clock=time.monotonic,
                 find: Callable[[], list[str]] | None = None,
                 open_node: Callable[[str], int] = _open_read_only):
        self.clock = clock
        self._find = find or (lambda: [r.node for r in discovery.find_receivers(sysfs)])
        self._open = open_node
        self.fds: dict[str, int] = {}
        self.problems: list[str] = []
        self._noted: set[str] = set()
        self._buttons: dict[tuple[str, int], int] = {}
        self._sel = None

    def start(self, sel) -> None:
        self._sel = sel
        self.rescan()

    def rescan(self) -> None:
        try:
            wanted = set(self._find())
        except OSError:
            return
        for node in [n for n in self.fds if n not in wanted]:
            self._drop(node)
        for node in sorted(wanted - set(self.fds)):
            self._add(node)

    def wants(self, node: str | None) -> bool:
        """A device behind `node` appeared and we do not read it yet (worth a rescan)."""
        return bool(node) and node not in self.fds and node not in self._noted

    def _add(self, node: str) -> None:
        try:
            fd = self._open(node)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EPERM) and node not in self._noted:
                self._noted.add(node)
                self.problems.append(
                    f"{node}: cannot read HID++ traffic ({errno.errorcode.get(e.errno, e.errno)}): "
                    "findings will carry no HID++ context and reconnections without a new node "
                    "go unseen; read access to the receiver's hidraw node needs root or the udev "
                    "rule (phantombutton install-udev)")
            return   # gone meanwhile: the next rescan decides
        self._noted.discard(node)
        self.fds[node] = fd
        if self._sel is not None:
            self._sel.register(fd, 1, HidrawTag(node))   # selectors.EVENT_READ == 1

    def _drop(self, node: str) -> None:
        fd = self.fds.pop(node, None)
        if fd is None:
            return
        if self._sel is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(fd)
        os.close(fd)

    def read(self, node: str) -> list[Observation]:
        """Every report queued on `node` that is worth keeping."""
        fd = self.fds.get(node)
        if fd is None:
            return []
        out: list[Observation] = []
        for _ in range(MAX_REPORTS_PER_READ):
            try:
                report = os.read(fd, 64)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno in (errno.ENODEV, errno.EIO, errno.EBADF, errno.ENXIO):
                    self._drop(node)
                    break
                raise
            if not report:    # EOF: the node went away
                self._drop(node)
                break
            if keep_report(report):
                out.append(HidppTraffic(self.clock(), node, bytes(report)))
            elif (dj := dj_input(self.clock(), node, report, self._buttons)) is not None:
                out.append(dj)
        return out

    def close(self) -> None:
        for node in list(self.fds):
            self._drop(node)

    def fd_count(self) -> int:
        return len(self.fds)
