"""What `watch`, `status`, `release` and `mute` share: opening the platform's source, the X
session and the release layers, and naming a device or button."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

from phantombutton.buttons import code_for_x_button, hid_button_to_evdev, is_mouse_button, x_button_for
from phantombutton.detect.findings import Thresholds
from phantombutton.detect.rules import Detector
from phantombutton.errors import UsageProblem
from phantombutton.input.desktop import DesktopSession, describe_session
from phantombutton.input.source import Source
from phantombutton.input.xinput import XSession, XUnavailable, x_errors
from phantombutton.numbers import ascii_int, is_ascii_int
from phantombutton.recovery.live import LiveLayers
from phantombutton.recovery.shared import paired_reader
from phantombutton.recovery.watcher import Watcher
from phantombutton.transport.platform import Platform


@dataclass
class Session:
    """An open source, the X session and the release layers of one command."""

    source: Source
    x: XSession | None        # X whose button state is evidence (Xorg), or None
    layers: LiveLayers
    x_note: str | None        # why X is not used, said once
    platform: Platform
    desktop: DesktopSession | None = None
    x_probe: XSession | None = None   # Xwayland: X for the release's grab probe only

    def notes(self) -> list[str]:
        """What to say once on stderr: the session and what it means per check, then why
        X could not be opened, if it could not."""
        lines = self.desktop.lines() if self.desktop is not None else []
        return lines + ([self.x_note] if self.x_note else [])

    def raise_denied(self, found) -> None:
        """Nothing readable `found` but nodes we may not open: raise the first denial (it says
        how to get access) rather than report "no device"."""
        if self.source.denied and not found:
            raise next(iter(self.source.denied.values()))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.source.close()
        for x in (self.x, self.x_probe):
            if x is not None:
                with contextlib.suppress(*x_errors()):
                    x.close()


def open_session(options, *, all_mice: bool = False, use_x: bool = True,
                 hidpp: bool = False) -> Session:
    """`hidpp`: also read each receiver's HID++ node (read-only) for rule b and the HID++
    context of findings (watch, status); release and mute do not need it."""
    platform = options.platform
    x, probe, desktop, note = open_x(platform) if use_x else (None, None, None, None)
    return Session(platform.source(all_mice=all_mice, hidpp=hidpp), x,
                   LiveLayers(x or probe, nodes=platform.nodes), note, platform, desktop, probe)


def open_x(platform: Platform, environ=None, proc: str = "/proc"):
    """(X whose state is evidence, X for a grab probe only, DesktopSession, note).

    Xorg: one connection, read as evidence. Wayland: connect only if an Xwayland is already
    running (connecting to DISPLAY would start an on-demand Xwayland, e.g. GNOME's, and keep
    it alive), and then only for the release's grab probe. A DISPLAY that turns out to be
    Xwayland (its devices are `xwayland-*`: sudo keeps DISPLAY, not WAYLAND_DISPLAY) is
    treated the same way."""
    env = os.environ if environ is None else environ
    desktop = describe_session(env, proc)
    if not env.get("DISPLAY") or (desktop.kind == "wayland" and not desktop.xwayland):
        return None, None, desktop, None
    try:
        x = platform.x_session(display=env["DISPLAY"])
    except XUnavailable as e:
        return None, None, desktop, str(e)
    try:
        pointers = x.pointers()
        desktop = desktop.with_x([p.name for p in pointers],
                                 None if x.is_xwayland() else x.input_driver(pointers), proc)
    except x_errors() as e:   # a server dying under us: go on without it
        with contextlib.suppress(*x_errors()):
            x.close()
        return None, None, desktop, f"X server {env['DISPLAY']}: {type(e).__name__}: {e}"
    return (None, x, desktop, None) if desktop.xwayland else (x, None, desktop, None)


def read_state(session: Session, grace: float | None = None, wheel=None):
    """Read the current state through a Detector: start the source, then poll X twice,
    `grace` apart (default: the x_grace threshold), so X-versus-kernel disagreements can be
    confirmed. Returns (Watcher, the WatchEvents it produced)."""
    thresholds = Thresholds()
    grace = thresholds.x_grace + 0.05 if grace is None else grace

    detector = Detector(thresholds=thresholds, paired=paired_reader(session.platform))
    w = Watcher(session.source, detector, x=session.x, poll_interval=grace, wheel=wheel)
    events = w.start()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline + 0.01:
        events += w.step()
    return w, events


def _where(d) -> str:
    """How a device (a DeviceInfo, or a DeviceView that knows only its slot) is reached, for
    the list of valid names."""
    if d.slot is not None:
        return f"slot {d.slot}"
    if getattr(d, "receiver_node", None):   # a receiver's shared mouse node (detect/shared.py)
        return f"every mouse paired to {d.receiver_node}"
    return "no receiver" if getattr(d, "hidpp_node", None) else "no slot"


def parse_button(text: str) -> tuple[int, int]:
    """'20' (X button), '0x11f' / 'BTN_...' code, or 'hid16' -> (evdev code, X button)."""
    t = text.strip().lower()
    try:   # ascii_int: "٣" is not button 3, "0x_1f" not 0x1f
        if t.startswith("hid"):
            code = hid_button_to_evdev(ascii_int(t[3:]))   # ValueError outside 1..16
        elif t.startswith("0x"):
            code = ascii_int(t[2:], 16)
        else:
            xcode = code_for_x_button(ascii_int(t))
            if xcode is None:
                raise ValueError
            code = xcode
    except ValueError:
        raise UsageProblem(f"{text!r} is not a button; use an X button number (20), an evdev "
                           "code (0x11f) or a HID button (hid16)") from None
    xb = x_button_for(code)   # every mouse button has one
    if not is_mouse_button(code) or xb is None:
        raise UsageProblem(f"{text!r} is not a mouse button of a receiver device (0x110..0x11f)")
    return code, xb


def pick_device(devices, spec: str | None):
    """DeviceInfo by node path, slot number or name substring; the only one if spec is None."""
    devices = list(devices)
    if not devices:
        raise UsageProblem("no pointer device found (Logitech receiver children; try --all)")
    if spec is None:
        if len(devices) == 1:
            return devices[0]
        raise UsageProblem("several devices; name one: " + ", ".join(f"{d.node} ({d.name})" for d in devices))
    s = spec.strip()
    valid = ", ".join(f"{d.node} ({_where(d)}, {d.name})" for d in devices)
    if not s:   # "" is part of every name: it must not pick the only mouse
        raise UsageProblem(f"empty device name; valid: {valid}")
    hits = [d for d in devices if d.node == s]
    if not hits and is_ascii_int(s):     # a number is a slot, never part of a name
        hits = [d for d in devices if d.slot == int(s)]
    elif not hits:
        hits = [d for d in devices if s.lower() in (d.name or "").lower()]
    if len(hits) != 1:
        what = "matches several devices" if hits else "matches no device"
        raise UsageProblem(f"{spec!r} {what}; valid: {valid}")
    return hits[0]
