"""Which processes hold what open: /proc/PID/fd is the only place Linux tells it.

Used to name a Wayland compositor (the owner of its socket), the program behind a virtual
keyboard (a holder of /dev/uinput) and whoever still reads a receiver's hidraw node (a
program that diverted a control listens there). Other users' fds are readable only by root:
`holders` says when some could not be read.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from phantombutton.sysfs import read_text


def pids(proc: str = "/proc") -> list[str]:
    try:
        return [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return []


def comm(proc: str, pid: str) -> str | None:
    return read_text(os.path.join(proc, pid, "comm"))


def holders(matches: Callable[[str], bool], proc: str = "/proc",
            skip_self: bool = False) -> tuple[list[tuple[int, str]], bool]:
    """((pid, comm) of each process with an fd for which `matches(fd_path)` is true, whether
    some process's fds could not be read)."""
    found: list[tuple[int, str]] = []
    hidden = False
    me = str(os.getpid())
    for pid in pids(proc):
        if skip_self and pid == me:
            continue
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except (FileNotFoundError, ProcessLookupError):   # it ended since pids() listed it
            continue
        except OSError:   # EACCES: another user's process, unreadable without privileges
            hidden = True
            continue
        if any(matches(os.path.join(fd_dir, fd)) for fd in fds):
            found.append((int(pid), comm(proc, pid) or "?"))
    return sorted(found), hidden


def links_to(targets: set[str]) -> Callable[[str], bool]:
    """An fd whose link reads as one of `targets` ("/dev/uinput", "socket:[123]")."""
    def match(fd_path: str) -> bool:
        try:
            return os.readlink(fd_path) in targets
        except OSError:
            return False
    return match


def same_file(path: str) -> Callable[[str], bool] | None:
    """An fd open on the same device node or file as `path`; None if `path` is gone."""
    try:
        target = os.stat(path)
    except OSError:
        return None

    def match(fd_path: str) -> bool:
        try:
            st = os.stat(fd_path)
        except OSError:
            return False
        return (st.st_rdev, st.st_ino) == (target.st_rdev, target.st_ino)
    return match


def hidraw_listeners(node: str, proc: str = "/proc") -> tuple[str, ...] | None:
    """Other processes holding a hidraw node open ("name[pid]"); None when /proc cannot tell
    (other users' fds are unreadable without privileges). A program that diverted the wheel
    reads its HID++ events there; none left means nobody is listening."""
    match = same_file(node)
    if match is None:
        return None
    found, hidden = holders(match, proc, skip_self=True)
    if found:
        return tuple(f"{name}[{pid}]" for pid, name in found)
    return None if hidden else ()
