"""The one way every command opens an output file.

Two kinds of output:
- `atomic_output`: the whole file appears at once or not at all. It is written to a
  temporary file in the destination's directory and renamed over the destination only when
  the writer finished without an error, so a failed or interrupted run never truncates what
  was there, and nothing is written before the caller validated its input.
- `streaming_output`: a live capture, written and flushed as it goes, so a killed capture
  stays readable. It is opened only once the capture can start.

Both refuse a destination that is a symlink (O_NOFOLLOW, and rename(2) replaces a link
rather than following it), a directory, a missing directory, or a file that is also one of
the command's inputs; every OS error becomes one line naming the path (exit 1).
`-` or None means standard output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO

from phantombutton.errors import PhantomError

STDOUT = "-"


class OutputError(PhantomError):
    """An output file cannot be written; the message names the path and the fix."""


def describe_os_error(path: str, exc: OSError) -> str:
    """One line for an OS error on an output path: what, where, and how to fix it."""
    code = exc.errno
    if code == errno.ENOSPC:
        return f"{path}: no space left on device; free some space or write elsewhere (-o)"
    if code == errno.EISDIR:
        return f"{path}: is a directory; give a file name (-o DIR/name)"
    if code == errno.ENOENT:
        return f"{os.path.dirname(path) or '.'}: no such directory; create it or write elsewhere (-o)"
    if code == errno.ELOOP:
        return f"{path}: is a symbolic link; refusing to write through it (remove it or pick another name)"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        name = errno.errorcode.get(code, str(code))
        return f"{path}: cannot write ({name}); pick a writable location (-o)"
    if code == errno.EPIPE:
        return f"{path}: the reader went away (broken pipe)"
    name = errno.errorcode.get(code or 0, str(code))
    return f"{path}: cannot write ({name}: {exc.strerror}); write elsewhere (-o)"


def _check_destination(path: str, inputs: Iterable[str]) -> os.stat_result | None:
    """Refuse a symlink, a directory, a missing parent or an input; return the lstat or None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(describe_os_error(path, exc)) from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise OutputError(describe_os_error(path, OSError(errno.ELOOP, "symlink")))
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(describe_os_error(path, OSError(errno.EISDIR, "directory")))
        for source in inputs:
            with contextlib.suppress(OSError):   # an input that cannot be stat'ed is not this file
                if os.path.samestat(os.stat(source), st):
                    raise OutputError(f"{path}: is also the input ({source}); write the output to another file")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise OutputError(describe_os_error(path, OSError(errno.ENOENT, "no directory")))
    return st


def check_output(path: str | None, *, inputs: Iterable[str] = ()) -> None:
    """The checks of both openers, alone: refuse a bad destination before long work (a
    live capture) instead of after it."""
    if path is not None and path != STDOUT:
        _check_destination(path, inputs)


def _stdout(binary: bool) -> IO:
    stream = sys.stdout
    if stream is None:
        raise OutputError("standard output is closed; redirect it or give -o FILE")
    return stream.buffer if binary else stream


@contextmanager
def atomic_output(
    path: str | None, *, inputs: Iterable[str] = (), binary: bool = False
) -> Iterator[IO]:
    """Yield a file object; on a clean exit its content replaces `path` in one rename."""
    if path is None or path == STDOUT:
        stream = _stdout(binary)
        try:
            yield stream
            stream.flush()
        except OSError as exc:
            raise OutputError(describe_os_error("standard output", exc)) from None
        return
    st = _check_destination(path, inputs)
    if st is not None and not stat.S_ISREG(st.st_mode):
        # A FIFO or a device (/dev/null): write to it directly; renaming over it would
        # replace the node itself.
        try:
            with open(path, "wb" if binary else "w", encoding=None if binary else "utf-8") as fp:
                yield fp
        except OSError as exc:
            raise OutputError(describe_os_error(path, exc)) from None
        return
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o666)
    except OSError as exc:
        raise OutputError(describe_os_error(path, exc)) from None
    done = False
    try:
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as fp:
            yield fp
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
        done = True
    except OSError as exc:
        raise OutputError(describe_os_error(path, exc)) from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def streaming_output(path: str | None, *, inputs: Iterable[str] = ()) -> IO[str]:
    """Open `path` for a live, flushed-as-it-goes text stream (the caller closes it)."""
    if path is None or path == STDOUT:
        return _stdout(False)
    _check_destination(path, inputs)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        raise OutputError(describe_os_error(path, exc)) from None
    return os.fdopen(fd, "w", encoding="utf-8")


class StdoutError(OutputError):
    """A write to standard output failed (`> /dev/full`, `>&-`, `| head`)."""

    def __init__(self, exc: OSError):
        self.broken_pipe = exc.errno == errno.EPIPE
        if exc.errno == errno.EBADF:
            super().__init__("standard output is closed; redirect it (> FILE) or give -o FILE")
        else:
            super().__init__(describe_os_error("standard output", exc))


class _GuardedStdout:
    """sys.stdout for the length of a command: its write errors become StdoutError, one
    line, whichever command printed (click.echo, json, the capture writer)."""

    def __init__(self, stream: IO[str] | None):
        self._stream = stream

    def write(self, s: str) -> int:
        if self._stream is None:   # fd 1 was closed at start (`>&-`): Python set stdout to None
            raise StdoutError(OSError(errno.EBADF, "closed"))
        try:
            return self._stream.write(s)
        except OSError as e:
            raise StdoutError(e) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except OSError as e:
            raise StdoutError(e) from None

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    @property
    def closed(self) -> bool:
        return self._stream is None

    def __getattr__(self, name: str):
        if self._stream is None:
            raise StdoutError(OSError(errno.EBADF, "closed"))
        return getattr(self._stream, name)


@contextmanager
def guarded_stdout() -> Iterator[None]:
    """Run a command with stdout guarded (see _GuardedStdout); flushes it at the end, so a
    buffered write fails here and not in the interpreter's exit."""
    saved = sys.stdout
    sys.stdout = _GuardedStdout(saved)
    try:
        yield
        sys.stdout.flush()
    finally:
        sys.stdout = saved
