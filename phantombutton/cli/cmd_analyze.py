"""`phantombutton analyze FILE [--json]`: run the detection rules over a capture."""

from __future__ import annotations

import json
import sys

import click

from phantombutton.capture.analysis import capture_end, held_at_end
from phantombutton.capture.fields import one_line
from phantombutton.capture.reader import Capture
from phantombutton.detect.chatter import ChatterMonitor, verdict_line, verdict_of
from phantombutton.detect.diversion import DiversionMonitor
from phantombutton.detect.findings import Finding, Rule
from phantombutton.detect.rules import Detector
from phantombutton.detect.run import detect_all
from phantombutton.errors import UsageProblem
from phantombutton.report.markdown import analysis_markdown

EXIT_PHANTOM = 3


def analyze_file(path: str) -> dict:
    """Stream the capture through the same Detector `watch` uses; return the report."""
    cap = Capture(path)
    # the paired mice behind a shared mouse node, as recorded (read before any device entry)
    detector = Detector(paired=lambda node: (cap.meta.get("paired") or {}).get(node))
    chatter = ChatterMonitor()
    diversions = DiversionMonitor()

    def observations():   # the side monitors see every observation the detector sees
        for obs in cap.observations():
            chatter.feed(obs)
            diversions.feed(obs)
            yield obs

    found: dict[tuple, Finding] = {}      # (key, since) -> latest version of the finding
    for f in detect_all(observations(), detector):
        found[(f.key, f.since)] = f
    end = capture_end(cap, detector.now)   # known once read (for a plain recording, a lower bound)
    # held-idle up to the end, then the side monitors'
    for f in [*detector.tick(end.t), *chatter.findings(), *diversions.findings()]:
        found[(f.key, f.since)] = f
    findings = sorted(found.values(), key=lambda f: (f.since, str(f.rule)))
    return {
        "file": path,
        "verdict": verdict_of(findings),
        "complete": cap.complete,
        "own_capture": bool(cap.meta),   # ours (phantombutton block) or a peer's plain recording
        "devices": [{"node": d.node, "name": d.name, "id": d.id} for d in cap.devices],
        "evdev_events": cap.evdev_events,
        "hid_reports": cap.hid_reports,
        "duration": round(cap.end_time, 6),
        "kernel": cap.meta.get("kernel"),
        "x_input_driver": cap.meta.get("x_input_driver"),
        "findings": findings,
        "end": {"t": round(end.t, 6), "how": end.how},
        "held_at_end": [h.to_dict() for h in held_at_end(detector.held(), end, detector.t)],
    }


def _print_json(report: dict) -> None:
    """The report as one JSON document, written finding by finding: the text of 100 000
    findings is never one string in memory (json.dumps of it took 4x the findings' size)."""
    out = sys.stdout
    head = {k: v for k, v in report.items() if k != "findings"}
    text = json.dumps(head, indent=2)
    out.write(text[:-2] + ',\n  "findings": [')   # reopen the object after its last key
    for i, f in enumerate(report["findings"]):
        item = json.dumps(f.to_dict(), indent=2).replace("\n", "\n    ")
        out.write(("," if i else "") + "\n    " + item)
    out.write("\n  ]\n}\n" if report["findings"] else "]\n}\n")


def _print_text(report: dict) -> None:
    echo = click.echo
    findings = report["findings"]
    devs = ", ".join(f"{one_line(d['name']) or '?'} ({one_line(d['node'])})" for d in report["devices"])
    echo(f"capture: {report['file']}")
    echo(f"  devices: {devs}")
    extra = [f"{label} {report[key]}" for key, label in (("kernel", "kernel"), ("x_input_driver", "X driver"))
             if report[key]]
    echo(f"  {report['evdev_events']} evdev events, {report['hid_reports']} HID reports, "
         f"{report['duration']:.3f} s" + (", " + ", ".join(extra) if extra else ""))
    if not report["complete"] and report["own_capture"]:   # libinput record writes no end marker
        echo("  note: the capture ends without its end marker (stopped or killed); read up to "
             "its last complete frame")
    for h in report["held_at_end"]:
        echo(f"  held at the end: {h['sentence']}")
    echo(f"verdict: {verdict_line(findings)}")
    if not findings:
        return
    for i, f in enumerate(findings, 1):
        echo("")
        echo(f"[{i}] {f.headline()}")
        ids = f.where()
        if ids:
            echo("    " + ", ".join(ids))
        if f.rule not in (Rule.SWITCH_CHATTER, Rule.STALE_DIVERSION):
            echo("    " + ("still held at the end of the capture" if f.ended is None
                           else f"released at {f.ended:.3f} s"))
        echo("    evidence:")
        for e in f.evidence:
            echo(f"      - {e}")
        if f.hidpp_context:
            echo("    HID++ traffic before it:")
            for c in f.hidpp_context:
                echo(f"      - {c}")
        if f.settings:
            echo("    settings: " + "; ".join(f.settings))
        echo(f"    likely cause: {f.cause}")
        echo(f"    suggested fix: {f.fix}")


@click.command("analyze", epilog="Exit codes: 0 no phantom found, 3 a phantom (or suspect) held "
               "button, a worn (chattering) switch or a stale diversion was found, 1 the file cannot "
               "be read (the message names the line), 2 usage.")
@click.argument("file")   # opened by the reader: a directory or no access is exit 1 and one line
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--markdown", is_flag=True, help="Markdown for pasting into an issue.")
@click.option("--svg", "svg", metavar="FILE", help="Also write a timeline picture (SVG) to FILE.")
def command(file: str, as_json: bool, markdown: bool, svg: str | None) -> int:
    """Analyze a capture (ours or a plain `libinput record` file) offline.

    Runs the detection rules of `watch` over the capture and prints the verdict, the likely
    cause with its evidence (timestamps, HID++ traffic) and the suggested fix.
    """
    if markdown and as_json:
        raise UsageProblem("--json and --markdown: choose one")
    if svg == "-":
        raise UsageProblem("--svg needs a file name (standard output carries the verdict)")
    report = analyze_file(file)
    if svg:
        from phantombutton.report.svg import write_timeline   # only with --svg: 12 ms to import

        write_timeline(file, report, svg)
    if markdown:
        click.echo(analysis_markdown(report), nl=False)
    elif as_json:
        _print_json(report)
    else:
        _print_text(report)
    return EXIT_PHANTOM if report["findings"] else 0
