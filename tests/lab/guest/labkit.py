"""Helpers for tests that run inside the qemu lab guest (root, real kernel, no udev by default).

Everything here drives real parts: the uhid bridge process (the virtual receiver behind
/dev/uhid), kernel nodes found through sysfs, Xorg with a real input driver. Tests and
fixtures in tests/lab/guest/ build on it; so does the watch/recovery work.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import forkrun

REPO = Path(__file__).resolve().parents[3]
PY = sys.executable  # the project's venv python (the runner starts pytest with it)
OUT = Path(os.environ.get("PB_LAB_OUT", REPO / "tests" / "lab" / "out"))
M705_NAME = "Logitech M705"
RECEIVER_ID = "0003:0000046D:0000C52B"
M705_ID = "0003:0000046D:0000101B"
BTN_PHANTOM = 0x11F  # evdev code of HID button 16 = X button 20
HID_BUTTON_16 = 0x8000


def trials(ci: int, bench: int) -> int:
    """How many trials a lab measurement runs: enough to prove the behaviour in CI (which has
    15 minutes for everything), the full count for the figures (runner.py --bench)."""
    return bench if os.environ.get("PB_LAB_BENCH") == "1" else ci


def in_guest() -> bool:
    return os.environ.get("PB_LAB") == "1"


def popen(argv, **kw) -> subprocess.Popen:
    """subprocess.Popen; a `python -m|-c` forked from this process (forkrun), not a new
    interpreter."""
    return (forkrun.ForkedPython if forkrun.is_python(argv) else subprocess.Popen)(argv, **kw)


def run(argv, *, input=None, timeout: float | None = None, check: bool = False,
        capture_output: bool = False, **kw) -> subprocess.CompletedProcess:
    """subprocess.run with `popen`."""
    if capture_output:
        kw["stdout"] = kw["stderr"] = subprocess.PIPE
    if input is not None:
        kw["stdin"] = subprocess.PIPE
    with popen(argv, **kw) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    done = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if check:
        done.check_returncode()
    return done


def sh(*cmd: str, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return run(cmd, check=check, capture_output=True, text=True, timeout=timeout, **kw)


def wait_for(pred, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll `pred` until it returns something truthy; raise with `what` on timeout."""
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def modprobe(*modules: str) -> None:
    sh("modprobe", "-a", *modules)


def kernel_log() -> str:
    return sh("dmesg").stdout


def uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


KMSG_TIME = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")


def kernel_lines(since: float = 0.0) -> list[tuple[float, str]]:
    """(timestamp, text) of kernel log lines at or after `since` (seconds of uptime)."""
    rows = []
    for line in kernel_log().splitlines():
        m = KMSG_TIME.match(line)
        if m and float(m.group(1)) >= since:
            rows.append((float(m.group(1)), m.group(2)))
    return rows


# ------------------------------------------------------------------ nodes through sysfs
def event_nodes(name: str) -> list[str]:
    """/dev/input/eventN of input devices with exactly this name."""
    found = []
    for p in sorted(glob.glob("/sys/class/input/event*/device/name")):
        if Path(p).read_text().strip() == name:
            found.append("/dev/input/" + p.split("/")[4])
    return found


def hidraw_nodes(hid_id: str | None = None) -> list[dict]:
    """hidraw nodes with their HID uevent (HID_ID, HID_NAME, HID_PHYS) and driver."""
    rows = []
    for d in sorted(glob.glob("/sys/class/hidraw/hidraw*"), key=lambda s: int(s.rsplit("w", 1)[1])):
        ue = dict(
            line.split("=", 1)
            for line in Path(d, "device", "uevent").read_text().splitlines()
            if "=" in line
        )
        if hid_id is None or ue.get("HID_ID") == hid_id:
            ue["node"] = "/dev/" + os.path.basename(d)
            rows.append(ue)
    return rows


def receiver_node() -> str:
    return wait_for(lambda: [r["node"] for r in hidraw_nodes(RECEIVER_ID)], what="receiver hidraw")[0]


def m705_hidraw() -> str:
    return wait_for(lambda: [r["node"] for r in hidraw_nodes(M705_ID)], what="M705 hidraw")[0]


def m705_event_node(timeout: float = 10.0) -> str:
    return wait_for(lambda: event_nodes(M705_NAME), timeout, what="evdev node 'Logitech M705'")[0]


# ------------------------------------------------------------------ raw hidraw
class Hidraw:
    """A raw hidraw fd: the plainest client there is, to check the kernel path itself."""

    def __init__(self, node: str):
        self.node = node
        self.fd = os.open(node, os.O_RDWR | os.O_NONBLOCK)

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def read(self, timeout: float) -> bytes | None:
        import select

        r, _, _ = select.select([self.fd], [], [], timeout)
        return os.read(self.fd, 64) if r else None

    def drain(self) -> list[bytes]:
        out = []
        while (r := self.read(0)) is not None:
            out.append(r)
        return out

    def read_until(self, pred, timeout: float = 3.0) -> tuple[bytes, list[bytes]]:
        """First report matching `pred`, and everything read before it."""
        seen = []
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            r = self.read(left)
            if r is None:
                break
            if pred(r):
                return r, seen
            seen.append(r)
        raise TimeoutError(f"{self.node}: no matching report in {timeout} s; saw {[s.hex(' ') for s in seen]}")

    def request(self, data: bytes, timeout: float = 3.0, index: int | None = None) -> bytes:
        """HID++ 1.0/2.0 request -> reply matched on device index and the two next bytes."""
        index = data[1] if index is None else index
        self.drain()
        self.write(data)
        return self.read_until(
            lambda r: r[0] in (0x10, 0x11) and r[1] == index
            and (r[2:4] == data[2:4] or (r[2] == 0x8F and r[3:5] == data[2:4])),
            timeout,
        )[0]

    def close(self) -> None:
        os.close(self.fd)


# ------------------------------------------------------------------ the uhid bridge
class Bridge:
    """`python -m phantombutton.virtual.uhid` in its own process, scripted over its socket."""

    def __init__(self, profile: str = "default", name: str = "pb-uhid"):
        self.profile = profile
        self.sock_path = f"/run/{name}.sock"
        self.log_path = Path(f"/tmp/{name}.log")
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0  # uptime when CREATE2 was written (kernel log time base)

    def start(self, wait_node: bool = True) -> "Bridge":
        self.log_path.unlink(missing_ok=True)
        self.proc = popen(
            [PY, "-m", "phantombutton.virtual.uhid", "--profile", self.profile,
             "--control", self.sock_path, "--log", str(self.log_path)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.wait(5)
            raise RuntimeError(f"uhid bridge did not start: {line!r} {self.proc.stderr.read()[-2000:]}")
        self.started_at = uptime()
        if wait_node:
            m705_event_node()
        return self

    def call(self, op: str, **args):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(self.sock_path)
            s.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        reply = json.loads(buf)
        if not reply["ok"]:
            raise RuntimeError(f"bridge op {op}: {reply['error']}")
        return reply["result"]

    def stats(self) -> dict:
        return self.call("stats")

    def traffic(self, since: float = 0.0) -> list[tuple]:
        """(monotonic time, 'out' host->receiver / 'in' receiver->host, hex, via) since a time;
        via: 'output' (receiver node write), 'set_report' (kernel or child node), '' (in)."""
        return [tuple(t) for t in self.call("traffic", since=since)]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.call("quit")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # the receiver's nodes vanish with the uhid device
        with contextlib.suppress(TimeoutError):
            wait_for(lambda: not hidraw_nodes(RECEIVER_ID), 5, what="uhid device removal")


def divert_and_exit(receiver: str, slot: int, thumb_wheel: bool = False) -> None:
    """What a remapper that exited leaves behind: with Solaar's software id 0x0B, the middle
    button (CID 0x52) diverted through REPROG_CONTROLS_V4 setCidReporting, and with
    `thumb_wheel` the THUMB_WHEEL reporting set to HID++; then the node is closed."""
    h = Hidraw(receiver)
    try:
        index = h.request(bytes([0x10, slot, 0x00, 0x0B, 0x1B, 0x04, 0x00]))[4]        # ROOT: 0x1B04
        reply = h.request(bytes([0x11, slot, index, 0x3B, 0x00, 0x52, 0x03, 0x00, 0x00]) + bytes(11))
        assert reply[6] & 0x01, reply.hex(" ")
        if thumb_wheel:
            thumb = h.request(bytes([0x10, slot, 0x00, 0x0B, 0x21, 0x50, 0x00]))[4]     # ROOT: 0x2150
            reply = h.request(bytes([0x11, slot, thumb, 0x2B, 0x01, 0x00]) + bytes(14))
            assert reply[4] & 0x01, reply.hex(" ")
    finally:
        h.close()


# ------------------------------------------------------------------ phantombutton CLI
def phantombutton(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The CLI (forked: see `popen`), its wall time added to out/cli-calls-stage<N>.tsv, which
    shows where a stage's minutes go."""
    t0 = time.monotonic()
    try:
        return run([PY, "-m", "phantombutton.cli.main", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
    finally:
        with contextlib.suppress(OSError), open(OUT / f"cli-calls-stage{os.environ.get('PB_LAB_STAGE', '')}.tsv",
                                                "a") as f:
            f.write(f"{time.monotonic() - t0:.2f}\t{' '.join(args)}\n")


# ------------------------------------------------------------------ udev (libinput, Solaar)
def start_udevd() -> None:
    """systemd-udevd + coldplug, once per boot: libinput and Solaar read udev properties."""
    if not shutil.which("udevadm"):
        raise RuntimeError("udevadm not installed (Debian package udev)")
    if sh("udevadm", "control", "--ping", check=False, timeout=5).returncode != 0:
        udevd = shutil.which("systemd-udevd") or "/lib/systemd/systemd-udevd"
        sh(udevd, "--daemon")
        wait_for(lambda: sh("udevadm", "control", "--ping", check=False, timeout=5).returncode == 0,
                 10, what="systemd-udevd")
    for subsystem in ("input", "hid", "hidraw", "misc"):
        sh("udevadm", "trigger", "--action=add", f"--subsystem-match={subsystem}", check=False)
    sh("udevadm", "settle", "--timeout=20", check=False)


# ------------------------------------------------------------------ Xorg
XORG_CONF = """Section "ServerFlags"
    Option "AutoAddDevices" "false"
    Option "AutoEnableDevices" "false"
    Option "AllowEmptyInput" "true"
    Option "DontVTSwitch" "true"
EndSection
Section "Device"
    Identifier "dummy"
    Driver "dummy"
    VideoRam 16384
EndSection
Section "Monitor"
    Identifier "monitor"
    HorizSync 5.0 - 1000.0
    VertRefresh 5.0 - 200.0
EndSection
Section "Screen"
    Identifier "screen"
    Device "dummy"
    Monitor "monitor"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Modes "1024x768"
    EndSubSection
EndSection
Section "InputDevice"
    Identifier "{name}"
    Driver "{driver}"
    Option "Device" "{node}"
    Option "CorePointer" "true"
EndSection
Section "ServerLayout"
    Identifier "layout"
    Screen "screen"
    InputDevice "{name}" "CorePointer"
EndSection
"""


@dataclass
class XServer:
    display: str
    driver: str
    event_node: str
    proc: subprocess.Popen
    log: Path

    def env(self) -> dict:
        return dict(os.environ, DISPLAY=self.display)

    def slave_id(self, name: str = M705_NAME) -> int:
        out = sh("xinput", "list", "--id-only", name, env=self.env()).stdout.split()
        return int(out[0])

    def query_state(self, name: str = M705_NAME) -> str:
        return sh("xinput", "query-state", str(self.slave_id(name)), env=self.env()).stdout

    def button_down(self, button: int, name: str = M705_NAME) -> bool:
        m = re.search(rf"button\[{button}\]=(up|down)", self.query_state(name))
        if not m:
            raise AssertionError(f"xinput query-state shows no button[{button}]")
        return m.group(1) == "down"


def start_xorg(driver: str, event_node: str, display: str = ":1", timeout: float = 60) -> XServer:
    """Xorg with the dummy video driver and one InputDevice: the mouse's event node."""
    if not shutil.which("Xorg"):
        raise RuntimeError("Xorg not installed (xserver-xorg-core, -video-dummy, -input-*)")
    n = display.lstrip(":")
    conf = Path(f"/tmp/xorg-{driver}.conf")
    conf.write_text(XORG_CONF.format(name=M705_NAME, driver=driver, node=event_node))
    log = Path(f"/tmp/Xorg.{n}.{driver}.log")
    Path(f"/tmp/.X{n}-lock").unlink(missing_ok=True)
    proc = subprocess.Popen(
        ["Xorg", display, "vt2", "-config", str(conf), "-noreset", "-nolisten", "tcp",
         "-logfile", str(log), "-novtswitch", "-sharevts"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    x = XServer(display, driver, event_node, proc, log)
    env = x.env()

    def up():
        if proc.poll() is not None:
            raise RuntimeError(f"Xorg ({driver}) exited {proc.returncode}: {tail(log)}")
        try:   # a server still starting may not answer yet: that is "not up", not a failure
            return sh("xinput", "list", "--id-only", M705_NAME, env=env, check=False,
                      timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    wait_for(up, timeout, 0.25, what=f"Xorg with {driver} and the M705")
    return x


def stop_xorg(x: XServer) -> None:
    if x.proc.poll() is None:
        x.proc.terminate()
        try:
            x.proc.wait(10)
        except subprocess.TimeoutExpired:
            x.proc.kill()
            x.proc.wait()


def tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


class RootButtonClient:
    """An ordinary X client that selects ButtonPress on the root window, as a desktop does.

    Its selection is what makes the server start an implicit grab on a press, and it records
    the button events it gets (so tests can see ButtonPress/ButtonRelease 20)."""

    SCRIPT = r"""
import sys
from Xlib import X, display
d = display.Display()
root = d.screen().root
root.change_attributes(event_mask=X.ButtonPressMask | X.ButtonReleaseMask)
d.sync()
print("ready", flush=True)
while True:
    e = d.next_event()
    if e.type in (X.ButtonPress, X.ButtonRelease):
        print(("press" if e.type == X.ButtonPress else "release"), e.detail, flush=True)
"""

    def __init__(self, x: XServer):
        self.proc = popen([PY, "-c", self.SCRIPT], env=x.env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"root client failed: {line!r} {self.proc.stderr.read()[-1000:]}")
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.events: list[tuple[str, int]] = []

    def poll(self) -> list[tuple[str, int]]:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                break
            kind, button = line.split()
            self.events.append((kind, int(button)))
        return self.events

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


GRAB_SCRIPT = r"""
from Xlib import X, display
d = display.Display()
root = d.screen().root
st = root.grab_pointer(False, X.ButtonPressMask, X.GrabModeAsync, X.GrabModeAsync, X.NONE, X.NONE, X.CurrentTime)
if st == X.GrabSuccess:
    d.ungrab_pointer(X.CurrentTime)
d.sync()
print({0: "GrabSuccess", 1: "AlreadyGrabbed", 2: "GrabInvalidTime", 3: "GrabNotViewable", 4: "GrabFrozen"}[st])
"""


def try_grab_pointer(x: XServer) -> str:
    """Another client's XGrabPointer on the root window: 'GrabSuccess' or 'AlreadyGrabbed'."""
    return sh(PY, "-c", GRAB_SCRIPT, env=x.env(), timeout=30).stdout.strip()


def release_via_evdev(event_node: str, code: int = BTN_PHANTOM) -> None:
    """The proven release: EV_KEY code 0 + SYN_REPORT written to the mouse's own event node."""
    import evdev

    dev = evdev.InputDevice(event_node)
    try:
        dev.write(evdev.ecodes.EV_KEY, code, 0)
        dev.syn()
    finally:
        dev.close()
