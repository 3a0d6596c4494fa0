"""Reaching an X server: whether this session has one worth asking (`session_problem`), and
whether it answers the connection setup in time (`probe_display`) before python-xlib, which
waits without a timeout, is let near it. input/xinput.py's XSession opens through these.
"""

from __future__ import annotations

import os
import struct
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # annotations only: socket loads with Xlib, in _x_socket
    import socket


class XUnavailable(Exception):
    """No X server state for us: no DISPLAY, a Wayland session, or a missing extension."""


def session_problem(environ: dict[str, str] | None = None) -> str | None:
    """Why X device state cannot be read in this session, or None if it is worth trying."""
    env = os.environ if environ is None else environ
    if env.get("XDG_SESSION_TYPE") == "wayland" or env.get("WAYLAND_DISPLAY"):
        return ("Wayland session: the compositor does not expose device button state to "
                "clients (Xwayland shows virtual devices only); watching evdev only")
    if not env.get("DISPLAY"):
        return "no X display (DISPLAY is not set); watching evdev only"
    return None


X_TIMEOUT = 2.0   # s an X server has to answer the connection setup


def _x_socket(display_name: str, timeout: float) -> socket.socket | None:
    """A socket connected (within `timeout`) to the X server python-xlib would use for
    `display_name` (Xlib/support/unix_connect.py get_socket: a unix socket, abstract when
    the file is missing, TCP for a host); None when python-xlib should find the error."""
    # socket here, not at the top: 6 ms (host) that --no-x and a session without X never use
    import socket

    from Xlib import error as xerror   # optional heavy: Xlib
    from Xlib.support import connect   # optional heavy: Xlib

    try:
        _, protocol, host, dno, _ = connect.get_display(display_name)
    except xerror.DisplayError:
        return None
    if protocol == "darwin":
        return None
    try:
        if protocol != "unix" and host and host != "unix":
            return socket.create_connection((host, 6000 + dno), timeout=timeout)
        path = f"/tmp/.X11-unix/X{dno}"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path if os.path.exists(path) else "\0" + path)
        except OSError:
            s.close()
            raise
        return s
    except OSError:
        return None


def probe_display(display_name: str, timeout: float = X_TIMEOUT) -> tuple[str | None, socket.socket | None]:
    """Does the X server answer the connection setup (X11 protocol, "Connection Setup")
    within `timeout`? python-xlib waits for that answer in select() without a timeout, so a
    server that accepts and never answers would hang every command. Returns (problem or
    None, the probe's socket to close once python-xlib is connected: while it is open the
    server never sees its last client leave, which makes a server without -noreset reset)."""
    deadline = time.monotonic() + timeout
    s = _x_socket(display_name, timeout)
    if s is None:
        return None, None
    try:
        # byte order 'l' (LSBFirst), protocol 11.0, no authorization: any server answers
        # Success, Failed or Authenticate - an answer is all this asks for
        s.sendall(struct.pack("<BxHHHH2x", 0x6C, 11, 0, 0, 0))
        s.settimeout(max(0.01, deadline - time.monotonic()))
        s.recv(1)            # b"" (closed) is an answer too: python-xlib reports it
    except TimeoutError:   # socket.timeout is TimeoutError
        s.close()
        return f"did not answer within {timeout:.3g} s", None
    except OSError:
        s.close()
        return None, None
    return None, s
