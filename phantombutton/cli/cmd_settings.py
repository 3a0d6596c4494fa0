"""`phantombutton get DEVICE SETTING` and `phantombutton set DEVICE SETTING VALUE`.

`set` changes only the bit concerned (read-modify-write) and prints the value it reads back
afterwards; if the device does not keep it, that is an error (exit 1), not a success.
Unknown device, setting or value: one line naming the valid choices, exit 2.
"""

from __future__ import annotations

import click

from phantombutton.devices import settings
from phantombutton.devices.open import open_receivers
from phantombutton.devices.select import select_paired
from phantombutton.devices.settings20 import caution


@click.command("get")
@click.argument("device")
@click.argument("setting")
@click.pass_obj
def get_command(options, device: str, setting: str) -> None:
    """Read SETTING of DEVICE (slot, WPID, serial or name part).

    \b
    Settings (by model):
      side-scroll    on|off   HID++ 1.0 mice: wheel tilt scrolls (on) or sends buttons (off)
      smooth-scroll  on|off   HID++ 1.0 mice: high-resolution wheel (off needs --force on
                              1017/101A/101B: the kernel's wheel is then 8x slow)
      dpi            100..1500 in steps of 100   Performance MX; HID++ 2.0 mice with
                              ADJUSTABLE_DPI: the sensor's own list
      wheel-resolution high|low   HID++ 2.0 HIRES_WHEEL (low needs --force)
      wheel-target   hid|hidpp    HID++ 2.0 HIRES_WHEEL (hidpp needs --force)
      thumb-wheel    hid|hidpp    HID++ 2.0 THUMB_WHEEL (hidpp needs --force)
      diversions     reset    HID++ 2.0 mice: controls (temporary, persistent, raw XY), thumb
                              wheel and wheel diverted to software
    """
    with open_receivers(options) as receivers:
        dev = select_paired(receivers, device)
        name = settings.lookup(dev, setting).name
        click.echo(f"{name}: {settings.get(dev, name)}")


@click.command("set")
@click.argument("device")
@click.argument("setting")
@click.argument("value")
@click.option("--force", is_flag=True, help="Write a value that is refused because it hurts "
                                            "(smooth-scroll off on mice whose kernel driver sets it, "
                                            "wheel-resolution low, a wheel diverted to HID++).")
@click.pass_obj
def set_command(options, device: str, setting: str, value: str, force: bool) -> None:
    """Write SETTING of DEVICE, then read it back and print what the device reports.

    Only the bit concerned changes (read-modify-write); nothing is written when the device
    already has the value. See `phantombutton get --help` for the settings.
    """
    with open_receivers(options) as receivers:
        dev = select_paired(receivers, device)
        name = settings.lookup(dev, setting).name
        read_back = settings.put(dev, name, value, force=force)
        click.echo(f"{name}: {read_back} (read back from {dev.label})")
        if not dev.hidpp10 and (note := caution(name)) is not None:
            click.echo(f"phantombutton: {note}", err=True)
