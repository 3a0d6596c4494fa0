"""`phantombutton release [DEVICE] [BUTTON]`: release a stuck button for real, verified."""

from __future__ import annotations

import json

import click

from phantombutton.errors import EXIT_FAILURE
from phantombutton.models import has_button
from phantombutton.recovery.chain import Target, run_chain
from phantombutton.recovery.keys import key_watch
from phantombutton.recovery.session import open_session, parse_button, pick_device, read_state
from phantombutton.recovery.watcher import target_for
from phantombutton.service.config import stuck_key_after


@click.command(name="release")
@click.argument("device", required=False)
@click.argument("button", required=False)
@click.option("--all", "all_mice", is_flag=True, help="Consider every mouse, not only receiver children.")
@click.option("--no-mute", is_flag=True, help="Never mute (EVIOCSKEYCODE) as a release step.")
@click.option("--json", "as_json", is_flag=True, help="The outcome as JSON on stdout.")
@click.option("--show-keycodes", is_flag=True, help="Name every stuck key (only modifiers by default).")
@click.pass_obj
def command(options, device, button, all_mice, no_mute, as_json, show_keycodes):
    """Release a stuck button so X drops its grab, and verify it.

    DEVICE: /dev/input/eventN, a receiver slot number or part of the name; BUTTON: an X
    button number (20), an evdev code (0x11f) or a HID button (hid16). Without BUTTON, every
    phantom found on DEVICE (or on every device) is released; a held button that is not a
    phantom is released only when named. Steps, each verified by EVIOCGKEY and X state:
    1 write to the event node, 2 XTest device release on the X slave, 3 mute (buttons the
    model lacks), 4 orphaned X button, 5 advice to power-cycle.
    Without DEVICE and BUTTON, keys held by a virtual keyboard (a remapper's uinput device)
    while no physical key is held are released too: key-up on its event node, XTest key
    release on its X slave, verified by EVIOCGKEY.
    Exit codes: 0 released or nothing held, 1 still held / failure, 2 usage.
    """
    code, xb = parse_button(button) if button is not None else (None, None)
    session = open_session(options, all_mice=all_mice)
    try:
        watcher, _ = read_state(session)
        views = [v for v in watcher.detector.devices() if v.present]
        session.raise_denied(views)
        chosen = pick_device(views, device) if device is not None or button is not None else None
        for line in session.notes():   # after the arguments proved valid: a usage error is one line
            click.echo(f"phantombutton: {line}", err=True)
        if button is not None:
            assert chosen is not None and code is not None   # both set when BUTTON is given
            slave = watcher.poller.slave_for(chosen.node) if watcher.poller else None
            targets = [Target(device=chosen.name or chosen.node, node=chosen.node, code=code,
                              x_button=xb, x_slave_id=slave.id if slave else chosen.x_slave_id,
                              model_has_button=has_button(chosen.wpid, code))]
        else:
            targets = [target_for(f, watcher.poller) for f in watcher.detector.active()
                       if chosen is None or f.node == chosen.node]
        keys = []
        if device is None and button is None:
            kw = key_watch(options.platform, threshold=stuck_key_after(), show_keycodes=show_keycodes)
            keys = kw.release_all(session.x) if kw else []
        if not targets and not keys:
            click.echo("no phantom button held" + (f" on {device}" if device else "")
                       + ("; name a BUTTON to release a held button anyway" if device else ""))
            return 0
        outcomes = [run_chain(t, session.layers, allow_mute=not no_mute) for t in targets]
    finally:
        session.close()
    if as_json and not outcomes:   # only keys released
        click.echo(json.dumps([k.to_dict() for k in keys], indent=2))
    elif as_json:
        sess = session.desktop.as_dict() if session.desktop is not None else None
        click.echo(json.dumps([{**o.to_dict(), "session": sess} for o in outcomes], indent=2))
    else:
        for o in outcomes:
            for a in o.attempts:
                click.echo("  " + a.line())
            click.echo(o.summary())
        for k in keys:
            click.echo(k.line())
    ok = all(o.released or not o.before.held for o in outcomes) and all(k.released for k in keys)
    return 0 if ok else EXIT_FAILURE

