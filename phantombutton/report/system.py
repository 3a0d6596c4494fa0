"""What maintainers ask for besides a capture: versions, the kernel log, udev properties.

Every gatherer is best effort and returns what it found together with why the rest is
missing (no permission, no such program), so `report` can say so instead of failing.
Programs are run with a timeout, never through a shell, with their output kept verbatim.

The display session (X11, Wayland, Xwayland) is the one `watch`, `status` and `release`
describe (input/desktop.py); here it only gains the running compositor's version.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from phantombutton.input import procfs
from phantombutton.input.desktop import COMPOSITORS, describe_session
from phantombutton.sysfs import read_text

MODULES = ("hid_logitech_dj", "hid_logitech_hidpp")
# the flag that prints a compositor's version, where it is not --version (the compositors
# themselves are input/desktop.py's COMPOSITORS)
VERSION_FLAG = {"river": "-version"}
PEERS = {"solaar": "--version", "logid": "--version"}   # Solaar, logiops
# kernel log lines worth a maintainer's time: HID core and the Logitech drivers, hidraw,
# input registration, USB ids of Logitech (046d)
LOG_LINE = re.compile(r"(?i)\bhid|logitech|unifying|hidraw|\binput\d*:|046d|uhid|djreceiver|hidpp")
LOG_MAX_LINES = 800


@dataclass
class Gathered:
    """One piece of the report: its text, and the problems met while gathering it."""

    text: str = ""
    data: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def run(argv: list[str], timeout: float = 10.0) -> tuple[str | None, str]:
    """(stdout + stderr, "") or (None, why not). Many tools print their version on stderr."""
    exe = shutil.which(argv[0])
    if exe is None:
        return None, f"{argv[0]}: not installed"
    try:
        p = subprocess.run([exe, *argv[1:]], check=False, capture_output=True, text=True, timeout=timeout,
                           errors="replace", stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, f"{argv[0]}: no answer in {timeout:g} s"
    except OSError as e:
        return None, f"{argv[0]}: {e.strerror}"
    out = (p.stdout + p.stderr).strip()
    if p.returncode != 0:
        return None, f"{' '.join(argv)}: exit {p.returncode}: {out.splitlines()[0] if out else 'no output'}"
    return out, ""


def processes() -> dict[str, int]:
    """Process name (comm) -> pid, of every process we may read."""
    out: dict[str, int] = {}
    for pid in procfs.pids():
        comm = read_text(f"/proc/{pid}/comm")
        if comm:
            out.setdefault(comm, int(pid))
            if comm.startswith("python") or comm == "solaar":   # Solaar runs as python3 .../solaar
                cmd = (read_text(f"/proc/{pid}/cmdline") or "").split("\0")
                if any(os.path.basename(a) == "solaar" for a in cmd[:3]):
                    out.setdefault("solaar", int(pid))
    return out


def module_version(name: str) -> str:
    """`loaded module (file), srcversion S`, `built in`, `not loaded; module (file)`, or why unknown.

    /sys/module/NAME/initstate exists for a loaded module (kernel/module/sysfs.c); srcversion
    only where the kernel was built with CONFIG_MODULE_SRCVERSION_ALL or the module declares
    a version (Debian's hid-logitech-* have neither: the kernel build line names the source)."""
    sysd = f"/sys/module/{name}"
    loaded = os.path.exists(f"{sysd}/initstate")
    src = read_text(f"{sysd}/srcversion")
    ver = read_text(f"{sysd}/version")
    release = os.uname().release
    builtin = read_text(f"/lib/modules/{release}/modules.builtin") or ""
    dashed = name.replace("_", "-")
    if not loaded and re.search(rf"/({name}|{dashed})\.ko\b", builtin):
        return "built in"
    info, _ = run(["modinfo", "-F", "filename", name], timeout=5)
    where = f" ({info.splitlines()[0]})" if info else ""
    if src is None and info:
        modsrc, _ = run(["modinfo", "-F", "srcversion", name], timeout=5)
        src = modsrc.strip() if modsrc else None
    ident = (f", version {ver}" if ver else "") + (f", srcversion {src}" if src else ", no srcversion")
    if loaded:
        return "loaded module" + where + ident
    if info:
        return "not loaded; module" + where + ident
    if name == "hid_logitech_dj":
        return "not loaded and not found (without it a receiver is driven by hid-generic)"
    return "not loaded and not found"


def xorg_log_paths(procs: dict[str, int]) -> list[str]:
    """Where the running Xorg logs: its -logfile, else /var/log/Xorg.N.log for its display
    (xserver os/log.c), then a rootless server's ~/.local/share/xorg/Xorg.N.log."""
    display = "0"
    paths = []
    if "Xorg" in procs:
        argv = (read_text(f"/proc/{procs['Xorg']}/cmdline") or "").split("\0")
        for i, a in enumerate(argv):
            if a == "-logfile" and i + 1 < len(argv):
                paths.append(argv[i + 1])
            elif re.fullmatch(r":\d+", a):
                display = a[1:]
    homes = ["~"] + ([f"~{os.environ['SUDO_USER']}"] if os.environ.get("SUDO_USER") else [])
    paths += [f"/var/log/Xorg.{display}.log"]
    paths += [os.path.expanduser(f"{h}/.local/share/xorg/Xorg.{display}.log") for h in homes]
    return list(dict.fromkeys(paths))


def xorg_versions(log_paths: list[str] | tuple[str, ...]) -> dict[str, str]:
    """X server and input driver module versions, from the Xorg log (`module version = ...`)."""
    out: dict[str, str] = {}
    for p in log_paths:
        text = read_text(p)
        if not text:
            continue
        m = re.search(r"X\.Org X Server ([\w.]+)", text)
        if m:
            out["Xorg"] = m.group(1)
        for mod, ver in re.findall(r"Module (\w+): vendor=.*\n.*?module version = ([\w.]+)", text):
            if mod in ("libinput", "evdev", "synaptics", "wacom"):
                out[f"xf86-input-{mod}"] = ver
        drivers = re.findall(r"Using input driver '(\w+)' for '([^']*)'", text)
        if drivers:
            out["input drivers"] = ", ".join(sorted({f"{d} ({n})" for d, n in drivers}))
        out["log"] = p
        break
    return out


def session(procs: dict[str, int]) -> dict:
    """The session as `watch`, `status` and `release` describe it (input/desktop.py), plus the
    version of each running compositor."""
    desktop = describe_session()
    out: dict = {"headline": desktop.headline(), **desktop.as_dict()}
    for c in COMPOSITORS:
        if c in procs:
            ver, why = run([c, VERSION_FLAG.get(c, "--version")], timeout=5)
            out[f"compositor {c}"] = (ver.splitlines()[0] if ver else why) or "running"
    return out


def versions() -> Gathered:
    g = Gathered()
    d = g.data
    d["phantombutton"] = __import__("phantombutton").__version__
    d["kernel"] = os.uname().release
    d["kernel build"] = read_text("/proc/version") or "unknown"
    osr = read_text("/etc/os-release") or ""
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)', osr, re.MULTILINE)
    if m:
        d["os"] = m.group(1)
    for mod in MODULES:
        d[mod.replace("_", "-")] = module_version(mod)
    procs = processes()
    d["session"] = session(procs)
    x = xorg_versions(xorg_log_paths(procs))
    if x:
        d["xorg"] = x
    elif shutil.which("Xorg"):
        ver, why = run(["Xorg", "-version"], timeout=5)
        m = re.search(r"X\.Org X Server ([\w.]+)", ver or "")
        d["xorg"] = {"Xorg": m.group(1) if m else (why or "unknown"), "log": "no readable Xorg log"}
    li, why = run(["libinput", "--version"], timeout=5)
    d["libinput"] = li or why
    if not li:
        g.problems.append(f"libinput version: {why} (Debian: libinput-tools)")
    for peer, flag in PEERS.items():
        if peer in procs:
            ver, why = run([peer, flag], timeout=20)
            d[peer] = f"running (pid {procs[peer]}): " + ((ver or "").splitlines()[-1] if ver else why)
        else:
            d[peer] = "not running"
    g.text = _flat(d)
    return g


def _flat(d: dict, indent: str = "") -> str:
    lines = []
    for k, v in d.items():
        if isinstance(v, dict):
            lines += [f"{indent}{k}:", _flat(v, indent + "  ")]
        else:
            lines.append(f"{indent}{k}: {v}")
    return "\n".join(lines)


def kernel_log() -> Gathered:
    """HID and Logitech lines of the kernel log: dmesg, else journalctl -k, whichever reads."""
    g = Gathered()
    for argv in (["dmesg", "--time-format", "iso"], ["dmesg"], ["journalctl", "-k", "-b", "--no-pager", "-q"]):
        out, why = run(argv, timeout=15)
        if out is None:
            g.problems.append(why)
            continue
        lines = [ln for ln in out.splitlines() if LOG_LINE.search(ln)]
        g.data = {"source": " ".join(argv), "lines": len(lines)}
        g.text = "\n".join(lines[-LOG_MAX_LINES:]) + ("\n" if lines else "")
        g.problems = [] if lines else [f"{' '.join(argv)}: no HID or Logitech line in the kernel log"]
        return g
    g.problems = [(f"kernel log not readable: {'; '.join(g.problems)} (run as root, or join the "
                  "adm / systemd-journal group)")]
    return g


def udev_info(nodes: list[str]) -> Gathered:
    """`udevadm info` of each node (properties and the device path)."""
    g = Gathered()
    parts = []
    for node in nodes:
        out, why = run(["udevadm", "info", "--query=all", f"--name={node}"], timeout=10)
        if out is None:
            g.problems.append(f"udev properties of {node}: {why}")
            if "not installed" in why:
                break
            continue
        parts.append(f"# udevadm info --query=all --name={node}\n{out}\n")
    g.text = "\n".join(parts)
    return g


def logitech_input_devices() -> Gathered:
    """Logitech entries of /proc/bus/input/devices: receivers' children and direct mice alike."""
    g = Gathered()
    text = read_text("/proc/bus/input/devices")
    if text is None:
        g.problems.append("/proc/bus/input/devices not readable")
        return g
    blocks = [b for b in text.split("\n\n") if "Vendor=046d" in b]
    g.text = "\n\n".join(blocks) + ("\n" if blocks else "")
    g.data = {"devices": len(blocks)}
    return g
