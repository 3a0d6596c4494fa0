"""VirtualReceiver: a Unifying receiver C52B with paired devices, bytes in, bytes out.

Thread-safe, no I/O. `handle_output` takes one report the host writes (HID++ 0x10/0x11 to the
receiver 0xFF or a slot, DJ 0x20/0x21); answers are queued with a ready time (`latency`
seconds after the request). Like hidraw (drivers/hid/hidraw.c `hidraw_report_event` copies
each report into every open file's list), every reader opened with `open_reader()` gets every
input report from the time it opened, in its own queue; `default` is one opened at creation.
The same object serves the in-process `--virtual` platform and the /dev/uhid bridge, so it
answers the kernel's DJ traffic too
(docs/receivers.md "A Unifying receiver at probe"): switch to DJ mode (no answer), notification flags,
enumerate (one DJ "device paired" report per device), 0xB5 serial and name, and the HID++
driver's probe of each device. The receiver's own registers and the reports that announce a
device are virtual/registers.py's (ReceiverRegisters, which this model is).

DJ mode: the model starts as the receiver node looks on a running system - the kernel has
already switched it to DJ mode and set the notification flags 0x000900 - so mouse input
arrives as DJ reports on this node. `VirtualReceiver(dj_mode=False)` starts like a freshly
plugged receiver; mouse input then goes to the (not modelled) boot-mouse interface and is
dropped until the host sends the DJ switch.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass

from .device import VirtualDevice
from .profiles import SCRIPTS, Step, build
from .registers import DJ_PAIRED, ReceiverRegisters
from .wire import DJ_LONG, DJ_SHORT, RECEIVER, Err10, Err20, dj_short, error10, error20, mouse_params, well_formed

PRODUCT_ID = 0xC52B
LOG_MAX = 100_000
DJ_SWITCH, DJ_ENUMERATE = 0x80, 0x81
DJ_CONNECTION, DJ_MOUSE = 0x42, 0x02
LINK_LOSS = 0x01
WIRELESS_FLAG = 0x01  # byte 1 of the notification flags (0x000100)

GARBAGE = (
    b"\x10\x01",  # truncated short report
    b"\x11\x01\x81\x01\x02\x00\x00",  # long report id with a short report's length
    b"\x55\x01\x02\x03\x04\x05\x06",  # report id nobody declared
    b"\x20\x01\x02",  # truncated DJ report
)


class Reader:
    """One open node on the receiver: its own queue of (ready time, seq, report)."""

    def __init__(self, receiver: VirtualReceiver):
        self._rx = receiver
        self._queue: list[tuple[float, int, bytes]] = []

    def pop(self, now: float | None = None) -> list[bytes]:
        with self._rx._cond:
            now = self._rx._clock() if now is None else now
            self._rx._advance(now)
            ready = []
            while self._queue and self._queue[0][0] <= now:
                ready.append(heapq.heappop(self._queue)[2])
            return ready

    def _due(self) -> float | None:
        """The ready time of the next report here or of the next script step (lock held)."""
        script = self._rx._script
        due = [t for t in (self._queue[0][0] if self._queue else None, script[0][0] if script else None)
               if t is not None]
        return min(due, default=None)

    def next_at(self) -> float | None:
        with self._rx._cond:
            return self._due()

    def wait(self, timeout: float) -> bool:
        """Wait until some input is ready (or the receiver is unplugged); False on timeout."""
        rx = self._rx
        # the wait is in real time, readiness in the model's time (a test's clock may stand still)
        deadline = time.monotonic() + max(0.0, timeout)
        with rx._cond:
            while True:
                now = rx._clock()
                rx._advance(now)
                if rx.unplugged or (self._queue and self._queue[0][0] <= now):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                due = self._due()
                if due is not None:
                    remaining = min(remaining, max(0.0, due - now))
                rx._cond.wait(remaining)

    def close(self) -> None:
        with self._rx._cond:
            if self in self._rx._readers:
                self._rx._readers.remove(self)


@dataclass(frozen=True)
class Exchange:
    """One handled output report: when, what, what the model queued, and why (faults)."""

    time: float
    request: bytes
    replies: tuple[bytes, ...]
    note: str = ""


class VirtualReceiver(ReceiverRegisters):
    def __init__(self, profile: str = "default", *, dj_mode: bool = True, clock=time.monotonic,
                 kernel_wheel: bool = False, default_reader: bool = True):
        super().__init__(build(profile), dj_mode)
        self.profile = profile
        self.latency = 0.0  # seconds from a request to its reply (real M705: 10-50 ms)
        self.log: deque[Exchange] = deque(maxlen=LOG_MAX)
        self.unplugged = False
        self.product_id = PRODUCT_ID
        self._clock = clock
        self._cond = threading.Condition()
        self._readers: list[Reader] = []
        # the default reader: the uhid bridge and scripts; a platform whose every reader
        # opens its own passes default_reader=False (no queue that nobody reads)
        self.default = self.open_reader() if default_reader else None
        self._seq = itertools.count()
        self._busy = 0
        self._lose = 0
        self._buttons: dict[int, int] = {}
        self._diverted: dict[int, list[int]] = {}
        # kernel_wheel: model hid-logitech-hidpp's wheel setup at each connect (hi-res on), as
        # on a running system; off by default (the real kernel does it behind uhid).
        self.kernel_wheel = kernel_wheel
        if dj_mode and kernel_wheel:
            for device in self.devices.values():
                device.kernel_wheel_setup()
        # the profile's script (profiles.SCRIPTS), run as its steps fall due: reports reach
        # the readers open at that time, as on a real node
        start = clock()
        self._script: list[tuple[float, int, Step]] = [
            (start + step.at, i, step) for i, step in enumerate(SCRIPTS.get(profile, ()))]

    # ---- host side ---------------------------------------------------------------------------
    def handle_output(self, report: bytes) -> None:
        report = bytes(report)
        with self._cond:
            if self.unplugged:
                raise OSError(errno.ENODEV, "virtual receiver unplugged")
            now = self._clock()
            replies, note = self._dispatch(report)
            if report[:1] in (b"\x10", b"\x11") and well_formed(report):
                replies, note = self._faults(report, replies, note)
            self.log.append(Exchange(now, report, tuple(replies), note))
            for reply in replies:
                self._push(reply, now + self.latency)

    def open_reader(self) -> Reader:
        """A new reader (an open hidraw fd): every input report queued from now on."""
        reader = Reader(self)
        with self._cond:
            self._readers.append(reader)
        return reader

    def hidpp_requests(self) -> int:
        """HID++ requests handled so far (DJ commands excluded)."""
        with self._cond:
            return sum(1 for e in self.log if e.request[:1] in (b"\x10", b"\x11"))

    # ---- scripting -----------------------------------------------------------------------
    def connect(self, slot: int, *, power_cycle: bool = False) -> None:
        """The device's link comes up (it woke, or was switched on when power_cycle)."""
        with self._cond:
            device = self._device(slot)
            if power_cycle:
                device.power_on()
            device.online = True
            if self.kernel_wheel:
                device.kernel_wheel_setup()   # hi_res_scroll_enable runs at every connect
            self._announce(slot, device)

    def disconnect(self, slot: int) -> None:
        """Link lost (switched off, out of range): DJ link-loss report + 0x41 with bit 0x40."""
        with self._cond:
            device = self._device(slot)
            device.online = False
            self._buttons[slot] = 0
            self._diverted[slot] = []
            self._announce(slot, device)

    def press(self, slot: int, hid_buttons: int) -> None:
        """Set the held HID buttons (bit n-1 = HID button n; bit 15 = button 16 = X button 20)."""
        with self._cond:
            self._online(slot)
            self._buttons[slot] = hid_buttons & 0xFFFF
            self._mouse(slot)

    def release(self, slot: int) -> None:
        self.press(slot, 0)

    def move(self, slot: int, dx: int, dy: int) -> None:
        with self._cond:
            self._online(slot)
            self._mouse(slot, dx=dx, dy=dy)

    def wheel(self, slot: int, amount: int, pan: int = 0) -> None:
        with self._cond:
            self._online(slot)
            self._mouse(slot, wheel=amount, pan=pan)

    def thumb_wheel(self, slot: int, amount: int) -> None:
        """Turn the thumb wheel `amount` units (negative: left): AC Pan in the mouse report, or
        THUMB_WHEEL events when a program diverted it (hidpp20_device.py thumb_events)."""
        with self._cond:
            self._online(slot)
            self._thumb(slot, amount, self._clock())

    def _thumb(self, slot: int, amount: int, at: float) -> None:
        if not self._sends_input():
            return
        events = self.devices[slot].thumb_events(slot, amount)
        for event in events:
            self._push(event, at)
        if not events:
            self._mouse(slot, pan=amount, at=at)

    def wheel_notch(self, slot: int, notches: int = 1, interval: float = 0.1, reports: int = 2) -> None:
        """Turn the wheel `notches` detents (negative: down), one every `interval` s, the way
        the mouse reports them in its current mode: hi-res = `multiplier` units per notch
        spread over `reports` DJ reports 4 ms apart; low-res = 1 unit; a wheel diverted to
        HID++ (0x2121 target bit) sends HIRES_WHEEL events instead of DJ reports."""
        with self._cond:
            device = self._online(slot)
            if not self._sends_input():
                return
            sign = 1 if notches > 0 else -1
            now = self._clock()
            for i in range(abs(notches)):
                units, diverted = device.wheel_units()
                at = now + i * interval
                if diverted:
                    event = device.wheel_event(slot, sign * units)
                    if event is not None:
                        self._push(event, at)
                    continue
                parts = max(1, min(reports, units))
                for j in range(parts):
                    share = units // parts + (1 if j < units % parts else 0)
                    report = self._mouse_input(slot, self._buttons.get(slot, 0), wheel=sign * share)
                    self._push(report, at + j * 0.004)

    def button_sequence(self, slot: int, steps: list) -> None:
        """Held HID buttons at offsets in seconds from now, each sent as one mouse report when
        due: [[0, 1], [0.001, 0], [0.003, 1], [0.1, 0]] is a left click whose worn switch
        bounces (press, release 1 ms later, press again 2 ms after that). Timed by the bridge's
        queue, so the gaps do not depend on how fast the caller scripts it."""
        with self._cond:
            self._online(slot)
            if not self._sends_input():
                return
            now = self._clock()
            for offset, buttons in steps:
                self._push(self._mouse_input(slot, int(buttons) & 0xFFFF), now + float(offset))
            if steps:
                self._buttons[slot] = int(steps[-1][1]) & 0xFFFF

    def forget_wheel_mode(self, slot: int) -> None:
        """The mouse loses its wheel mode without a reconnection (what some do after sleep)."""
        with self._cond:
            self._device(slot).forget_wheel_mode()

    def busy(self, n: int) -> None:
        """The next n HID++ requests get a BUSY error instead of their answer."""
        with self._cond:
            self._busy = n

    def lose_replies(self, n: int) -> None:
        """The next n HID++ requests are handled but their answers never arrive."""
        with self._cond:
            self._lose = n

    def garbage(self) -> None:
        """Queue malformed frames (wrong lengths, unknown report id)."""
        with self._cond:
            for frame in GARBAGE:
                self._push(frame, self._clock())

    def inject(self, report: bytes, delay: float = 0.0) -> None:
        """Queue any input report as if the receiver sent it `delay` seconds from now."""
        with self._cond:
            self._push(bytes(report), self._clock() + delay)

    def unplug(self) -> None:
        """The receiver leaves the bus: writes fail with ENODEV, readers wake up."""
        with self._cond:
            self.unplugged = True
            self._cond.notify_all()

    # ---- internals ---------------------------------------------------------------------------
    def _advance(self, now: float) -> None:
        """Run the script steps due by `now` (called with the lock held)."""
        while self._script and self._script[0][0] <= now:
            at, _, step = heapq.heappop(self._script)
            device = self.devices.get(step.slot)
            # a receiver without DJ mode takes only presses (Bolt's own mouse interface)
            if device is None or (not self.dj_mode and step.action not in ("press", "thumb")):
                continue
            if step.action == "reconnect":       # link lost, then up again
                self._push(dj_short(step.slot, DJ_CONNECTION, bytes([LINK_LOSS])), at)
                self._push(self._connection(step.slot, device, online=False), at)
                device.online = True
                self._announce(step.slot, device, at + 0.02)
            elif step.action == "request":       # another program's request: its answers
                for reply in self._dispatch(step.data)[0]:
                    self._push(reply, at + 0.005)
            elif step.action == "forget-wheel":  # the mouse loses hi-res with no reconnection
                device.forget_wheel_mode()
            elif step.action == "press":       # through the mouse: a diverted control sends HID++
                self._buttons[step.slot] = int.from_bytes(step.data, "little")
                self._mouse(step.slot, at=at)
            elif step.action == "thumb":       # a thumb-wheel turn: `data` one signed byte
                self._thumb(step.slot, int.from_bytes(step.data, "little", signed=True), at)

    def _push(self, report: bytes, ready: float) -> None:
        entry = (ready, next(self._seq), report)
        for reader in self._readers:
            heapq.heappush(reader._queue, entry)
        self._cond.notify_all()

    def _device(self, slot: int) -> VirtualDevice:
        if slot not in self.devices:
            raise ValueError(f"no device paired in slot {slot} (profile {self.profile!r})")
        return self.devices[slot]

    def _online(self, slot: int) -> VirtualDevice:
        device = self._device(slot)
        if not device.online:
            raise ValueError(f"slot {slot}: the device is disconnected; connect() it first")
        return device

    def _faults(self, request: bytes, replies: list[bytes], note: str) -> tuple[list[bytes], str]:
        if self._busy > 0:
            self._busy -= 1
            device = self.devices.get(request[1])
            if device is not None and device.protocol >= (2, 0) and request[2] < 0x80:
                return [error20(request, Err20.BUSY)], "busy"
            return [error10(request, Err10.BUSY)], "busy"
        if self._lose > 0 and replies:
            self._lose -= 1
            return [], "reply lost"
        return replies, note

    def _dispatch(self, report: bytes) -> tuple[list[bytes], str]:
        if not well_formed(report):
            return [], "ignored: malformed"
        if report[0] in (DJ_SHORT, DJ_LONG):
            return self._dj_command(report)
        if report[1] == RECEIVER:
            return self._receiver_request(report), ""
        device = self.devices.get(report[1])
        if device is None:
            return [error10(report, Err10.UNKNOWN_DEVICE)], "no device in this slot"
        if not device.online:
            return [error10(report, Err10.RESOURCE_ERROR)], "device offline"
        return device.handle(report), ""

    def _dj_command(self, report: bytes) -> tuple[list[bytes], str]:
        if report[1] != RECEIVER:
            return [], "ignored: DJ report to a device"
        if report[2] == DJ_SWITCH:
            self.dj_mode = True
            return [], "DJ mode on"
        if report[2] == DJ_ENUMERATE:
            paired = [self._dj_paired(slot, dev) for slot, dev in sorted(self.devices.items())]
            return paired or [dj_short(0, DJ_PAIRED, b"\x02")], "enumerate"  # 0x02: list empty
        return [], "ignored: unknown DJ command"

    def _announce(self, slot: int, device: VirtualDevice, now: float | None = None) -> None:
        now = self._clock() if now is None else now
        if self.dj_mode:
            self._push(dj_short(slot, DJ_CONNECTION, bytes([0 if device.online else LINK_LOSS])), now)
        if self.notification_flags[1] & WIRELESS_FLAG:
            self._push(self._connection(slot, device), now)

    def _mouse(self, slot: int, dx: int = 0, dy: int = 0, wheel: int = 0, pan: int = 0,
               at: float | None = None) -> None:
        if not self._sends_input():
            self.log.append(Exchange(self._clock(), b"", (), f"slot {slot} input dropped: not in DJ mode"))
            return
        device = self.devices[slot]
        buttons, cids = device.diverted_controls(self._buttons.get(slot, 0))
        now = self._clock() if at is None else at
        if cids != self._diverted.get(slot, []):
            event = device.diverted_event(slot, cids)
            if event is not None:
                self._push(event, now)
            self._diverted[slot] = cids
        self._push(self._mouse_input(slot, buttons, dx, dy, wheel, pan), now)

    def _sends_input(self) -> bool:
        """Does mouse input reach this node? A Unifying receiver's only in DJ mode."""
        return self.dj_mode

    def _mouse_input(self, slot: int, buttons: int, dx: int = 0, dy: int = 0, wheel: int = 0,
                     pan: int = 0) -> bytes:
        """One mouse report of the device in `slot` as this receiver sends it: a DJ report."""
        return dj_short(slot, DJ_MOUSE, mouse_params(buttons, dx, dy, wheel, pan))
