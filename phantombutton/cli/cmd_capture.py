"""`phantombutton capture [-o FILE] [--duration S] [--show-keycodes] [DEVICE...]`."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import time

import click

from phantombutton.capture import live, meta as capture_meta
from phantombutton.capture.record import CaptureWriter
from phantombutton.cli.argtypes import SECONDS
from phantombutton.detect.events import DeviceAdded
from phantombutton.detect.rules import Detector
from phantombutton.errors import UDEV_FIX, AccessDenied, BadInput, DeviceGone, UsageProblem
from phantombutton.input.xinput import XSession, XUnavailable
from phantombutton.outfile import atomic_output, check_output, streaming_output


@click.command("capture", epilog="The file is a `libinput record` version 1 file (libinput's "
               "tools read it) with phantombutton's extras; it is written frame by frame and stays "
               "readable if the capture is killed. Attach it to bug reports. Exit codes: 0 ok, "
               "1 failure (e.g. no access to /dev/input: the message says how to fix it), 2 usage.")
@click.argument("devices", nargs=-1, metavar="[DEVICE]...")
@click.option("-o", "--output", "output", metavar="FILE", help="Capture file (default: stdout).")
@click.option("--duration", type=SECONDS, metavar="S", help="Stop after S seconds (default: Ctrl-C).")
@click.option("--show-keycodes", is_flag=True, help="Keep keyboard key codes (hidden by default).")
@click.option("--no-hidraw", is_flag=True, help="Do not record the receiver's HID++ traffic.")
@click.option("--no-x", is_flag=True, help="Do not poll the X server's button state.")
@click.option("--convert", metavar="CAPTURE",   # checked by the reader: exit 1 and one line
              help="Do not record: convert an existing capture to --format.")
@click.option("--format", "fmt", type=click.Choice(["libinput", "hid-recorder"]), default="libinput",
              show_default=True, help="hid-recorder: the raw HID reports per hidraw node, as "
              "hid-tools' hid-recorder writes them (for hid-decode and hid-replay).")
@click.pass_obj
def command(options, devices, output, duration, show_keycodes, no_hidraw, no_x, convert, fmt) -> int:
    """Record events, HID++ traffic and X button state of the mice (event nodes) given.

    DEVICE is an event node (/dev/input/eventN); default: every Logitech receiver mouse.
    """
    if convert:
        if fmt != "hid-recorder":
            raise UsageProblem("--convert needs --format hid-recorder")
        return _export(convert, output)
    if options is not None and not options.platform.kernel:
        raise UsageProblem("capture records real event nodes; the virtual receiver has none "
                           "(try `phantombutton --virtual watch`, or record in the qemu lab)")
    hid_path = None
    if fmt == "hid-recorder":
        if not output or output == "-":
            raise UsageProblem("--format hid-recorder writes FILE.hid next to the capture: give -o FILE")
        hid_path = _hid_path(output)
        check_output(hid_path, inputs=[output])   # before recording, not after a minute of it
    if duration is not None and duration <= 0:
        raise UsageProblem("--duration must be more than 0 seconds")
    path = _record(list(devices), output, duration, show_keycodes, not no_hidraw, not no_x, options)
    if hid_path and path:
        try:
            _export(path, hid_path)
        except BadInput as e:   # e.g. no HID traffic: the capture itself is fine and kept
            raise BadInput(f"{e}; {hid_path} not written, the capture is in {path}") from None
        click.echo(f"hid-recorder export: {hid_path}", err=True)
    return 0


def _hid_path(output: str) -> str:
    """FILE.hid next to the capture FILE; refused up front when that is FILE itself, which the
    export would overwrite with its own input (the whole recording lost)."""
    hid = os.path.splitext(output)[0] + ".hid"
    if os.path.normpath(hid) == os.path.normpath(output):
        raise UsageProblem(f"-o {output}: the capture goes to FILE and the hid-recorder export to "
                           "FILE.hid; give the capture another name, e.g. -o "
                           f"{os.path.splitext(output)[0]}.yml")
    return hid


def _export(src: str, output: str | None) -> int:
    """Atomic: the export replaces `output` only once the whole capture was read and valid."""
    # only with --convert or --format hid-recorder: capture/hidrecorder.py (and the capture
    # reader it needs) cost 26 ms to import
    from phantombutton.capture.hidrecorder import export

    with atomic_output(output, inputs=[src]) as out:
        export(src, out)
    return 0


def _record(devices, output, duration, show_keycodes, with_hidraw, with_x, options=None) -> str | None:
    nodes = devices or capture_meta.default_event_nodes()
    if not nodes:
        raise UsageProblem("no Logitech receiver mouse found under /dev/input; name an event node "
                           "(e.g. /dev/input/event5), or check access (root or the input group)")
    headers = [capture_meta.evdev_header(n) for n in nodes]
    hidraw = capture_meta.hidraw_nodes(headers) if with_hidraw else []
    x = None
    if with_x:
        try:
            x = live.XPoller(XSession())
        except XUnavailable as e:
            click.echo(f"phantombutton: {e}", err=True)
        except ImportError:
            x = None
    firmware, settings, notes = capture_meta.hidpp_snapshot(headers) if with_hidraw else ({}, {}, [])
    # a shared mouse node's paired mice (Bolt), read once now: analyze names the likely one
    paired = capture_meta.paired_of(headers, options.platform) if with_hidraw and options is not None else {}
    for h in headers:   # settings read before recording go with the device (and its findings)
        if h.info and h.info.slot in settings:
            h.info = dataclasses.replace(h.info, settings=tuple(sorted(settings[h.info.slot].items())))
    evsrc = [live.EvdevSource(n) for n in nodes]
    hidsrc = []
    for n in hidraw:
        try:
            hidsrc.append(live.HidrawSource(n))
        except AccessDenied:
            click.echo(f"phantombutton: {n}: permission denied (EACCES); recording without its "
                       f"HID++ traffic; {UDEV_FIX}", err=True)
        except DeviceGone as e:
            click.echo(f"phantombutton: {e}; recording without its HID++ traffic", err=True)
    meta = capture_meta.start_meta(headers, [s.node for s in hidsrc], x)
    for hh in meta.hidraw:
        hh.firmware = firmware.get(hh.node)
    meta.extra["settings"] = {str(k): v for k, v in settings.items()}
    if paired:
        meta.extra["paired"] = {node: [dataclasses.asdict(c) for c in cands] for node, cands in paired.items()}
    if notes:
        meta.extra["notes"] = notes
        for n in notes:
            click.echo(f"phantombutton: {n}", err=True)
    detector = Detector(paired=paired.get)
    for h in headers:
        detector.feed(DeviceAdded(meta.start, h.device_info(), at_start=True))
    for o in capture_meta.held_observations(meta):
        detector.feed(o)

    stopping = []
    old = {s: signal.signal(s, lambda *_: stopping.append(1)) for s in (signal.SIGINT, signal.SIGTERM)}
    # streamed, not atomic: a killed capture must leave what it recorded (README, Outputs)
    out = streaming_output(output)
    writer = CaptureWriter(out, headers, meta, show_keycodes=show_keycodes,
                           name=output if output and output != "-" else None)
    tty = sys.stderr.isatty()
    t0 = time.monotonic()

    def progress():
        sys.stderr.write(f"\r{time.monotonic() - t0:7.1f} s  {writer.events} events  "
                         f"{len(detector.active())} phantom(s) held ")
        sys.stderr.flush()

    if tty:
        click.echo(f"recording {', '.join(nodes)}" + (f" + {', '.join(hidraw)}" if hidraw else "")
                   + (" + X state" if x else "") + "; Ctrl-C to stop", err=True)
    try:
        live.run(writer, evsrc, hidsrc, x, duration=duration, on_obs=detector.feed,
                 stop=lambda: bool(stopping), progress=progress if tty else None,
                 warn=lambda msg: click.echo(f"phantombutton capture: warning: {msg}", err=True))
    finally:
        try:
            writer.close(time.monotonic())
        finally:
            if output and output != "-":
                # every entry was flushed when written: an error was reported then
                with contextlib.suppress(OSError):
                    out.close()
        for s in evsrc + hidsrc:
            s.close()
        for signum, handler in old.items():
            signal.signal(signum, handler)
        if tty:
            sys.stderr.write("\n")
    if tty or output:
        click.echo(f"{writer.events} evdev events in {writer.frames} entries"
                   + (f" written to {output}" if output else "")
                   + f"; {len(detector.active())} phantom(s) held at the end", err=True)
    return output
