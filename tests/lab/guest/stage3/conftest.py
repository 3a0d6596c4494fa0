"""Stage 3 fixtures: one Wayland compositor per module parameter (sway with Xwayland, then
weston on the bochs KMS card), each reading the emulated M705 through libinput."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import labkit
import pytest
import waylandkit

COMPOSITORS = ("sway", "weston")


class WaylandSession:
    """`bridge` scripts the mouse, `event_node` is its evdev node, `comp` the compositor
    (`comp.env` for clients, `comp.display` the Xwayland display or None)."""

    def __init__(self, name, bridge, event_node, comp):
        self.name = name
        self.bridge = bridge
        self.event_node = event_node
        self.comp = comp

    def held(self) -> bool:
        from phantombutton.input import evdev_node as en

        return labkit.BTN_PHANTOM in en.held_keys(self.event_node)

    def reset(self) -> None:
        """Nothing held, in the kernel's HID cache too (a model release report)."""
        self.bridge.call("press", slot=1, buttons=0)
        if self.held():
            labkit.release_via_evdev(self.event_node)
        labkit.wait_for(lambda: not self.held(), 5, 0.05, what="0x11F up in the kernel")


@pytest.fixture(scope="module", params=COMPOSITORS)
def wayland(request, udevd):
    name = request.param
    b = labkit.Bridge("default", name=f"pb-uhid-{name}").start()   # before the compositor
    node = labkit.m705_event_node()
    comp = None
    try:
        comp = (waylandkit.start_sway(xwayland=True) if name == "sway"
                else waylandkit.start_weston(xwayland=True))
        sys.__stdout__.write(f"\n{name}: up in {comp.up_in:.2f} s" + (
            f", Xwayland {comp.display} in {comp.xwayland_in:.2f} s more"
            if comp.xwayland_in is not None else "") + "\n")
        yield WaylandSession(name, b, node, comp)
    finally:
        if comp is not None:
            comp.stop()
        stage = os.environ.get("PB_LAB_STAGE", "x")
        labkit.OUT.mkdir(parents=True, exist_ok=True)
        for log in ("/tmp/sway.log", "/tmp/seatd.log", "/tmp/weston.log", "/tmp/weston.stderr"):
            if name in log or (name == "sway" and "seatd" in log):
                (labkit.OUT / f"stage{stage}-{os.path.basename(log)}").write_text(
                    labkit.tail(Path(log), 200000))
        b.stop()


@pytest.fixture
def clean(wayland):
    wayland.reset()
    yield wayland
    wayland.reset()
