"""The virtual Unifying receiver behind /dev/uhid, so that the real kernel drivers talk to it.

Raw uhid (linux/uhid.h), no library: every event is one 4376-byte `struct uhid_event`.
The model (`VirtualReceiver`) is used unchanged: reports the kernel sends (UHID_OUTPUT from a
hidraw write on the receiver node, UHID_SET_REPORT from hid-logitech-dj and from writes to a
child node) go to `handle_output`; whatever the model queues goes back as UHID_INPUT2 when
it is due. Every SET_REPORT is acknowledged at once: hid-logitech-dj waits 5 s for each.

A control socket lets other processes (lab tests) script the model with JSON lines:
    {"op": "press", "slot": 1, "buttons": 32768}  ->  {"ok": true, "result": null}
ops: any scripting method of the model (connect, disconnect, press, move, busy, ...),
plus `stats`, `traffic`, `set` (model attribute, e.g. latency) and `quit`.

    python -m phantombutton.virtual.uhid --profile default --control /run/pb-uhid.sock
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from enum import IntEnum
from typing import cast

from phantombutton.errors import PhantomError
from phantombutton.virtual.bluetooth import make_model
from phantombutton.virtual.families import uhid_interfaces

# Interface 2 of a real C52B as hid-logitech-dj describes it (`hidpp_descriptor`, 98 bytes in
# 6.1; tests/unit/test_uhid_packing.py compares it with the installed module's rodata).
from .descriptors import HIDPP_RECEIVER_DESCRIPTOR as HIDPP_DESCRIPTOR

EVENT_SIZE = 4376  # sizeof(struct uhid_event): u32 type + the largest member (create2_req)
DATA_MAX = 4096
BUS_USB = 0x03
VENDOR_LOGITECH = 0x046D
PRODUCT_UNIFYING = 0xC52B
# A phys with '/' matters: hid-logitech-dj groups the receiver's interfaces by the phys up
# to the last '/', and children get "<phys>:<slot>".
DEFAULT_PHYS = "usb-0000:00:14.0-1/input2"
DEFAULT_NAME = "Logitech USB Receiver"
HIDPP_OR_DJ = frozenset({0x10, 0x11, 0x20, 0x21})   # report ids of the HID++/DJ interface


class UhidEvent(IntEnum):
    DESTROY = 1
    OUTPUT = 6
    GET_REPORT = 9
    GET_REPORT_REPLY = 10
    CREATE2 = 11
    INPUT2 = 12
    SET_REPORT = 13
    SET_REPORT_REPLY = 14


def _event(kind: UhidEvent, body: bytes) -> bytes:
    return (struct.pack("<I", kind) + body).ljust(EVENT_SIZE, b"\0")


def pack_create2(descriptor: bytes = HIDPP_DESCRIPTOR, name: str = DEFAULT_NAME,
                 phys: str = DEFAULT_PHYS, uniq: str = "", bus: int = BUS_USB,
                 vendor: int = VENDOR_LOGITECH, product: int = PRODUCT_UNIFYING,
                 version: int = 0x1201, country: int = 0) -> bytes:
    body = struct.pack("<128s64s64sHHIIII", name.encode(), phys.encode(), uniq.encode(),
                       len(descriptor), bus, vendor, product, version, country)
    return _event(UhidEvent.CREATE2, body + descriptor)


def pack_input2(report: bytes) -> bytes:
    if len(report) > DATA_MAX:
        raise ValueError(f"input report of {len(report)} bytes exceeds {DATA_MAX}")
    return _event(UhidEvent.INPUT2, struct.pack("<H", len(report)) + report)


def pack_set_report_reply(request_id: int, err: int = 0) -> bytes:
    return _event(UhidEvent.SET_REPORT_REPLY, struct.pack("<IH", request_id, err))


def pack_get_report_reply(request_id: int, err: int) -> bytes:
    return _event(UhidEvent.GET_REPORT_REPLY, struct.pack("<IHH", request_id, err, 0))   # no data


def pack_destroy() -> bytes:
    return _event(UhidEvent.DESTROY, b"")


@dataclass(frozen=True)
class KernelEvent:
    """One event read from /dev/uhid. `data` is the report (report id first) if any."""

    kind: int
    data: bytes = b""
    request_id: int = 0
    report_number: int = 0


def parse_event(buf: bytes) -> KernelEvent:
    (kind,) = struct.unpack_from("<I", buf, 0)
    if kind == UhidEvent.OUTPUT:  # data[4096], size u16, rtype u8
        (size,) = struct.unpack_from("<H", buf, 4 + DATA_MAX)
        return KernelEvent(kind, bytes(buf[4:4 + min(size, DATA_MAX)]))
    if kind == UhidEvent.SET_REPORT:  # id u32, rnum u8, rtype u8, size u16, data
        rid, rnum, _rtype, size = struct.unpack_from("<IBBH", buf, 4)
        return KernelEvent(kind, bytes(buf[12:12 + min(size, DATA_MAX)]), rid, rnum)
    if kind == UhidEvent.GET_REPORT:  # id u32, rnum u8, rtype u8
        rid, rnum, _rtype = struct.unpack_from("<IBB", buf, 4)
        return KernelEvent(kind, b"", rid, rnum)
    return KernelEvent(kind)


@dataclass
class Stats:
    """Traffic counters, readable over the control socket (benchmarks count requests here).

    `via` tells the two kernel paths apart: "output" = a write on the receiver's hidraw node
    (UHID_OUTPUT), "set_report" = hid-logitech-dj itself or a write on a child node."""

    hidpp_requests: int = 0  # HID++ 0x10/0x11 reports the host sent
    dj_requests: int = 0  # DJ 0x20/0x21 reports the host sent
    inputs: int = 0  # reports delivered to the kernel
    traffic: list = field(default_factory=list)  # (monotonic time, "out"/"in", hex, via)

    def note(self, direction: str, report: bytes, via: str = "") -> None:
        if direction == "out":
            if report[:1] in (b"\x10", b"\x11"):
                self.hidpp_requests += 1
            elif report[:1] in (b"\x20", b"\x21"):
                self.dj_requests += 1
        else:
            self.inputs += 1
        self.traffic.append((time.monotonic(), direction, report.hex(" "), via))
        del self.traffic[:-5000]


# Control op aliases: JSON keys that differ from the model's parameter names.
_ALIASES = {"buttons": "hid_buttons"}


class UhidBridge:
    """Runs the model behind one uhid device until `quit` or a signal; `interfaces` are more
    uhid devices of the same receiver (descriptor, phys) that carry no HID++ (Bolt's mouse
    interface, virtual/families.py): created, their kernel requests acknowledged, no input."""

    def __init__(self, model, uhid: str | int = "/dev/uhid", control: str | None = None,
                 phys: str = DEFAULT_PHYS, log=None, interfaces: tuple[tuple[bytes, str], ...] = ()):
        """`uhid`: the node's path, or an fd already open on it (the bridge owns it then)."""
        self.model = model
        self.fd = uhid if isinstance(uhid, int) else os.open(uhid, os.O_RDWR | os.O_CLOEXEC)
        self.extra_fds: list[int] = []
        self.stats = Stats()
        self.log = log
        self.running = True
        self.clients: dict[int, tuple[socket.socket, bytearray]] = {}
        self.listener = None
        if control:
            if os.path.exists(control):
                os.unlink(control)
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(control)
            self.listener.listen(8)
        # a model without a receiver (virtual/bluetooth.py) says what device it is
        product = getattr(model, "product_id", PRODUCT_UNIFYING)
        create = model.uhid_create() if hasattr(model, "uhid_create") else {
            "phys": phys, "product": product, "descriptor": getattr(model, "uhid_descriptor", HIDPP_DESCRIPTOR)}
        os.write(self.fd, pack_create2(**create))
        for descriptor, iphys in interfaces:
            fd = os.open(uhid if isinstance(uhid, str) else "/dev/uhid", os.O_RDWR | os.O_CLOEXEC)
            self.extra_fds.append(fd)
            os.write(fd, pack_create2(descriptor, phys=iphys, product=product))

    # -- kernel side
    def _from_kernel(self, fd: int) -> None:
        """One event of the HID++ device (`self.fd`) or of an interface that carries no HID++."""
        ev = parse_event(os.read(fd, EVENT_SIZE))
        if ev.kind == UhidEvent.SET_REPORT:
            # ack first: the driver blocks until the reply, and the model's answer is an input
            os.write(fd, pack_set_report_reply(ev.request_id, 0))
        elif ev.kind == UhidEvent.GET_REPORT:
            os.write(fd, pack_get_report_reply(ev.request_id, errno.EIO))
            return
        if fd == self.fd and ev.kind in (UhidEvent.OUTPUT, UhidEvent.SET_REPORT) and ev.data:
            via = "output" if ev.kind == UhidEvent.OUTPUT else "set_report"
            self.stats.note("out", ev.data, via)
            self._trace("out", ev.data, f" via {via}")
            try:
                self.model.handle_output(ev.data)
            except Exception as e:  # a model bug must not take the kernel's device away
                self._trace("error", ev.data, f" ({type(e).__name__}: {e})")

    def _deliver_due(self) -> None:
        for report in self.model.default.pop(time.monotonic()):
            # a plain input report (neither HID++ nor DJ) goes on the receiver's mouse
            # interface when it has one of its own (Lightspeed, virtual/families.py)
            fd = self.extra_fds[0] if self.extra_fds and report[0] not in HIDPP_OR_DJ else self.fd
            try:
                os.write(fd, pack_input2(report))
            except OSError as e:  # EINVAL before the device is started: nothing to do
                self._trace("drop", report, f" ({e.strerror})")
                continue
            self.stats.note("in", report)
            self._trace("in", report)

    def _trace(self, direction: str, report: bytes, extra: str = "") -> None:
        if self.log:
            print(f"{time.monotonic():.6f} {direction} {report.hex(' ')}{extra}",
                  file=self.log, flush=True)

    # -- control side
    def control(self, req: dict):
        op = req.pop("op", None)
        if op == "ping":
            return "pong"
        if op == "stats":
            s = self.stats
            return {"hidpp_requests": s.hidpp_requests, "dj_requests": s.dj_requests,
                    "inputs": s.inputs}
        if op == "traffic":
            since = float(req.get("since", 0.0))
            return [list(t) for t in self.stats.traffic if t[0] >= since]
        if op == "set":
            setattr(self.model, req["name"], req["value"])
            return None
        if op == "quit":
            self.running = False
            return None
        if isinstance(op, str):
            op = op.replace("-", "_")   # "forget-wheel-mode" and "forget_wheel_mode" alike
        if not isinstance(op, str) or op.startswith("_") or op in ("handle_output", "default", "open_reader"):
            raise ValueError(f"unknown op {op!r}")
        method = getattr(self.model, op, None)
        if not callable(method):
            raise ValueError(f"the model has no scripting method {op!r}")
        args = {_ALIASES.get(k, k): v for k, v in req.items()}
        if isinstance(args.get("report"), str):  # inject: reports travel as hex in JSON
            args["report"] = bytes.fromhex(args["report"])
        result = method(**args)
        if getattr(self.model, "unplugged", False):  # the receiver left the bus: so does the node
            self.running = False
        return result

    def _client_line(self, conn: socket.socket, line: bytes) -> None:
        try:
            result = {"ok": True, "result": self.control(json.loads(line))}
        except Exception as e:  # reported to the caller, the bridge keeps running
            result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        conn.sendall(json.dumps(result, default=repr).encode() + b"\n")

    def _from_client(self, conn: socket.socket, buf: bytearray) -> None:
        chunk = conn.recv(65536)
        if not chunk:
            self.clients.pop(conn.fileno(), None)
            conn.close()
            return
        buf += chunk
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            if line.strip():
                self._client_line(conn, line)

    # -- loop
    def run(self) -> None:
        try:
            while self.running:
                self._deliver_due()
                due = self.model.default.next_at()
                timeout = 1.0 if due is None else max(0.0, min(1.0, due - time.monotonic()))
                fds = [self.fd, *self.extra_fds] + ([self.listener] if self.listener else [])
                fds += [c for c, _ in self.clients.values()]
                try:
                    ready, _, _ = select.select(fds, [], [], timeout)
                except InterruptedError:
                    continue
                for r in ready:
                    if r == self.fd or r in self.extra_fds:
                        self._from_kernel(r)
                    elif r is self.listener:
                        conn, _ = self.listener.accept()
                        self.clients[conn.fileno()] = (conn, bytearray())
                    else:  # the rest of fds are the clients' sockets
                        conn, buf = self.clients[cast(socket.socket, r).fileno()]
                        self._from_client(conn, buf)
        finally:
            self.close()

    def close(self) -> None:
        for conn, _ in list(self.clients.values()):
            conn.close()
        self.clients.clear()
        if self.listener:
            path = self.listener.getsockname()
            self.listener.close()
            self.listener = None
            if path and os.path.exists(path):
                os.unlink(path)
        for fd in self.extra_fds + ([self.fd] if self.fd >= 0 else []):
            with suppress(OSError):
                os.write(fd, pack_destroy())
            os.close(fd)
        self.extra_fds = []
        self.fd = -1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m phantombutton.virtual.uhid",
                                 description="The virtual Unifying receiver behind /dev/uhid.")
    ap.add_argument("--profile", default="default", help="virtual receiver profile")
    ap.add_argument("--control", metavar="SOCKET", help="unix socket for JSON-line scripting")
    ap.add_argument("--uhid", default="/dev/uhid", help="uhid node (default /dev/uhid)")
    ap.add_argument("--phys", default=DEFAULT_PHYS,
                    help=f"phys string (default {DEFAULT_PHYS}; its inputN suffix is replaced by the "
                         f"family's HID++ interface)")
    ap.add_argument("--log", metavar="FILE", help="append every report with its direction")
    args = ap.parse_args(argv)

    try:
        model = make_model(args.profile)
    except (PhantomError, KeyError, ValueError) as e:  # unknown profile: the message names them
        print(f"phantombutton.virtual.uhid: {e}", file=sys.stderr)
        return getattr(e, "exit_code", 2)

    phys, interfaces = uhid_interfaces(model, args.phys)
    try:
        log = open(args.log, "a", buffering=1) if args.log else None
        bridge = UhidBridge(model, args.uhid, args.control, phys, log, interfaces)
    except OSError as e:
        where = e.filename or args.uhid
        print(f"phantombutton.virtual.uhid: {where}: {e.strerror} "
              f"(needs root and the uhid module: modprobe uhid)", file=sys.stderr)
        return 1

    def stop(*_):
        bridge.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    bridge.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
