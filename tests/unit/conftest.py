"""Shared fixtures of the host suite: a real Xvfb server for the X paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest


def start_xvfb(display: str | None = None) -> tuple[subprocess.Popen, str]:
    """Start Xvfb on a free display (or on `display`, e.g. to restart one) and return once
    clients can connect. -noreset: a server that resets when its last client leaves drops
    the next connection."""
    if display is None:
        r, w = os.pipe()
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-noreset", "-nolisten", "tcp"],
                                pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as f:
            number = f.readline().strip()   # written once the server is ready
        if not number:
            proc.kill()
            pytest.fail("Xvfb did not start")
        return proc, f":{number}"
    proc = subprocess.Popen(["Xvfb", display, "-noreset", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["xdpyinfo", "-display", display], capture_output=True).returncode == 0:
            return proc, display
        time.sleep(0.05)
    proc.kill()
    pytest.fail("Xvfb did not come back up")


@pytest.fixture(scope="module")
def xvfb():
    """The display name of a private Xvfb, for the tests of one module."""
    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb not installed (scripts/test installs it)")
    proc, display = start_xvfb()
    yield display
    proc.terminate()
    proc.wait(5)


@pytest.fixture(autouse=True)
def _private_button_cache(tmp_path_factory, monkeypatch):
    """Each test sees its own empty $XDG_CACHE_HOME: no button map learnt by another test or
    by the user (phantombutton/buttoncache.py) decides what a model has."""
    from phantombutton import buttoncache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    buttoncache.forget()
    yield
    buttoncache.forget()
