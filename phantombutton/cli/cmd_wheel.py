"""`phantombutton fix-wheel [DEVICE]`: read each mouse's wheel mode over HID++, compare it with
what the kernel assumes for that model (detect/wheel.py), and put it back if they disagree.

One read per mouse (register 0x01, or HIRES_WHEEL getWheelMode); with a mismatch, one write
and a read-back. `--check` only reports. The repair is verified by the read-back; the next
notches verify it for real (`watch` and the daemon do that automatically).
Exit codes: 0 in sync or repaired, 1 a repair failed, 2 usage, 3 (--check) a mismatch found.
"""

from __future__ import annotations

import json

import click

from phantombutton.devices.open import open_receivers
from phantombutton.devices.select import paired_or_all
from phantombutton.recovery.wheel import WheelGuard

EXIT_MISMATCH = 3


@click.command("fix-wheel")
@click.argument("device", required=False)
@click.option("--check", is_flag=True, help="Only read and compare; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per event.")
@click.pass_obj
def command(options, device, check, as_json):
    """Put DEVICE's wheel (every paired mouse without DEVICE) back in the resolution the kernel
    expects: fixes a wheel 8x too slow or too fast, or a dead wheel diverted to HID++."""
    events = []
    with open_receivers(options) as receivers:
        for dev in paired_or_all(receivers, device):
            key = (dev.receiver.node, dev.slot)
            guard = WheelGuard({key: dev}.get, fix=not check)
            guard.state(key, dev.label)
            events += guard.check(key, reason="fix-wheel")
    for e in events:
        if as_json:
            click.echo(json.dumps(e.to_dict()))
            continue
        click.echo(e.line())
        if e.kind == "finding":
            for line in e.evidence:
                click.echo(f"  {line}")
    if any(e.kind == "failed" for e in events):
        return 1
    if check and any(e.kind == "finding" for e in events):
        return EXIT_MISMATCH
    return 0
