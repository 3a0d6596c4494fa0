"""`phantombutton daemon`: apply settings and release phantom buttons on every (re)connect.

Run by the systemd user unit (udev/phantombutton.service); lines go to stdout with a `<N>`
priority prefix when systemd's journal is the stream. Exit 0 on SIGTERM/SIGINT, 78
(EX_CONFIG) for a bad configuration file, which the unit does not restart.
"""

from __future__ import annotations

import os
import signal
import time

import click

from phantombutton.cli.argtypes import POSITIVE_SECONDS
from phantombutton.errors import BadInput
from phantombutton.service import config
from phantombutton.service.daemon import Daemon
from phantombutton.service.journal import Journal
from phantombutton.service.sleep import SleepUnavailable, SleepWatch

EX_CONFIG = 78


@click.command("daemon")
@click.option("--config", "config_path", default=None, metavar="FILE",  # config.load checks: 78
              help="Configuration file (default: ~/.config/phantombutton/config.toml).")
@click.option("--for", "run_for", type=POSITIVE_SECONDS, default=None, metavar="SECONDS",
              help="Stop after SECONDS (tests, trying it out).")
@click.pass_obj
def command(opts, config_path: str | None, run_for: float | None) -> int:
    """Listen on every Unifying receiver; on each mouse connection apply the configured
    settings, and release phantom held buttons (with back-off for repeat offenders).

    Exit 0 on SIGTERM/SIGINT, 1 on failure, 78 for a bad configuration file.
    """
    # --for counts from the start, whatever the set-up below waits for (a silent X server)
    deadline = None if run_for is None else time.monotonic() + run_for
    journal = Journal(debug=bool(opts and opts.debug))
    try:
        cfg = config.load(config_path)
    except BadInput as e:
        # Refuse to start rather than guess; systemd shows this line and status 78.
        journal.error(f"bad configuration, not starting: {e}")
        return EX_CONFIG
    if cfg.path:
        journal.info(f"configuration: {cfg.path}")
    if os.geteuid() == 0:
        journal.warning("running as root; the user unit runs unprivileged with the udev rule's access")

    try:   # logind's PrepareForSleep: re-check every device on resume (service/sleep.py)
        sleep = SleepWatch()
    except SleepUnavailable as e:
        journal.info(f"{e}; a resume is noticed by wheel activity and reconnections only")
        sleep = None
    daemon = Daemon(opts.platform, cfg, journal, logind=sleep)
    # the X connection now rather than at the first release; absent or silent X is fine (said once)
    if x_note := daemon.x.connect(None if deadline is None else deadline - time.monotonic()):
        journal.info(f"no X connection: {x_note}")

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: daemon.stop())
    daemon.run(until=(lambda: time.monotonic() >= deadline) if deadline else (lambda: False))
    journal.info("stopped")
    return 0
