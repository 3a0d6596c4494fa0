"""`watch --fix`, `status`, `release` and the recovery chain on Xorg, both input drivers,
with the emulated M705 behind the real hid-logitech-dj (the original bug, end to end)."""

from __future__ import annotations

import json
import subprocess
import time

import labkit

from phantombutton.buttons import hid_button_scancode
from phantombutton.errors import AccessDenied
from phantombutton.input.xinput import GrabStatus, XSession
from phantombutton.recovery.chain import Step, Target, run_chain
from phantombutton.recovery.live import LiveLayers, uinput_click


def pb(s, *args, timeout=60):
    return labkit.run([labkit.PY, "-m", "phantombutton.cli.main", *args], cwd=labkit.REPO,
                          env=s.x.env(), capture_output=True, text=True, timeout=timeout)


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_watch_fix_releases_a_phantom_held_at_start(phantom_xorg):
    s = phantom_xorg
    r = pb(s, "watch", "--fix", "--json", "--duration", "3")
    assert r.returncode == 0, r.stderr
    evs = events(r.stdout)
    found = [e for e in evs if e["event"] == "finding"]
    assert found and found[0]["finding"]["rule"] == "unknown-button", r.stdout
    assert found[0]["finding"]["node"] == s.event_node and found[0]["finding"]["x_button"] == 20
    fixed = [e for e in evs if e["event"] == "released"]
    assert fixed and fixed[0]["recovery"]["step"] == 1, r.stdout
    assert not s.x.button_down(20)
    assert ("release", 20) in labkit.wait_for(
        lambda: ("release", 20) in s.client.poll() and s.client.events, 5, what="ButtonRelease 20")
    assert labkit.try_grab_pointer(s.x) == "GrabSuccess"


def test_watch_fix_releases_a_phantom_pressed_while_watching(xorg, capsys):
    s = xorg
    s.reset()
    proc = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "watch", "--fix", "--json",
                             "--duration", "8"], cwd=labkit.REPO, env=s.x.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        head = ""
        while '"watching ' not in head:   # attached to the mouse (python start is slow under TCG)
            line = proc.stdout.readline()
            assert line, "watch ended before it was watching: " + head + proc.stderr.read()
            head += line
        t0 = time.monotonic()              # same CLOCK_MONOTONIC as watch's event times
        s.bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        out, err = proc.communicate(timeout=30)
        out = head + out
    finally:
        if proc.poll() is None:
            proc.kill()
    evs = events(out)
    found = [e for e in evs if e["event"] == "finding"]
    fixed = [e for e in evs if e["event"] == "released"]
    assert found and fixed, out + err
    seen = found[0]["t"] - t0              # press (bridge -> uhid -> kernel) -> finding
    fix = fixed[0]["t"] - found[0]["t"]    # finding -> release verified in kernel and X
    with capsys.disabled():   # figures go to the lab log, passed or not
        print(f"\nwatch --fix ({s.driver}): press -> finding {seen * 1000:.0f} ms, finding -> "
              f"verified release {fix * 1000:.0f} ms; steps: {fixed[0]['recovery']['attempts']}")
    # the latency is a figure (above, in the lab log), not a pass/fail: TCG on a shared machine
    # varies it several times over
    assert not s.x.button_down(20)
    assert labkit.try_grab_pointer(s.x) == "GrabSuccess"
    s.reset()


def test_status_reports_then_release_frees(phantom_xorg):
    s = phantom_xorg
    r = pb(s, "status", "--json")
    assert r.returncode == 3, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["phantom"] and doc["findings"][0]["code"] == 0x11F
    dev = next(d for d in doc["devices"] if d["node"] == s.event_node)
    assert dev["evdev_held"] == [0x11F] and 20 in dev["x_held"]
    r = pb(s, "release")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "step 1" in r.stdout and "verified" in r.stdout
    assert not s.x.button_down(20)
    assert labkit.try_grab_pointer(s.x) == "GrabSuccess"
    assert pb(s, "status").returncode == 0


def test_uinput_only_release_leaves_the_grab(phantom_xorg):
    """Regression guard (docs/input-stack.md): a release from another device cannot end it."""
    s = phantom_xorg
    uinput_click(labkit.BTN_PHANTOM, None, wait=1.5)
    time.sleep(0.5)
    assert s.x.button_down(20)
    assert labkit.try_grab_pointer(s.x) == "AlreadyGrabbed"


class NoWriteLayers(LiveLayers):
    """As an unprivileged user: the event node is not writable."""

    def write_release(self, t):
        raise AccessDenied(t.node, "EACCES", "install the udev rule")


def test_chain_without_write_access_uses_xtest_then_mute(phantom_xorg):
    from phantombutton.input import evdev_node as en

    s = phantom_xorg
    x = XSession(s.x.display)
    try:
        slave = s.x.slave_id()
        t = Target(device="Logitech M705", node=s.event_node, code=0x11F, x_button=20,
                   x_slave_id=slave, model_has_button=False)
        out = run_chain(t, NoWriteLayers(x))
        assert out.attempts[0].error and "EACCES" in out.attempts[0].error
        step2 = out.attempts[1]
        assert step2.step is Step.XTEST_SLAVE
        assert step2.after.x_slave is False and step2.after.kernel is True   # grab gone, kernel holds
        assert out.released and out.step is Step.MUTE
        assert 0x11F not in en.held_keys(s.event_node)
        assert x.grab_probe() == GrabStatus.SUCCESS
        # the muted bit stays quiet: another phantom report changes nothing
        s.bridge.call("press", slot=1, buttons=0)
        s.bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        time.sleep(0.3)
        assert 0x11F not in en.held_keys(s.event_node) and not s.x.button_down(20)
    finally:
        en.set_keycode(s.event_node, hid_button_scancode(0x11F), 0x11F)
        x.close()
    assert en.get_keycode(s.event_node, 0x00090010) == 0x11F
