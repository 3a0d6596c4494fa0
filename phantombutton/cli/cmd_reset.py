"""`phantombutton reset-receiver [RECEIVER]`: the soft reset of recovery/softreset.py.

Unbinds and rebinds the one receiver's HID device from its driver (needs root), waits until
its driver, hidraw node and paired children are back, and prints exactly what it wrote.
`--if-stuck` first asks the receiver (register 0x02) and resets only when it does not answer,
or when, for 3 s, a mouse's reports reach it while that mouse's event node stays silent
(detect/stall.py: online but giving no input; move the mouse meanwhile).
Exit codes: 0 done (or not needed), 1 it did not come back (then unplug it), 2 usage.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from phantombutton.errors import UsageProblem
from phantombutton.recovery.softreset import listen_for_stall, receiver_answers, soft_reset
from phantombutton.transport.discovery import LOGITECH, find_receivers


@click.command("reset-receiver")
@click.argument("receiver", required=False)
@click.option("--if-stuck", is_flag=True, help="Reset only if the receiver does not answer HID++, "
              "or a mouse's reports reach it but give no input events (move the mouse).")
@click.option("--timeout", type=click.FloatRange(1, 60), default=10.0, show_default=True,
              help="Seconds to wait for the receiver and its devices to come back.")
@click.option("--json", "as_json", is_flag=True, help="The outcome as one JSON document.")
@click.pass_obj
def command(options, receiver, if_stuck, timeout, as_json):
    """Soft-reset a Unifying receiver: unbind and rebind it from its kernel driver, the step
    before unplugging it. RECEIVER: its hidraw node (the only one if omitted)."""
    if not options.platform.kernel:
        raise UsageProblem("reset-receiver acts on a kernel driver; it cannot run with --virtual")
    found = [r for r in find_receivers() if r.vendor == LOGITECH and (not receiver or r.node == receiver)]
    if len(found) != 1:
        raise UsageProblem(("no Logitech receiver " + (receiver or "found")) if not found else
                           "several receivers; name one: " + ", ".join(r.node for r in found))
    rx = found[0]
    if if_stuck:
        # only with --if-stuck: the request engine and hidraw transport cost 24 ms to import
        from phantombutton.transport.engine import Engine
        from phantombutton.transport.hidraw import HidrawTransport

        transport = HidrawTransport(rx.node)
        try:
            answers = receiver_answers(Engine(transport, receiver_timeout=1.0))
        finally:
            transport.close()
        if answers:
            click.echo(f"{rx.node}: the receiver answers HID++; move the mouse: watching its input for 3 s",
                       err=True)
            stalls = listen_for_stall(rx.node)
            if not stalls:
                click.echo(f"{rx.node}: the receiver answers HID++ and no mouse input went missing; "
                           "no reset needed")
                return 0
            for s in stalls:
                click.echo(f"{rx.node}: a mouse online but giving no input ({s.evidence()}); soft reset",
                           err=True)
        else:
            click.echo(f"{rx.node}: the receiver does not answer HID++ (register 0x02); soft reset", err=True)
    out = soft_reset(rx.sysfs, timeout=timeout)
    if as_json:
        click.echo(json.dumps({"receiver": rx.node, **asdict(out)}, indent=2))
    else:
        click.echo(f"{rx.node}: {out.summary()}")
    if not out.ok:
        click.echo(f"{rx.node}: did not come back; unplug the receiver and plug it in again", err=True)
        return 1
    return 0
