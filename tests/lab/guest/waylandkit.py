"""Wayland in the lab guest: seatd, sway (headless + libinput backends, Xwayland) and weston
(drm backend on qemu's VGA card), and clients that record what the compositor tells them.

Builds on labkit (nodes, udev, the bridge, the CLI). Recipe and timings: the lab facts,
"Wayland compositors in the guest". The compositors read the emulated M705's real event
node through libinput, as on a desktop.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import labkit

SESSION_UID = 65534          # nobody: sway refuses root; Wayland clients run as the same user
SESSION_USER = "nobody"
BTN_PHANTOM = labkit.BTN_PHANTOM   # 287 in wl_pointer.button
X_BUTTON = 20
# wev / WAYLAND_DEBUG=1: "[1234.567]  -> " requests, "[...] wl_pointer@12.button(34, 5678, 287, 1)"
WL_BUTTON = re.compile(r"wl_pointer@\d+\.button\((\d+), (\d+), (\d+), (\d+)\)")
WL_ENTER = re.compile(r"wl_pointer@\d+\.enter\(")


class Lines:
    """A child's output, read by a thread, each line stamped with time.monotonic() on arrival
    (what a test compares with the time it made the mouse press)."""

    def __init__(self, stream, log: Path | None = None):
        self.rows: list[tuple[float, str]] = []
        self._cv = threading.Condition()
        self._log = open(log, "a") if log else None
        self._t = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._t.start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, ""):
            now = time.monotonic()
            with self._cv:
                self.rows.append((now, line.rstrip("\n")))
                self._cv.notify_all()
            if self._log:
                self._log.write(f"{now:.6f} {line}")
                self._log.flush()

    def find(self, pred, since: float = 0.0):
        for t, line in self.rows:
            if t >= since:
                m = pred(line)
                if m:
                    return t, m
        return None

    def wait(self, pred, timeout: float, since: float = 0.0, what: str = "line"):
        """(arrival time, pred's result) of the first line since `since` that matches."""
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                hit = self.find(pred, since)
                if hit:
                    return hit
                left = end - time.monotonic()
                if left <= 0:
                    tail = "\n".join(line for _, line in self.rows[-15:])
                    raise TimeoutError(f"no {what} within {timeout} s; last lines:\n{tail}")
                self._cv.wait(min(left, 0.2))


def wl_button(code: int, state: int):
    def pred(line: str):
        m = WL_BUTTON.search(line)
        return m if m and int(m.group(3)) == code and int(m.group(4)) == state else None
    return pred


def _as_user(uid: int):
    return {"user": uid, "group": uid, "extra_groups": []} if uid else {}


@dataclass
class Compositor:
    name: str
    proc: subprocess.Popen
    env: dict                 # for clients: WAYLAND_DISPLAY (absolute), XDG_RUNTIME_DIR, DISPLAY
    log: Path
    uid: int
    up_in: float              # seconds from start to the socket (and Xwayland) being ready
    xwayland_in: float | None = None
    helpers: list = field(default_factory=list)

    @property
    def display(self) -> str | None:
        return self.env.get("DISPLAY")

    def client_env(self, **extra) -> dict:
        return dict(os.environ, **self.env, **extra)

    def root_env(self) -> dict:
        """For phantombutton as root in the session: the session's variables, root's HOME."""
        return dict(os.environ, **self.env)

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.proc.returncode}: {labkit.tail(self.log)}")

    def stop(self) -> None:
        for p in [self.proc, *self.helpers]:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def dev_shm() -> None:
    """wlroots allocates its pixman buffers and keymaps with shm_open(3), which needs a
    tmpfs on /dev/shm; the lab's /dev is a bare devtmpfs."""
    if not os.path.ismount("/dev/shm"):
        os.makedirs("/dev/shm", exist_ok=True)
        labkit.sh("mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "shm", "/dev/shm")


def runtime_dir(uid: int) -> Path:
    d = Path(f"/run/user/{uid}")
    d.mkdir(parents=True, exist_ok=True)
    os.chown(d, uid, uid)
    os.chmod(d, 0o700)
    return d


def _wait_socket(runtime: Path, proc: subprocess.Popen, log: Path, timeout: float) -> str:
    def sock():
        if proc.poll() is not None:
            raise RuntimeError(f"compositor exited {proc.returncode}: {labkit.tail(log)}")
        return [p for p in glob.glob(str(runtime / "wayland-*")) if not p.endswith(".lock")]
    return labkit.wait_for(sock, timeout, 0.05, what=f"a Wayland socket in {runtime}")[0]


def _xwayland_ready(uid: int, proc: subprocess.Popen, log: Path, timeout: float) -> str:
    """The Xwayland display, once it admits root (xhost, run as the session user)."""
    def ready():
        if proc.poll() is not None:
            raise RuntimeError(f"compositor exited {proc.returncode}: {labkit.tail(log)}")
        for s in sorted(glob.glob("/tmp/.X11-unix/X*")):
            display = ":" + s.rsplit("X", 1)[1]
            r = subprocess.run(["xhost", "+si:localuser:root"], env=dict(os.environ, DISPLAY=display),
                               capture_output=True, text=True, timeout=20, **_as_user(uid))
            if r.returncode == 0:
                return display
        return None
    return labkit.wait_for(ready, timeout, 0.2, what="Xwayland admitting root")


SWAY_CONFIG = """xwayland {xwayland}
input * accel_profile flat
default_border none
focus_follows_mouse yes
"""


def start_sway(xwayland: bool = True, timeout: float = 60) -> Compositor:
    """seatd (root) + sway as SESSION_UID with the headless and libinput backends."""
    for b in ("sway", "seatd"):
        if not shutil.which(b):
            raise RuntimeError(f"{b} not installed (the runner installs stage 3's packages)")
    uid = SESSION_UID
    dev_shm()
    runtime = runtime_dir(uid)
    Path("/tmp/.X11-unix").mkdir(mode=0o1777, exist_ok=True)
    os.chmod("/tmp/.X11-unix", 0o1777)
    seat_log = Path("/tmp/seatd.log")
    seatd = subprocess.Popen(["seatd", "-u", SESSION_USER], stdout=open(seat_log, "w"),
                             stderr=subprocess.STDOUT)
    labkit.wait_for(lambda: os.path.exists("/run/seatd.sock") or seatd.poll() is not None, 10,
                    what="seatd socket")
    if seatd.poll() is not None:
        raise RuntimeError(f"seatd exited: {labkit.tail(seat_log)}")
    conf = runtime / "sway.conf"
    conf.write_text(SWAY_CONFIG.format(xwayland="force" if xwayland else "disable"))
    os.chown(conf, uid, uid)
    env = dict(os.environ, HOME=str(runtime), XDG_RUNTIME_DIR=str(runtime),
               WLR_BACKENDS="headless,libinput", WLR_RENDERER="pixman", WLR_HEADLESS_OUTPUTS="1",
               LIBSEAT_BACKEND="seatd")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    log = Path("/tmp/sway.log")
    t0 = time.monotonic()
    proc = subprocess.Popen(["sway", "-c", str(conf)], env=env, stdin=subprocess.DEVNULL,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, **_as_user(uid))
    sock = _wait_socket(runtime, proc, log, timeout)
    up = time.monotonic() - t0
    comp = Compositor("sway", proc, {"WAYLAND_DISPLAY": sock, "XDG_RUNTIME_DIR": str(runtime)},
                      log, uid, up, helpers=[seatd])
    if xwayland:
        comp.env["DISPLAY"] = _xwayland_ready(uid, proc, log, timeout)
        comp.xwayland_in = time.monotonic() - t0 - up
    return comp


def start_weston(xwayland: bool = False, timeout: float = 60) -> Compositor:
    """weston as root on the bochs KMS card (drm backend, pixman), kiosk shell: every client
    window is fullscreen, so the pointer is over the one client there is."""
    if not shutil.which("weston"):
        raise RuntimeError("weston not installed (the runner installs stage 3's packages)")
    labkit.modprobe("bochs")
    labkit.sh("udevadm", "trigger", "--action=add", "--subsystem-match=drm", check=False)
    labkit.sh("udevadm", "settle", "--timeout=20", check=False)
    labkit.wait_for(lambda: glob.glob("/dev/dri/card*"), 10, what="/dev/dri/card* (bochs)")
    uid = 0
    dev_shm()
    runtime = runtime_dir(uid)
    for old in glob.glob(str(runtime / "wayland-*")) + glob.glob("/tmp/.X*-lock"):
        os.unlink(old)
    for old in glob.glob("/tmp/.X11-unix/X*"):   # sway's Xwayland is gone; its socket stayed
        os.unlink(old)
    log = Path("/tmp/weston.log")
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), HOME="/tmp")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    cmd = ["weston", "--backend=drm-backend.so", "--tty=2", "--use-pixman", "--idle-time=0",
           "--shell=kiosk-shell.so", "--socket=wayland-pb", f"--log={log}"]
    if xwayland:
        cmd.append("--xwayland")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open("/tmp/weston.stderr", "w"))
    sock = _wait_socket(runtime, proc, log, timeout)
    comp = Compositor("weston", proc, {"WAYLAND_DISPLAY": sock, "XDG_RUNTIME_DIR": str(runtime)},
                      log, uid, time.monotonic() - t0)
    if xwayland:
        comp.env["DISPLAY"] = _xwayland_ready(uid, proc, log, timeout)
    return comp


def diagnose(comp: Compositor) -> str:
    """What the compositor says about its input devices (sway's IPC), for failure messages."""
    socks = glob.glob(f"{comp.env['XDG_RUNTIME_DIR']}/sway-ipc.*.sock")
    if comp.name != "sway" or not socks:
        return ""
    r = subprocess.run(["swaymsg", "-s", socks[0], "-t", "get_inputs"], capture_output=True,
                       text=True, timeout=20, **_as_user(comp.uid))
    return r.stdout + r.stderr


# ------------------------------------------------------------------ clients
class WaylandClient:
    """wev with WAYLAND_DEBUG=1, as the session user: every wl_pointer event it receives."""

    def __init__(self, comp: Compositor, log: Path):
        if not shutil.which("wev"):
            raise RuntimeError("wev not installed")
        self.proc = subprocess.Popen(["wev"], env=comp.client_env(WAYLAND_DEBUG="1"),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, **_as_user(comp.uid))
        self.out = Lines(self.proc.stderr, log)
        # mapped: the compositor configured the toplevel and the client acked
        self.out.wait(lambda s: "xdg_surface" in s and "ack_configure" in s, 30,
                      what="wev's window mapped")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


X_CLIENT = r"""
import sys
from Xlib import X, display
d = display.Display()
s = d.screen()
g = s.root.get_geometry()   # as large as the output: under the pointer wherever it is placed
w = s.root.create_window(0, 0, g.width, g.height, 0, s.root_depth, X.InputOutput, X.CopyFromParent,
                         background_pixel=s.white_pixel,
                         event_mask=X.ButtonPressMask | X.ButtonReleaseMask | X.EnterWindowMask
                         | X.LeaveWindowMask | X.StructureNotifyMask)
w.set_wm_name("pb-x-client")
w.map()
d.sync()
mapped = False
while True:
    e = d.next_event()
    if e.type == X.MapNotify and not mapped:
        mapped = True
        print("mapped", flush=True)
    elif e.type == X.EnterNotify:
        print("enter", flush=True)
    elif e.type == X.LeaveNotify:
        print("leave", flush=True)
    elif e.type in (X.ButtonPress, X.ButtonRelease):
        print(("press" if e.type == X.ButtonPress else "release"), e.detail, flush=True)
"""


class XClient:
    """An ordinary X application under Xwayland: one window, ButtonPress/Release selected on
    it (a press there starts the implicit grab), events printed as they come."""

    def __init__(self, comp: Compositor, log: Path):
        self.env = comp.client_env()
        self.proc = labkit.popen([labkit.PY, "-c", X_CLIENT], env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.out = Lines(self.proc.stdout, log)
        self.out.wait(lambda s: s == "mapped", 30, what="the X window mapped")
        time.sleep(2.0)   # the compositor's own map (and focus) of the Xwayland surface

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def grab_probe(comp: Compositor) -> str:
    """Another X client's XGrabPointer: 'GrabSuccess' or 'AlreadyGrabbed' (labkit's script)."""
    return labkit.sh(labkit.PY, "-c", labkit.GRAB_SCRIPT, env=comp.client_env(), timeout=30).stdout.strip()


def point_at_client(bridge, out: Lines, enter, leave, what: str) -> None:
    """Move the mouse until the client has the pointer and keeps it for 1 s. A compositor
    may take the focus away once more while it maps the window (sway rebases the cursor when
    the map's transaction ends), and a button pressed then reaches nobody."""
    end = time.monotonic() + 30
    step = 5
    while True:
        since = time.monotonic()
        bridge.call("move", slot=1, dx=step, dy=step)
        step = -step
        try:
            out.wait(lambda x: enter(x) or leave(x), 1.0, since, what=what)
        except TimeoutError:
            pass
        time.sleep(1.0)
        last = [line for _, line in out.rows if enter(line) or leave(line)]
        if last and enter(last[-1]):
            return
        if time.monotonic() > end:
            raise TimeoutError(f"the pointer never stayed on the client ({what}): {last[-5:]}")


WL_LEAVE = re.compile(r"wl_pointer@\d+\.leave\(")


def point_at_wayland(bridge, client: WaylandClient) -> None:
    point_at_client(bridge, client.out, WL_ENTER.search, WL_LEAVE.search, "wl_pointer.enter")


def point_at_x(bridge, client: XClient) -> None:
    point_at_client(bridge, client.out, lambda x: x == "enter", lambda x: x == "leave",
                    "X EnterNotify")
