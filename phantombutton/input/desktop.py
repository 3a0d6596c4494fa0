"""What kind of desktop session this is, and what that means for each check.

Pure detection from the environment, /proc and (when an X connection is open) the X
server's device names; no Xlib here. `describe_session()` is what `watch`, `status`,
`release` and `report` print.

Why it matters (facts/input-stack.md):
- Xorg: its evdev or libinput driver reads the mouse's event node itself, so the X slave's
  button state (XInput QueryDeviceState) is a second, independent view of the button.
- Wayland: the compositor reads the event node through libinput and gives clients no device
  state at all. Xwayland's X devices are virtual (`xwayland-pointer:N` with 10 buttons, fed
  by the compositor's wl_pointer events; hw/xwayland/xwayland-input.c), so X can never show
  button 20 there: an X "not held" under Xwayland is no evidence of anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

from phantombutton.input import procfs

# /proc/<pid>/comm (at most 15 characters) -> the name users know the compositor by
COMPOSITORS = {
    "sway": "sway",
    "weston": "weston",
    "gnome-shell": "GNOME Shell (mutter)",
    "mutter": "mutter",
    "kwin_wayland": "KDE Plasma (kwin_wayland)",
    "Hyprland": "Hyprland",
    "river": "river",
    "labwc": "labwc",
    "wayfire": "wayfire",
    "cage": "cage",
    "niri": "niri",
    "cosmic-comp": "COSMIC (cosmic-comp)",
    "gamescope": "gamescope",
}
XWAYLAND_COMM = "Xwayland"
XORG_COMMS = ("Xorg", "X")
XWAYLAND_DEVICE_PREFIX = "xwayland-"    # xwayland-pointer:13, xwayland-keyboard:13, ...
# /proc/net/unix: flags __SO_ACCEPTCON (a listening socket), state SS_UNCONNECTED
_LISTENING = 0x00010000


@dataclass(frozen=True)
class DesktopSession:
    """The session as far as it can be known; None = not known."""

    kind: str                          # "x11", "wayland" or "none" (no graphical session found)
    compositor: str | None = None      # Wayland: "sway", "weston", "GNOME Shell (mutter)" ...
    compositor_from: str | None = None  # how: "socket owner", "XDG_CURRENT_DESKTOP", "process"
    wayland_display: str | None = None  # the socket path
    x_display: str | None = None       # DISPLAY
    xwayland: bool | None = None       # the X server (or one running) is Xwayland
    x_driver: str | None = None        # Xorg input driver of the mouse: "libinput", "evdev"
    x_connected: bool = False          # an X connection was opened

    @property
    def x_state_is_evidence(self) -> bool:
        """X device button state is worth reading: an Xorg whose driver reads the mouse."""
        return self.kind == "x11" and not self.xwayland

    @property
    def grab_probe(self) -> bool:
        """An X client can probe Xwayland's pointer grab (the release's second check)."""
        return bool(self.xwayland and self.x_connected)

    def headline(self) -> str:
        if self.kind == "wayland":
            who = self.compositor or "compositor unknown"
            if self.compositor and self.compositor_from:
                who += f", from the {self.compositor_from}"
            xw = {True: f"Xwayland running{f' (DISPLAY {self.x_display})' if self.x_display else ''}",
                  False: "no Xwayland", None: "Xwayland unknown"}[self.xwayland]
            return f"Wayland ({who}); {xw}"
        if self.kind == "x11":
            driver = f"{self.x_driver} input driver" if self.x_driver else "input driver unknown"
            return f"X11 (Xorg, {driver}), DISPLAY {self.x_display}"
        return "no graphical session found (neither WAYLAND_DISPLAY nor DISPLAY is set)"

    def lines(self) -> list[str]:
        """The headline, then what the session means for each check (said once per command)."""
        out = ["session: " + self.headline(),
               "  evdev: each mouse's kernel state (EVIOCGKEY) is read; it is the evidence"]
        if self.x_state_is_evidence and self.x_connected:
            out.append("  X: each slave's button state (XInput QueryDeviceState) is read and "
                       "compared with the kernel's")
            out.append("  release: event-node write first, verified in the kernel and in X")
        elif self.kind == "x11":
            out.append("  X: not connected, so no X checks")
            out.append("  release: event-node write first, verified in the kernel")
        elif self.xwayland:
            out.append("  X: button state is NOT read as evidence: Xwayland's pointer is virtual "
                       "(xwayland-pointer, 10 buttons) and cannot show button 20; no X-derived "
                       "findings")
            out.append("  release: event-node write first (the compositor reads the same node), "
                       "verified in the kernel" + ("; then an X pointer-grab probe through Xwayland"
                                                   if self.grab_probe else ""))
        else:
            out.append("  X: " + ("no Xwayland, so no X checks" if self.kind == "wayland"
                                  else "no X server, so no X checks"))
            out.append("  release: event-node write first, verified in the kernel"
                       + (" (the compositor reads the same node)" if self.kind == "wayland" else ""))
        if self.kind == "wayland":
            out.append("  Wayland clients: the compositor shows no device button state, so a "
                       "client's stuck grab is seen only through the kernel")
        return out

    def as_dict(self) -> dict:
        return {**asdict(self), "x_state_is_evidence": self.x_state_is_evidence, "grab_probe": self.grab_probe}

    def with_x(self, pointer_names: list[str], driver: str | None,
               proc: str = "/proc") -> DesktopSession:
        """The same session once an X connection is open: its device names tell Xwayland
        apart (its devices are `xwayland-*`), even when only DISPLAY reached us (sudo)."""
        if not any(n.startswith(XWAYLAND_DEVICE_PREFIX) for n in pointer_names):
            return replace(self, kind="x11" if self.kind == "none" else self.kind,
                           x_driver=driver, x_connected=True)
        compositor, source = self.compositor, self.compositor_from
        if compositor is None:
            found = sorted(COMPOSITORS[c] for c in running(proc) if c in COMPOSITORS)
            compositor, source = (", ".join(found), "process") if found else (None, None)
        return replace(self, kind="wayland", compositor=compositor, compositor_from=source,
                       xwayland=True, x_driver=None, x_connected=True)


# ------------------------------------------------------------------ /proc
def wayland_socket(env: dict[str, str]) -> str | None:
    """The compositor's socket path (libwayland: WAYLAND_DISPLAY, absolute or relative to
    XDG_RUNTIME_DIR; wayland-client.c connect_to_socket)."""
    name = env.get("WAYLAND_DISPLAY")
    if not name:
        return None
    if name.startswith("/"):
        return name
    runtime = env.get("XDG_RUNTIME_DIR")
    return os.path.join(runtime, name) if runtime else None


def listening_inodes(path: str, proc: str = "/proc") -> set[int]:
    """Inodes of listening unix sockets bound to `path` (/proc/net/unix)."""
    found = set()
    try:
        with open(os.path.join(proc, "net", "unix")) as f:
            next(f, None)   # header
            for line in f:
                parts = line.split()
                if len(parts) >= 8 and parts[7] == path and int(parts[3], 16) & _LISTENING:
                    found.add(int(parts[6]))
    except (OSError, ValueError):
        pass
    return found


def socket_owner(path: str, proc: str = "/proc") -> str | None:
    """The comm of the process holding the listening socket `path`. Reading another
    process's fd links needs the same uid (or root); otherwise None."""
    inodes = listening_inodes(path, proc)
    if not inodes:
        return None
    found, _ = procfs.holders(procfs.links_to({f"socket:[{i}]" for i in inodes}), proc)
    return found[0][1] if found else None


def running(proc: str = "/proc") -> set[str]:
    """The comm names of all processes we can see."""
    return {c for pid in procfs.pids(proc) if (c := procfs.comm(proc, pid))}


# ------------------------------------------------------------------ the description
def describe_session(environ: Mapping[str, str] | None = None, proc: str = "/proc") -> DesktopSession:
    """The session from the environment and /proc (no X connection: see `with_x`).

    Wayland when WAYLAND_DISPLAY or XDG_SESSION_TYPE=wayland says so; else X11 when DISPLAY
    is set; else (a root shell, a service without the session's environment) whichever
    compositor or Xorg process is running. The compositor is the owner of the Wayland socket,
    else XDG_CURRENT_DESKTOP, else a known compositor process."""
    env = dict(os.environ if environ is None else environ)
    comms = running(proc)
    sock = wayland_socket(env)
    compositors = [COMPOSITORS[c] for c in comms if c in COMPOSITORS]
    if sock or env.get("XDG_SESSION_TYPE") == "wayland":
        kind = "wayland"
    elif env.get("DISPLAY"):
        kind = "x11"
    elif compositors:
        kind = "wayland"
    elif any(c in comms for c in XORG_COMMS):
        kind = "x11"
    else:
        kind = "none"
    compositor = source = None
    if kind == "wayland":
        owner = socket_owner(sock, proc) if sock else None
        if owner:
            compositor, source = COMPOSITORS.get(owner, owner), "socket owner"
        elif env.get("XDG_CURRENT_DESKTOP"):
            compositor, source = env["XDG_CURRENT_DESKTOP"], "XDG_CURRENT_DESKTOP"
        elif compositors:
            compositor, source = ", ".join(sorted(compositors)), "process"
    xwayland = XWAYLAND_COMM in comms if kind == "wayland" else (False if kind == "x11" else None)
    return DesktopSession(kind, compositor, source, sock, env.get("DISPLAY") or None, xwayland)
