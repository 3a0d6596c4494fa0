#!/usr/bin/env python3
"""The qemu lab: a real Debian kernel with the real Logitech HID drivers, one boot per stage.

Our development and CI machines have no /dev/input, no uinput and no uhid; the kernel paths
this tool depends on are tested here instead, under qemu (TCG; KVM does not work on these
hosts). The guest sees the host's root file system read-only over 9p and this repository
read-write at the same path, so it runs the project's own venv (.venv/bin/python).

    python tests/lab/runner.py [--stage 1|2|3|4|all] [-k EXPR] [--timeout S] [--bench]

Stages: 1 kernel paths and the daemon, 2 Xorg (both input drivers) and Solaar, 3 Wayland
(sway with Xwayland, weston on a virtual KMS card), 4 the other receiver families (Bolt,
Nano, Lightspeed) and direct HID++ mice, with Solaar as the peer. `all` boots two at a time
(one vCPU each on a 2-core machine): the next starts when one ends.

Exit status: the guest's pytest status (0 all passed). A lab that cannot start exits 1
under CI=true; a local run prints one `SKIPPED: <reason>` line and exits 0.
Output: tests/lab/out/stage<N>.log (test output, then the guest's kernel log).
--bench: the measurements' full trial counts (P2, the daemon's release, churn).
Cache: tests/lab/.cache/ (uncompressed vmlinux, initramfs); both are git-ignored.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "tests" / "lab"
CACHE = LAB / ".cache"
OUT = LAB / "out"
VENV_PY = REPO / ".venv" / "bin" / "python"

MARKER = "PB-LAB-EXIT-STATUS="
DMESG_MARK = "PB-LAB-DMESG-BEGIN"

# Debian packages per stage (the runner installs the missing ones when root).
DEBS_BOOT = ["qemu-system-x86", "linux-image-amd64", "busybox-static"]
DEBS_STAGE = {
    "1": [],
    "2": [
        "xserver-xorg-core",
        "xserver-xorg-video-dummy",
        "xserver-xorg-input-evdev",
        "xserver-xorg-input-libinput",
        "xinput",
        "udev",
        "libinput-tools",
    ],
    "4": ["udev", "libinput-tools"],   # libinput record: test_chatter_lab.py
    "3": [
        "sway",
        "seatd",
        "xwayland",
        "weston",
        "wev",
        "x11-xserver-utils",   # xhost: Xwayland admits only its own uid
        "xinput",
        "udev",
    ],
    "solaar": [
        "python3-gi",
        "gir1.2-gtk-3.0",
        "python3-pyudev",
        "python3-yaml",
        "python3-xlib",
        "python3-evdev",
        "python3-psutil",
        "python3-dbus",
        "python3-typing-extensions",
        "python3-venv",
        "udev",
    ],
}
SOLAAR_VERSION = "1.1.20"

# Modules needed before the 9p root can be mounted (dependencies resolved by modprobe).
INITRD_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]

# Project directories the guest sees read-only through the page cache (9p cache=loose).
CACHED_DIRS = (".venv", "phantombutton")

# Stage -> guest test directory.
STAGES = {"1": "tests/lab/guest/stage1", "2": "tests/lab/guest/stage2",
          "3": "tests/lab/guest/stage3", "4": "tests/lab/guest/stage4"}
# Extra qemu options per stage. Stage 3: weston's drm backend needs a KMS card; qemu's
# standard VGA is driven by the guest's bochs DRM driver (drivers/gpu/drm/tiny/bochs.c);
# sway, Xwayland, weston and their clients want more than 1 GiB now and then.
STAGE_QEMU = {"3": ["-device", "VGA", "-m", "1536"]}


SIDE_BY_SIDE = 2   # guests booted at once (one vCPU each; this machine has 2 cores)
# The longest stages boot first so that the two lanes end together. Side by side, with the CLI
# children forked (guest/forkrun.py): stage 1 265 s, 2 370 s, 4 212 s, 3 141 s, so the lanes
# are 1+4 477 s and 2+3 511 s (in the order 1 2 3 4 they would be 406 s and 582 s).
LONGEST_FIRST = ("1", "2", "4", "3")


class LabUnavailable(Exception):
    """The lab cannot start here (missing packages, not root, no kernel ...)."""


def log(msg: str) -> None:
    # one write per line: the two stages' threads log side by side
    sys.stderr.write(f"lab: {msg}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- host packages
def missing_debs(names: list[str]) -> list[str]:
    missing = []
    for name in names:
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True
        )
        if "ok installed" not in r.stdout:
            missing.append(name)
    return missing


def ensure_debs(names: list[str]) -> None:
    if not shutil.which("dpkg-query"):
        raise LabUnavailable("not a Debian/Ubuntu host (no dpkg-query); the lab needs Debian packages")
    missing = missing_debs(names)
    if not missing:
        return
    if os.geteuid() != 0:
        raise LabUnavailable(
            f"missing Debian packages {' '.join(missing)}; run as root or "
            f"`sudo apt-get install --no-install-recommends {' '.join(missing)}`"
        )
    log(f"installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    r = subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq", "--no-install-recommends", *missing],
        env=env, capture_output=True, text=True,
    )
    if r.returncode != 0:
        raise LabUnavailable(f"apt-get install {' '.join(missing)} failed: {r.stderr.strip()[-300:]}")


def ensure_solaar() -> Path | None:
    """Solaar from PyPI without dependencies in a venv over Debian's python3-gi etc."""
    venv = CACHE / "solaar-venv"
    solaar = venv / "bin" / "solaar"
    if solaar.exists():
        return solaar
    try:
        ensure_debs(DEBS_STAGE["solaar"])
    except LabUnavailable as e:
        log(f"Solaar peer unavailable: {e}")
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                       capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
             "--no-deps", f"solaar=={SOLAAR_VERSION}"], capture_output=True, text=True)
    if r.returncode != 0 or not solaar.exists():
        log(f"Solaar install failed: {(r.stderr or r.stdout).strip()[-300:]}")
        return None
    return solaar


# ---------------------------------------------------------------- kernel + initramfs
def kernel_release() -> str:
    """Newest kernel with both a /boot/vmlinuz and a module tree (not the host's running one)."""
    found = []
    for vmlinuz in Path("/boot").glob("vmlinuz-*"):
        rel = vmlinuz.name[len("vmlinuz-"):]
        if (Path("/lib/modules") / rel / "modules.dep").exists():
            found.append(rel)
    if not found:
        raise LabUnavailable("no /boot/vmlinuz-* with matching /lib/modules (install linux-image-amd64)")
    return sorted(found, key=lambda r: [int(x) if x.isdigit() else x for x in re.split(r"[.-]", r)])[-1]


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The uncompressed ELF kernel inside a bzImage (qemu boots it via its PVH note: ~2x faster).

    Scans for the compressor's magic and keeps the first candidate that decompresses to an
    ELF file. Only xz and gzip are tried: Debian builds with XZ.
    """
    import zlib

    candidates = []
    for magic, kind in ((b"\xfd7zXZ\x00", "xz"), (b"\x1f\x8b\x08", "gz")):
        start = 0
        while (pos := bzimage.find(magic, start)) >= 0:
            candidates.append((pos, kind))
            start = pos + 1
    for pos, kind in sorted(candidates):
        try:
            if kind == "xz":
                data = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(bzimage[pos:])
            else:
                data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(bzimage[pos:])
        except (lzma.LZMAError, zlib.error, EOFError):
            continue
        if data[:4] == b"\x7fELF":
            return data
    raise LabUnavailable("could not find the compressed kernel inside the bzImage")


def cpio_newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive. entries: (name, mode, data); symlinks carry their target as data."""
    buf = io.BytesIO()

    def add(name: str, mode: int, data: bytes, ino: int) -> None:
        nb = name.encode() + b"\x00"
        hdr = "070701" + "".join(
            f"{v:08X}" for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0)
        )
        buf.write(hdr.encode() + nb)
        buf.write(b"\x00" * ((4 - (110 + len(nb)) % 4) % 4))
        buf.write(data)
        buf.write(b"\x00" * ((4 - len(data) % 4) % 4))

    for ino, (name, mode, data) in enumerate(entries, start=1):
        add(name, mode, data, ino)
    add("TRAILER!!!", 0, b"", 0)
    return buf.getvalue()


INIT_SCRIPT = r"""#!/bin/busybox sh
# phantombutton lab init: mount the host root read-only and the project read-write over 9p.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
for m in $(/bin/busybox cat /modules.order); do /bin/busybox insmod /modules/$m || echo "lab-init: insmod $m failed"; done
for a in $(/bin/busybox cat /proc/cmdline); do
  case "$a" in pb.project=*) PROJECT="${a#pb.project=}";; pb.script=*) SCRIPT="${a#pb.script=}";;
    pb.cached=*) PBCACHED=$(echo "${a#pb.cached=}" | /bin/busybox tr , ' ');; esac
done
o9p="trans=virtio,version=9p2000.L,msize=512000"
/bin/busybox mount -t 9p -o "$o9p,ro,cache=loose" hostroot /newroot || { echo "lab-init: no 9p root"; echo b > /proc/sysrq-trigger; }
for d in tmp run var/tmp var/log; do /bin/busybox mount -t tmpfs tmpfs /newroot/$d; done
/bin/busybox mkdir -p "/newroot$PROJECT"  # the project may live under /tmp (now a tmpfs)
/bin/busybox mount -t 9p -o "$o9p" project "/newroot$PROJECT" || echo "lab-init: no project share"
# The venv and the package, read-only with the page cache: every Python start imports from
# them, and uncached 9p costs a round trip per stat and read (pyc files: compiled on the host)
for d in $PBCACHED; do
  /bin/busybox mount -t 9p -o "$o9p,ro,cache=loose" "c_$d" "/newroot$PROJECT/$d" || echo "lab-init: no $d share"
done
/bin/busybox mount --move /dev /newroot/dev
/bin/busybox mount --move /proc /newroot/proc
/bin/busybox mount --move /sys /newroot/sys
exec /bin/busybox switch_root /newroot /bin/sh "$PROJECT/tests/lab/.cache/$SCRIPT"
"""


def build_initramfs(release: str, dest: Path) -> None:
    order: list[Path] = []
    for mod in INITRD_MODULES:
        r = subprocess.run(["modprobe", "-S", release, "--show-depends", mod],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise LabUnavailable(f"modprobe --show-depends {mod} failed: {r.stderr.strip()}")
        for line in r.stdout.splitlines():
            parts = line.split()
            if parts and parts[0] == "insmod":
                p = Path(parts[1])
                if p not in order:
                    order.append(p)
            # "builtin X" lines need nothing
    busybox = Path("/bin/busybox")  # busybox-static: no shared libraries needed
    if not busybox.exists():
        raise LabUnavailable("no /bin/busybox (install busybox-static)")
    entries: list[tuple[str, int, bytes]] = [
        ("bin", 0o040755, b""), ("modules", 0o040755, b""), ("newroot", 0o040755, b""),
        ("proc", 0o040755, b""), ("sys", 0o040755, b""), ("dev", 0o040755, b""),
        ("bin/busybox", 0o100755, busybox.read_bytes()),
        ("bin/sh", 0o120777, b"busybox"),
        ("init", 0o100755, INIT_SCRIPT.encode()),
    ]
    names = []
    for p in order:
        data = p.read_bytes()
        name = p.name
        if name.endswith(".xz"):
            data, name = lzma.decompress(data), name[:-3]
        elif name.endswith(".zst"):
            raise LabUnavailable(f"{p}: zstd-compressed modules are not supported")
        entries.append((f"modules/{name}", 0o100644, data))
        names.append(name)
    entries.append(("modules.order", 0o100644, ("\n".join(names) + "\n").encode()))
    dest.write_bytes(cpio_newc(entries))


def ensure_boot_files() -> tuple[Path, Path, str]:
    release = kernel_release()
    CACHE.mkdir(parents=True, exist_ok=True)
    vmlinuz = Path("/boot") / f"vmlinuz-{release}"
    vmlinux = CACHE / f"vmlinux-{release}"
    initrd = CACHE / f"initramfs-{release}.cpio"
    # rebuild when the kernel package, the init script or the module list changes
    stamp = hashlib.sha256(
        f"{vmlinuz.stat().st_mtime_ns}\n{INITRD_MODULES}\n{INIT_SCRIPT}".encode()).hexdigest()
    stamp_file = CACHE / f"stamp-{release}"
    if not (vmlinux.exists() and initrd.exists() and stamp_file.exists()
            and stamp_file.read_text() == stamp):
        try:
            raw = vmlinuz.read_bytes()
        except PermissionError as e:
            raise LabUnavailable(f"cannot read {vmlinuz}: {e.strerror}; run as root") from None
        vmlinux.write_bytes(extract_vmlinux(raw))
        build_initramfs(release, initrd)
        stamp_file.write_text(stamp)
    return vmlinux, initrd, release


# ---------------------------------------------------------------- guest script + boot
def guest_script(stage: str, kexpr: str | None, extra_env: dict[str, str],
                 command: str | None = None) -> str:
    pytest = [str(VENV_PY), "-m", "pytest", "-p", "no:cacheprovider", "-v", "-rs", "--durations=12",
              "--rootdir", str(REPO), "-o", "testpaths=", STAGES[stage]]
    if kexpr:
        pytest += ["-k", kexpr]
    run = f"( {command} )" if command else shlex.join(pytest)
    env_lines = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in extra_env.items())
    # PYTEST_DISABLE_PLUGIN_AUTOLOAD: hypothesis and pytest-benchmark cost seconds under TCG
    return f"""# generated by tests/lab/runner.py; runs as PID 1 in the guest
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 PB_LAB=1 PB_LAB_STAGE={stage}
export PB_LAB_OUT={shlex.quote(str(OUT))}
{env_lines}mount -t devpts devpts /dev/pts 2>/dev/null || {{ mkdir -p /dev/pts && mount -t devpts devpts /dev/pts; }}
ln -sf /proc/self/fd /dev/fd 2>/dev/null
hostname pb-lab
cd {shlex.quote(str(REPO))}
echo "PB-LAB-GUEST-UP $(cut -d' ' -f1 /proc/uptime)"
{run} </dev/null 2>&1
rc=$?
echo "{MARKER}$rc"
echo "{DMESG_MARK}"
dmesg
sync
echo b > /proc/sysrq-trigger
"""


def find_qemu() -> str:
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise LabUnavailable("no qemu-system-x86_64 (install qemu-system-x86)")
    return qemu


def qemu_command(vmlinux: Path, initrd: Path, script_name: str,
                 extra: list[str] | None = None) -> list[str]:
    qemu = find_qemu()
    append = (
        "console=ttyS0 panic=-1 reboot=t quiet loglevel=4 mitigations=off nokaslr "
        "tsc=reliable no_timer_check "
        f"pb.project={REPO} pb.script={script_name}"
    )
    cached = CACHED_DIRS if os.environ.get("PB_LAB_9P_CACHE", "1") == "1" else ()
    append += f" pb.cached={','.join(cached)}" if cached else ""
    fs = []
    shares = [("hostroot", "/", True), ("project", str(REPO), False)]
    shares += [(f"c_{d}", str(REPO / d), True) for d in cached]
    for tag, path, ro in shares:
        fs += ["-fsdev", f"local,id={tag},path={path},security_model=none,multidevs=remap"
               + (",readonly=on" if ro else ""),
               "-device", f"virtio-9p-pci,fsdev={tag},mount_tag={tag}"]
    extra = list(extra or [])
    memory = "1024"
    if "-m" in extra:   # a stage's own memory size replaces the default
        i = extra.index("-m")
        memory = extra[i + 1]
        del extra[i:i + 2]
    return [
        # TCG (KVM here only runs special guest kernels); -smp 2 is twice as slow on 2 cores
        qemu, "-M", "q35", "-accel", "tcg,thread=multi", "-cpu", "max", "-m", memory,
        "-smp", "1", *extra,
        "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
        "-kernel", str(vmlinux), "-initrd", str(initrd), "-append", append, *fs,
    ]


PYTEST_SUMMARY = re.compile(r"^=+ (.*\d+ (?:passed|failed|error|errors|skipped|deselected).*) in [\d.]+s")
COUNTS = {"passed": 0, "failed": 0, "skipped": 0}


PRINT_LOCK = threading.Lock()


def count_results(lines: list[str]) -> None:
    """Add the guest pytest's closing line (`== 3 passed, 1 failed in 9.1s ==`) to COUNTS."""
    with PRINT_LOCK:
        _count(lines)


def _count(lines: list[str]) -> None:
    for line in lines:
        m = PYTEST_SUMMARY.match(line)
        if m:
            for n, word in re.findall(r"(\d+) (\w+)", m.group(1)):
                key = {"error": "failed", "errors": "failed"}.get(word, word)
                if key in COUNTS:
                    COUNTS[key] += int(n)


def run_stage(stage: str, boot: tuple[Path, Path, str], kexpr: str | None, timeout: float,
              extra_env: dict[str, str], command: str | None = None, live: bool = True) -> int:
    """Boot one stage. With live=False (stages booted side by side) its output is printed
    in one block when it ends, so the two guests' lines do not interleave."""
    vmlinux, initrd, release = boot
    script_name = f"guest-stage{stage}-{os.getpid()}.sh"
    script = CACHE / script_name
    script.write_text(guest_script(stage, kexpr, extra_env, command))
    OUT.mkdir(parents=True, exist_ok=True)
    for old in [*OUT.glob(f"stage{stage}[.-]*"), OUT / f"cli-calls-stage{stage}.tsv"]:
        old.unlink(missing_ok=True)  # this stage's logs of the previous run
    if stage == "2":
        (OUT / "p1-benchmark.json").unlink(missing_ok=True)
    logfile = OUT / f"stage{stage}.log"
    cmd = qemu_command(vmlinux, initrd, script_name, STAGE_QEMU.get(stage))
    log(f"stage {stage}: booting {release} under qemu (TCG); log: {logfile.relative_to(REPO)}")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    status: int | None = None
    in_dmesg = False
    timed_out = False
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), True)
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    pending = b""
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            timed_out = True
            break
        if not sel.select(min(left, 1.0)):
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", "replace").rstrip("\r")
            # the terminal-control noise qemu/firmware emits
            line = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc", "", line)
            lines.append(line)
            if line.startswith(MARKER):
                status = int(line[len(MARKER):].strip() or 1)
            elif line.strip() == DMESG_MARK:
                in_dmesg = True
            elif not in_dmesg and live:
                print(line, flush=True)
    if pending:
        lines.append(pending.decode("utf-8", "replace"))
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    elapsed = time.monotonic() - t0
    script.unlink(missing_ok=True)
    header = [f"# phantombutton lab stage {stage}, kernel {release}, {elapsed:.1f} s wall",
              f"# qemu: {shlex.join(cmd)}"]
    logfile.write_text("\n".join(header + lines) + "\n")
    if not live:
        cut = next((i for i, ln in enumerate(lines) if ln.strip() == DMESG_MARK), len(lines))
        shown = lines[:cut]
        with PRINT_LOCK:
            print("\n".join(f"[stage {stage}] {ln}" for ln in shown if not ln.startswith(MARKER)),
                  flush=True)
    if timed_out:
        print(f"lab: stage {stage}: TIMEOUT after {timeout:.0f} s (see {logfile})", flush=True)
        return 1
    if status is None:
        print(f"lab: stage {stage}: the guest printed no exit status (crash? see {logfile})", flush=True)
        return 1
    print(f"{MARKER}{status}  (stage {stage}, {elapsed:.1f} s wall)", flush=True)
    count_results(lines)
    if status == 5 and kexpr:  # pytest: no test selected in this stage by -k
        return 0
    return status


# Machine-wide, not per checkout: two clones' labs would share the 2 cores, and under TCG a
# guest starved of CPU fails its tests' waits.
LOCK_PATH = Path(os.environ.get("PB_LAB_LOCK", "/tmp/phantombutton-lab.lock"))


def one_lab_at_a_time():
    """Parallel runs would share the machine's 2 cores (and a checkout's tests/lab/out and
    cache): take turns."""
    import fcntl

    lock = open(LOCK_PATH, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another lab run holds {LOCK_PATH}; waiting for it")
        fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=[*STAGES, "all"], default="all")
    ap.add_argument("-k", dest="kexpr", metavar="EXPR", help="pytest -k expression in the guest")
    ap.add_argument("--timeout", type=float, default=1500.0, help="seconds per boot (default 1500)")
    ap.add_argument("--serial", action="store_true", help="boot the stages one after the other")
    ap.add_argument("--bench", action="store_true",
                    help="full trial counts in the lab's measurements (P2: 100 trials, churn: 200 "
                         "cycles); CI runs fewer (labkit.trials)")
    ap.add_argument("--exec", dest="command", metavar="SHELL",
                    help="run this shell command in the guest instead of pytest (debugging)")
    args = ap.parse_args(argv)
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    stages = list(STAGES) if args.stage == "all" else [args.stage]
    _lock = one_lab_at_a_time()
    t0 = time.monotonic()
    try:
        ensure_debs(DEBS_BOOT + [d for s in stages for d in DEBS_STAGE[s]])
        if not VENV_PY.exists():
            raise LabUnavailable(f"no project venv at {VENV_PY} (run scripts/test once)")
        extra_env = {"PB_LAB_CI": "1" if ci else "0", "PB_LAB_BENCH": "1" if args.bench else "0"}
        solaar = ensure_solaar() if {"2", "4"} & set(stages) else None
        if solaar:
            extra_env["PB_LAB_SOLAAR"] = str(solaar)
        if re.search(r"[\s,]", str(REPO)):  # kernel command line and -fsdev option syntax
            raise LabUnavailable(f"the project path {REPO} contains a space or comma")
        find_qemu()
        boot = ensure_boot_files()
        # the guest sees the package read-only (CACHED_DIRS): its pyc files are made here
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "phantombutton")],
                       check=False, stdout=subprocess.DEVNULL)
    except LabUnavailable as e:
        if ci:
            print(f"lab: FAILED: the lab cannot start under CI: {e}", flush=True)
            return 1
        print(f"lab: SKIPPED: {e}", flush=True)
        return 0
    # Two stages boot side by side: each guest has one vCPU and this machine two cores (a
    # third guest would only slow all of them down); the next stage starts as soon as one
    # ends (--serial boots one after the other).
    results: dict[str, tuple[int, float]] = {}

    def one(stage: str, live: bool) -> None:
        ts = time.monotonic()
        try:
            rc = run_stage(stage, boot, args.kexpr, args.timeout, extra_env, args.command, live=live)
        except Exception as e:  # a runner bug must fail the lab, not hang it
            print(f"lab: stage {stage}: runner error: {type(e).__name__}: {e}", flush=True)
            rc = 1
        results[stage] = (rc, time.monotonic() - ts)

    if len(stages) > 1 and not args.serial:
        queue = sorted(stages, key=LONGEST_FIRST.index)
        queue_lock = threading.Lock()

        def worker() -> None:
            while True:
                with queue_lock:
                    if not queue:
                        return
                    stage = queue.pop(0)
                one(stage, False)

        threads = [threading.Thread(target=worker) for _ in range(SIDE_BY_SIDE)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for stage in stages:
            one(stage, True)
    summary = [f"stage {s}: exit {results[s][0]}, {results[s][1]:.1f} s" for s in stages]
    worst = next((results[s][0] for s in stages if results[s][0]), 0)
    print(f"lab: {'; '.join(summary)}; total {time.monotonic() - t0:.1f} s", flush=True)
    p1 = OUT / "p1-benchmark.json"
    if "2" in stages and p1.exists():
        import json

        r = json.loads(p1.read_text())
        print(f"lab: P1 phantombutton info / solaar show: requests {r['ratio_requests']}, "
              f"wall {r['ratio_wall']} ({r['phantombutton info']} vs {r['solaar show']})", flush=True)
    if not args.command:
        # one plain closing line for the whole lab (CI reads it)
        print(f"lab: {COUNTS['passed']} passed, {COUNTS['failed']} failed, "
              f"{COUNTS['skipped']} skipped", flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main())
