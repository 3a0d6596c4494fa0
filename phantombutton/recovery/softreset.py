"""Receiver soft reset: unbind and rebind the receiver's HID device from its driver (sysfs).

The step before "unplug the receiver": hid-logitech-dj's remove and probe run again, so the
receiver is switched to DJ mode anew, its paired devices are enumerated again and every child
(hid-logitech-hidpp) is probed from scratch - the kernel's connect setup included (wheel
resolution, battery). Only the one diagnosed receiver; only when the user asks (`--fix`, or
`phantombutton reset-receiver`). Writing to /sys/bus/hid/drivers/<driver>/unbind|bind needs
root. The outcome says exactly what was written where, and what came back: the driver bound
again, a hidraw node, and the same paired models as children (by WPID).
"""

from __future__ import annotations

import os
import re
import select
import time
from dataclasses import dataclass, field

from phantombutton.detect.events import DeviceAdded, DeviceInfo, Motion
from phantombutton.detect.stall import GRACE, StallRule
from phantombutton.errors import AccessDenied, PhantomError
from phantombutton.hidpp.errors import HidppError
from phantombutton.hidpp.frames import RECEIVER
from phantombutton.hidpp.hidpp10 import Register
from phantombutton.input.evdev_node import INPUT_EVENT
from phantombutton.input.hidraw_source import dj_input
from phantombutton.input.sysfs_map import pointer_nodes
from phantombutton.recovery.wheel import WheelEvent

_HID_ID = re.compile(r"^[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{4}\.[0-9A-F]{4}$")


@dataclass
class ResetOutcome:
    """What a receiver reset did, and what was there before and after."""

    ok: bool
    hid_id: str
    driver: str
    steps: list[str] = field(default_factory=list)
    children_before: list[str] = field(default_factory=list)   # WPIDs
    children_after: list[str] = field(default_factory=list)
    nodes_after: list[str] = field(default_factory=list)         # hidraw nodes of the receiver
    seconds: float = 0.0

    def summary(self) -> str:
        head = "receiver soft reset " + ("done" if self.ok else "FAILED")
        return (f"{head}: {'; '.join(self.steps)}; children before {', '.join(self.children_before) or 'none'}, "
                f"after {', '.join(self.children_after) or 'none'}; hidraw {', '.join(self.nodes_after) or 'none'} "
                f"({self.seconds:.2f} s)")


def _driver(hid_dir: str) -> str | None:
    link = os.path.join(hid_dir, "driver")
    return os.path.basename(os.path.realpath(link)) if os.path.exists(link) else None


def _children(hid_dir: str) -> list[str]:
    """WPIDs (product part of the HID id) of the child HID devices hid-logitech-dj created."""
    try:
        names = os.listdir(hid_dir)
    except OSError:
        return []
    return sorted(n.split(":")[2].split(".")[0] for n in names if _HID_ID.match(n))


def _hidraw(hid_dir: str) -> list[str]:
    try:
        return sorted(f"/dev/{n}" for n in os.listdir(os.path.join(hid_dir, "hidraw")))
    except OSError:
        return []


def _write(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except PermissionError as e:
        raise AccessDenied(path, "EACCES", "the soft reset writes to the driver's unbind/bind "
                           "files: run it as root (sudo phantombutton reset-receiver)") from e
    except OSError as e:
        raise PhantomError(f"writing {value} to {path} failed: {e.strerror or e}") from e


def soft_reset(hidraw_sysfs: str, *, sysfs: str = "/sys", timeout: float = 10.0,
               clock=time.monotonic, sleep=time.sleep) -> ResetOutcome:
    """Unbind and rebind the receiver behind `hidraw_sysfs`; wait for it (and its children)
    to come back. Raises AccessDenied without root; a receiver that does not come back
    within `timeout` gives ok=False (the caller then advises unplugging it)."""
    hid_dir = os.path.realpath(os.path.join(hidraw_sysfs, "device"))   # the HID device behind hidrawN
    hid_id = os.path.basename(hid_dir)
    driver = _driver(hid_dir)
    if not _HID_ID.match(hid_id) or driver is None:
        raise PhantomError(f"{hidraw_sysfs}: no HID device bound to a driver behind it ({hid_dir})")
    out = ResetOutcome(False, hid_id, driver, children_before=_children(hid_dir))
    drivers = os.path.join(sysfs, "bus", "hid", "drivers", driver)
    start = clock()
    _write(os.path.join(drivers, "unbind"), hid_id)
    out.steps.append(f"wrote {hid_id} to {drivers}/unbind")
    while _driver(hid_dir) is not None and clock() - start < 2.0:
        sleep(0.02)
    _write(os.path.join(drivers, "bind"), hid_id)
    out.steps.append(f"wrote {hid_id} to {drivers}/bind")
    while clock() - start < timeout:
        out.children_after, out.nodes_after = _children(hid_dir), _hidraw(hid_dir)
        back = _driver(hid_dir) == driver and out.nodes_after
        if back and len(out.children_after) >= len(out.children_before):
            out.ok = True
            break
        sleep(0.05)
    out.seconds = clock() - start
    if not out.ok:
        out.steps.append(f"driver {_driver(hid_dir) or 'unbound'} after {timeout:g} s")
    return out


def receiver_answers(engine) -> bool:
    """Does the receiver itself answer (register 0x02, connection state)? The soft reset's
    trigger: a receiver that no longer answers."""
    try:
        engine.read_register(RECEIVER, Register.CONNECTION_STATE)
        return True
    except (HidppError, PhantomError):
        return False


RESET_GAP = 600.0   # one soft reset per receiver per 10 minutes at most: never a reset loop
UNPLUG = "unplug the receiver and plug it in again"


def _reset_event(reset, receiver: str, sysfs: str, access, t: float, *, why: str, why_done: str | None = None,
                 evidence: tuple[str, ...] = (), clock=None) -> WheelEvent:
    """A guard's soft reset of `receiver` as one event: `why` before a reset not done,
    `why_done` (default `why`) before the outcome, stamped `clock()` if given (the guard's
    clock), else `t` plus the reset's own duration. The reset re-creates the receiver's nodes,
    so `access` opens them again at the next use."""
    what = f"receiver {receiver}"
    try:
        done = reset(os.path.join(sysfs, "class", "hidraw", os.path.basename(receiver)))
    except PhantomError as e:
        return WheelEvent("failed", t, what, f"{why}; soft reset not done: {e}; {UNPLUG}", evidence)
    if access is not None:
        access.close()
    tail = "" if done.ok else f"; {UNPLUG}"
    end = clock() if clock is not None else t + done.seconds
    return WheelEvent("repaired" if done.ok else "failed", end, what,
                      f"{why_done or why}: {done.summary()}{tail}", evidence)


class StuckReceiver:
    """`WheelGuard(unreachable=...)`: a mouse read timed out; if the receiver itself does not
    answer either, soft-reset it (with `fix`), else say what to run. Returns WheelEvents."""

    def __init__(self, access, *, fix: bool, sysfs: str = "/sys", clock=time.monotonic):
        self.access, self.fix, self.sysfs, self.clock = access, fix, sysfs, clock
        self.last: dict[str, float] = {}

    def __call__(self, key, error) -> list:
        node = key[0]
        engine = self.access.engines.get(node)
        now = self.clock()
        if engine is None or now - self.last.get(node, -1e9) < RESET_GAP or receiver_answers(engine):
            return []
        self.last[node] = now
        if not self.fix:
            return [WheelEvent("finding", now, f"receiver {node}", "the receiver does not answer HID++; a soft "
                               f"reset may bring it back: sudo phantombutton reset-receiver {node}")]
        return [_reset_event(lambda hidraw: soft_reset(hidraw, sysfs=self.sysfs), node, self.sysfs, self.access,
                             now, why="the receiver does not answer HID++",
                             why_done="the receiver did not answer HID++", clock=self.clock)]


class InputStallGuard:
    """A mouse that is online but gives no input (detect/stall.py): with `fix`, soft-reset its
    receiver - at most once per receiver per RESET_GAP, shared with StuckReceiver through
    `last` - else say what to run. `feed` takes every observation, `tick` returns WheelEvents."""

    def __init__(self, *, fix: bool, sysfs: str = "/sys", last: dict[str, float] | None = None,
                 access=None, reset=None):
        self.fix, self.sysfs, self.access = fix, sysfs, access
        self.rule = StallRule()
        self.last = last if last is not None else {}
        self.reset = reset or (lambda hidraw: soft_reset(hidraw, sysfs=self.sysfs))

    def feed(self, obs) -> None:
        self.rule.feed(obs)

    def tick(self, now: float) -> list:
        out = []
        for s in self.rule.check(now):
            if now - self.last.get(s.receiver, -1e9) < RESET_GAP:
                continue    # reset a moment ago (or reported): never a loop
            self.last[s.receiver] = now
            evidence = (s.evidence(),)
            head = f"a mouse online but giving no input ({s.evidence()})"
            if self.fix:
                out.append(_reset_event(self.reset, s.receiver, self.sysfs, self.access, now, why=head,
                                        evidence=evidence))
            else:
                out.append(WheelEvent("finding", now, f"receiver {s.receiver}", f"{head}: the kernel's input path "
                                      "is stuck; a soft reset may bring it back: sudo phantombutton "
                                      f"reset-receiver {s.receiver}", evidence))
        return out


LISTEN = 3.0   # reset-receiver --if-stuck: seconds to watch the receiver's mice for a stall


def listen_for_stall(receiver: str, seconds: float = LISTEN, *, sysfs: str = "/sys", clock=time.monotonic) -> list:
    """`reset-receiver --if-stuck` on a receiver that answers: read its hidraw node (read-only)
    and its children's event nodes for `seconds` and apply detect/stall.py. Needs the mouse to
    move meanwhile. Returns the Stalls found (empty: no stall seen, or no input at all)."""
    rule = StallRule()
    fds: dict[int, str | None] = {}                    # fd -> event node, None for the receiver
    last_buttons: dict[tuple[str, int], int] = {}
    start = clock()
    try:
        fds[os.open(receiver, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)] = None
        for p in pointer_nodes(sysfs=sysfs):
            if p.receiver_node == receiver and p.slot is not None:
                rule.feed(DeviceAdded(start, DeviceInfo(p.node, p.name, slot=p.slot, receiver_node=receiver),
                                      at_start=True))
                try:
                    fds[os.open(p.node, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)] = p.node
                except OSError:
                    pass   # unreadable: counts as silent, as a missing node would
        while clock() - start < seconds:
            ready, _, _ = select.select(list(fds), [], [], max(0.0, seconds - (clock() - start)))
            for fd in ready:
                try:
                    data = os.read(fd, 64 if fds[fd] is None else INPUT_EVENT.size * 64)
                except OSError:
                    continue
                now, node = clock(), fds[fd]
                if node is None:
                    obs = dj_input(now, receiver, data, last_buttons)
                    if obs is not None:
                        rule.feed(obs)
                elif any(t in (1, 2) for _s, _u, t, _c, _v in    # EV_KEY, EV_REL
                         INPUT_EVENT.iter_unpack(data[: len(data) - len(data) % INPUT_EVENT.size])):
                    rule.feed(Motion(now, node))
    finally:
        for fd in fds:
            os.close(fd)
    return rule.check(clock() + GRACE)
