"""Fixtures for the lab guest (see tests/lab/runner.py): real kernel, uhid bridge, nodes.

These tests only make sense inside the qemu guest, where the runner sets PB_LAB=1.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import forkrun  # noqa: E402
import labkit  # noqa: E402

MODULES = ("uhid", "uinput", "evdev", "hid-logitech-dj", "hid-logitech-hidpp")


def pytest_sessionstart(session):
    if labkit.in_guest():
        forkrun.preload()   # the CLI and bridge children fork from here with it imported


def pytest_collection_modifyitems(config, items):
    if labkit.in_guest():
        return
    skip = pytest.mark.skip(reason="lab test: runs in the qemu guest (python tests/lab/runner.py)")
    for item in items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def lab_modules():
    labkit.modprobe(*MODULES)
    assert os.path.exists("/dev/uhid")


def _save_bridge_log(bridge: labkit.Bridge, label: str) -> None:
    stage = os.environ.get("PB_LAB_STAGE", "x")
    if bridge.log_path.exists():
        labkit.OUT.mkdir(parents=True, exist_ok=True)
        with open(labkit.OUT / f"stage{stage}-uhid.log", "a") as out:
            out.write(f"# ---- {label} (profile {bridge.profile})\n")
            out.write(bridge.log_path.read_text(errors="replace"))


@pytest.fixture(scope="module")
def bridge(lab_modules, request):
    """The virtual receiver ('default' profile: C52B + M705 101B in slot 1) behind /dev/uhid."""
    b = labkit.Bridge("default").start()
    yield b
    b.stop()
    _save_bridge_log(b, request.module.__name__)


@pytest.fixture
def fresh_bridge(lab_modules, request):
    """A receiver of its own for one test. Not in a module that uses `bridge`: two receivers
    with the same phys would look like two interfaces of one to hid-logitech-dj."""
    b = labkit.Bridge("default").start()
    yield b
    b.stop()
    _save_bridge_log(b, request.node.name)


@pytest.fixture
def event_node(bridge):
    return labkit.m705_event_node()


@pytest.fixture
def receiver_node(bridge):
    return labkit.receiver_node()


@pytest.fixture
def m705_node(bridge):
    return labkit.m705_hidraw()


@pytest.fixture(scope="session")
def udevd(lab_modules):
    """systemd-udevd with coldplug done (libinput and Solaar need udev properties)."""
    if not shutil.which("udevadm"):
        pytest.fail("udevadm missing: the runner should have installed the Debian package udev")
    labkit.start_udevd()


# ---------------------------------------------------------------- stage 2: Xorg
class XSession:
    """Xorg (dummy video) with the emulated M705 as its only pointer, plus a desktop-like
    client selecting ButtonPress on the root window. What watch/recovery tests build on:
    `bridge` scripts the mouse, `event_node` is its evdev node, `x` the server
    (`x.button_down(20)`, `x.slave_id()`, `x.env()` for DISPLAY), `client.poll()` the button
    events the desktop client received."""

    def __init__(self, driver, bridge, event_node, x, client):
        self.driver = driver
        self.bridge = bridge
        self.event_node = event_node
        self.x = x
        self.client = client

    def press_phantom(self) -> None:
        """The bug: a DJ mouse report with HID button 16 -> X button 20 held, grab stuck."""
        self.bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        labkit.wait_for(lambda: self.x.button_down(20), 10, 0.1, what="button[20]=down")

    def reset(self) -> None:
        """Back to nothing held, in the kernel's HID cache too (a model release report)."""
        self.bridge.call("press", slot=1, buttons=0)
        if self.x.proc.poll() is None and self.x.button_down(20):
            labkit.release_via_evdev(self.event_node)
        labkit.wait_for(lambda: not self.x.button_down(20), 10, 0.1, what="button[20]=up")


XORG_DRIVERS = ("evdev", "libinput")


@pytest.fixture(scope="module", params=XORG_DRIVERS)
def xorg(request, lab_modules):
    """One Xorg per input driver (module scope: it takes 5-7 s to start under TCG)."""
    driver = request.param
    if driver == "libinput":
        # libinput needs udev properties: udevd must run before the uhid device appears
        request.getfixturevalue("udevd")
    b = labkit.Bridge("default", name=f"pb-uhid-{driver}").start()
    node = labkit.m705_event_node()
    x = labkit.start_xorg(driver, node)
    client = labkit.RootButtonClient(x)
    session = XSession(driver, b, node, x, client)
    yield session
    client.stop()
    labkit.stop_xorg(x)
    stage = os.environ.get("PB_LAB_STAGE", "x")
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    (labkit.OUT / f"stage{stage}-Xorg-{driver}.log").write_text(labkit.tail(x.log, 200000))
    b.stop()
    _save_bridge_log(b, f"xorg-{driver}")


@pytest.fixture
def phantom_xorg(xorg):
    """The original bug reproduced: X button 20 held on the M705 slave, the pointer grabbed.
    Cleaned up afterwards, whatever the test did."""
    xorg.reset()
    xorg.press_phantom()
    yield xorg
    xorg.reset()
