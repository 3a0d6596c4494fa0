"""`phantombutton buttons [DEVICE] [--refresh] [--json]`: a HID++ 2.0 mouse's buttons as the
mouse tells them (REPROG_CONTROLS_V4), cached per WPID and firmware under
$XDG_CACHE_HOME/phantombutton/; the detection rules (models.model_for) use the cache for a
mouse that is not in the model table. HID++ 1.0 mice: the model table's buttons.
"""

from __future__ import annotations

import json

import click

from phantombutton import buttoncache
from phantombutton.buttons import label
from phantombutton.devices.buttons20 import button_map
from phantombutton.devices.open import open_receivers
from phantombutton.devices.select import paired_or_all
from phantombutton.hidpp.hidpp20 import control_name


@click.command("buttons")
@click.argument("device", required=False)
@click.option("--refresh", is_flag=True, help="Read the controls from the mouse again (ignore the cache).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.pass_obj
def command(options, device: str | None, refresh: bool, as_json: bool) -> None:
    """Which buttons a mouse has, read from the mouse (HID++ 2.0) or the model table (1.0).

    A button the mouse does not have (HID button 16 on every Logitech mouse we know) held
    down is a phantom: watch --fix and the daemon release it at once.
    """
    notes: list[str] = []
    rows = []
    with open_receivers(options) as receivers:
        for dev in paired_or_all(receivers, device):
            bmap = button_map(dev, refresh=refresh, notes=notes)   # None when offline or HID++ 1.0
            model = bmap.model() if bmap is not None else dev.model
            row = {"device": dev.label, "wpid": f"{dev.wpid:04X}", "protocol": dev.protocol_text(),
                   "source": ("mouse (REPROG_CONTROLS_V4)" if bmap is not None else
                              "model table" if model.known else "unknown model (buttons assumed)"),
                   "buttons": [label(c) for c in sorted(model.buttons)]}
            if bmap is not None:
                row.update(firmware=bmap.firmware, cache=buttoncache.path_for(bmap.wpid, bmap.firmware),
                           controls=[{"cid": f"0x{c.cid:04X}", "name": control_name(c.cid),
                                      "hid_buttons": list(c.hid_buttons)} for c in bmap.controls],
                           guessed=bmap.guessed())
            rows.append(row)
    for note in notes:
        click.echo(f"phantombutton: {note}", err=True)
    if as_json:
        click.echo(json.dumps({"devices": rows}, indent=1))
        return
    for row in rows:
        click.echo(f"{row['device']}: {row['protocol']}, buttons from the {row['source']}")
        click.echo(f"  buttons : {', '.join(row['buttons'])}")
        if "controls" in row:
            click.echo(f"  firmware: {row['firmware'] or '?'} (cache {row['cache']})")
            for c in row["controls"]:
                sends = (", ".join(f"HID button {b}" for b in c["hid_buttons"]) or "no HID button")
                click.echo(f"  {c['cid']} {c['name']:<28} {sends}")
