"""The one way a command opens a file it reads (a capture; any file a stranger attached).

`open_input` refuses what is not a file of data and never blocks forever:
- a directory, a device node (/dev/zero, /dev/full, a tty) are refused with one line;
- a FIFO or pipe (`<(cat f)`, /dev/stdin from a pipe) is read, but a FIFO with no writer
  is given `FIFO_WAIT` seconds to get one, then refused (open(2) of a FIFO would block
  until a writer appears: fifo(7));
- a read error after open (EIO on /proc/self/mem) becomes one line naming the file.

`BoundedLines` reads lines of at most `max_line` bytes with readline(limit), so a file with
no newline (50 MB of one line, /proc/self/mem) costs `max_line` bytes, not its size.
Errors are `BadInput` (exit 1).
"""

from __future__ import annotations

import errno
import os
import select
import stat
from collections.abc import Iterator
from typing import BinaryIO

from phantombutton.errors import BadInput

FIFO_WAIT = 10.0          # seconds a FIFO may stay without a writer
MAX_LINE = 1 << 20        # 1 MiB: our longest line (a header's descriptor in hex) is ~10 kB


def _why(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f" ({name})" if name else "")


def open_input(path: str) -> BinaryIO:
    """Open `path` for reading in binary, refusing directories and devices (see above)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; cleared again below
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise BadInput(f"{path}: cannot open: {_why(e)}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise BadInput(f"{path}: is a directory, not a capture file")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            raise BadInput(f"{path}: is a device, not a capture file; give a file (or a pipe)")
        if stat.S_ISFIFO(st.st_mode):
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLHUP)
            if not poller.poll(FIFO_WAIT * 1000):
                raise BadInput(f"{path}: a FIFO with no writer after {FIFO_WAIT:g} s; "
                               "start the program that writes it first")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class BoundedLines:
    """Iterate the lines of a binary file, each at most `max_line` bytes (with its newline).

    `number` is the current line number; `cut` is True when the current line is the last
    and has no newline (the file was truncated in the middle of it)."""

    def __init__(self, f: BinaryIO, path: str, max_line: int = MAX_LINE):
        self.f = f
        self.path = path
        self.max_line = max_line
        self.number = 0
        self.cut = False

    def __iter__(self) -> Iterator[bytes]:
        readline = self.f.readline
        limit = self.max_line + 1
        while True:
            try:
                raw = readline(limit)
            except OSError as e:
                raise BadInput(f"{self.path} line {self.number + 1}: read error: {_why(e)}") from None
            if not raw:
                return
            self.number += 1
            if raw[-1:] != b"\n":
                if len(raw) == limit:
                    raise BadInput(f"{self.path} line {self.number}: longer than "
                                   f"{self.max_line} bytes; not a capture file")
                self.cut = True
            yield raw
