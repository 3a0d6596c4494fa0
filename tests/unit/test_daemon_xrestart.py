"""The daemon's X connection on a real Xvfb: kept between releases, dropped when the server
goes away, opened again once a new one is there; no X at all costs nothing.

The host has no event nodes, so the release itself reads "nothing held" (the kernel state of
a non-existent node is unknown); what is under test is that every release returns an
outcome instead of raising, and which X connection it used.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import start_xvfb

from phantombutton.recovery.chain import Outcome, Target
from phantombutton.service.parts import KeptX, chain_release
from phantombutton.service.platform import HardwarePlatform

# a mouse node that exists nowhere: the chain finds it not held, X is what we watch
HELD = Target(device="M705 slot 1", node="/dev/input/event99", code=0x11F, x_button=20, x_slave_id=None,
              model_has_button=False)

pytestmark = pytest.mark.skipif(not shutil.which("Xvfb"), reason="Xvfb not installed")


class Releaser:
    """What the daemon does for one held button: the chain, over the X connection it keeps."""

    def __init__(self, platform: HardwarePlatform):
        self.platform, self.kept = platform, KeptX(platform)

    def release(self, held: Target) -> Outcome:
        return chain_release(self.platform, self.kept, held, allow_mute=False)

    @property
    def _x(self):
        return self.kept.x


@pytest.fixture
def hw(monkeypatch, tmp_path):
    platform = HardwarePlatform(sysfs=str(tmp_path))
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    return Releaser(platform)


def test_x_server_restart_is_survived(hw, monkeypatch):
    proc, display = start_xvfb()
    monkeypatch.setenv("DISPLAY", display)
    try:
        first = hw.release(HELD)
        assert isinstance(first, Outcome) and "[X:" not in first.detail()
        kept = hw._x
        assert kept is not None
        assert hw.release(HELD) and hw._x is kept             # one connection, reused

        proc.terminate()
        proc.wait(5)
        proc, _ = start_xvfb(display)                         # X restarted (same display)
        lost = hw.release(HELD)
        assert "X: connection lost" in lost.detail(), lost.detail()
        assert hw._x is None

        again = hw.release(HELD)                              # the new server is picked up
        assert "[X:" not in again.detail() and hw._x is not None and hw._x is not kept
        assert hw._x.pointers()
    finally:
        proc.terminate()
        proc.wait(5)


def test_no_display_means_evdev_only(hw, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    out = hw.release(HELD)
    assert "no X display (DISPLAY is not set)" in out.detail()
    assert hw._x is None


def test_display_set_but_no_server(hw, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":97")
    out = hw.release(HELD)
    assert "cannot open X display :97" in out.detail()
    assert hw._x is None
