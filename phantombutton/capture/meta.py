"""What a capture says before its first event: each event node's header (as `libinput
record` prints it, plus slot, WPID and HID++ nodes), the hidraw nodes' headers, the state
held at start, the system, and the HID++ settings read before recording.

Slot, WPID and HID++ nodes come from input/sysfs_map.py, the same truth `watch` uses.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import shutil
import subprocess
import time
from dataclasses import replace

from phantombutton.capture.record import CaptureMeta, DeviceHeader, HidrawHeader
from phantombutton.detect.events import HeldState
from phantombutton.detect.shared import is_shared
from phantombutton.devices.device import Device
from phantombutton.devices.receiver import Pairing, Receiver
from phantombutton.devices.settings import SIDE_SCROLL_SETTING
from phantombutton.errors import UsageProblem
from phantombutton.input import evdev_node as en
from phantombutton.input.sysfs_map import describe, hidraw_of, pointer_nodes
from phantombutton.recovery.shared import paired_reader
from phantombutton.sysfs import read_text
from phantombutton.transport.discovery import read_uevent
from phantombutton.transport.engine import Engine
from phantombutton.transport.hidraw import HidrawTransport

UDEV_PREFIXES = ("ID_INPUT", "LIBINPUT", "EVDEV_ABS", "MOUSE_DPI", "POINTINGSTICK_")


def _open_evdev(path: str):
    import evdev   # optional heavy: evdev, only when a capture opens an event node

    try:
        return evdev.InputDevice(path)
    except FileNotFoundError:
        raise UsageProblem(f"{path}: no such event node (see `phantombutton list`)") from None
    except OSError as e:   # EACCES names the udev fix; ENODEV/EIO: the device left
        if e.errno == errno.ENOTTY:   # evdev ioctls refused: a file, not an event node
            raise UsageProblem(f"{path}: not an event node (see `phantombutton list`)") from None
        err = en.os_error(path, e)
        if err is e:
            raise
        raise err from e


def udev_properties(event_node: str) -> list[str]:
    """The properties libinput record lists, from udev's database (no libudev needed)."""
    try:
        st = os.stat(event_node)
    except OSError:
        return []
    data = read_text(f"/run/udev/data/c{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}") or ""
    return [ln[2:] for ln in data.splitlines() if ln.startswith("E:") and ln[2:].startswith(UDEV_PREFIXES)]


def evdev_header(path: str) -> DeviceHeader:
    dev = _open_evdev(path)
    try:
        caps = dev.capabilities(absinfo=True)
        codes: dict[int, list[int]] = {}
        absinfo = {}
        for t, items in caps.items():   # EV_ABS codes come as (code, AbsInfo)
            codes[t] = sorted(it[0] if isinstance(it, tuple) else it for it in items)
            for code, ai in (it for it in items if isinstance(it, tuple)):
                absinfo[code] = (ai.min, ai.max, ai.fuzz, ai.flat, ai.resolution)
        info = dev.info
        try:
            props = list(dev.input_props())
        except OSError:
            props = []
        name = dev.name
    finally:
        dev.close()

    base = os.path.basename(path)
    hid_dir = os.path.realpath(f"/sys/class/input/{base}/device/device")
    rd = None
    with contextlib.suppress(OSError), open(f"{hid_dir}/report_descriptor", "rb") as f:
        rd = f.read()
    p = describe(base)
    # a shared mouse node (Bolt): its own interface's hidraw carries every paired mouse's button
    # reports, as a child's hidraw does on Nano/Lightspeed (mouse reports only: no keyboard here)
    own = hidraw_of(hid_dir) if p is not None and p.is_shared else None
    header = DeviceHeader(node=path, name=name, id=(info.bustype, info.vendor, info.product, info.version),
                          codes=codes, properties=props, absinfo=absinfo, hid=rd, udev=udev_properties(path),
                          input_hidraw=(own,) if own else ())
    if p is not None:
        # only a receiver child's HID++ node: the raw reports of any other HID device (a keyboard
        # named by mistake) could carry what the user types, and they are not our business
        header.info = replace(header.device_info(), slot=p.slot, receiver_node=p.receiver_node,
                              hidpp_node=p.hidpp_node, receiver_product=p.receiver_product)
    return header


def hidraw_header(node: str) -> HidrawHeader:
    sysd = f"/sys/class/hidraw/{os.path.basename(node)}/device"
    kv = read_uevent(f"{sysd}/uevent")
    try:  # HID_ID=0003:0000046D:0000C52B
        bus, vid, pid = (int(part, 16) for part in kv.get("HID_ID", "").split(":"))
    except ValueError:
        bus, vid, pid = 0, 0, 0
    desc = b""
    with contextlib.suppress(OSError), open(f"{sysd}/report_descriptor", "rb") as f:
        desc = f.read()
    return HidrawHeader(node=node, name=kv.get("HID_NAME", ""), phys=kv.get("HID_PHYS", ""),
                        id=(bus, vid, pid), descriptor=desc)


def default_event_nodes() -> list[str]:
    """Pointer nodes of Logitech receiver children (the devices this tool is about)."""
    return [p.node for p in pointer_nodes()]


def x_input_driver(log_paths: tuple[str, ...] = ("/var/log/Xorg.0.log",)) -> str | None:
    """The X input driver of pointer devices, from the Xorg log (`Using input driver`)."""
    paths = list(log_paths) + glob.glob(os.path.expanduser("~/.local/share/xorg/Xorg.*.log"))
    for p in paths:
        found = re.findall(r"Using input driver '(\w+)'", read_text(p) or "")
        if found:
            return found[-1]
    return None


def start_meta(headers: list[DeviceHeader], hidraw: list[str], x) -> CaptureMeta:
    """`x`: the capture's live.XPoller or None."""
    start = time.monotonic()
    held = {h.node: sorted(en.held_keys(h.node)) for h in headers}   # EVIOCGKEY, own fd
    xs = x.changes(start) if x else []   # the first call reports every device
    osr = read_text("/etc/os-release") or ""
    kv = dict(ln.split("=", 1) for ln in osr.splitlines() if "=" in ln)
    return CaptureMeta(
        start=start, kernel=os.uname().release,
        x_input_driver=(x.driver([h.node for h in headers]) or x_input_driver()) if x else None,
        hidraw=[hidraw_header(n) for n in hidraw], held_at_start=held, x_at_start=xs,
        os=f"{kv.get('ID', '').strip(chr(34))}:{kv.get('VERSION_ID', '').strip(chr(34))}",
        dmi=read_text("/sys/class/dmi/id/modalias") or "",
        libinput_version=_libinput_version())


def _libinput_version() -> str:
    exe = shutil.which("libinput")
    if not exe:
        return "unknown"
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def held_observations(meta: CaptureMeta) -> list:
    return [HeldState(meta.start, n, frozenset(c)) for n, c in meta.held_at_start.items()] + list(meta.x_at_start)


def hidraw_nodes(headers: list[DeviceHeader]) -> list[str]:
    """The hidraw nodes a capture records, once each: every device's receiver HID++ node, its
    child's (Nano/Lightspeed: report 0x02 too) or a direct mouse's own, and a shared mouse
    node's own interface."""
    found = [n for h in headers
             for n in ((h.info.receiver_node, h.info.hidpp_node) if h.info else ()) + h.input_hidraw if n]
    return list(dict.fromkeys(found))


def paired_of(headers: list[DeviceHeader], platform) -> dict[str, list]:
    """receiver node -> its paired mice (detect/shared.py Candidates), for each receiver whose
    shared mouse node is recorded (Bolt: pairing registers 0xB5 0x5n/0x6n, which no kernel
    driver of that receiver reacts to). An unreadable receiver is left out."""
    read = paired_reader(platform)
    out = {}
    for h in headers:
        node = h.info.receiver_node if h.info and is_shared(h.info) else None
        if node and node not in out:
            cands = read(node)
            if cands is not None:
                out[node] = cands
    return out


def hidpp_snapshot(headers: list[DeviceHeader]) -> tuple[dict[str, str], dict[int, dict[str, str]], list[str]]:
    """Before recording: receiver firmware and each mouse's settings (side-scroll), read over
    HID++ (reads only; nothing is written). Returns ({receiver node: firmware},
    {slot: {setting: value}}, problems). Best effort: a capture must not fail because a
    setting cannot be read; the problem is recorded instead."""
    firmware: dict[str, str] = {}
    settings: dict[int, dict[str, str]] = {}
    problems: list[str] = []
    by_receiver: dict[str, list[tuple[int, int]]] = {}   # receiver node -> [(slot, wpid or 0)]
    for h in headers:
        if h.info and h.info.receiver_node and h.info.slot:
            by_receiver.setdefault(h.info.receiver_node, []).append((h.info.slot, h.info.product or 0))
    for node, hs in by_receiver.items():
        try:
            receiver = Receiver(Engine(HidrawTransport(node)), node)
        except Exception as e:  # AccessDenied, DeviceGone: keep recording without it
            problems.append(f"{node}: HID++ metadata not read: {e}")
            continue
        with contextlib.closing(receiver):
            try:
                firmware[node] = ", ".join(f"{k} {v}" for k, v in receiver.firmware().items())
            except Exception as e:
                problems.append(f"{node}: firmware not read: {e}")
            for slot, wpid in hs:
                try:
                    # no pairing-table read (0xB5): hid-logitech-dj may re-enumerate on it
                    dev = Device(receiver, Pairing(slot, wpid, 0, 0))
                    if SIDE_SCROLL_SETTING.name in dev.model.hidpp10_settings:
                        settings[slot] = {SIDE_SCROLL_SETTING.name: SIDE_SCROLL_SETTING.read(dev)}
                except Exception as e:
                    problems.append(f"slot {slot}: settings not read: {e}")
    return firmware, settings, problems
