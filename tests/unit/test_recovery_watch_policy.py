"""watch --fix against a phantom that comes back: every new press edge after a verified
release is released again at once (H4's version ignored re-presses for 5 s, leaving the
grab in place); only a mouse re-asserting past the configured limit is backed off - deferred,
never dropped - with a note saying how to silence it (the daemon's policy, detect/reassert.py)."""

from __future__ import annotations

from phantombutton.detect.reassert import ReassertPolicy
from phantombutton.detect.rules import Detector
from phantombutton.virtual.platform import VirtualPlatform
from phantombutton.recovery import watcher as W
from phantombutton.recovery.live import LiveLayers
from phantombutton.virtual.receiver import VirtualReceiver


def setup(reassert=ReassertPolicy()):
    model = VirtualReceiver("default")
    source = VirtualPlatform(receiver=model).source()
    w = W.Watcher(source, Detector(), layers=LiveLayers(nodes=source), fix=True, poll_interval=0.01,
                  reassert=reassert)
    w.start()
    return model, source, w


def phantom(model, w, steps=3):
    model.press(1, 0x8000)
    evs = []
    for _ in range(steps):
        evs += w.step()
    model.press(1, 0)          # the mouse's own report with the bit clear
    for _ in range(2):
        evs += w.step()
    return evs


def test_a_phantom_that_comes_back_is_released_again_at_once():
    model, source, w = setup()
    for i in range(3):
        evs = phantom(model, w)
        assert [e.kind for e in evs].count("released") == 1, (i, [e.kind for e in evs])
        assert 0x11F not in source.held_keys("virtual:1")


def test_a_storm_is_rate_limited_but_never_left_held():
    model, source, w = setup(ReassertPolicy(window=10.0, limit=3, backoff_initial=0.4, backoff_max=0.4))
    kinds = []
    for _ in range(3):
        kinds += [e.kind for e in phantom(model, w)]
    assert kinds.count("released") == 3
    model.press(1, 0x8000)      # the 4th within the window: deferred, with a note
    evs = []
    for _ in range(3):
        evs += w.step()
    notes = [e.message for e in evs if e.kind == "note"]
    assert any("came back 3 times" in n and "phantombutton mute virtual:1 20" in n for n in notes), notes
    assert 0x11F in source.held_keys("virtual:1") and not any(e.kind == "released" for e in evs)
    import time
    time.sleep(0.4)
    for _ in range(5):           # after the gap, a tick releases it
        evs += w.step()
    assert any(e.kind == "released" for e in evs)
    assert 0x11F not in source.held_keys("virtual:1")
