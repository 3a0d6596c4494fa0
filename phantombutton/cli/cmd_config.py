"""`phantombutton config`: print the effective configuration and where it came from."""

from __future__ import annotations

import click

from phantombutton.service import config


@click.command("config")
@click.option("--file", "path", default=None, metavar="FILE",   # checked by config.load: exit 1
              help="Read this file instead of ~/.config/phantombutton/config.toml.")
@click.option("--path", "show_path", is_flag=True, help="Only print the path of the config file.")
def command(path: str | None, show_path: bool) -> int:
    """Print the effective configuration as TOML.

    Values not set in the file are marked `# default`. A bad or unreadable file (a
    directory, not UTF-8, nonsense values) is reported with its file name, line and key
    (exit 1).
    """
    if show_path:
        click.echo(str(path or config.default_path()))
        return 0
    click.echo(config.to_toml(config.load(path)), nl=False)
    return 0
