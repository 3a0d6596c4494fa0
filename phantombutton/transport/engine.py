"""Request engine: HID++ requests over a Transport, with reply matching on raw bytes.

Every hidraw reader sees every input report, so while we wait for our reply we also read
notifications, DJ input reports and the replies other programs (the kernel, Solaar, logiops)
get to their own requests. Robust clients keep those instead of dropping them: they are the
evidence `watch` and captures need ("who touched register 0x01 just before the phantom?").
They go to `Engine.unsolicited`, tagged with their arrival time and, where the protocol
carries one, the software id of the program that asked.

Which report answers a request is hidpp/classify.py's `answer` (docs/hidpp.md "Reply matching").

On a device's child node (hid-logitech-dj's per-device hidraw) address the device by its
slot number: the kernel rewrites the index of what we write, and the replies carry the slot.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from .. import SOFTWARE_ID
from ..hidpp import classify as hidpp_classify
from ..hidpp import hidpp10, hidpp20
from ..hidpp.classify import FrameKind
from ..hidpp.errors import Hidpp10Error, Hidpp10ErrorCode, Hidpp20Error, Hidpp20ErrorCode, HidppTimeout
from ..hidpp.frames import RECEIVER
from .base import Transport

# The receiver's answers to a ping of a device that is not there (Engine.ping).
OFFLINE_10 = frozenset({Hidpp10ErrorCode.CONNECT_FAIL, Hidpp10ErrorCode.RESOURCE_ERROR})

UNSOLICITED_MAX = 100_000  # bounded so a flood cannot eat memory; large so nothing is lost
BUSY_BACKOFF = 0.02  # seconds; grows linearly with each retry
POLL_SLICE = 0.05  # seconds poll() reads at a time before letting requests in


UnsolicitedKind = FrameKind   # the engine's name for hidpp/classify.py's kinds


@dataclass(frozen=True)
class Unsolicited:
    """A report that was not the reply to our request, as it arrived."""

    time: float  # time.monotonic() when read
    raw: bytes
    kind: UnsolicitedKind
    software_id: int | None = None  # 2.0 replies/errors: the asking program's id; else None


def classify(raw: bytes, now: float | None = None) -> Unsolicited:
    """Tag an input report that is not the reply we wait for. Pure; never raises."""
    raw = bytes(raw)
    now = time.monotonic() if now is None else now
    return Unsolicited(now, raw, hidpp_classify.classify(raw), hidpp_classify.software_id(raw))


class Engine:
    def __init__(
        self,
        transport: Transport,
        *,
        software_id: int = SOFTWARE_ID,
        busy_retries: int = 3,
        receiver_timeout: float = 1.0,
        device_timeout: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 1 <= software_id <= 0x0F:
            raise ValueError(f"software id must be 1..15, not {software_id}")
        self.transport = transport
        self.clock = clock      # stamps what is read; waits are in real time
        self.software_id = software_id
        self.busy_retries = busy_retries
        self.receiver_timeout = receiver_timeout
        self.device_timeout = device_timeout
        self.unsolicited: deque[Unsolicited] = deque(maxlen=UNSOLICITED_MAX)
        self.requests = 0  # requests written, retries included (benchmarks count these)
        # Optional observer of all traffic: trace("out"|"in", monotonic time, raw bytes).
        self.trace: Callable[[str, float, bytes], None] | None = None
        self._lock = threading.RLock()
        self._ping_mark = 0

    # ---- HID++ 1.0 registers -------------------------------------------------------------
    def read_register(self, devnum: int, register: int, params: bytes = b"", *, long: bool = False) -> bytes:
        """Value bytes of a register: 3 (short) or 16 (long; the request itself is short)."""
        return self._request(hidpp10.read_request(devnum, register, bytes(params), long=long))[4:]

    def write_register(self, devnum: int, register: int, value: bytes, *, long: bool = False) -> bytes:
        """Write a register; returns the reply's value bytes (normally zeros)."""
        return self._request(hidpp10.write_request(devnum, register, bytes(value), long=long))[4:]

    # ---- HID++ 2.0 features --------------------------------------------------------------
    def call(self, devnum: int, feature_index: int, function: int, params: bytes = b"") -> bytes:
        """Call a feature function; returns the reply's 16 parameter bytes."""
        frame = hidpp20.request(devnum, feature_index, function, self.software_id, bytes(params))
        reply = self._request(frame)[4:]
        return reply + bytes(16 - len(reply))   # a short reply carries 3 of the 16

    def ping(self, devnum: int) -> tuple[int, int] | None:
        """Protocol version: (major, minor); (1, 0) for HID++ 1.0 devices; None when offline.

        Offline = the receiver answers for the absent device with a HID++ 1.0 error (`8F`)
        04 connect fail or 09 resource error (Solaar base.ping; hid-logitech-hidpp.c treats
        09 so), or nobody answers in time. A 2.0 error is the device itself answering: it
        is raised like any other error (2.0 codes 4 and 9 mean hardware error/unsupported).
        """
        self._ping_mark = (self._ping_mark + 1) & 0xFF
        try:
            reply = self._request(hidpp20.ping_request(devnum, self.software_id, self._ping_mark))
        except Hidpp10Error as exc:
            if exc.code == Hidpp10ErrorCode.INVALID_SUBID:
                return (1, 0)
            if exc.code in OFFLINE_10:
                return None
            raise
        except HidppTimeout:
            return None
        return hidpp20.parse_ping_reply(reply[4:])

    # ---- unsolicited input ---------------------------------------------------------------
    def poll(self, timeout: float) -> Unsolicited | None:
        """The next unsolicited report: kept ones first, then fresh from the transport.

        Reads in short slices and lets go of the engine between them, so a watcher polling
        in one thread does not hold up requests made from another.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            with self._lock:
                if self.unsolicited:
                    return self.unsolicited.popleft()
                remaining = deadline - time.monotonic()
                raw = self.transport.read(min(max(remaining, 0.0), POLL_SLICE))
                if raw is not None:
                    return self._arrived(raw)
            if remaining <= POLL_SLICE:
                return None
            time.sleep(0)  # give a waiting requester the lock

    # ---- internals -----------------------------------------------------------------------
    def _request(self, frame: bytes) -> bytes:
        devnum = frame[1]
        timeout = self.receiver_timeout if devnum == RECEIVER else self.device_timeout
        with self._lock:
            attempt = 0
            while True:
                try:
                    return self._exchange(frame, timeout)
                except (Hidpp10Error, Hidpp20Error) as exc:
                    busy = Hidpp10ErrorCode.BUSY if isinstance(exc, Hidpp10Error) else Hidpp20ErrorCode.BUSY
                    if exc.code != busy or attempt >= self.busy_retries:
                        raise
                    attempt += 1
                    time.sleep(BUSY_BACKOFF * attempt)

    def _exchange(self, frame: bytes, timeout: float) -> bytes:
        # Keep whatever arrived since the last request, so it cannot pose as our reply.
        while (raw := self.transport.read(0)) is not None:
            self.unsolicited.append(self._arrived(raw))
        self.transport.write(frame)
        self.requests += 1
        self._trace("out", self.clock(), frame)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HidppTimeout(frame[1], frame, timeout)
            raw = self.transport.read(remaining)
            if raw is None:
                continue
            item = self._arrived(raw)
            if (reply := hidpp_classify.answer(frame, item.raw)) is not None:
                return reply
            self.unsolicited.append(item)

    def _arrived(self, raw: bytes) -> Unsolicited:
        """A report just read, stamped by the engine's clock, traced and tagged."""
        item = classify(raw, self.clock())
        self._trace("in", item.time, item.raw)
        return item

    def _trace(self, direction: str, t: float, raw: bytes) -> None:
        if self.trace is not None:
            self.trace(direction, t, raw)
