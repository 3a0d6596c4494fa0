"""The daemon's stale-diversion guard, kept beside daemon.py (which feeds it).

`watch`'s DiversionGuard (recovery/diversion.py; the rule in detect/diversion.py) on the
reports the daemon already reads: each mouse as the Detector knows it (receiver node and
slot, or a direct mouse's node and DIRECT_INDEX), every HID++ report as HidppTraffic, the
DJ mouse reports' presses as key events and their AC Pan as a Motion with `hwheel` (the
repairs' verification). Its device reads go through the link's own engine (the wheel guard's
`_access`).

A control diverted to HID++ whose diverted-button event arrives, or a thumb wheel whose
THUMB_WHEEL event arrives, while no other process holds the node open is stale. The daemon
says so in the journal; it resets it (only the flags set, or the thumb wheel's reporting mode,
read back, then verified by the next press or turn where they are seen) only when
`[fix] reset-stale-diversions = true`. Off by default: the daemon runs unattended, and a
reset takes away what a remapper set, so a program that diverts, exits and is restarted later
(its node closed meanwhile) would lose its setting without the user having asked; `watch
--fix` and `set DEVICE diversions reset` remain the interactive ways. Owned (another program
holds the node) and unknown (/proc does not tell) diversions are never reset.
"""

from __future__ import annotations

from phantombutton.recovery.diversion import DiversionGuard
from phantombutton.recovery.diversion_base import DiversionEvent

_PRIORITY = {"finding": "warning", "failed": "error", "not-verified": "warning",
             "repaired": "notice", "verified": "notice", "learned": "info", "note": "info"}


class DaemonDiversions:
    def __init__(self, daemon):
        self.daemon = daemon
        self.guard = DiversionGuard(daemon.wheel._access, daemon.platform.listeners,
                                    fix=daemon.config.fix.reset_stale_diversions,
                                    clock=daemon.clock, learn_buttons=False,
                                    unfixed_hint="not reset: reset-stale-diversions is off in the configuration "
                                                 "(phantombutton set DEVICE diversions reset)")

    def feed(self, obs) -> None:
        self._log(self.guard.feed(obs))

    def tick(self) -> None:
        self._log(self.guard.tick(self.daemon.clock()))

    def _log(self, events: list[DiversionEvent]) -> None:
        journal = self.daemon.journal
        for e in events:
            getattr(journal, _PRIORITY.get(e.kind, "info"))(f"{e.device}: {e.message}")
            for line in e.evidence:
                journal.info(f"  {line}")
