"""Session awareness: X11/Wayland/Xwayland from the environment, a fake /proc and X device
names; what the session means for each check; the release chain's grab probe under Xwayland."""

from __future__ import annotations

import os

import pytest

from phantombutton.input.desktop import DesktopSession, describe_session, socket_owner
from phantombutton.recovery.chain import Snapshot, Step, Target, run_chain

UNIX_HEADER = "Num       RefCount Protocol Flags    Type St Inode Path\n"


def fake_proc(tmp_path, procs: dict[int, tuple[str, list[int]]], unix: list[tuple[int, str, int]]):
    """procs: pid -> (comm, socket inodes among its fds); unix: (inode, path, flags)."""
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "unix").write_text(UNIX_HEADER + "".join(
        f"0000000000000000: 00000002 00000000 {flags:08X} 0001 01 {inode} {path}\n"
        for inode, path, flags in unix))
    for pid, (comm, inodes) in procs.items():
        d = proc / str(pid)
        (d / "fd").mkdir(parents=True)
        (d / "comm").write_text(comm + "\n")
        for n, inode in enumerate(inodes, start=3):
            os.symlink(f"socket:[{inode}]", d / "fd" / str(n))
    return str(proc)


SWAY_ENV = {"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": "/run/user/1000",
            "DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}


def test_wayland_compositor_is_the_owner_of_the_socket(tmp_path):
    proc = fake_proc(tmp_path, {
        100: ("bash", [5]),
        200: ("sway", [7, 8]),          # 8 is a client connection, 7 the listening socket
        300: ("Xwayland", [9]),
    }, [(7, "/run/user/1000/wayland-1", 0x10000), (8, "/run/user/1000/wayland-1", 0),
        (9, "/tmp/.X11-unix/X0", 0x10000)])
    s = describe_session(dict(SWAY_ENV, XDG_CURRENT_DESKTOP="GNOME"), proc)
    assert (s.kind, s.compositor, s.compositor_from) == ("wayland", "sway", "socket owner")
    assert s.wayland_display == "/run/user/1000/wayland-1" and s.xwayland is True
    assert not s.x_state_is_evidence
    assert socket_owner("/run/user/1000/wayland-0", proc) is None


def test_compositor_from_xdg_current_desktop_then_processes(tmp_path):
    proc = fake_proc(tmp_path, {10: ("kwin_wayland", [])}, [])
    s = describe_session(dict(SWAY_ENV, XDG_CURRENT_DESKTOP="KDE"), proc)
    assert (s.compositor, s.compositor_from, s.xwayland) == ("KDE", "XDG_CURRENT_DESKTOP", False)
    s = describe_session(SWAY_ENV, proc)
    assert (s.compositor, s.compositor_from) == ("KDE Plasma (kwin_wayland)", "process")


def test_root_shell_without_session_environment_uses_processes(tmp_path):
    proc = fake_proc(tmp_path, {10: ("weston", []), 11: ("Xwayland", [])}, [])
    s = describe_session({}, proc)
    assert (s.kind, s.compositor, s.xwayland) == ("wayland", "weston", True)
    proc2 = fake_proc(tmp_path / "b", {10: ("Xorg", [])}, [])
    assert describe_session({}, proc2).kind == "x11"
    proc3 = fake_proc(tmp_path / "c", {10: ("bash", [])}, [])
    s = describe_session({}, proc3)
    assert s.kind == "none" and "no graphical session" in s.headline()


def test_a_process_name_that_is_not_utf8_does_not_stop_the_scan(tmp_path):
    """comm is whatever bytes a program gave prctl(PR_SET_NAME): an undecodable one is read
    with the bad bytes replaced, and the compositor beside it is still found."""
    proc = fake_proc(tmp_path, {10: ("weston", []), 11: ("Xwayland", [])}, [])
    (tmp_path / "proc" / "12" / "fd").mkdir(parents=True)
    (tmp_path / "proc" / "12" / "comm").write_bytes(b"caf\xe9\xff\n")
    s = describe_session({}, proc)
    assert (s.kind, s.compositor, s.xwayland) == ("wayland", "weston", True)


def test_display_that_is_xwayland_is_told_apart_by_its_device_names(tmp_path):
    """sudo keeps DISPLAY but not WAYLAND_DISPLAY: the X devices give Xwayland away."""
    proc = fake_proc(tmp_path, {10: ("sway", []), 11: ("Xwayland", [])}, [])
    s = describe_session({"DISPLAY": ":0"}, proc)
    assert s.kind == "x11"
    s = s.with_x(["Virtual core pointer", "xwayland-pointer:13",
                  "xwayland-relative-pointer:13"], "libinput", proc)
    assert (s.kind, s.xwayland, s.compositor, s.x_driver) == ("wayland", True, "sway", None)
    assert s.grab_probe and not s.x_state_is_evidence
    text = "\n".join(s.lines())
    assert "NOT read as evidence" in text and "button 20" in text and "grab probe" in text


def test_xorg_with_its_input_driver(tmp_path):
    proc = fake_proc(tmp_path, {10: ("Xorg", [])}, [])
    s = describe_session({"DISPLAY": ":1"}, proc).with_x(["Virtual core pointer", "Logitech M705"],
                                                          "evdev", proc)
    assert (s.kind, s.x_driver, s.xwayland) == ("x11", "evdev", False)
    assert s.x_state_is_evidence and not s.grab_probe
    assert s.headline() == "X11 (Xorg, evdev input driver), DISPLAY :1"
    assert "compared with the kernel" in "\n".join(s.lines())
    d = s.as_dict()
    assert d["kind"] == "x11" and d["x_state_is_evidence"] is True and d["grab_probe"] is False


def test_wayland_without_xwayland_says_so():
    s = DesktopSession("wayland", "weston", "socket owner", "/run/user/0/wayland-1", None, False)
    text = "\n".join(s.lines())
    assert s.headline() == "Wayland (weston, from the socket owner); no Xwayland"
    assert "no Xwayland, so no X checks" in text and "verified in the kernel" in text


def test_open_x_under_wayland_without_xwayland_does_not_connect(tmp_path, monkeypatch):
    """Connecting to DISPLAY would start an on-demand Xwayland (GNOME): never without one."""
    from phantombutton.input import xinput
    from phantombutton.recovery.session import open_x
    from phantombutton.service.platform import HardwarePlatform

    def boom(*a, **k):
        raise AssertionError("connected to X")

    monkeypatch.setattr(xinput, "XSession", boom)
    proc = fake_proc(tmp_path, {10: ("gnome-shell", [])}, [])
    x, probe, desktop, note = open_x(HardwarePlatform(), dict(SWAY_ENV, DISPLAY=":0"), proc)
    assert (x, probe, note) == (None, None, None)
    assert desktop.kind == "wayland" and desktop.xwayland is False


@pytest.mark.xvfb
def test_open_x_on_an_x_server_reads_its_state(xvfb, tmp_path):
    from phantombutton.recovery.session import open_x
    from phantombutton.service.platform import HardwarePlatform

    proc = fake_proc(tmp_path, {10: ("Xvfb", [])}, [])
    x, probe, desktop, note = open_x(HardwarePlatform(), {"DISPLAY": xvfb}, proc)
    try:
        assert x is not None and probe is None and note is None
        assert not x.is_xwayland()
        assert desktop.kind == "x11" and desktop.x_connected and desktop.x_driver is None
    finally:
        x.close()


# ---------------------------------------------------------------- the chain under Xwayland
M705 = Target(device="Logitech M705", node="/dev/input/event5", code=0x11F, x_button=20,
              x_slave_id=None, model_has_button=False)


class XwaylandLayers:
    """Kernel state plus Xwayland's grab: the grab ends `lag` snapshots after the kernel
    release (the compositor passes it on); `stuck_grab`: an X client's own grab stays."""

    def __init__(self, writable=True, lag=2, stuck_grab=False, grab_before=True):
        self.kernel, self.grab = True, grab_before
        self.writable, self.lag, self.stuck_grab = writable, lag, stuck_grab
        self.calls: list[str] = []

    def snapshot(self, t):
        if not self.kernel and self.grab and not self.stuck_grab:
            self.lag -= 1
            if self.lag < 0:
                self.grab = False
        return Snapshot(self.kernel, None, None, self.grab)

    def write_release(self, t):
        self.calls.append("write")
        if not self.writable:
            raise PermissionError("EACCES")
        self.kernel = False
        return "wrote"

    def xtest_release(self, dev, button):
        raise AssertionError("no XTest on Xwayland's virtual devices")

    def mute(self, t):
        self.calls.append("mute")
        self.kernel = False
        return "muted"

    def orphan_release(self, t):
        raise AssertionError("no orphan release without X device state")


def test_xwayland_release_waits_for_the_grab_to_end():
    layers = XwaylandLayers(lag=3)
    out = run_chain(M705, layers, settle=0.2)
    assert layers.calls == ["write"] and out.released and out.step is Step.EVENT_NODE
    assert out.attempts[0].after == Snapshot(False, None, None, False)
    assert "Xwayland pointer free" in out.attempts[0].line()


def test_xwayland_grab_that_stays_is_not_called_released():
    layers = XwaylandLayers(stuck_grab=True)
    out = run_chain(M705, layers, settle=0.05)
    assert not out.released and out.attempts[-1].step is Step.POWER_CYCLE
    assert "still holds the pointer grab through Xwayland" in out.advice


def test_xwayland_grab_seen_without_a_held_button_is_not_ours():
    layers = XwaylandLayers(grab_before=True)
    layers.kernel = False
    out = run_chain(M705, layers, settle=0)
    assert layers.calls == [] and not out.attempts and not out.grab_tracked


def test_xwayland_without_write_access_mutes_then_the_grab_ends():
    layers = XwaylandLayers(writable=False, lag=0)
    out = run_chain(M705, layers, settle=0.2)
    assert layers.calls == ["write", "mute"] and out.released and out.step is Step.MUTE
