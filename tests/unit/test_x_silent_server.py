"""An X server that accepts connections and never answers (a hung or hostile server).

python-xlib waits for the connection setup's answer in select() without a timeout, so every
command that talks to X hung: `status`, `release`, `watch` and the daemon (before "started",
so `daemon --for` was not honoured either). The server here is real: a unix socket in
/tmp/.X11-unix that accepts and keeps every connection open without writing a byte. The
commands run as subprocesses, under a timeout: a hang fails the test instead of hanging it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from phantombutton.input import xinput
from phantombutton.input.xinput import XSession, XUnavailable

X_TIMEOUT = 2.0   # xinput.X_TIMEOUT, as the messages say it

X11_DIR = Path("/tmp/.X11-unix")
CLI = [sys.executable, "-m", "phantombutton.cli.main"]


def _listen(kind: str):
    """A listener on a free display number: "silent" accepts and never answers, "close"
    accepts and closes at once. Returns (display name, stop function)."""
    for n in range(170, 400):
        path = X11_DIR / f"X{n}"
        if path.exists():
            continue
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            srv.bind(str(path))
        except OSError:
            srv.close()
            continue
        break
    else:
        pytest.skip("no free X display number in /tmp/.X11-unix")
    srv.listen(16)
    kept: list[socket.socket] = []
    stopping = threading.Event()

    def serve():
        while not stopping.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            if kind == "close":
                conn.close()
            else:
                kept.append(conn)      # held open, never written to

    threading.Thread(target=serve, daemon=True).start()

    def stop():
        stopping.set()
        srv.shutdown(socket.SHUT_RDWR)
        srv.close()
        for c in kept:
            c.close()
        path.unlink(missing_ok=True)

    return f":{n}", stop


@pytest.fixture
def silent_x(monkeypatch):
    if not (X11_DIR.is_dir() and os.access(X11_DIR, os.W_OK)):
        pytest.skip("/tmp/.X11-unix is not writable")
    display, stop = _listen("silent")
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    yield display
    stop()


def run(args: list[str], timeout: float = 20) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    proc = subprocess.run(CLI + args, check=False, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ), stdin=subprocess.DEVNULL)
    return proc, time.monotonic() - t0


def test_xsession_gives_up_on_a_silent_server(silent_x):
    t0 = time.monotonic()
    with pytest.raises(XUnavailable, match=rf"X display {silent_x} did not answer within 0.5 s; "
                                           "watching evdev only"):
        XSession(timeout=0.5)
    assert time.monotonic() - t0 < 2.0


def test_default_timeout_is_bounded(silent_x):
    assert xinput.X_TIMEOUT == X_TIMEOUT
    t0 = time.monotonic()
    with pytest.raises(XUnavailable, match="did not answer within 2 s"):
        XSession()
    assert X_TIMEOUT - 0.1 < time.monotonic() - t0 < X_TIMEOUT + 1.5


@pytest.mark.parametrize("args,words", [
    (["--virtual", "status"], "no phantom button held"),
    (["--virtual", "release", "1", "20"], "is not held"),
    (["--virtual", "watch", "--duration", "1"], "watching Logitech M705"),
])
def test_commands_say_once_and_go_on_with_evdev(silent_x, args, words):
    proc, took = run(args)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert out.count(f"X display {silent_x} did not answer within 2 s; watching evdev only") == 1, out
    assert words in out
    assert took < 15


def test_daemon_for_is_honoured_with_a_silent_server(silent_x, tmp_path):
    # the hardware parts (no receiver on this host): the daemon opens X before "started"
    env_cfg = tmp_path / "config.toml"
    env_cfg.write_text("")
    proc, took = run(["daemon", "--config", str(env_cfg), "--for", "1"])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "no X connection: X display" in out and "did not answer" in out, out
    assert "started" in out and out.rstrip().endswith("stopped"), out
    # --for counts from the start: the X wait is inside the second, not added to it
    assert "within 2 s" not in out, out
    assert took < 1 + X_TIMEOUT + 3, took


def test_a_server_that_closes_is_still_a_clean_refusal(monkeypatch):
    if not (X11_DIR.is_dir() and os.access(X11_DIR, os.W_OK)):
        pytest.skip("/tmp/.X11-unix is not writable")
    display, stop = _listen("close")
    try:
        t0 = time.monotonic()
        with pytest.raises(XUnavailable, match=f"cannot open X display {display}"):
            XSession(display)
        assert time.monotonic() - t0 < 2.0
    finally:
        stop()


@pytest.mark.xvfb
def test_a_real_server_answers_the_probe(xvfb):
    problem, sock = xinput.probe_display(xvfb, timeout=5)
    assert problem is None and sock is not None
    sock.close()
    s = XSession(xvfb)       # and the session is opened as before
    try:
        assert any(p.is_master for p in s.pointers())
    finally:
        s.close()
