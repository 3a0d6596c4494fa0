"""`phantombutton daemon`: apply settings and release phantom buttons on every (re)connect.

Run by the systemd user unit (udev/phantombutton.service); lines go to stdout with a `<N>`
priority prefix when systemd's journal is the stream. Exit 0 on SIGTERM/SIGINT, 78
(EX_CONFIG) for a bad configuration file, which the unit does not restart.
"""

from __future__ import annotations

import click

EX_CONFIG = 78


@click.command("daemon")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Configuration file (default: ~/.config/phantombutton/config.toml).")
@click.option("--for", "run_for", type=float, default=None, metavar="SECONDS",
              help="Stop after SECONDS (tests, trying it out).")
@click.pass_obj
def command(opts, config_path: str | None, run_for: float | None) -> int:
    """Listen on every Unifying receiver; on each mouse connection apply the configured
    settings, and release phantom held buttons (with back-off for repeat offenders).

    Exit 0 on SIGTERM/SIGINT, 1 on failure, 78 for a bad configuration file.
    """
    import os
    import signal
    import time

    from phantombutton.errors import BadInput
    from phantombutton.service import config
    from phantombutton.service.daemon import Daemon
    from phantombutton.service.journal import Journal

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

    if opts is not None and opts.virtual:
        from phantombutton.service.parts import VirtualParts
        from phantombutton.virtual.receiver import VirtualReceiver

        parts = VirtualParts(VirtualReceiver(profile=opts.profile),
                             allow_mute=cfg.fix.mute_unknown_buttons)
    else:
        from phantombutton.service.parts import HardwareParts

        parts = HardwareParts(allow_mute=cfg.fix.mute_unknown_buttons)
        parts.connect_x()   # now rather than at the first release; absent X is fine
    from phantombutton.service.sleep import SleepUnavailable, SleepWatch

    try:   # logind's PrepareForSleep: re-check every device on resume (service/sleep.py)
        sleep = SleepWatch()
    except SleepUnavailable as e:
        journal.info(f"{e}; a resume is noticed by wheel activity and reconnections only")
        sleep = None
    daemon = Daemon(parts, cfg, journal, sleep=sleep)

    def stop(signum, frame):
        daemon.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = None if run_for is None else time.monotonic() + run_for
    daemon.run(until=(lambda: time.monotonic() >= deadline) if deadline else (lambda: False))
    journal.info("stopped")
    return 0
