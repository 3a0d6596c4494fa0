"""The kernel behind the virtual receiver: what hid-logitech-dj, hid-input and the input core
do with its reports, and the event nodes `virtual:<slot>` they make.

VirtualKernel reads the receiver through a reader of its own (hid-logitech-dj's
`logi_dj_raw_event` sees every report, whoever else has the hidraw node open), so no one feeds
it. It keeps, per slot, the HID driver's last button mask and the input core's key state, so
the same facts hold as on a real kernel: a written release clears the core state but not
HID's cache (hid-input reports changes of its own cache only, so a repeated held bit makes no
new press); a written release of a key the core thinks is up is dropped
(input.c `input_handle_event`); link loss forwards an all-zero report
(hid-logitech-dj.c `logi_dj_recv_forward_null_report`); a muted usage (KEY_RESERVED) sends its
key-up and stays quiet. Its event nodes answer what input/evdev_node.py asks of a real one
(held_keys = EVIOCGKEY, write_key, get/set_keycode = EVIOCG/SKEYCODE), and it is the Source of
`watch`/`status` on the virtual platform.
"""

from __future__ import annotations

import select
import time

from phantombutton import receivers
from phantombutton.buttons import (
    BTN_MOUSE_FIRST, BTN_MOUSE_LAST, HID_BUTTON_PAGE, HID_BUTTONS, hid_button_to_evdev,
)
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
from phantombutton.detect.wheel import ScrollCounter, kernel_rule
from phantombutton.errors import PhantomError
from phantombutton.hidpp.dj import STATUS_LINK_LOSS, DjReportType, signed
from phantombutton.hidpp.frames import DJ_REPORT_IDS, HIDPP_REPORT_IDS
from phantombutton.virtual.bluetooth import DIRECT_INDEX
from phantombutton.virtual.wire import MOUSE_REPORT, parse_high_res_mouse_report

KEY_RESERVED = 0           # input-event-codes.h
MOUSE_BUTTONS = frozenset(range(BTN_MOUSE_FIRST, BTN_MOUSE_LAST + 1))

VIRTUAL_PREFIX = "virtual:"


def virtual_node(slot: int) -> str:
    return f"{VIRTUAL_PREFIX}{slot}"


# The receiver's own mouse node (Bolt under hid-generic: receivers.py RECEIVER_MOUSE_NODE), as
# virtual/platform.py lists it in `mouse_nodes`; its key state is kept under SHARED_KEY.
SHARED_NODE, SHARED_KEY = "virtual:mouse", 0


class VirtualKernel:
    def __init__(self, receiver, clock=time.monotonic):
        self.receiver = receiver
        self._reader = receiver.open_reader()
        self.hid_mask: dict[int, int] = {}          # slot -> last HID button mask
        self.keys: dict[int, set[int]] = {}         # slot -> evdev codes held (input core)
        self.muted: dict[int, set[int]] = {}        # slot -> codes mapped to KEY_RESERVED
        self.clock = clock
        # the hidraw node its reports come from: the receiver's, or a direct mouse's own
        self.direct = getattr(receiver, "direct", False)
        # the node virtual/platform.py names: virtual:c52b, virtual:c548, or a direct mouse's own
        self.node = f"virtual:{receiver.product_id:04x}"
        # what the driver does at link loss follows the receiver's family (receivers.py); a
        # test may pass another family in to see the receiver's link loss as a Nano's
        self.family = receivers.family_of(receiver.product_id)
        # Bolt on 6.1: no child per slot, one mouse node for every paired mouse
        self.shared = self.family is not None and self.family.buttons is receivers.ButtonPath.RECEIVER_MOUSE_NODE
        self.problems: list[str] = []
        self.denied: dict = {}      # every virtual node is readable
        self._pending: list[Observation] = []
        self._wake: list[int] = []
        self.woken = False      # a wake fd (the X connection) became readable in poll()
        self._counters: dict = {}   # slot -> the driver's wheel counter (detect/wheel.py)

    def start(self) -> list[Observation]:
        t = self.clock()
        out: list[Observation] = []
        if self.shared:   # hid-generic names it after the receiver: "<name> Mouse"
            info = DeviceInfo(node=SHARED_NODE, name="Logitech USB Receiver Mouse", vendor=0x046D,
                              product=self.receiver.product_id, receiver_node=self.node,
                              receiver_product=self.receiver.product_id, buttons=MOUSE_BUTTONS)
            return [DeviceAdded(t, info, at_start=True), HeldState(t, SHARED_NODE, self.held_keys(SHARED_NODE))]
        for slot, dev in sorted(self.receiver.devices.items()):
            ident = dev.identity
            if self.direct:   # hid-logitech-hidpp names it "Logitech " + DEVICE_NAME; no receiver
                info = DeviceInfo(node=virtual_node(slot), name=f"Logitech {dev.spec.name}", vendor=0x046D,
                                  product=ident.wpid, hidpp_node=self.node, buttons=MOUSE_BUTTONS)
            else:
                info = DeviceInfo(node=virtual_node(slot), name=f"Logitech {ident.name}", vendor=0x046D,
                                  product=ident.wpid, slot=slot, receiver_node=self.node,
                                  receiver_product=self.receiver.product_id, buttons=MOUSE_BUTTONS)
            out += [DeviceAdded(t, info, at_start=True), HeldState(t, info.node, self.held_keys(info.node))]
        return out

    # ---- the event nodes (what input/evdev_node.py does on a real one) ---------------------
    def held_keys(self, node: str) -> frozenset[int]:
        self.pump()
        return frozenset(self.keys.get(self._slot(node), ()))

    def write_key(self, node: str, code: int, value: int) -> None:
        """A write to the node: delivered (and seen by readers) only if it changes the core state."""
        self.pump()
        slot = self._slot(node)
        keys = self.keys.setdefault(slot, set())
        if (value == 0 and code in keys) or (value == 1 and code not in keys):
            (keys.discard if value == 0 else keys.add)(code)
            self._pending.append(KeyEvent(self.clock(), node, code, value))

    def get_keycode(self, node: str, scancode: int) -> int:
        code = self._code_of(scancode)
        return KEY_RESERVED if code in self.muted.get(self._slot(node), ()) else code

    def set_keycode(self, node: str, scancode: int, keycode: int) -> int:
        """Map a button's usage to `keycode` (KEY_RESERVED mutes it: a held key goes up
        first, input.c `input_set_keycode`); returns the mapping read back."""
        slot, code = self._slot(node), self._code_of(scancode)
        muted = self.muted.setdefault(slot, set())
        if keycode == KEY_RESERVED:
            muted.add(code)
            self.write_key(node, code, 0)
        elif keycode == code:
            muted.discard(code)
        else:
            raise PhantomError(f"{node}: the virtual kernel maps buttons to themselves or KEY_RESERVED")
        return self.get_keycode(node, scancode)

    def _slot(self, node: str) -> int:
        rest = node.removeprefix(VIRTUAL_PREFIX)
        if node == SHARED_NODE:
            slot: int | None = SHARED_KEY
        else:
            slot = int(rest) if rest != node and rest.isdigit() else None
        if slot == SHARED_KEY and self.shared:
            return slot
        if slot is None or slot not in self.receiver.devices:
            raise PhantomError(f"{node}: no such virtual event node")
        return slot

    @staticmethod
    def _code_of(scancode: int) -> int:
        try:
            return hid_button_to_evdev(scancode - (HID_BUTTON_PAGE << 16))
        except ValueError:
            raise PhantomError(f"scancode 0x{scancode:08X} is not a HID button") from None

    def _report(self, slot: int, mask: int) -> list[tuple[int, int]]:
        """A DJ mouse report -> (code, value) key events the input core passes on."""
        old = self.hid_mask.get(slot, 0)
        self.hid_mask[slot] = mask
        out = []
        keys = self.keys.setdefault(slot, set())
        muted = self.muted.get(slot, set())
        for n in range(1, HID_BUTTONS + 1):
            bit = 1 << (n - 1)
            code = hid_button_to_evdev(n)
            pressed = bool(mask & bit)
            # hid-input reports changes of its own cache only; the core drops a repeated state
            if (old ^ mask) & bit and code not in muted and pressed != (code in keys):
                if pressed:
                    keys.add(code)
                else:
                    keys.discard(code)
                out.append((code, int(pressed)))
        return out

    def pump(self) -> None:
        """Take in every report due: the kernel runs whether or not anyone reads its nodes."""
        for report in self._reader.pop():
            self._pending += self.observe(report, self.clock())

    # ---- the Source (watch, status) ----------------------------------------------------
    def add_wake_fd(self, fd: int) -> None:
        """Also wake poll() when `fd` is readable. The wait is then a select() on it, bounded
        by the model's next due report: scripting from another thread is seen at the next
        wake-up, not at once (the CLI and the tests script from the polling thread)."""
        self._wake.append(fd)

    def poll(self, timeout: float) -> list[Observation]:
        out, self._pending = self._pending, []
        self.woken = False
        due = self._reader.next_at()
        if not out and timeout > 0 and (due is None or due > self.clock()):   # nothing due yet
            if self._wake:
                wait = timeout if due is None else max(0.0, min(timeout, due - self.clock()))
                if not self.receiver.unplugged:
                    self.woken = bool(select.select(self._wake, [], [], wait)[0])
            else:
                self._reader.wait(timeout)
        self.pump()
        out, self._pending = out + self._pending, []
        return out

    def observe(self, report: bytes, t: float) -> list[Observation]:
        if len(report) < 3:
            return []
        rid, slot, rtype = report[0], report[1], report[2]
        if self.direct and rid not in HIDPP_REPORT_IDS:   # its own HID report: virtual/bluetooth.py
            return self._hid_mouse(DIRECT_INDEX, virtual_node(DIRECT_INDEX), report, t)
        if rid == MOUSE_REPORT and self.family is not None and self.family.buttons is receivers.ButtonPath.CHILD_HIDRAW:
            return self._forwarded_mouse(report, t)
        if rid in HIDPP_REPORT_IDS:
            return [HidppTraffic(t, self.node, bytes(report))]
        if self.shared:   # the receiver's own mouse interface (virtual/families.py): no slot in it
            return self._hid_mouse(SHARED_KEY, SHARED_NODE, report, t)
        if rid not in DJ_REPORT_IDS:
            return []
        if rtype == DjReportType.MOUSE and len(report) >= 5:
            wheel = signed(report[8], 8) if len(report) > 8 else 0
            hwheel = len(report) > 9 and bool(report[9])     # report[9]: AC Pan, hid-input's REL_HWHEEL
            return self._mouse(slot, virtual_node(slot), report[3] | report[4] << 8, any(report[5:9]), hwheel,
                               wheel, t)
        if (rtype == DjReportType.NOTIF_CONNECTION_STATUS and len(report) > 3 and report[3] & STATUS_LINK_LOSS
                and (self.family is None or self.family.releases_on_link_loss)):
            # link loss: hid-logitech-dj forwards an all-zero report
            released: list[Observation] = [KeyEvent(t, virtual_node(slot), c, v) for c, v in self._report(slot, 0)]
            return released + [HidppTraffic(t, self.node, bytes(report))]
        return [HidppTraffic(t, self.node, bytes(report))]

    def _forwarded_mouse(self, report: bytes, t: float) -> list[Observation]:
        """A non-DJ receiver's report 0x02 (virtual/wire.py `mouse_report`): it names no slot,
        and hid-logitech-dj.c `logi_dj_recv_forward_input_report` gives it to the first paired
        device that takes mouse reports; X/Y are 16-bit on Lightspeed, 12-bit on Nano."""
        if not self.receiver.devices:
            return []
        slot = min(self.receiver.devices)
        high_res = self.family is not None and self.family.family is receivers.Family.LIGHTSPEED
        wheel_at = 7 if high_res else 6
        wheel = signed(report[wheel_at], 8) if len(report) > wheel_at else 0
        return self._mouse(slot, virtual_node(slot), report[1] | report[2] << 8, any(report[3:wheel_at]), False,
                           wheel, t)

    def _hid_mouse(self, key: int, node: str, report: bytes, t: float) -> list[Observation]:
        """A plain HID mouse report in the 9-byte layout (wire.py `mouse_report(high_res=True)`)."""
        parsed = parse_high_res_mouse_report(report)
        if parsed is None:
            return []
        mask, moved, wheel = parsed
        return self._mouse(key, node, mask, moved, bool(report[8]), wheel, t)   # report[8]: AC Pan

    def _mouse(self, key: int, node: str, mask: int, moved: bool, hwheel: bool, wheel: int,
               t: float) -> list[Observation]:
        """One mouse report's buttons, motion (REL_HWHEEL when `hwheel`) and wheel units."""
        out: list[Observation] = [KeyEvent(t, node, c, v) for c, v in self._report(key, mask)]
        if moved or hwheel:
            out.append(Motion(t, node, hwheel=hwheel))
        if wheel:
            out.append(self._wheel(key, node, wheel, t))
        return out

    def _wheel(self, slot: int, node: str, units: int, t: float) -> WheelFrame:
        """hid-logitech-hidpp's scaling, with the multiplier it would have read at connect."""
        counter = self._counters.get(slot)
        if counter is None:
            dev = self.receiver.devices.get(slot)
            hidpp10 = getattr(dev, "protocol", (1, 0)) == (1, 0)
            features = frozenset(getattr(dev, "index", ()))   # a HID++ 2.0 mouse's feature ids
            rule = kernel_rule(dev.identity.wpid if dev else None, hidpp10=hidpp10, features=features)
            spec = getattr(dev, "spec", None)
            mult = rule.multiplier or int(getattr(spec, "wheel_multiplier", 1))
            counter = self._counters[slot] = ScrollCounter(mult if rule.scales else 1)
        hi, low = counter.feed(units, t)   # unscaled: (units * 120, units)
        return WheelFrame(t, node, hi, low)

    def close(self) -> None:
        pass        # the source closes, the kernel (the platform's) stays

    def shutdown(self) -> None:
        self._reader.close()
