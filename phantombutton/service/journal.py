"""One line per action, in the form the journal understands.

Under systemd, stdout and stderr are journal streams and a leading `<N>` sets the entry's
priority (sd-daemon(3)); systemd tells us via $JOURNAL_STREAM. On a terminal the priority is
a word instead and lines carry a time stamp.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, TextIO

# syslog priorities (sd-daemon.h)
ERR, WARNING, NOTICE, INFO, DEBUG = 3, 4, 5, 6, 7
_WORD = {ERR: "error", WARNING: "warning", NOTICE: "notice", INFO: "info", DEBUG: "debug"}


class Journal:
    def __init__(self, stream: TextIO | None = None, *, journal: bool | None = None,
                 debug: bool = False, sink: Callable[[int, str], None] | None = None):
        self.stream = stream if stream is not None else sys.stdout
        self.journal = bool(os.environ.get("JOURNAL_STREAM")) if journal is None else journal
        self.debug_enabled = debug
        self.sink = sink          # tests: receives (priority, message) as well

    def log(self, priority: int, message: str) -> None:
        if priority == DEBUG and not self.debug_enabled:
            return
        message = " ".join(message.splitlines())   # one entry per action, never two
        if self.sink is not None:
            self.sink(priority, message)
        line = (f"<{priority}>{message}" if self.journal
                else f"{time.strftime('%H:%M:%S')} {_WORD[priority]}: {message}")
        print(line, file=self.stream, flush=True)

    def error(self, m: str) -> None: self.log(ERR, m)
    def warning(self, m: str) -> None: self.log(WARNING, m)
    def notice(self, m: str) -> None: self.log(NOTICE, m)
    def info(self, m: str) -> None: self.log(INFO, m)
    def debug(self, m: str) -> None: self.log(DEBUG, m)
