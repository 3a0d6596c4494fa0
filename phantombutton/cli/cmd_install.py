"""`phantombutton install-udev [--print] [--root DIR]`: install the udev rule and user unit."""

from __future__ import annotations

from pathlib import Path

import click

from phantombutton.errors import PhantomError, UsageProblem
from phantombutton.service import install


@click.command("install-udev")
@click.option("--print", "print_only", is_flag=True,
              help="Show every file (with its content) and command, change nothing.")
@click.option("--root", "root", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Install under DIR (staging, packaging, tests); runs no udevadm command.")
def command(print_only: bool, root: str | None) -> int:
    """Install the udev rule in /etc/udev/rules.d and the user unit in ~/.config/systemd/user.

    The rule gives the active seat access to Logitech Unifying receivers and the event nodes
    of the mice behind them, and starts the phantombutton user service when a receiver
    appears. Run with sudo: the unit goes to SUDO_USER's home. Exit 0 ok, 1 failure
    (also: not root, with the steps that need it).
    """
    if root is not None and not root.strip():
        # `--root "$DESTDIR"` with DESTDIR unset must not install onto the live system
        raise UsageProblem("--root needs a directory; an empty one would mean the live system "
                           "(leave --root out for that)")
    target = install.target_user()
    steps = install.plan(root=Path(root).absolute() if root is not None else None, target=target)
    if print_only:
        click.echo(install.format_plan(steps), nl=False)
        click.echo(f"# {install.next_steps(target)}")
        return 0
    need = install.missing_privilege(steps)
    if need:
        names = "; ".join(s.describe() for s in need)
        raise PhantomError(f"install-udev needs root for: {names}. Nothing was changed; "
                           f"run: sudo phantombutton install-udev (see --print)")
    install.execute(steps, log=lambda line: click.echo(line, err=True))
    if root is None:
        click.echo(install.next_steps(target), err=True)
    return 0
