"""`python -m MODULE` and `python -c CODE` for the lab's tests, forked from the test process.

Under TCG a new interpreter costs about 1 s to start and 2 s more to import the CLI (click
alone about 1 s); the lab starts a few hundred of them. `ForkedPython` is a subprocess.Popen
whose child is a fork of this (pytest) process, in which the project and its heavy
dependencies are already imported (`preload`), instead of an exec of a new interpreter. The
child is still a real child process with its own pid, stdio pipes, environment, working
directory, signals and exit status, so the tests drive it exactly as they drive a Popen.

What the child gets, as a fresh `python` would:
- fds 0-2 from the Popen arguments; every other fd closed unless in pass_fds (close_fds);
- the default signal dispositions of a new interpreter (SIGINT -> KeyboardInterrupt, SIGPIPE
  and SIGXFSZ ignored, nothing blocked), no faulthandler;
- new sys.stdin/stdout/stderr on fds 0-2, buffered as CPython buffers them (Python/pylifecycle.c
  create_stdio: line-buffered on a tty, stderr always line-buffered);
- sys.argv as `-m`/`-c` sets it, sys.path[0] the working directory (`-m`) or '' (`-c`);
- the exit status CPython gives: SystemExit's code, 1 and a traceback on an exception, death by
  SIGINT on an uncaught KeyboardInterrupt (Modules/main.c exit_sigint), atexit handlers run.

Not the same: modules are imported before the child starts (the project has no import-time
side effects; a test of start-up itself, like the `info` against `solaar show` benchmark, runs
the real executable), state the test process cached from its own environment is inherited
(tempfile's directory is reset here, as a report test sets TMPDIR), and /proc/PID/cmdline
shows pytest's command line.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import io
import os
import pkgutil
import runpy
import signal
import subprocess
import sys
import tempfile
import traceback

# What the CLI, the uhid bridge and the X clients of the tests import at some point: all of
# phantombutton (its commands import lazily), and the optional heavy libraries.
HEAVY = ("click", "evdev", "hidraw", "Xlib.display", "Xlib.ext.xinput")


def preload() -> None:
    """Import what the children need, once per boot, in the test process they fork from."""
    import phantombutton

    for info in pkgutil.walk_packages(phantombutton.__path__, "phantombutton."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    for name in HEAVY:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def is_python(argv) -> bool:
    """An argv this module can run: [sys.executable, '-m', MODULE, ...] or [..., '-c', CODE, ...]."""
    return (not isinstance(argv, (str, bytes)) and len(argv) >= 3 and str(argv[0]) == sys.executable
            and argv[1] in ("-m", "-c"))


class ForkedPython(subprocess.Popen):
    """subprocess.Popen of `python -m`/`-c`, run in a fork of this process (see the module doc)."""

    def _execute_child(self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env,
                       startupinfo, creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite,
                       errread, errwrite, restore_signals, gid, gids, uid, umask,
                       start_new_session, process_group):
        if shell or preexec_fn or not is_python(args):
            raise ValueError(f"ForkedPython runs `python -m|-c ...` only, not {args!r}")
        sys.stdout.flush()
        sys.stderr.flush()
        # Objects of the test process that are garbage now would be finalized in the child,
        # closing fds that by then it has reused: finalize them here, where those fds belong.
        gc.collect()
        pid = os.fork()
        if pid == 0:
            _child([str(a) for a in args[1:]], close_fds, pass_fds, cwd, env,
                   (p2cread, c2pwrite, errwrite), start_new_session, process_group)
        self.pid = pid
        self._child_created = True
        self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)


def _child(args, close_fds, pass_fds, cwd, env, stdio, new_session, process_group) -> None:
    """In the forked child: become a fresh interpreter running `args`; never returns."""
    code = 1
    try:
        gc.freeze()   # the parent's objects (collected just before the fork) are never walked again
        _keep = (sys.stdin, sys.stdout, sys.stderr)   # noqa: F841 -- never finalized either
        for target, fd in enumerate(stdio):
            if fd != -1 and fd != target:
                os.dup2(fd, target)
        if close_fds:
            keep = sorted({0, 1, 2, *pass_fds})
            for low, high in zip(keep, keep[1:] + [os.sysconf("SC_OPEN_MAX")], strict=False):
                os.closerange(low + 1, high)
        if cwd is not None:
            os.chdir(cwd)
        if new_session:
            os.setsid()
        elif process_group is not None and process_group >= 0:
            os.setpgid(0, process_group)
        if env is not None:
            os.environ.clear()
            os.environ.update({os.fsdecode(k): os.fsdecode(v) for k, v in env.items()})
        tempfile.tempdir = None   # the test process's choice, cached from its own TMPDIR
        _fresh_signals()
        _fresh_stdio()
        atexit._clear()
        code = _run(args)
    except BaseException:   # noqa: BLE001 -- the child must end here, whatever happened
        try:
            traceback.print_exc()
        finally:
            os._exit(1)
    os._exit(code)


def _fresh_signals() -> None:
    import faulthandler

    faulthandler.disable()
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    signal.set_wakeup_fd(-1)
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _fresh_stdio() -> None:
    def stream(fd: int, mode: str, errors: str, line: bool | None = None):
        raw = io.FileIO(fd, mode, closefd=False)
        tty = raw.isatty()
        buffered = (io.BufferedReader if mode == "r" else io.BufferedWriter)(raw)
        return io.TextIOWrapper(buffered, encoding="utf-8", errors=errors,
                                line_buffering=tty if line is None else line, write_through=False)

    sys.stdin = sys.__stdin__ = stream(0, "r", "surrogateescape")
    sys.stdout = sys.__stdout__ = stream(1, "w", "surrogateescape")
    sys.stderr = sys.__stderr__ = stream(2, "w", "backslashreplace", line=True)


def _run(args: list[str]) -> int:
    """`python -m MODULE ARGS` or `python -c CODE ARGS` in this process; the exit status."""
    flag, target, rest = args[0], args[1], args[2:]
    code = 0
    try:
        if flag == "-m":
            sys.argv = [target, *rest]          # run_module sets argv[0] to the file
            sys.path[0] = os.getcwd()
            # as under `python -m`, the module is not imported yet when it runs as __main__
            # (runpy warns otherwise); what it imports is
            sys.modules.pop(target, None)
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *rest]
            sys.path[0] = ""
            exec(compile(target, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except SystemExit as e:
        code = _exit_status(e.code)
    except KeyboardInterrupt:
        _finish()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:   # noqa: BLE001 -- what the interpreter does with an uncaught one
        traceback.print_exc()
        code = 1
    _finish()
    return code


def _exit_status(value) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _finish() -> None:
    import threading

    threading._shutdown()   # what Py_FinalizeEx does: wait for non-daemon threads
    atexit._run_exitfuncs()
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass
