"""X side of the input layer: held-button state, XTest device events, grab probe.

python-xlib 0.33 lacks the two requests this tool depends on, so they are defined here:

- XI 1.x QueryDeviceState (XInput minor opcode 30). XI2's XIQueryDevice also reports button
  state but its ListButtonInfo loops `i < numButtons` and never reports the highest button,
  which is exactly button 20 of a DJ mouse under xf86-input-libinput. QueryDeviceState copies
  the whole `down` bitmap, and works on master ids too.
- XTEST FakeInput with an XInput device event (type = XInput first_event + 3/4, device id in
  the last byte). ProcXTestFakeInput then looks that device up instead of using the XTEST
  pointer, so the release comes from the slave that holds the button - the only kind of
  release that lets the master's count of held buttons reach 0 and end the implicit grab.

XI2 XIQueryDevice is used only to list devices. Everything here is one X connection per
`XSession`; python-xlib is imported lazily (only by the commands that need X).
"""

from __future__ import annotations

import contextlib
import os
import select
from dataclasses import dataclass
from enum import IntEnum

from phantombutton.input.bits import set_bits
from phantombutton.input.desktop import XWAYLAND_DEVICE_PREFIX
from phantombutton.input.xconnect import X_TIMEOUT, XUnavailable, probe_display, session_problem

class XDeviceUse(IntEnum):
    """XI2 device use (XI2.h)."""

    MASTER_POINTER = 1
    MASTER_KEYBOARD = 2
    SLAVE_POINTER = 3
    SLAVE_KEYBOARD = 4
    FLOATING_SLAVE = 5


class GrabStatus(IntEnum):
    """Core XGrabPointer status (X.h)."""

    SUCCESS = 0
    ALREADY_GRABBED = 1
    INVALID_TIME = 2
    NOT_VIEWABLE = 3
    FROZEN = 4


# XI 1.x event offsets from the extension's first_event (XI.h: XI_DeviceKeyRelease = 2,
# XI_DeviceButtonPress = 3).
XI_DEVICE_KEY_RELEASE = 2
XI_DEVICE_BUTTON_PRESS = 3
XI_DEVICE_BUTTON_RELEASE = 4
# XI 1.x minor opcodes / classes
XI_QUERY_DEVICE_STATE = 30
XI_BUTTON_CLASS = 1
XTEST_FAKE_INPUT = 2


def x_errors() -> tuple[type[BaseException], ...]:
    """What a call on an X connection raises when the server fails or goes away (restart,
    logout): python-xlib's protocol, connection and display errors and the socket's. Catch
    these around X calls only; anything else is a bug and is shown as one."""
    from Xlib import error as xerror   # optional heavy: Xlib

    return (OSError, xerror.XError, xerror.ConnectionClosedError, xerror.DisplayError, XUnavailable)


class XRefused(Exception):
    """The X server answered a request with an error (BadValue, BadDevice, ...)."""


@dataclass(frozen=True)
class XPointer:
    """An X pointer device (master or slave) as listed by XIQueryDevice."""

    id: int
    name: str
    use: XDeviceUse
    attachment: int           # slave -> its master id; master -> its paired keyboard
    enabled: bool
    node: str | None = None   # "Device Node" property (slaves of the evdev/libinput drivers)

    @property
    def is_master(self) -> bool:
        return self.use == XDeviceUse.MASTER_POINTER


def parse_button_state(classes: bytes, num_classes: int) -> tuple[int, frozenset[int]] | None:
    """Decode the class records of a QueryDeviceState reply.

    Returns (num_buttons, held 1-based button numbers) from the ButtonClass record, or None
    when the device has no ButtonClass. Records: CARD8 class, CARD8 length (bytes), then
    class data; ButtonClass = class 1, length 36, num_buttons, pad, 32 bytes of bits indexed
    by button number (bit 0 unused).
    """
    pos = 0
    for _ in range(num_classes):
        if pos + 2 > len(classes):
            break
        cls, length = classes[pos], classes[pos + 1]
        if length < 2:  # malformed: avoid looping forever
            break
        if cls == XI_BUTTON_CLASS and pos + 36 <= len(classes):
            num_buttons = classes[pos + 2]
            bits = int.from_bytes(classes[pos + 4:pos + 36], "little") & ~1
            return num_buttons, set_bits(bits)
        pos += length
    return None


def property_text(value) -> str | None:
    """python-xlib gives an XIGetProperty value as (format, data); STRING data is bytes."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        value = value[1]
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray)):
        return None
    text = bytes(value).split(b"\0", 1)[0].decode(errors="replace")
    return text or None


def _requests():
    """Build the python-xlib request classes on first use (keeps Xlib out of import time)."""
    global _REQ
    if _REQ is not None:
        return _REQ
    from Xlib import X   # optional heavy: Xlib
    from Xlib.protocol import rq   # optional heavy: Xlib

    class _Rest(rq.ValueField):
        """The rest of a reply as bytes (class records parsed by parse_button_state)."""

        structcode = None

        def parse_binary_value(self, data, display, length, fmt):
            return bytes(data), b""

    class QueryDeviceState(rq.ReplyRequest):
        _request = rq.Struct(
            rq.Card8("opcode"),
            rq.Opcode(XI_QUERY_DEVICE_STATE),
            rq.RequestLength(),
            rq.Card8("deviceid"),
            rq.Pad(3),
        )
        _reply = rq.Struct(
            rq.ReplyCode(),
            rq.Card8("xi_reply_type"),
            rq.Card16("sequence_number"),
            rq.ReplyLength(),
            rq.Card8("num_classes"),
            rq.Pad(23),
            _Rest("classes"),
        )

    class FakeDeviceInput(rq.Request):
        """XTEST FakeInput carrying an XInput device event; device id in the last byte."""

        _request = rq.Struct(
            rq.Card8("opcode"),
            rq.Opcode(XTEST_FAKE_INPUT),
            rq.RequestLength(),
            rq.Card8("event_type"),
            rq.Card8("detail"),
            rq.Pad(2),
            rq.Card32("time"),
            rq.Window("root", (X.NONE,)),
            rq.Pad(8),
            rq.Int16("x"),
            rq.Int16("y"),
            rq.Pad(7),
            rq.Card8("deviceid"),
        )

    _REQ = (QueryDeviceState, FakeDeviceInput)
    return _REQ


_REQ: tuple[type, type] | None = None   # (QueryDeviceState, FakeDeviceInput), built by _requests


class XSession:
    """One connection to the X server for polling state and sending device events."""

    def __init__(self, display_name: str | None = None, *, timeout: float = X_TIMEOUT):
        if display_name is None:   # a display named is tried as given; the session's only if it has X
            problem = session_problem()
            if problem:
                raise XUnavailable(problem)
        from Xlib import display as xdisplay   # optional heavy: Xlib
        from Xlib import error as xerror   # optional heavy: Xlib

        shown = display_name or os.environ.get("DISPLAY")
        problem, probe = probe_display(display_name or os.environ.get("DISPLAY", ""), timeout)
        if problem:
            raise XUnavailable(f"X display {shown} {problem}; watching evdev only")
        try:
            self.display = xdisplay.Display(display_name)
        except Exception as e:  # DisplayError, ConnectionClosedError, OSError, Overflow...
            raise XUnavailable(f"cannot open X display {shown}: {e}; watching evdev only") from e
        finally:
            if probe is not None:
                probe.close()
        # python-xlib 0.33's RANDR module registers its errors at raw codes 0-2, overriding
        # the core BadValue (2) with a class that cannot parse it (the client then spins).
        # That dict is shared by every Display: give this connection its own, corrected.
        proto = self.display.display
        proto.error_classes = {**proto.error_classes, **xerror.xerror_class}
        xi = self.display.query_extension("XInputExtension")
        if not xi.present:
            self.display.close()
            raise XUnavailable("the X server has no XInput extension; watching evdev only")
        self._xi_major = xi.major_opcode
        self._xi_first_event = xi.first_event
        xt = self.display.query_extension("XTEST")
        self._xtest_major = xt.major_opcode if xt.present else None
        # XI2 requests (XIQueryDevice) are refused until the client announces its version.
        # 2.2, not python-xlib's default 2.0: from XI 2.1 on, raw events reach a root-window
        # selection even while another client holds a grab - the phantom's implicit grab.
        self.xi2_minor = self._announce_xi2(xi.major_opcode)
        self._atom_node = self.display.intern_atom("Device Node", only_if_exists=True)
        self._node_cache: dict[int, str | None] = {}
        self._xwayland: bool | None = None

    def _announce_xi2(self, opcode: int) -> int:
        from Xlib import error as xerror   # optional heavy: Xlib
        from Xlib.ext import xinput   # optional heavy: Xlib

        try:
            r = xinput.XIQueryVersion(display=self.display.display, opcode=opcode,
                                      major_version=2, minor_version=2)
            return r.minor_version if r.major_version == 2 else 0
        except xerror.XError:
            self.display.xinput_query_version()
            return 0

    def close(self) -> None:
        with contextlib.suppress(Exception):   # already gone: nothing to release
            self.display.close()

    def fileno(self) -> int:
        return self.display.fileno()

    # -- listing -------------------------------------------------------------------------
    def pointers(self) -> list[XPointer]:
        """Master and slave pointers (floating slaves too), with their "Device Node"."""
        from Xlib.ext import xinput   # optional heavy: Xlib

        reply = self.display.xinput_query_device(xinput.AllDevices)
        out = []
        for d in reply.devices:
            if d.use not in (XDeviceUse.MASTER_POINTER, XDeviceUse.SLAVE_POINTER,
                             XDeviceUse.FLOATING_SLAVE):
                continue
            if d.use == XDeviceUse.FLOATING_SLAVE and not any(c.type == 1 for c in d.classes):
                continue  # a floating keyboard
            node = None if d.use == XDeviceUse.MASTER_POINTER else self.device_node(d.deviceid)
            name = d.name.decode(errors="replace") if isinstance(d.name, bytes) else d.name
            out.append(XPointer(d.deviceid, name, XDeviceUse(d.use), d.attachment,
                                bool(d.enabled), node))
        for gone in set(self._node_cache) - {p.id for p in out}:
            del self._node_cache[gone]  # ids are reused after hotplug
        return out

    def device_node(self, device_id: int) -> str | None:
        """The "Device Node" property (XA_STRING) set by the evdev and libinput drivers."""
        if device_id in self._node_cache:
            return self._node_cache[device_id]
        node = None
        if self._atom_node:
            from Xlib import X, error as xerror   # optional heavy: Xlib

            with contextlib.suppress(xerror.XError):
                r = self.display.xinput_get_device_property(device_id, self._atom_node,
                                                            X.AnyPropertyType, 0, 256)
                node = property_text(r.value)
        self._node_cache[device_id] = node
        return node

    def is_xwayland(self) -> bool:
        """Xwayland's devices are virtual and named `xwayland-*` (hw/xwayland/xwayland-input.c):
        their button state says nothing about the mouse. Decided once per connection."""
        if self._xwayland is None:
            self._xwayland = any(p.name.startswith(XWAYLAND_DEVICE_PREFIX) for p in self.pointers())
        return self._xwayland

    def input_driver(self, pointers: list[XPointer]) -> str | None:
        """The Xorg input driver reading the mice: xf86-input-libinput names its device
        properties "libinput ...", xf86-input-evdev "Evdev ..." (their src/*.c prop names)."""
        from Xlib import error as xerror   # optional heavy: Xlib

        for p in pointers:
            if p.is_master or not p.node:
                continue
            try:
                atoms = self.display.xinput_list_device_properties(p.id).atoms
                names = [self.display.get_atom_name(a) for a in atoms]
            except xerror.XError:
                continue
            if any(n.startswith("libinput ") for n in names):
                return "libinput"
            if any(n.startswith("Evdev ") for n in names):
                return "evdev"
        return None

    def watch_events(self) -> bool:
        """Select XI2 HierarchyChanged (devices added, removed, attached) and raw button
        press/release events on the root window: the poller then queries state when X says
        something changed instead of on every tick. False if the server refuses (XI < 2.1
        would also lose raw events during grabs, so it counts as a refusal)."""
        from Xlib import error as xerror   # optional heavy: Xlib
        from Xlib.ext import xinput   # optional heavy: Xlib

        if self.xi2_minor < 1:
            return False
        try:
            self.display.screen().root.xinput_select_events([(xinput.AllDevices, (
                xinput.HierarchyChangedMask | xinput.RawButtonPressMask | xinput.RawButtonReleaseMask))])
            self.display.sync()
        except xerror.XError:
            return False
        return True

    def drain_events(self) -> tuple[bool, bool]:
        """Read queued events without blocking: (hierarchy changed, a button went down/up)."""
        from Xlib.ext import xinput   # optional heavy: Xlib

        hierarchy = buttons = False
        # The usual answer is "nothing": find that out with one select() instead of
        # python-xlib's locked read path (events read while waiting for a reply are queued).
        if not self.display.display.event_queue:
            if not select.select([self.display.fileno()], [], [], 0)[0]:
                return False, False
        while self.display.pending_events():
            ev = self.display.next_event()
            kind = getattr(ev, "evtype", None)
            if kind == xinput.HierarchyChanged:
                hierarchy = True
            elif kind in (xinput.RawButtonPress, xinput.RawButtonRelease):
                buttons = True
        return hierarchy, buttons

    # -- state -------------------------------------------------------------------------
    def query_buttons(self, device_id: int) -> tuple[int, frozenset[int]] | None:
        """(num_buttons, held buttons) per XI 1.x QueryDeviceState; None if the device is gone."""
        from Xlib import error as xerror   # optional heavy: Xlib

        QueryDeviceState, _ = _requests()
        try:
            r = QueryDeviceState(display=self.display.display, opcode=self._xi_major, deviceid=device_id)
        except xerror.XError:
            return None  # BadDevice: unplugged between listing and query
        return parse_button_state(r.classes, r.num_classes)

    # -- actions -------------------------------------------------------------------------
    def fake_device_button(self, device_id: int, button: int, press: bool) -> None:
        """XTest device button event from `device_id` (fake_device_event)."""
        offset = XI_DEVICE_BUTTON_PRESS if press else XI_DEVICE_BUTTON_RELEASE
        self.fake_device_event(device_id, offset, button, f"button {button}")

    def fake_device_event(self, device_id: int, offset: int, detail: int, what: str) -> None:
        """XTest FakeInput of the XI 1.x device event `offset` from `device_id` (`what` names
        `detail` in the error); raises XUnavailable without XTEST, XRefused if the server
        refuses it."""
        from Xlib import X, error as xerror   # optional heavy: Xlib

        if self._xtest_major is None:
            raise XUnavailable("the X server has no XTEST extension")
        _, FakeDeviceInput = _requests()
        catch = xerror.CatchError()
        FakeDeviceInput(display=self.display.display, onerror=catch, opcode=self._xtest_major,
                        event_type=self._xi_first_event + offset, detail=detail,
                        time=X.CurrentTime, root=X.NONE, x=0, y=0, deviceid=device_id)
        # FakeInput has no reply: a round trip surfaces BadValue/BadDevice now, not later.
        self.display.sync()
        err = catch.get_error()
        if err is not None:
            raise XRefused(f"X refused the XTest device event (device {device_id}, {what}): {type(err).__name__}")

    def grab_probe(self) -> GrabStatus:
        """Try what another application would: XGrabPointer on the root; ungrab at once."""
        from Xlib import X   # optional heavy: Xlib

        root = self.display.screen().root
        status = root.grab_pointer(False, X.ButtonPressMask, X.GrabModeAsync, X.GrabModeAsync,
                                   X.NONE, X.NONE, X.CurrentTime)
        if status == GrabStatus.SUCCESS:
            self.display.ungrab_pointer(X.CurrentTime)
            self.display.sync()
        return GrabStatus(status)


def find_slave(pointers: list[XPointer], node: str) -> XPointer | None:
    """The slave whose "Device Node" is `node` (realpath compared, symlinks welcome)."""
    want = os.path.realpath(node)
    for p in pointers:
        if p.node and not p.is_master and (p.node == node or os.path.realpath(p.node) == want):
            return p
    return None
