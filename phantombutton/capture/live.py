"""Live sources for `capture`: event nodes, hidraw nodes and X state, read into a writer.

Kept small and separate from the format (record.py). Every timestamp is CLOCK_MONOTONIC:
evdev is switched to it with EVIOCSCLOCKID, hidraw reads are stamped with time.monotonic()
(the kernel gives hidraw no timestamps; libinput record does the same).
"""

from __future__ import annotations

import fcntl
import glob
import os
import re
import select
import struct
import time
from collections.abc import Callable

from phantombutton.capture.record import CaptureMeta, CaptureWriter, DeviceHeader, HidrawHeader
from phantombutton.detect.events import (
    DeviceInfo, DeviceRemoved, HeldState, HidppTraffic, KeyEvent, Motion, XButtons,
)
from phantombutton.errors import UDEV_FIX, AccessDenied, UsageProblem

EVIOCSCLOCKID = 0x400445A0
CLOCK_MONOTONIC = 1
UDEV_PREFIXES = ("ID_INPUT", "LIBINPUT", "EVDEV_ABS", "MOUSE_DPI", "POINTINGSTICK_")
_HID_ID = re.compile(r"^[0-9A-F]{4}:([0-9A-F]{4}):([0-9A-F]{4})\.[0-9A-F]{4}$")


def _open_evdev(path: str):
    import evdev

    try:
        return evdev.InputDevice(path)
    except PermissionError as e:
        raise AccessDenied(path, "EACCES", "reading event nodes needs root or the input group; "
                           + UDEV_FIX) from e
    except FileNotFoundError:
        raise UsageProblem(f"{path}: no such event node (see `phantombutton list`)") from None


def _read_sys(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def hid_nodes_of(event_node: str, sys_root: str = "/sys") -> tuple[str | None, str | None, str | None]:
    """(child hidraw, receiver hidraw, receiver HID dir) of an event node, from sysfs.
    hid-logitech-dj puts each paired device's HID device under the receiver's."""
    base = os.path.basename(event_node)
    hid_dir = os.path.realpath(f"{sys_root}/class/input/{base}/device/device")
    if not _HID_ID.match(os.path.basename(hid_dir)):
        return None, None, None

    def hidraw_in(d: str) -> str | None:
        nodes = sorted(glob.glob(f"{d}/hidraw/hidraw*"))
        return "/dev/" + os.path.basename(nodes[0]) if nodes else None

    parent = os.path.dirname(hid_dir)
    receiver = hidraw_in(parent) if _HID_ID.match(os.path.basename(parent)) else None
    return hidraw_in(hid_dir), receiver, parent if receiver else None


def udev_properties(event_node: str) -> list[str]:
    """The properties libinput record lists, from udev's database (no libudev needed)."""
    try:
        st = os.stat(event_node)
    except OSError:
        return []
    data = _read_sys(f"/run/udev/data/c{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}") or ""
    return [ln[2:] for ln in data.splitlines() if ln.startswith("E:") and ln[2:].startswith(UDEV_PREFIXES)]


def evdev_header(path: str) -> DeviceHeader:
    dev = _open_evdev(path)
    try:
        caps = dev.capabilities(absinfo=True)
        codes: dict[int, list[int]] = {}
        absinfo = {}
        for t, items in caps.items():
            cs = []
            for it in items:
                if isinstance(it, tuple):
                    code, ai = it
                    absinfo[code] = (ai.min, ai.max, ai.fuzz, ai.flat, ai.resolution)
                    cs.append(code)
                else:
                    cs.append(it)
            codes[t] = sorted(cs)
        info = dev.info
        phys = dev.phys or ""
        try:
            props = list(dev.input_props())
        except OSError:
            props = []
        name = dev.name
    finally:
        dev.close()
    child, receiver, _ = hid_nodes_of(path)
    slot = None
    m = re.search(r":(\d)$", phys)
    if m and receiver:
        slot = int(m.group(1))
    try:   # the watch's own sysfs mapping (H4) when present: one truth for slot and nodes
        from phantombutton.input.sysfs_map import describe

        p = describe(os.path.basename(path))
        if p is not None:
            slot, child, receiver = p.slot, p.hidpp_node or child, p.receiver_node or receiver
    except ImportError:
        pass
    base = os.path.basename(path)
    rd = None
    try:
        with open(f"/sys/class/input/{base}/device/device/report_descriptor", "rb") as f:
            rd = f.read()
    except OSError:
        pass
    di = DeviceInfo(node=path, name=name, vendor=info.vendor, product=info.product, slot=slot,
                    receiver_node=receiver, hidpp_node=child,
                    buttons=frozenset(c for c in codes.get(1, ()) if c >= 0x100))
    return DeviceHeader(node=path, name=name, id=(info.bustype, info.vendor, info.product, info.version),
                        codes=codes, properties=props, absinfo=absinfo, hid=rd, udev=udev_properties(path),
                        info=di)


def hidraw_header(node: str) -> HidrawHeader:
    sysd = f"/sys/class/hidraw/{os.path.basename(node)}/device"
    uevent = _read_sys(f"{sysd}/uevent") or ""
    kv = dict(ln.split("=", 1) for ln in uevent.splitlines() if "=" in ln)
    bus, vid, pid = 0, 0, 0
    if "HID_ID" in kv:
        b, v, p = kv["HID_ID"].split(":")
        bus, vid, pid = int(b, 16), int(v, 16), int(p, 16)
    try:
        with open(f"{sysd}/report_descriptor", "rb") as f:
            desc = f.read()
    except OSError:
        desc = b""
    return HidrawHeader(node=node, name=kv.get("HID_NAME", ""), phys=kv.get("HID_PHYS", ""),
                        id=(bus, vid, pid), descriptor=desc)


def default_event_nodes() -> list[str]:
    """Pointer nodes of Logitech receiver children (the devices this tool is about)."""
    try:
        from phantombutton.input.sysfs_map import pointer_nodes

        return [p.node for p in pointer_nodes()]
    except ImportError:
        pass
    import evdev

    out = []
    for path in sorted(evdev.list_devices(), key=lambda p: int(re.sub(r"\D", "", p) or 0)):
        try:
            d = evdev.InputDevice(path)
        except OSError:
            continue
        try:
            caps = d.capabilities()
            if d.info.vendor == 0x046D and 0x110 in caps.get(1, ()) and 2 in caps:
                out.append(path)
        finally:
            d.close()
    return out


def held_now(path: str) -> frozenset[int]:
    """EVIOCGKEY on its own fd (it drops that fd's queued key events)."""
    dev = _open_evdev(path)
    try:
        return frozenset(dev.active_keys())
    finally:
        dev.close()


def x_input_driver(log_paths: tuple[str, ...] = ("/var/log/Xorg.0.log",)) -> str | None:
    """The X input driver of pointer devices, from the Xorg log (`Using input driver`)."""
    paths = list(log_paths) + glob.glob(os.path.expanduser("~/.local/share/xorg/Xorg.*.log"))
    for p in paths:
        text = _read_sys(p)
        if text:
            found = re.findall(r"Using input driver '(\w+)'", text)
            if found:
                return found[-1]
    return None


class EvdevSource:
    def __init__(self, path: str):
        self.path = path
        self.dev = _open_evdev(path)
        try:
            fcntl.ioctl(self.dev.fd, EVIOCSCLOCKID, struct.pack("i", CLOCK_MONOTONIC))
        except OSError:
            pass   # old kernels: realtime stamps; the capture says so in its clock field
        self._pending: list[tuple[float, int, int, int]] = []

    def fileno(self) -> int:
        return self.dev.fd

    def frames(self) -> list[list[tuple[float, int, int, int]]]:
        out = []
        try:
            for e in self.dev.read():
                self._pending.append((e.sec + e.usec / 1e6, e.type, e.code, e.value))
                if e.type == 0 and e.code == 0:
                    out.append(self._pending)
                    self._pending = []
        except BlockingIOError:
            pass
        return out

    def close(self) -> None:
        self.dev.close()


class HidrawSource:
    def __init__(self, node: str):
        self.node = node
        self.fd = os.open(node, os.O_RDONLY | os.O_NONBLOCK)

    def fileno(self) -> int:
        return self.fd

    def reports(self) -> list[tuple[float, bytes]]:
        out = []
        while True:
            try:
                data = os.read(self.fd, 4096)
            except BlockingIOError:
                break
            if not data:
                break
            out.append((time.monotonic(), data))
        return out

    def close(self) -> None:
        os.close(self.fd)


class XPoller:
    """XI 1.x button state of every pointer, reported when it changes."""

    def __init__(self, session):
        self.x = session
        self.last: dict[int, frozenset[int]] = {}

    def snapshot(self, t: float) -> list[XButtons]:
        out = []
        for p in self.x.pointers():
            st = self.x.query_buttons(p.id)
            if st is not None:
                out.append(XButtons(t, p.id, p.node, p.is_master, st[1]))
        return out

    def driver(self, nodes: list[str]) -> str | None:
        """The X input driver of our mice, from the properties each driver sets on its
        devices ("libinput Accel Speed", "Evdev Axis Inversion", ...)."""
        try:
            display = self.x.display
            for p in self.x.pointers():
                if p.is_master or (nodes and p.node not in nodes):
                    continue
                atoms = display.xinput_list_device_properties(p.id).atoms
                names = [display.get_atom_name(a) for a in atoms]
                if any(n.startswith("libinput ") for n in names):
                    return "libinput"
                if any(n.startswith("Evdev ") for n in names):
                    return "evdev"
        except Exception:   # a property listing refused: fall back to the Xorg log
            return None
        return None

    def changes(self, t: float) -> list[XButtons]:
        out = []
        for s in self.snapshot(t):
            if self.last.get(s.device_id) != s.buttons:
                self.last[s.device_id] = s.buttons
                out.append(s)
        return out


def run(writer: CaptureWriter, evdev_sources: list, hidraw_sources: list, x: XPoller | None,
        *, duration: float | None, on_obs: Callable | None = None, poll: float = 0.25,
        stop: Callable[[], bool] = lambda: False, progress: Callable[[], None] | None = None) -> None:
    """The capture loop: select on every node, write each frame as it comes."""
    t_end = time.monotonic() + duration if duration else None
    fds = {s.fileno(): s for s in evdev_sources + hidraw_sources}
    next_x = time.monotonic()
    next_progress = time.monotonic()
    while not stop():
        now = time.monotonic()
        if t_end is not None and now >= t_end:
            break
        timeout = min(next_x - now if x else 1.0, 1.0, (t_end - now) if t_end else 1.0)
        ready, _, _ = select.select(list(fds), [], [], max(0.0, timeout))
        for fd in ready:
            s = fds[fd]
            try:
                got = s.frames() if hasattr(s, "frames") else s.reports()
            except OSError:   # ENODEV: the node left (receiver unplugged); record it, go on
                gone = getattr(s, "path", None) or s.node
                del fds[fd]
                if hasattr(s, "frames"):
                    removed = DeviceRemoved(time.monotonic(), gone)
                    writer.observation(removed)
                    if on_obs:
                        on_obs(removed)
                if not fds:
                    return
                continue
            if hasattr(s, "frames"):   # an event node (duck-typed: tests feed pipes)
                for frame in got:
                    writer.evdev(s.path, frame)
                    if on_obs:
                        moved = False
                        for t, typ, code, value in frame:
                            if typ == 1:
                                on_obs(KeyEvent(t, s.path, code, value))
                            elif typ in (2, 3):
                                moved = True
                        if moved:
                            on_obs(Motion(frame[-1][0], s.path))
            else:
                for t, data in got:
                    writer.hid(s.node, t, data)
                    if on_obs:
                        on_obs(HidppTraffic(t, s.node, data))
        now = time.monotonic()
        if x and now >= next_x:
            try:
                changes = x.changes(now)
            except Exception:   # the X server went away (Xlib raises its own zoo): evdev goes on
                x, changes = None, []
            for change in changes:
                writer.observation(change)
                if on_obs:
                    on_obs(change)
            next_x = now + poll
        if progress and now >= next_progress:
            progress()
            next_progress = now + 0.5


def start_meta(headers: list[DeviceHeader], hidraw: list[str], x: XPoller | None) -> CaptureMeta:
    start = time.monotonic()
    held = {h.node: sorted(held_now(h.node)) for h in headers}
    xs = x.snapshot(start) if x else []
    if x:
        x.last = {s.device_id: s.buttons for s in xs}
    osr = _read_sys("/etc/os-release") or ""
    kv = dict(ln.split("=", 1) for ln in osr.splitlines() if "=" in ln)
    return CaptureMeta(
        start=start, kernel=os.uname().release,
        x_input_driver=(x.driver([h.node for h in headers]) or x_input_driver()) if x else None,
        hidraw=[hidraw_header(n) for n in hidraw], held_at_start=held, x_at_start=xs,
        os=f"{kv.get('ID', '').strip(chr(34))}:{kv.get('VERSION_ID', '').strip(chr(34))}",
        dmi=_read_sys("/sys/class/dmi/id/modalias") or "",
        libinput_version=_libinput_version())


def _libinput_version() -> str:
    import shutil
    import subprocess

    exe = shutil.which("libinput")
    if not exe:
        return "unknown"
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def held_observations(meta: CaptureMeta) -> list:
    return [HeldState(meta.start, n, frozenset(c)) for n, c in meta.held_at_start.items()] + list(meta.x_at_start)


def hidpp_snapshot(headers: list[DeviceHeader]) -> tuple[dict[str, str], dict[int, dict[str, str]], list[str]]:
    """Before recording: receiver firmware and each mouse's settings (side-scroll), read over
    HID++ (reads only; nothing is written). Returns ({receiver node: firmware},
    {slot: {setting: value}}, problems). Best effort: a capture must not fail because a
    setting cannot be read; the problem is recorded instead."""
    firmware: dict[str, str] = {}
    settings: dict[int, dict[str, str]] = {}
    problems: list[str] = []
    by_receiver: dict[str, list[DeviceHeader]] = {}
    for h in headers:
        if h.info and h.info.receiver_node and h.info.slot:
            by_receiver.setdefault(h.info.receiver_node, []).append(h)
    for node, hs in by_receiver.items():
        try:
            from phantombutton.devices.device import Device
            from phantombutton.devices.receiver import Pairing, Receiver
            from phantombutton.devices.settings import SIDE_SCROLL_SETTING
            from phantombutton.transport.engine import Engine
            from phantombutton.transport.hidraw import HidrawTransport
        except ImportError as e:
            problems.append(f"HID++ metadata not read: {e}")
            return firmware, settings, problems
        try:
            receiver = Receiver(Engine(HidrawTransport(node)), node)
        except Exception as e:  # AccessDenied, DeviceGone: keep recording without it
            problems.append(f"{node}: HID++ metadata not read: {e}")
            continue
        try:
            try:
                fw = receiver.firmware()
                firmware[node] = ", ".join(f"{k} {v}" for k, v in fw.items()) if isinstance(fw, dict) else str(fw)
            except Exception as e:
                problems.append(f"{node}: firmware not read: {e}")
            for h in hs:
                try:
                    # no pairing-table read (0xB5): hid-logitech-dj may re-enumerate on it
                    dev = Device(receiver, Pairing(h.info.slot, h.info.product or 0, 0, 0))
                    if SIDE_SCROLL_SETTING.name in dev.model.hidpp10_settings:
                        settings[h.info.slot] = {SIDE_SCROLL_SETTING.name: SIDE_SCROLL_SETTING.read(dev)}
                except Exception as e:
                    problems.append(f"slot {h.info.slot}: settings not read: {e}")
        finally:
            receiver.close()
    return firmware, settings, problems
