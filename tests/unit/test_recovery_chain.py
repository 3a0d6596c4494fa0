"""The release chain's decisions (pure, over a small model of the layers) and, on a real
Xvfb, the XTest slave step end to end."""

from __future__ import annotations

import pytest

from phantombutton.errors import AccessDenied
from phantombutton.recovery.chain import POWER_CYCLE_ADVICE, Snapshot, Step, Target, run_chain

M705 = Target(device="Logitech M705", node="/dev/input/event5", code=0x11F, x_button=20,
              x_slave_id=11, x_master_id=2, model_has_button=False)


class ModelLayers:
    """What the input stack does (docs/input-stack.md), reduced to three booleans.

    - a write to the node releases in the kernel and, through the driver, on the slave
      (and the master) - unless the node is not writable;
    - an XTest device release on the slave releases X only; the kernel keeps the key;
    - mute releases the kernel and X (the core sends the key-up);
    - an orphan release works only when no slave holds the button.
    """

    def __init__(self, kernel=True, slave=True, master=True, writable=True, x=True,
                 orphan_works=True, mute_works=True):
        self.kernel, self.slave, self.master = kernel, slave, master
        self.writable, self.x, self.orphan_works, self.mute_works = writable, x, orphan_works, mute_works
        self.calls: list[str] = []

    def snapshot(self, t):
        return Snapshot(self.kernel, self.slave if self.x else None, self.master if self.x else None)

    def write_release(self, t):
        self.calls.append("write")
        if not self.writable:
            raise AccessDenied(t.node, "EACCES", "fix")
        if self.kernel:  # a release for a key the kernel thinks is up is dropped
            self.kernel = self.slave = self.master = False
        return "wrote"

    def xtest_release(self, dev, button):
        self.calls.append(f"xtest {dev} {button}")
        self.slave = self.master = False
        return "xtest"

    def mute(self, t):
        self.calls.append("mute")
        if self.mute_works:
            self.kernel = self.slave = self.master = False
        return "muted"

    def orphan_release(self, t):
        self.calls.append("orphan")
        if self.orphan_works and not self.slave:
            self.master = False
        return "orphan"


def test_nothing_held_does_nothing():
    layers = ModelLayers(kernel=False, slave=False, master=False)
    out = run_chain(M705, layers, settle=0)
    assert layers.calls == [] and not out.attempts and out.step is None
    assert "nothing to do" in out.summary()


def test_writable_node_is_enough():
    layers = ModelLayers()
    out = run_chain(M705, layers, settle=0)
    assert layers.calls == ["write"]
    assert out.released and out.step is Step.EVENT_NODE
    assert "step 1" in out.summary() and "verified" in out.summary()


def test_without_write_access_xtest_ends_the_grab_then_mute_releases_the_kernel():
    layers = ModelLayers(writable=False)
    out = run_chain(M705, layers, settle=0)
    assert layers.calls == ["write", "xtest 11 20", "mute"]
    assert "EACCES" in out.attempts[0].error
    assert out.attempts[1].after == Snapshot(True, False, False)   # grab gone, kernel holds
    assert out.released and out.step is Step.MUTE


def test_no_mute_for_a_button_the_model_has():
    t = Target(**{**{f: getattr(M705, f) for f in M705.__slots__}, "model_has_button": True})
    layers = ModelLayers(writable=False, mute_works=True)
    out = run_chain(t, layers, settle=0)
    assert "mute" not in layers.calls
    assert not out.released and out.step is None
    assert out.advice.startswith(POWER_CYCLE_ADVICE) and "install-udev" in out.advice
    assert out.attempts[-1].step is Step.POWER_CYCLE


def test_mute_can_be_refused_by_caller():
    layers = ModelLayers(writable=False)
    out = run_chain(M705, layers, allow_mute=False, settle=0)
    assert "mute" not in layers.calls and not out.released


def test_orphan_on_master_when_kernel_and_slave_are_clean():
    layers = ModelLayers(kernel=False, slave=False, master=True)
    out = run_chain(M705, layers, settle=0)
    assert layers.calls == ["orphan"]
    assert out.released and out.step is Step.ORPHAN


def test_failed_orphan_release_gives_advice_not_success():
    layers = ModelLayers(kernel=False, slave=False, master=True, orphan_works=False)
    out = run_chain(M705, layers, settle=0)
    assert not out.released and out.step is None and "X still holds" in out.advice
    d = out.to_dict()
    assert d["released"] is False and len(d["attempts"]) == 2


def test_kernel_only_without_x():
    layers = ModelLayers(x=False)
    out = run_chain(M705, layers, settle=0)
    assert out.released and out.step is Step.EVENT_NODE
    assert "X slave ?" in out.attempts[0].after.describe()


# -- real Xvfb: the XTest step alone, verified by QueryDeviceState and a grab probe --------

@pytest.mark.xvfb
def test_xtest_step_on_xvfb_ends_the_grab(xvfb):
    from Xlib import X, display

    from phantombutton.input.xinput import GrabStatus, XSession
    from phantombutton.recovery.live import LiveLayers

    app = display.Display(xvfb)
    app.screen().root.change_attributes(event_mask=X.ButtonPressMask)
    app.sync()
    x = XSession(xvfb)
    try:
        mouse = next(p for p in x.pointers() if p.name == "Xvfb mouse")
        x.fake_device_button(mouse.id, 3, press=True)
        assert x.grab_probe() == GrabStatus.ALREADY_GRABBED
        t = Target(device="Xvfb mouse", node=None, code=None, x_button=3, x_slave_id=mouse.id)
        out = run_chain(t, LiveLayers(x), settle=0.2)
        assert out.before == Snapshot(None, True, True)
        assert out.released and out.step is Step.XTEST_SLAVE
        assert x.query_buttons(mouse.id)[1] == frozenset()
        assert x.grab_probe() == GrabStatus.SUCCESS
    finally:
        x.close()
        app.close()
