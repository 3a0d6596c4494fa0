"""`--virtual`: the virtual receiver's DJ reports turned into the observations a live node
would give, through a small model of what hid-logitech-dj + hid-input + the input core do.

VirtualKernel keeps, per slot, the HID driver's last button mask and the input core's key
state, so the same facts hold as on a real kernel (input-stack.md): a written release clears
the core state but not HID's cache (a repeated held bit makes no new press); a written
release of a key the core thinks is up is dropped; link loss forwards an all-zero report;
a muted usage (KEY_RESERVED) sends its key-up and stays quiet.
"""

from __future__ import annotations

import time

from phantombutton.buttons import BTN_MOUSE_FIRST, BTN_MOUSE_LAST, HID_BUTTONS, hid_button_to_evdev
from phantombutton.detect.events import (
    DeviceAdded,
    DeviceInfo,
    HeldState,
    HidppTraffic,
    KeyEvent,
    Motion,
    Observation,
    WheelFrame,
)
from phantombutton.hidpp.dj import STATUS_LINK_LOSS, DjReportType
from phantombutton.hidpp.frames import DJ_REPORT_IDS, HIDPP_REPORT_IDS

VIRTUAL_PREFIX = "virtual:"


def virtual_node(slot: int) -> str:
    return f"{VIRTUAL_PREFIX}{slot}"


def slot_of(node: str) -> int | None:
    return int(node[len(VIRTUAL_PREFIX):]) if node.startswith(VIRTUAL_PREFIX) else None


class VirtualKernel:
    def __init__(self):
        self.hid_mask: dict[int, int] = {}          # slot -> last HID button mask
        self.keys: dict[int, set[int]] = {}         # slot -> evdev codes held (input core)
        self.muted: dict[int, set[int]] = {}        # slot -> codes mapped to KEY_RESERVED

    def held(self, slot: int) -> frozenset[int]:
        return frozenset(self.keys.get(slot, ()))

    def report(self, slot: int, mask: int) -> list[tuple[int, int]]:
        """A DJ mouse report -> (code, value) key events the input core passes on."""
        old = self.hid_mask.get(slot, 0)
        self.hid_mask[slot] = mask
        out = []
        keys = self.keys.setdefault(slot, set())
        muted = self.muted.get(slot, set())
        for n in range(1, HID_BUTTONS + 1):
            bit = 1 << (n - 1)
            if (old ^ mask) & bit:   # hid-input reports changes of its own cache only
                code = hid_button_to_evdev(n)
                if code in muted:
                    continue
                if mask & bit and code not in keys:
                    keys.add(code)
                    out.append((code, 1))
                elif not mask & bit and code in keys:
                    keys.discard(code)
                    out.append((code, 0))
        return out

    def write(self, slot: int, code: int, value: int) -> bool:
        """A write to the node: delivered only if it changes the core state."""
        keys = self.keys.setdefault(slot, set())
        if value == 0 and code in keys:
            keys.discard(code)
            return True
        if value == 1 and code not in keys:
            keys.add(code)
            return True
        return False

    def mute(self, slot: int, code: int, on: bool = True) -> bool:
        """Returns True if a key-up was sent (muting a held key)."""
        m = self.muted.setdefault(slot, set())
        if on:
            m.add(code)
            return self.write(slot, code, 0)
        m.discard(code)
        return False


class VirtualSource:
    """Observations from a VirtualReceiver; `kernel` is shared with the virtual recovery."""

    def __init__(self, receiver, clock=time.monotonic):
        self.receiver = receiver
        self._reader = receiver.open_reader()   # its own, as hid-logitech-dj has on hidraw
        self.kernel = VirtualKernel()
        self.clock = clock
        self.node = "virtual-receiver"
        self.problems: list[str] = []
        self._pending: list[Observation] = []
        self._wake: list[int] = []
        self.woken = False      # a wake fd (the X connection) became readable in poll()
        self._counters: dict = {}   # slot -> the driver's wheel counter (detect/wheel.py)

    def start(self) -> list[Observation]:
        t = self.clock()
        out: list[Observation] = []
        for slot, dev in sorted(self.receiver.devices.items()):
            ident = dev.identity
            info = DeviceInfo(node=virtual_node(slot), name=f"Logitech {ident.name}", vendor=0x046D,
                              product=ident.wpid, slot=slot, receiver_node=self.node,
                              buttons=frozenset(range(BTN_MOUSE_FIRST, BTN_MOUSE_LAST + 1)))
            out += [DeviceAdded(t, info, at_start=True), HeldState(t, info.node, self.kernel.held(slot))]
        return out

    def inject_key(self, slot: int, code: int, value: int) -> None:
        """A write to the virtual node (what recovery step 1 does on a real one)."""
        if self.kernel.write(slot, code, value):
            self._pending.append(KeyEvent(self.clock(), virtual_node(slot), code, value))

    def mute(self, slot: int, code: int, on: bool = True) -> None:
        if self.kernel.mute(slot, code, on):
            self._pending.append(KeyEvent(self.clock(), virtual_node(slot), code, 0))

    def add_wake_fd(self, fd: int) -> None:
        """Also wake poll() when `fd` is readable. The wait is then a select() on it, bounded
        by the model's next due report: scripting from another thread is seen at the next
        wake-up, not at once (the CLI and the tests script from the polling thread)."""
        self._wake.append(fd)

    def poll(self, timeout: float) -> list[Observation]:
        out, self._pending = self._pending, []
        self.woken = False
        if not out and timeout > 0:
            if self._wake:
                import select

                due = self._reader.next_at()
                wait = timeout if due is None else max(0.0, min(timeout, due - self.clock()))
                if not self.receiver.unplugged:
                    self.woken = bool(select.select(self._wake, [], [], wait)[0])
            else:
                self._reader.wait(timeout)
        for report in self._reader.pop():
            out += self.observe(report, self.clock())
        return out

    def observe(self, report: bytes, t: float) -> list[Observation]:
        if len(report) < 3:
            return []
        rid, slot, rtype = report[0], report[1], report[2]
        if rid in HIDPP_REPORT_IDS:
            return [HidppTraffic(t, self.node, bytes(report))]
        if rid not in DJ_REPORT_IDS:
            return []
        if rtype == DjReportType.MOUSE and len(report) >= 5:
            node = virtual_node(slot)
            out: list[Observation] = [KeyEvent(t, node, c, v)
                                      for c, v in self.kernel.report(slot, report[3] | report[4] << 8)]
            if any(report[5:10]):
                out.append(Motion(t, node))
            if len(report) > 8 and report[8]:
                out.append(self._wheel(slot, node, report[8] - 256 if report[8] > 127 else report[8], t))
            return out
        if rtype == DjReportType.NOTIF_CONNECTION_STATUS and len(report) > 3 and report[3] & STATUS_LINK_LOSS:
            # link loss: hid-logitech-dj forwards an all-zero report
            return [KeyEvent(t, virtual_node(slot), c, v) for c, v in self.kernel.report(slot, 0)] + \
                   [HidppTraffic(t, self.node, bytes(report))]
        return [HidppTraffic(t, self.node, bytes(report))]

    def _wheel(self, slot: int, node: str, units: int, t: float) -> WheelFrame:
        """hid-logitech-hidpp's scaling, with the multiplier it would have read at connect."""
        from phantombutton.detect.wheel import ScrollCounter, kernel_rule

        counter = self._counters.get(slot)
        if counter is None:
            dev = self.receiver.devices.get(slot)
            spec = getattr(dev, "spec", None)
            hidpp10 = getattr(dev, "protocol", (1, 0)) == (1, 0)
            features = frozenset(f.id for f in getattr(spec, "features", ())) if not hidpp10 else frozenset()
            rule = kernel_rule(dev.identity.wpid if dev else None, hidpp10=hidpp10, features=features)
            mult = rule.multiplier or getattr(spec, "wheel_multiplier", 1)
            counter = self._counters[slot] = ScrollCounter(mult if rule.scales else 1)
        if counter.multiplier == 1:
            return WheelFrame(t, node, units * 120, units)
        hi, low = counter.feed(units, t)
        return WheelFrame(t, node, hi, low)

    def close(self) -> None:
        self._reader.close()

    def fd_count(self) -> int:
        return 0
