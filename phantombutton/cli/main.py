"""Entry point: a click group whose commands are imported only when used.

`phantombutton --help` must start fast (goal <= 150 ms), so nothing heavy is imported here:
each verb lives in its own module, named in COMMANDS, and is loaded on demand.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import TYPE_CHECKING

import click

from phantombutton import __version__
from phantombutton.errors import EXIT_FAILURE, PhantomError, UsageProblem
from phantombutton.hidpp.errors import HidppError
from phantombutton.outfile import StdoutError, guarded_stdout

if TYPE_CHECKING:   # annotation only: the platform's modules load when a command needs one
    from phantombutton.transport.platform import Platform

# verb -> (module, attribute, one-line help shown by --help without importing the module)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "list": ("phantombutton.cli.cmd_list", "command", "List receivers and paired devices."),
    "info": ("phantombutton.cli.cmd_info", "command", "Show receiver and device details."),
    "get": ("phantombutton.cli.cmd_settings", "get_command", "Read a device setting."),
    "buttons": ("phantombutton.cli.cmd_buttons", "command", "A mouse's buttons, read from the mouse."),
    "set": ("phantombutton.cli.cmd_settings", "set_command", "Write a device setting, read it back."),
    "watch": ("phantombutton.cli.cmd_watch", "command", "Detect phantom held buttons live."),
    "status": ("phantombutton.cli.cmd_status", "command", "One-shot check for held phantom buttons."),
    "release": ("phantombutton.cli.cmd_release", "command", "Release a stuck button for real."),
    "fix-wheel": ("phantombutton.cli.cmd_wheel", "command", "Put a too slow/fast or dead wheel back in sync."),
    "reset-receiver": ("phantombutton.cli.cmd_reset", "command", "Unbind and rebind a stuck receiver."),
    "mute": ("phantombutton.cli.cmd_mute", "mute_command", "Mute a button the model does not have."),
    "unmute": ("phantombutton.cli.cmd_mute", "unmute_command", "Undo `mute`."),
    "capture": ("phantombutton.cli.cmd_capture", "command", "Record events and HID++ traffic."),
    "analyze": ("phantombutton.cli.cmd_analyze", "command", "Analyze a capture offline."),
    "report": ("phantombutton.cli.cmd_report", "command", "One archive for a bug report."),
    "daemon": ("phantombutton.cli.cmd_daemon", "command", "Apply fixes when a mouse (re)connects."),
    "config": ("phantombutton.cli.cmd_config", "command", "Print the effective configuration."),
    "install-udev": ("phantombutton.cli.cmd_install", "command", "Install the udev rule and user unit."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][2]) for name in sorted(COMMANDS)])


class Options:
    """Global options, passed to every command as the click context object. `platform`
    (transport/platform.py) is chosen here and nowhere else: the hardware, or with
    --virtual the virtual receiver behind its kernel model. Built at first use, so that
    `--help` and the file commands import neither."""

    def __init__(self, virtual: bool, profile: str, debug: bool):
        self.virtual = virtual
        self.profile = profile
        self.debug = debug
        self._platform: Platform | None = None

    @property
    def platform(self) -> Platform:
        if self._platform is None:
            if self.virtual:
                # only with --virtual: the receiver and kernel models cost 41 ms to import
                from phantombutton.virtual.platform import VirtualPlatform

                self._platform = VirtualPlatform(self.profile)   # unknown profile: exit 2
            elif self.profile != "default":
                raise UsageProblem(f"--profile {self.profile} needs --virtual (profiles are virtual receivers)")
            else:
                # not for --help and the file commands (analyze, config, capture --convert):
                # the hardware platform costs 24 ms to import
                from phantombutton.service.platform import HardwarePlatform

                self._platform = HardwarePlatform()
        return self._platform


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="phantombutton")
@click.option("--virtual", is_flag=True, help="Use a built-in virtual receiver or mouse (see --profile).")
@click.option(
    "--profile",
    default="default",
    show_default=True,
    metavar="NAME",
    help="Virtual receiver profile (see `--virtual list`); only with --virtual.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and HID++ traffic on stderr.")
@click.pass_context
def cli(ctx: click.Context, virtual: bool, profile: str, debug: bool) -> None:
    """Diagnose and repair Logitech mice: phantom held buttons, wheels, diversions, settings.

    Exit codes: 0 ok, 1 failure, 2 usage error; `status` and `analyze` document theirs.
    """
    ctx.obj = Options(virtual=virtual, profile=profile, debug=debug)
    _debug[0] = debug


# --debug as click parsed it: set by the group's callback, which runs before any command.
# Never `"--debug" in argv`: that is also true of `analyze -- --debug` (a file named so).
_debug = [False]


def main(argv: list[str] | None = None) -> int:
    _debug[0] = False
    try:
        with guarded_stdout():   # a write error on stdout: one line, whoever printed
            rv = cli.main(args=argv, prog_name="phantombutton", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except StdoutError as e:
        if e.broken_pipe:   # the reader left (`| head`): nothing to say; silence the exit flush
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        else:
            click.echo(f"phantombutton: {e}", err=True)
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        click.echo("phantombutton: aborted", err=True)
        return EXIT_FAILURE
    except (PhantomError, HidppError) as e:
        if _debug[0]:
            raise
        click.echo(f"phantombutton: {e}", err=True)
        return e.exit_code if isinstance(e, PhantomError) else EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug of ours: one line unless --debug
        if _debug[0]:
            raise
        click.echo(
            f"phantombutton: internal error: {type(e).__name__}: {e} (run with --debug for a traceback)",
            err=True,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
