"""`phantombutton status`: one-shot check for held phantom buttons (evdev + X)."""

from __future__ import annotations

import json

import click

from phantombutton.buttons import x_button_for
from phantombutton.recovery.diversion import diversion_report
from phantombutton.recovery.keys import key_watch
from phantombutton.recovery.session import open_session, read_state
from phantombutton.recovery.wheel import session_guard
from phantombutton.service.config import stuck_key_after

EXIT_PHANTOM = 3


def collect(options, *, all_mice: bool, use_x: bool):
    """(session notes, device views, active findings, X read, wheel events, desktop session)
    after reading state twice, x_grace apart, so X-versus-kernel disagreements can be
    confirmed. The wheel events: one wheel-mode check per receiver mouse (recovery/wheel.py
    WheelEvents) and what each has diverted (recovery/diversion.py); the desktop session is
    input.desktop's, or None."""
    session = open_session(options, all_mice=all_mice, use_x=use_x, hidpp=True)
    notes = session.notes()
    try:
        watch = session_guard(session, fix=False)
        w, events = read_state(session, wheel=watch)
        wheel = [*watch.check_all(), *diversion_report(watch, session.platform.listeners)]
        session.raise_denied([v for v in w.detector.devices() if v.present])
        notes += [e.message for e in events if e.kind == "note"]
        return notes, w.detector.devices(), w.detector.active(), session.x is not None, wheel, session.desktop
    finally:
        session.close()


@click.command(name="status")
@click.option("--all", "all_mice", is_flag=True, help="Check every mouse, not only receiver children.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--no-x", is_flag=True, help="Do not read the X server's state.")
@click.option("--show-keycodes", is_flag=True, help="Name every stuck key (only modifiers by default).")
@click.pass_obj
def command(options, all_mice, as_json, no_x, show_keycodes):
    """Is a phantom button held right now? Reads EVIOCGKEY of each mouse and X's button state,
    and of each keyboard: a key held by a virtual keyboard (a remapper's uinput device) in two
    samples 0.5 s apart while no physical key is held is reported too.

    Exit codes: 0 nothing held, 3 a phantom or stuck key is held (see the finding), 1 failure,
    2 usage.
    """
    notes, views, findings, x_on, wheel, desktop = collect(options, all_mice=all_mice, use_x=not no_x)
    kw = key_watch(options.platform, threshold=stuck_key_after(), show_keycodes=show_keycodes)
    stuck = [{k: v for k, v in h.items() if k != "code"} for h in kw.held_now()] if kw else []
    for n in notes:
        click.echo(f"phantombutton: {n}", err=True)
    if as_json:
        click.echo(json.dumps({
            "devices": [{"node": v.node, "name": v.name, "slot": v.slot, "x_slave_id": v.x_slave_id,
                         "evdev_held": sorted(v.kernel), "x_held": sorted(v.x) if x_on else None}
                        for v in views if v.present],
            "findings": [f.to_dict() for f in findings], "phantom": bool(findings),
            "wheel": [e.to_dict() for e in wheel], "stuck_keys": stuck,
            "session": desktop.as_dict() if desktop is not None else None}, indent=2))
    else:
        for v in views:
            if not v.present:
                continue
            held = ", ".join(f"0x{c:03X} (X {x_button_for(c)})" for c in sorted(v.kernel)) or "nothing"
            xs = (", ".join(map(str, sorted(v.x))) or "nothing") if x_on and v.x_slave_id else "n/a"
            click.echo(f"{v.name or v.node} ({v.node}{f', slot {v.slot}' if v.slot else ''}): "
                       f"evdev holds {held}; X holds {xs}")
        for f in findings:
            click.echo("PHANTOM " + f.headline())
            for line in f.evidence + f.hidpp_context + f.settings:
                click.echo(f"  {line}")
            if f.cause:
                click.echo(f"  cause: {f.cause}")
            click.echo(f"  fix: {f.fix or 'phantombutton release'}")
        for e in wheel:
            click.echo(e.line())
            for line in e.evidence if e.kind == "finding" else ():
                click.echo(f"  {line}")
        for h in stuck:
            click.echo(f"STUCK   {h['device']} ({h['node']}, virtual, made by {h['owner']}): {h['key']} "
                       "held while no physical key is held; fix: phantombutton release")
        if not views:
            click.echo("no pointer device found" + ("" if all_mice else " (--all checks every mouse)"))
        elif not findings:
            click.echo("no phantom button held")
    return EXIT_PHANTOM if findings or stuck else 0
