"""`phantombutton list`: receivers and their paired devices, one line each.

Cheap on purpose (pairing table + one ping per device, no 0xB5/03 read that would make the
kernel re-enumerate); `info` shows the details.
"""

from __future__ import annotations

import json

import click

from phantombutton.devices.open import open_receivers
from phantombutton.devices.report import receivers_tree


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def command(options, as_json: bool) -> None:
    """List receivers and paired devices (slot, name, WPID, kind, protocol, serial)."""
    with open_receivers(options) as receivers:
        data = receivers_tree(receivers, full=False)
    if as_json:
        click.echo(json.dumps({"receivers": data}, indent=2))
        return
    for entry in data:
        direct = entry.get("connection")   # a mouse without a receiver: no slot, its own node
        click.echo(f"{entry['node']}  {entry['name']} {entry['product']}" if not direct
                   else f"{entry['node']}  {direct} (no receiver) 046d:{entry['product']}")
        for node in entry.get("mouse_nodes", ()):
            click.echo(f"  mouse node {node} (the receiver's own; every paired mouse reports here)")
        if entry.get("error"):
            click.echo(f"  (unreadable: {entry['error']})")
        elif not entry["devices"]:
            click.echo("  (no paired devices)")
        for d in entry["devices"]:
            serial = f"  serial {d['serial']}" if d["serial"] else ""
            node = f"  {d['node']}" if d.get("node") and not direct else ""
            slot = "-" if direct else d["slot"]
            click.echo(f"  {slot}: {d['name']:<15} {d['wpid']}  {d['kind']:<8} {d['protocol']:<9}{serial}{node}")
