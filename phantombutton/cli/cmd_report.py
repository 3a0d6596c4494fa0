"""`phantombutton report [-o FILE] [--duration S] [--capture FILE]`: one archive for a bug report.

The pieces come from the commands that already make them: `capture` records (its own
`_record`, keyboard key codes hidden), `info --json` reads the receivers (devices/report.py),
`analyze` judges the capture and draws its timeline, `config` prints the effective
configuration. report/system.py adds versions, the kernel log and udev properties. Each
piece that cannot be had is listed in summary.md and on stderr with the reason; the archive
is written anyway, and the exit code is 1 only if it holds nothing beyond versions.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import click

from phantombutton.capture import meta as capture_meta
from phantombutton.capture.reader import read_headers
from phantombutton.cli.cmd_analyze import _print_text, analyze_file
from phantombutton.cli.cmd_capture import _record
from phantombutton.devices.open import open_receivers
from phantombutton.devices.report import receivers_tree
from phantombutton.errors import PhantomError, UsageProblem
from phantombutton.hidpp.errors import HidppError
from phantombutton.outfile import atomic_output
from phantombutton.report import system
from phantombutton.report.bundle import Bundle
from phantombutton.report.svg import timeline_svg
from phantombutton.service import config


def default_name(now: float | None = None, exists=os.path.lexists) -> str:
    """phantombutton-report-YYYYmmdd-HHMMSS.tar.gz in the current directory, never an
    existing name (-2, -3, ... appended)."""
    stem = "phantombutton-report-" + time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    name, n = f"{stem}.tar.gz", 1
    while exists(name):
        n += 1
        name = f"{stem}-{n}.tar.gz"
    return name


def _check_output(output: str | None, force: bool) -> str:
    """Refuse before recording, not after: an existing file without --force, a symlink,
    a missing directory, binary data to a terminal."""
    if output is None:
        return default_name()
    if output == "-":
        if sys.stdout.isatty():
            raise UsageProblem("-o -: the archive is binary; redirect standard output to a file")
        return output
    if os.path.islink(output):
        raise UsageProblem(f"{output}: is a symbolic link; refusing to write through it "
                           "(remove it or pick another name)")
    if os.path.isfile(output) and not force:
        raise UsageProblem(f"{output}: exists; pass --force to replace it, or pick another name")
    if os.path.isdir(output):
        raise UsageProblem(f"{output}: is a directory; give a file name (-o DIR/report.tar.gz)")
    parent = os.path.dirname(output) or "."
    if not os.path.isdir(parent):
        raise UsageProblem(f"{parent}: no such directory; create it or write elsewhere (-o)")
    return output


def _say(msg: str) -> None:
    click.echo(f"phantombutton report: {msg}", err=True)


@contextlib.contextmanager
def _ticker(duration: float, every: float = 10.0) -> Iterator[None]:
    """Progress as periodic lines where stderr is not a terminal (capture draws its own
    line on a terminal)."""
    stop = threading.Event()

    def run() -> None:
        t0 = time.monotonic()
        while not stop.wait(every):
            _say(f"recording: {time.monotonic() - t0:.0f} s of {duration:g} s")

    if not sys.stderr.isatty():
        threading.Thread(target=run, daemon=True).start()
    try:
        yield
    finally:
        stop.set()


def _capture(bundle, options, duration: float, from_capture: str | None, tmp: str) -> str | None:
    path = os.path.join(tmp, "capture.yml")
    if not from_capture and not options.platform.kernel:
        bundle.lack("capture", "--virtual: the virtual receiver has no event node to record")
        return None
    try:
        if from_capture:
            shutil.copyfile(from_capture, path)
            if read_headers(path).meta.get("show_keycodes") is True:
                _say(f"warning: {from_capture} was recorded with --show-keycodes: what was typed "
                     "while it recorded is in the report")
            return path
        nodes = capture_meta.default_event_nodes()
        if not nodes:
            bundle.lack("capture", "no Logitech receiver mouse found under /dev/input (is the receiver "
                                   "plugged in and its mouse on?)")
            return None
        _say(f"recording {duration:g} s of {', '.join(nodes)}: use the mouse as usual, reproduce the "
             "problem if you can (Ctrl-C stops early)")
        with _ticker(duration):
            _record(nodes, path, duration, show_keycodes=False, with_hidraw=True, with_x=True)
    except PhantomError as e:
        bundle.lack("capture", str(e))
        return None
    return path


def _analysis(bundle, path: str) -> None:
    try:
        report = analyze_file(path)
    except PhantomError as e:
        bundle.lack("analysis", str(e))
        return
    report["file"] = "capture.yml"
    bundle.analysis = report
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        _print_text(report)
    bundle.add("analyze.txt", text.getvalue(), "`phantombutton analyze capture.yml`")
    out = dict(report)
    out["findings"] = [f.to_dict() for f in report["findings"]]
    bundle.add("analyze.json", json.dumps(out, indent=2) + "\n", "`phantombutton analyze --json capture.yml`")
    svg, _ = timeline_svg(path, report)
    bundle.add("timeline.svg", svg, "the capture's timeline per device (`analyze --svg`)")


def _info(bundle, options) -> list[str]:
    """info --json of every receiver; returns the hidraw nodes seen."""
    try:
        with open_receivers(options) as receivers:
            tree = receivers_tree(receivers, full=True)
    except (PhantomError, HidppError) as e:
        bundle.lack("info", str(e))
        return []
    bundle.receivers = tree
    bundle.add("info.json", json.dumps({"receivers": tree}, indent=2) + "\n", "`phantombutton info --json`")
    nodes = []
    for r in tree:
        nodes.append(r["node"])
        nodes += [d["node"] for d in r.get("devices", []) if d.get("node")]
    return nodes


def _config(bundle) -> None:
    try:
        text = config.to_toml(config.load(None))
    except PhantomError as e:
        bundle.lack("config", str(e))
        return
    bundle.add("config.toml", text, f"`phantombutton config`: the effective configuration ({config.default_path()})")


def _capture_nodes(bundle, path: str) -> list[str]:
    """The nodes a capture names; what it could not record goes to the missing list."""
    try:
        cap = read_headers(path)
    except PhantomError:
        return []
    if cap.meta and not cap.meta.get("x_at_start"):
        bundle.lack("X button state", "not recorded: no X server answered (DISPLAY unset, a Wayland "
                                      "session, or sudo without DISPLAY and XAUTHORITY)")
    if cap.meta and not cap.meta.get("hidraw"):
        bundle.lack("HID++ traffic", "not recorded: no receiver hidraw node could be opened")
    for note in cap.meta.get("notes") or []:
        bundle.lack("capture", str(note))
    nodes = []
    for d in cap.devices:
        nodes.append(d.node)
        nodes += [n for n in (d.extra.get("receiver"), d.extra.get("hidraw")) if isinstance(n, str)]
    return nodes


def build(options, duration: float, from_capture: str | None, command: str):
    bundle = Bundle(command=command)
    with tempfile.TemporaryDirectory(prefix="phantombutton-report-") as tmp:
        capture = _capture(bundle, options, duration, from_capture, tmp)
        if capture:
            with open(capture, "rb") as f:
                bundle.add("capture.yml", f.read(), "the capture (`libinput record` v1 + HID++ and X state; "
                                                    "key codes hidden)")
            _analysis(bundle, capture)
        log = system.kernel_log()
        if log.text:
            bundle.add("kernel-log.txt", log.text,
                       f"HID and Logitech lines of the kernel log ({log.data.get('source')})")
        for p in log.problems:
            bundle.lack("kernel log", p)
        nodes = _info(bundle, options)
        v = system.versions()
        bundle.versions = v.data
        bundle.add("versions.txt", v.text + "\n", "kernel, drivers, X / Wayland, libinput, Solaar / logiops")
        bundle.add("versions.json", json.dumps(v.data, indent=2) + "\n", "the same, as JSON")
        for p in v.problems:
            bundle.lack("versions", p)
        nodes = list(dict.fromkeys((_capture_nodes(bundle, capture) if capture else []) + nodes))
        nodes = [n for n in nodes if n.startswith("/dev/") and os.path.exists(n)]
        if nodes:
            u = system.udev_info(nodes)
            if u.text:
                bundle.add("udev.txt", u.text, "`udevadm info` of the nodes involved")
            for p in u.problems:
                bundle.lack("udev", p)
        else:
            bundle.lack("udev", "no device node to describe")
        inp = system.logitech_input_devices()
        if inp.text:
            bundle.add("input-devices.txt", inp.text, "Logitech entries of /proc/bus/input/devices "
                                                      "(receiver children and direct mice)")
        _config(bundle)
    return bundle


@click.command("report", epilog="The archive holds summary.md (ready to paste into an issue), the "
               "capture, info --json, versions, the kernel log's HID lines, udev properties, the "
               "configuration, analyze's verdict and the timeline SVG. Exit codes: 0 written, "
               "1 written but nothing useful could be collected (the reasons are listed), 2 usage.")
@click.option("-o", "--output", metavar="FILE", help="Archive to write (default: "
              "phantombutton-report-DATE-TIME.tar.gz here; - for stdout).")
@click.option("--duration", type=float, default=30.0, show_default=True, metavar="S",
              help="Seconds to record.")
@click.option("--capture", "from_capture", metavar="CAPTURE", type=click.Path(dir_okay=False, exists=True),
              help="Put this capture in the report instead of recording one.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.pass_obj
def command(options, output: str | None, duration: float, from_capture: str | None, force: bool) -> int:
    """Gather everything a bug report needs into one archive."""
    if not (0 < duration <= 3600):
        raise UsageProblem("--duration must be more than 0 and at most 3600 seconds")
    path = _check_output(output, force)
    t0 = time.monotonic()
    argv = ["phantombutton", "report"] + (["--duration", f"{duration:g}"] if duration != 30 else [])
    bundle = build(options, duration, from_capture, " ".join(argv))
    data = bundle.tar_gz()
    with atomic_output(path, binary=True, inputs=[from_capture] if from_capture else []) as out:
        out.write(data)
    for m in bundle.missing:
        _say(f"missing: {m}")
    where = "standard output" if path == "-" else path
    _say(f"wrote {where}: {len(bundle.members)} files, {len(data) / 1024:.0f} KiB, "
         f"{time.monotonic() - t0:.1f} s; summary.md is ready to paste")
    if not bundle.useful:
        _say("nothing useful was collected (no capture, no receiver, no kernel log): see the reasons above")
        return 1
    return 0
