"""`phantombutton mute DEVICE BUTTON` / `unmute`: EVIOCSKEYCODE on the mouse's event node.

Muting maps the HID usage behind the button (Button page, e.g. 0x00090010 for HID button
16 = 0x11F = X button 20) to KEY_RESERVED: a held key is released at once and the bit stays
quiet afterwards. It lasts until the device is re-created (replug, reboot) or `unmute`.
"""

from __future__ import annotations

import click

from phantombutton.buttons import hid_button_scancode
from phantombutton.detect.events import DeviceAdded
from phantombutton.detect.shared import is_shared
from phantombutton.errors import UsageProblem
from phantombutton.recovery.chain import Target
from phantombutton.recovery.session import open_session, parse_button, pick_device
from phantombutton.recovery.shared import mouse_has_button


def _apply(options, spec, button, all_mice, mute: bool, force: bool = False) -> int:
    code, xb = parse_button(button)
    session = open_session(options, all_mice=all_mice, use_x=False)
    try:
        devices = [o.device for o in session.source.start() if isinstance(o, DeviceAdded)]
        session.raise_denied(devices)
        d = pick_device(devices, spec)
        if mute and not force and mouse_has_button(session.platform, d, code):
            who = f"a mouse paired to the receiver of {d.node}" if is_shared(d) else d.name or d.node
            raise UsageProblem(f"{who} has button 0x{code:03X} (X {xb}); muting it would "
                               "disable a real button (use --force if that is what you want)")
        t = Target(device=d.name or d.node, node=d.node, code=code, x_button=xb, x_slave_id=None)
        # the layers check the read-back and raise PhantomError on a mismatch
        (session.layers.mute if mute else session.layers.unmute)(t)
        scancode = hid_button_scancode(code)
    finally:
        session.close()
    if mute:
        click.echo(f"{d.name or d.node} ({d.node}): muted 0x{code:03X} (X button {xb}, HID usage "
                   f"0x{scancode:08X} -> KEY_RESERVED, read back); undo: phantombutton unmute {d.node} {xb}")
    else:
        click.echo(f"{d.name or d.node} ({d.node}): HID usage 0x{scancode:08X} maps to 0x{code:03X} "
                   f"(X button {xb}) again, read back")
    return 0


@click.command(name="mute")
@click.argument("device")
@click.argument("button")
@click.option("--all", "all_mice", is_flag=True, help="Consider every mouse, not only receiver children.")
@click.option("--force", is_flag=True, help="Mute even a button the model has.")
@click.pass_obj
def mute_command(options, device, button, all_mice, force):
    """Mute BUTTON of DEVICE in the kernel (EVIOCSKEYCODE -> KEY_RESERVED), e.g. `mute 1 20`.

    For a button the model does not have (0x11F on an M705): a held phantom is released at
    once and never reported again until `unmute` or the device is re-created.
    Exit codes: 0 done and read back, 1 failure, 2 usage.
    """
    return _apply(options, device, button, all_mice, True, force)


@click.command(name="unmute")
@click.argument("device")
@click.argument("button")
@click.option("--all", "all_mice", is_flag=True, help="Consider every mouse, not only receiver children.")
@click.pass_obj
def unmute_command(options, device, button, all_mice):
    """Undo `mute`: map the button's HID usage back to its evdev code (read back)."""
    return _apply(options, device, button, all_mice, False)
