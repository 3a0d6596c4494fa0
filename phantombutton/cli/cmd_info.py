"""`phantombutton info [DEVICE] [--json]`: receiver and device details.

Without DEVICE: every receiver (serial, firmware, pairing count - this one read of 0xB5/03
makes hid-logitech-dj re-enumerate, harmless but visible in its log) and all its devices.
With DEVICE (slot, WPID, serial or a piece of the name): that device only.
"""

from __future__ import annotations

import json

import click

from phantombutton.devices.open import open_receivers
from phantombutton.devices.report import device_report, receivers_tree
from phantombutton.devices.select import select_paired


def _line(key: str, value, indent: int) -> str:
    return f"{' ' * indent}{key:<14}: {value}"


def _receiver_lines(r: dict) -> list[str]:
    if r.get("connection"):   # a mouse without a receiver: only where it is
        return [f"{r['connection']} (no receiver)  {r['node']}", _line("Product id", f"046d:{r['product']}", 2)]
    out = [f"{r['name']}  {r['node']}", _line("USB id", f"046d:{r['product']}", 2)]
    out += [_line("Mouse node", f"{node} (shared by every paired mouse)", 2) for node in r.get("mouse_nodes", ())]
    if r.get("serial"):
        out.append(_line("Serial", r["serial"], 2))
    out += [_line(key.capitalize(), r["firmware"][key], 2) for key in ("firmware", "bootloader", "other")
            if key in r.get("firmware", {})]
    if r.get("error"):
        out.append(_line("Unreadable", r["error"], 2))
        return out
    of = f" of {r['max_devices']}" if r.get("max_devices") else ""
    out.append(_line("Paired", f"{r['paired']}{of}", 2))
    if r.get("notifications"):
        n = r["notifications"]
        out.append(_line("Notifications", f"{', '.join(n['names']) or 'none'} ({n['flags']})", 2))
    return out


def _device_lines(d: dict, indent: int = 2) -> list[str]:
    head = f"{' ' * indent}{'-' if d.get('connection') else d['slot']}: {d['name']}"
    if d.get("full_name") or d.get("model_known"):
        head += f" - {d.get('full_name') or d['model']}"
    i = indent + 3
    out = [head, _line("Product id" if d.get("connection") else "WPID", d["wpid"], i),
           _line("Kind", d["kind"], i), _line("Protocol", d["protocol"], i)]
    out += [_line(key.capitalize(), d[key], i) for key in ("connection", "node", "serial") if d.get(key)]
    firmware = d.get("firmware") or {}
    out += [_line(key.capitalize(), firmware[key], i)
            for key in ("firmware", "bootloader", "other", "hardware") if key in firmware]
    if d.get("battery"):
        b = d["battery"]
        out.append(_line("Battery", f"{b['level']}, {b['status']}", i))
    if d.get("notifications"):
        n = d["notifications"]
        out.append(_line("Notifications", f"{', '.join(n['names']) or 'none'} ({n['flags']})", i))
    out += [_line(name, value, i) for name, value in (d.get("settings") or {}).items()]
    if d.get("features") is not None:
        out.append(_line("Features", f"{len(d['features'])}", i))
        for f in d["features"]:
            flags = f"  {', '.join(f['flags'])}" if f["flags"] else ""
            out.append(f"{' ' * (i + 2)}{f['index']:>2}: {f['name']:<28} {{{f['id']}}}{flags}")
    if d.get("controls") is not None:
        out.append(_line("Controls", f"{len(d['controls'])}", i))
        for c in d["controls"]:
            out.append(f"{' ' * (i + 2)}{c['cid']} {c['name']:<28} {c['reporting']}")
    buttons = ", ".join(d["buttons"])
    if d.get("buttons_from") == "mouse":
        buttons += " (read from the mouse)"
    elif not d["model_known"]:
        buttons += " (model unknown, assumed)"
    out.append(_line("Buttons", buttons, i))
    if d["model_known"] and not d["has_phantom_button"]:
        out.append(_line("Phantom", f"{d['phantom']} does not exist on this model", i))
    for err in d.get("errors", []):
        out.append(_line("Unreadable", err, i))
    return out


@click.command("info")
@click.argument("device", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def command(options, device: str | None, as_json: bool) -> None:
    """Show receiver and device details; DEVICE is a slot, WPID, serial or name part."""
    with open_receivers(options) as receivers:
        if device is not None:
            chosen = select_paired(receivers, device)
            data = device_report(chosen)
            if as_json:
                click.echo(json.dumps(data, indent=2))
            else:
                click.echo("\n".join(_device_lines(data, 0)))
            return
        reports = receivers_tree(receivers, full=True)
    if as_json:
        click.echo(json.dumps({"receivers": reports}, indent=2))
        return
    blocks = []
    for r in reports:
        lines = _receiver_lines(r)
        for d in r["devices"]:
            lines += [""] + _device_lines(d)
        blocks.append("\n".join(lines))
    click.echo("\n\n".join(blocks))
