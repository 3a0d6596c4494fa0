"""HID++ context of a finding: what was said on the receiver in the seconds before a press.

Every hidraw reader receives every input report, so replies to other programs' requests are
visible. HID++ 2.0 frames carry the asker's software id (low nibble of byte 3); HID++ 1.0
register replies carry none, so they are attributed to the software ids seen in the same
burst (Solaar pings every device with its id before it touches registers; the kernel pings
before its connect probe, with software id 0 before Linux 6.2). Kinds and software ids come
from hidpp/classify.py, which never raises on junk. Pure: raw bytes in, sentences out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from phantombutton import SOFTWARE_ID
from phantombutton.hidpp.classify import (
    KERNEL_SW_ID,
    KERNEL_SW_IDS,
    OLD_KERNEL_PING_SW_ID,
    FrameKind,
    classify,
    is_hidpp,
    owner,
    software_id,
)
from phantombutton.hidpp.classify import NOTIFICATION_FIRST as NOTIFICATION_SUB_FIRST
from phantombutton.hidpp.frames import RECEIVER
from phantombutton.hidpp.hidpp10 import REGISTER_NAMES, MouseButtonFlag, Register, SubId
from phantombutton.hidpp.hidpp20 import ERROR_INDEX, ROOT_INDEX
from phantombutton.hidpp.notifications import (
    CONNECTION_LINK_NOT_ESTABLISHED,
    NotificationId,
    notification_name,
)

BURST_WINDOW = 1.0   # seconds around a 1.0 frame in which other frames count as the same burst
KERNEL_PROBE_WINDOW = 1.0   # the kernel's connect probe follows a 0x41 notification this fast
DUPLICATE_WINDOW = 0.02     # the same frame on the receiver's and the child's node
REGISTER_SUBS = frozenset({SubId.SET_SHORT, SubId.GET_SHORT, SubId.SET_LONG, SubId.GET_LONG})


@dataclass(frozen=True)
class Frame:
    """A HID++ frame as far as attribution needs it (kind and software id: hidpp/classify.py)."""

    t: float
    node: str
    devnum: int
    sub_id: int
    address: int
    params: bytes
    raw: bytes
    kind: FrameKind

    @property
    def function(self) -> int:
        return self.address >> 4

    @property
    def is_notification(self) -> bool:
        """A receiver (HID++ 1.0) notification, 0x40..0x7F."""
        return self.kind is FrameKind.NOTIFICATION and self.sub_id >= NOTIFICATION_SUB_FIRST

    @property
    def is_event(self) -> bool:
        """A HID++ 2.0 event: a device speaking unasked (software id 0)."""
        return self.kind is FrameKind.NOTIFICATION and self.sub_id < NOTIFICATION_SUB_FIRST

    @property
    def software_id(self) -> int | None:
        """The asker's software id; None when the frame has none (1.0 register, notification,
        event). 0 is the kernel's ping before 6.2."""
        return software_id(self.raw) if self.kind is FrameKind.REPLY else None


def parse_frame(t: float, node: str, data: bytes) -> Frame | None:
    """A HID++ frame, or None for anything else (DJ input, keyboard reports, junk)."""
    data = bytes(data)
    if not is_hidpp(data):
        return None
    return Frame(t, node, data[1], data[2], data[3], data[4:], data, classify(data))


class Sender(StrEnum):
    """Who sent (asked for) a HID++ frame, in the few classes a timeline shows."""

    KERNEL = "kernel"
    SOLAAR = "Solaar"
    OWN = "phantombutton"
    UNKNOWN = "other / unknown"     # another program, or several candidates (HID++ 1.0)
    RECEIVER = "receiver"           # a notification: nobody asked


def sender_of_id(sw: int, own: int = SOFTWARE_ID) -> Sender:
    if sw == own:
        return Sender.OWN
    if sw in KERNEL_SW_IDS:
        return Sender.KERNEL
    return Sender.SOLAAR if owner(sw) == "Solaar" else Sender.UNKNOWN


def who(sw: int | None, own: int = SOFTWARE_ID) -> str:
    if sw is None:
        return "another program (no software id in HID++ 1.0)"
    if sw == own:
        return f"phantombutton (software id 0x{sw:02X})"
    if sw == OLD_KERNEL_PING_SW_ID:
        return "the kernel (its ping carries software id 0 before Linux 6.2)"
    if sw == KERNEL_SW_ID:
        return f"the kernel (software id 0x{sw:02X})"
    name = owner(sw)
    return f"another program, software id 0x{sw:02X}" + (f" ({name})" if name != "unknown" else "")


def what(f: Frame) -> str:
    """A short description of the frame, from raw bytes."""
    slot = "receiver" if f.devnum == RECEIVER else f"slot {f.devnum}"
    if f.is_notification:
        name = notification_name(f.sub_id, f.address)
        conn = connection_of(f)
        if conn:
            link = "link established" if conn[2] else "link lost"
            return f"{name} notification, {slot}, WPID {conn[1]:04X}, {link}"
        return f"{name} notification, {slot}"
    if f.sub_id in REGISTER_SUBS:
        rname = REGISTER_NAMES.get(f.address)
        op = "written" if f.sub_id in (SubId.SET_SHORT, SubId.SET_LONG) else "read"
        return f"register 0x{f.address:02X}" + (f" ({rname})" if rname else "") + f" {op} ({slot})"
    if f.sub_id == SubId.ERROR and len(f.params) >= 2:
        return (f"HID++ 1.0 error 0x{f.params[1]:02X} to request 0x{f.address:02X} "
                f"0x{f.params[0]:02X} ({slot})")
    if f.sub_id == ERROR_INDEX and len(f.params) >= 2:
        return (f"HID++ 2.0 error {f.params[1]} to feature index {f.address} "
                f"function {f.params[0] >> 4} ({slot})")
    if f.sub_id == ROOT_INDEX and f.function == 1:
        return f"ping / protocol version ({slot})"
    return f"feature index {f.sub_id} function {f.address >> 4} ({slot})"


def detail(f: Frame) -> str:
    """The value a register read returned (a write's reply carries none)."""
    if f.sub_id in (SubId.GET_SHORT, SubId.GET_LONG):
        text = "value " + f.params[:3].hex(" ")
        if f.address == Register.MOUSE_BUTTON_FLAGS and f.devnum != RECEIVER and f.params:
            text += f", side-scroll {'on' if f.params[0] & MouseButtonFlag.SIDE_SCROLL else 'off'}"
        return text
    return ""


def connection_of(f: Frame) -> tuple[int, int, bool] | None:
    """(slot, wpid, link_established) of a 0x41 device connection notification."""
    if not f.is_notification or f.sub_id != NotificationId.DEVICE_CONNECTION or len(f.params) < 3:
        return None
    return f.devnum, f.params[1] | f.params[2] << 8, not f.params[0] & CONNECTION_LINK_NOT_ESTABLISHED


def side_scroll_of(f: Frame) -> bool | None:
    """Side-scroll state from a read of mouse register 0x01, None if the frame is not one."""
    if (f.sub_id == SubId.GET_SHORT and f.address == Register.MOUSE_BUTTON_FLAGS and f.devnum != RECEIVER
            and f.params):
        return bool(f.params[0] & MouseButtonFlag.SIDE_SCROLL)
    return None


def _describe_raw(f: Frame) -> str:
    """hidpp/decode.py's one-line description, else hex."""
    # start-up: only a finding's explanation needs the decoder; watch and status start ~4 ms sooner
    from phantombutton.hidpp.decode import describe

    try:
        return str(describe(f.raw, None))
    except Exception:   # the decoder may raise FrameError on junk; a context line must not
        return f.raw.hex(" ")


class HidppContext:
    """A bounded window of recent HID++ frames per hidraw node, plus settings seen in them."""

    def __init__(self, window: float = 3.0, own_software_id: int = SOFTWARE_ID, maxlen: int = 512):
        self.window = window
        self.own = own_software_id
        self._frames: dict[str, deque[Frame]] = {}
        self._maxlen = maxlen
        self.side_scroll_read: dict[tuple[str, int], tuple[float, str]] = {}   # -> (t, on/off)
        self.side_scroll_written: dict[tuple[str, int], float] = {}
        self._connected: dict[int, deque[float]] = {}   # slot -> times of link-established 0x41

    def add(self, f: Frame) -> None:
        frames = self._frames.get(f.node)
        if frames is None:   # not setdefault: that would build a deque for every frame
            frames = self._frames[f.node] = deque(maxlen=self._maxlen)
        frames.append(f)
        ss = side_scroll_of(f)
        if ss is not None:
            self.side_scroll_read[(f.node, f.devnum)] = (f.t, "on" if ss else "off")
        elif f.sub_id == SubId.SET_SHORT and f.address == Register.MOUSE_BUTTON_FLAGS and f.devnum != RECEIVER:
            self.side_scroll_written[(f.node, f.devnum)] = f.t
        conn = connection_of(f)
        if conn and conn[2]:
            self._connected.setdefault(conn[0], deque(maxlen=8)).append(f.t)

    def frames_before(self, nodes: tuple[str, ...], t: float, slot: int | None) -> list[Frame]:
        out = [f for node in nodes for f in self._frames.get(node, ())
               if t - self.window <= f.t <= t + 0.002 and (slot is None or f.devnum in (slot, RECEIVER))]
        out.sort(key=lambda f: f.t)
        # hid-logitech-dj hands a device's HID++ reports to the receiver's node and to the
        # child's: one frame, seen twice. Keep the first sighting.
        kept: list[Frame] = []
        paired: set[int] = set()   # a sighting pairs with at most one from the other node
        for f in out:
            twin = next((i for i in range(max(0, len(kept) - 8), len(kept))
                         if i not in paired and kept[i].raw == f.raw and kept[i].node != f.node
                         and f.t - kept[i].t < DUPLICATE_WINDOW), None)
            if twin is None:
                kept.append(f)
            else:
                paired.add(twin)
        return kept

    def _burst_ids(self, f: Frame) -> set[int]:
        ids = set()
        for g in self._frames.get(f.node, ()):
            if abs(g.t - f.t) <= BURST_WINDOW and g.software_id is not None:
                ids.add(g.software_id)
        return ids

    def _after_connect(self, f: Frame) -> bool:
        """The kernel's connect probe (hid-logitech-hidpp) talks HID++ 1.0 to a mouse right
        after its link comes up; a 1.0 frame then may well be the kernel's."""
        return any(0 <= f.t - c <= KERNEL_PROBE_WINDOW for c in self._connected.get(f.devnum, ()))

    def sender(self, f: Frame) -> Sender:
        """attribute() as a class: a HID++ 1.0 frame with one candidate in its burst is that
        candidate's, with several it is UNKNOWN (never guessed)."""
        if f.is_notification:
            return Sender.RECEIVER
        sw = f.software_id
        if sw is not None:
            return sender_of_id(sw, self.own)
        cands = {sender_of_id(i, self.own) for i in self._burst_ids(f)}
        if self._after_connect(f):
            cands.add(Sender.KERNEL)
        return cands.pop() if len(cands) == 1 else Sender.UNKNOWN

    def attribute(self, f: Frame) -> str:
        if f.is_notification:
            return "the receiver"
        if f.is_event:
            return "the device (HID++ 2.0 event)"
        sw = f.software_id
        if sw is not None:
            return who(sw, self.own)
        # HID++ 1.0: no software id. Name the candidates, never guess one silently.
        burst = self._burst_ids(f)
        cands = [who(i, self.own) for i in sorted(burst - KERNEL_SW_IDS)]
        if burst & KERNEL_SW_IDS or self._after_connect(f):
            cands.insert(0, "the kernel's connect probe")
        if len(cands) == 1:
            if cands[0].startswith("the kernel"):
                return "probably the kernel's connect probe (HID++ 1.0 carries no software id)"
            return cands[0] + " (same burst)"
        if cands:   # e.g. "the kernel's connect probe or another program, software id 0x0B (Solaar)"
            return " or ".join(cands) + " (HID++ 1.0 carries no software id; all seen in the same burst)"
        return who(None, self.own)

    def lines(self, nodes: tuple[str, ...], t: float, slot: int | None, event: str = "the press") -> list[str]:
        """One sentence per frame: `register 0x01 written by another program, software id
        0x0B (Solaar), 30 ms before the press`."""
        out = []
        for f in self.frames_before(nodes, t, slot):
            ms = round((t - f.t) * 1000)
            when = f"{ms} ms before {event}" if ms >= 0 else f"{-ms} ms after {event}"
            d = detail(f)
            out.append(f"{what(f)} by {self.attribute(f)}, {when}" + (f": {d}" if d else "")
                       + f" [{_describe_raw(f)}]")
        return out

    def settings_for(self, nodes: tuple[str, ...], slot: int | None, before: float) -> dict[str, str]:
        """Settings seen in the traffic up to `before`: {"side-scroll": "off (read at 0.530 s),
        register 0x01 written at 0.540 s (the reply does not carry the value)"}."""
        if slot is None:
            return {}
        reads = [v for node in nodes if (v := self.side_scroll_read.get((node, slot))) and v[0] <= before]
        writes = [t for node in nodes if (t := self.side_scroll_written.get((node, slot))) is not None
                  and t <= before]
        parts = []
        if reads:
            t, value = max(reads)
            parts.append(f"{value} (read at {t:.3f} s)")
        if writes and (not reads or max(writes) > max(reads)[0] + DUPLICATE_WINDOW):
            parts.append(f"register 0x01 written at {max(writes):.3f} s (the reply does not carry the value)")
        return {"side-scroll": ", then ".join(parts)} if parts else {}
