"""`phantombutton watch`: detect phantom held buttons live (evdev + X), optionally release them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import click

from phantombutton.buttons import x_button_for
from phantombutton.cli.argtypes import SECONDS, Finite
from phantombutton.detect.findings import Thresholds
from phantombutton.detect.reassert import ReassertPolicy
from phantombutton.detect.rules import Detector
from phantombutton.detect.run import detect_all
from phantombutton.errors import UsageProblem
from phantombutton.recovery.diversion import with_diversions
from phantombutton.recovery.keys import key_watch
from phantombutton.recovery.prevent import SideScrollFixer
from phantombutton.recovery.session import open_session
from phantombutton.recovery.shared import paired_reader
from phantombutton.recovery.watcher import WatchEvent, Watcher
from phantombutton.recovery.wheel import session_guard
from phantombutton.service import config


class _Notifier:
    """Desktop notifications over D-Bus (org.freedesktop.Notifications) through notify-send or
    gdbus. Best effort, but honest: a missing tool or a failed call is said once on stderr,
    and the watch goes on."""

    def __init__(self) -> None:
        self.tool = shutil.which("notify-send") or shutil.which("gdbus")
        self.warned = False
        if self.tool is None:
            self._warn("--notify: no notify-send or gdbus found, so no desktop notifications "
                       "(fix: apt-get install libnotify-bin)")

    def _warn(self, message: str) -> None:
        if not self.warned:
            self.warned = True
            click.echo(f"phantombutton: {message}", err=True)

    def __call__(self, summary: str, body: str) -> None:
        if self.tool is None:
            return
        if os.path.basename(self.tool) == "notify-send":
            cmd = [self.tool, "--app-name=phantombutton", "--", summary, body]
        else:
            # gdbus parses each argument as GVariant text; a JSON string is a valid literal
            q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731
            cmd = [self.tool, "call", "--session", "--dest", "org.freedesktop.Notifications",
                   "--object-path", "/org/freedesktop/Notifications", "--method",
                   "org.freedesktop.Notifications.Notify", q("phantombutton"), "0", q(""),
                   q(summary), q(body), "[]", "{}", "5000"]
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, timeout=3)
        except subprocess.TimeoutExpired:
            reason = "no answer within 3 s"
        except OSError as e:
            reason = f"{self.tool}: {e.strerror}"
        else:
            if r.returncode == 0:
                return
            lines = [x.strip() for x in r.stderr.splitlines() if x.strip()]
            reason = lines[-1] if lines else f"{self.tool} exited with status {r.returncode}"
        bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        self._warn(f"--notify: desktop notification failed: {reason} (fix: run watch inside the "
                   "desktop session, which has a notification server"
                   + ("; DBUS_SESSION_BUS_ADDRESS is not set)" if not bus else ")"))


def _table(detector, actions: dict, x_on: bool) -> str:
    active: dict[str | None, list] = {}     # event node (None: X only) -> its findings
    for f in detector.active():
        active.setdefault(f.node, []).append(f)
    rows = [("DEVICE", "SLOT", "NODE", "EVDEV HELD", "X HELD", "VERDICT", "ACTION")]
    for v in detector.devices():
        if not v.present:
            continue
        kern = ",".join(str(x_button_for(c)) for c in sorted(v.kernel)) or "-"
        xh = (",".join(str(b) for b in sorted(v.x)) or "-") if x_on and v.x_slave_id else ("n/a" if not x_on else "?")
        fs = active.get(v.node, [])
        verdict = ", ".join(str(f.rule) for f in fs) or "ok"
        rows.append((v.name or v.node, str(v.slot or "-"), v.node, kern, xh, verdict, actions.get(v.node, "")))
    for i, buttons in detector.x_masters().items():
        if buttons:
            fs = [f for f in detector.active() if f.node is None and f.x_slave_id == i]
            rows.append((f"X master {i}", "-", "-", "-", ",".join(map(str, sorted(buttons))),
                         ", ".join(str(f.rule) for f in fs) or "ok", actions.get(f"master{i}", "")))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _screen(detector, actions: dict, x_on: bool) -> str:
    """What a terminal shows: the table, then why each active finding is a phantom."""
    lines = [_table(detector, actions, x_on)]
    for f in detector.active():
        lines += ["", f.headline(), f"  cause: {f.cause}", f"  fix:   {f.fix}"]
    return "\n".join(lines)


def _paced(observations, speed: float, on_step=None):
    """Pass observations on at the capture's own pace divided by `speed` (0: at once),
    calling `on_step()` before each one and at the end, when the consumer has handled the
    previous observation: that is when the terminal table is redrawn."""
    start_obs: float | None = None
    start_wall = 0.0      # set with start_obs
    for obs in observations:
        if on_step and start_obs is not None:
            on_step()
        if start_obs is None:
            start_obs, start_wall = obs.t, time.monotonic()
        elif speed > 0:
            delay = (obs.t - start_obs) / speed - (time.monotonic() - start_wall)
            if delay > 0:
                time.sleep(delay)
        yield obs
    if on_step and start_obs is not None:
        on_step()


def _replay(path: str, speed: float, emit, redraw=None) -> int:
    """Feed a capture through the detector at its own pace (speed 0: at once), ticking on the
    capture's clock like `analyze` (detect.run.detect_all); `redraw` is called with the
    detector after every observation, for the terminal table. Returns the findings count."""
    from phantombutton.capture.reader import read_observations   # only with --replay: 33-43 ms to import

    det = Detector()
    step = (lambda: redraw(det)) if redraw else None
    n = 0
    for f in detect_all(_paced(read_observations(path), speed, step), det):
        n += f.active
        emit(WatchEvent("finding" if f.active else "ended", f.ended or f.since, f))
    if redraw:
        redraw(det)
    return n


@click.command(name="watch")
@click.option("--all", "all_mice", is_flag=True, help="Watch every mouse, not only receiver children.")
@click.option("--fix", is_flag=True, help="Release phantoms (verified); turn side-scroll on for an M705 101B.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event on stdout.")
@click.option("--notify", is_flag=True, help="Desktop notification for each phantom (D-Bus).")
@click.option("--poll-interval", type=Finite(0.01, 10), default=0.25, show_default=True,
              help="Seconds between X state polls and time-based checks while a button is held "
                   "or X reports activity; idle, X and evdev events wake the watcher.")
@click.option("--no-x", is_flag=True, help="Do not poll the X server.")
@click.option("--show-keycodes", is_flag=True,
              help="Name every stuck key of a virtual keyboard (only modifiers are named by default).")
@click.option("--replay", "replay_file", default=None, metavar="CAPTURE",
              help="Read observations from a capture instead of live devices.")
@click.option("--speed", type=Finite(0.001, zero_ok=True), default=1.0, show_default=True,
              help="Replay speed factor (>= 0.001); 0 = as fast as possible.")
@click.option("--duration", type=SECONDS, default=None, help="Stop after this many seconds.")
@click.pass_obj
def command(options, all_mice, fix, as_json, notify, poll_interval, no_x, show_keycodes, replay_file,
            speed, duration):
    """Detect phantom held buttons live, per evdev and X, and say why.

    A table on a terminal, one line per event otherwise, JSON lines with --json.
    With --fix each phantom (rules unknown-button, press-after-connect, x-kernel-mismatch)
    is released by the recovery chain and verified; held-idle is only reported.
    Keys held by a virtual keyboard (a remapper's uinput device) while no physical key is
    held, longer than [detection] stuck-key-after (3 s), are reported (released with --fix).
    A button diverted to HID++ with no program reading it (a stale diversion: the button is
    dead) is reported when pressed; --fix clears that control's divert flags, reads them back
    and verifies with the next press. A diversion owned by a running remapper is left alone.
    Exit codes: 0 ok (stopped by Ctrl-C or --duration), 1 failure, 2 usage.
    """
    tty = sys.stdout.isatty() and not as_json
    actions: dict[str, str] = {}
    notifier = _Notifier() if notify else None

    def emit(ev) -> None:
        if ev.kind in ("released", "not-released"):
            key = ev.finding.node if ev.finding and ev.finding.node else (
                f"master{ev.finding.x_slave_id}" if ev.finding else None)
            if key and ev.outcome is not None:
                actions[key] = (f"released (step {int(ev.outcome.step)})" if ev.outcome.released
                                else "NOT released: power-cycle")
        if as_json:
            click.echo(json.dumps(ev.to_dict()))
        elif not tty:
            click.echo(ev.line())
        elif ev.kind in ("note", "wheel") or ev.keys is not None:
            click.echo(ev.line(), err=True)
        if notifier and ev.kind == "finding":
            notifier("Phantom button held", f"{ev.finding.headline()}\nfix: {ev.finding.fix}")

    shown = ""

    def redraw(detector, x_on: bool) -> None:   # the terminal table, when it changed
        nonlocal shown
        screen = _screen(detector, actions, x_on)
        if screen != shown:
            click.echo("\033[H\033[J" + screen)
            shown = screen

    def replay_redraw(detector) -> None:   # a replay's X state is the capture's
        redraw(detector, bool(detector.x_masters()))

    if replay_file:
        if fix:
            raise UsageProblem("--fix acts on live devices; it cannot be used with --replay")
        _replay(replay_file, speed, emit, replay_redraw if tty else None)
        return 0

    session = open_session(options, all_mice=all_mice, use_x=not no_x, hidpp=True)
    fixer = SideScrollFixer(options) if fix else None
    try:
        for line in session.notes():   # once, on stderr; with --json also as an event
            click.echo(f"phantombutton: {line}", err=True)
        if as_json and session.desktop is not None:
            click.echo(json.dumps({"event": "session", "t": round(time.monotonic(), 6),
                                   "session": session.desktop.as_dict()}))
        # with --fix, the daemon's configuration: its held-for wait and re-assert policy
        cfg = config.load() if fix else None
        # paired: a receiver's shared mouse node's (Bolt) mice, read when a finding needs them
        detector = Detector(thresholds=Thresholds(held_for=cfg.detection.held_for) if cfg else None,
                            paired=paired_reader(options.platform))
        watcher = Watcher(session.source, detector, x=session.x, layers=session.layers, fix=fix,
                          poll_interval=poll_interval, idle_interval=max(2.0, poll_interval),
                          prevention=fixer, reassert=cfg.reassert if cfg else ReassertPolicy(),
                          wheel=with_diversions(session_guard(session, fix=fix), session, fix=fix),
                          keys=key_watch(options.platform, threshold=config.stuck_key_after(), fix=fix,
                                         show_keycodes=show_keycodes))
        for ev in watcher.start():
            emit(ev)
        watched = [v for v in watcher.detector.devices() if v.present]
        if watched:   # scripts (and tests) wait for this line before they expect findings
            emit(WatchEvent("note", time.monotonic(), message="watching " + ", ".join(
                f"{v.name or v.node} ({v.node})" for v in watched)))
        if not watched and not session.source.denied:
            emit(WatchEvent("note", time.monotonic(), message=(
                "no Logitech receiver mouse found yet" + ("" if all_mice else " (--all watches every mouse)")
                + "; waiting for one to appear")))
        session.raise_denied(watched)
        t0 = time.monotonic()
        while duration is None or time.monotonic() - t0 < duration:
            # never sleep past --duration (idle ticks are 2 s apart)
            wait = None if duration is None else max(0.0, t0 + duration - time.monotonic())
            for ev in watcher.step(wait):
                emit(ev)
            if tty:
                redraw(watcher.detector, session.x is not None)
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
    return 0
