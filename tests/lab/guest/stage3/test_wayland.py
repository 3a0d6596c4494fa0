"""Wayland sessions end to end: the phantom press reaches a real Wayland client (wev) and an
X client under Xwayland through sway or weston, which read the emulated M705's event node
through libinput; `watch --fix`, `release` and the daemon end it, and the clients see the
release. `status` under Xwayland reports no X-derived finding.

Latencies (phantom press -> the client sees the release) are printed with a LATENCY prefix
and collected in tests/lab/out/stage3-latency.txt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import labkit
import pytest
import waylandkit as wk

sys.path.insert(0, str(Path(__file__).parents[1] / "stage1"))
from test_daemon_reconnect import DaemonProcess


def latency(name: str, what: str, **ms: float) -> None:
    line = f"LATENCY {name} {what}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in ms.items())
    sys.__stdout__.write("\n" + line + "\n")
    sys.__stdout__.flush()
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    with open(labkit.OUT / "stage3-latency.txt", "a") as f:
        f.write(line + "\n")


def events(stdout: str) -> list[dict]:
    return [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]


class Watch:
    """`phantombutton watch --fix --json` as root inside the session, ready when watching."""

    def __init__(self, env: dict, duration: float = 30):
        self.proc = labkit.popen(
            [labkit.PY, "-m", "phantombutton.cli.main", "watch", "--fix", "--json",
             "--duration", str(duration)], cwd=labkit.REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out = wk.Lines(self.proc.stdout)
        self.out.wait(lambda s: '"watching ' in s, 60, what="watch attached")

    def released(self, timeout: float = 10) -> dict:
        _, ev = self.out.wait(lambda s: s.startswith("{") and json.loads(s)["event"] in
                              ("released", "not-released") and json.loads(s), timeout,
                              what="a recovery event")
        return ev

    def stop(self) -> tuple[list[dict], str]:
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return events("\n".join(line for _, line in self.out.rows)), err


def log_path(s, what: str) -> Path:
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    return labkit.OUT / f"stage3-{s.name}-{what}.log"


def test_wayland_client_sees_the_phantom_then_the_release_by_watch_fix(clean):
    s = clean
    client = wk.WaylandClient(s.comp, log_path(s, "wev"))
    watch = None
    try:
        watch = Watch(s.comp.root_env())
        wk.point_at_wayland(s.bridge, client)
        t0 = time.monotonic()
        s.bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        t_press, _ = client.out.wait(wk.wl_button(wk.BTN_PHANTOM, 1), 10, t0, "button 287 pressed")
        t_rel, _ = client.out.wait(wk.wl_button(wk.BTN_PHANTOM, 0), 10, t0, "button 287 released")
        ev = watch.released()
        evs, err = watch.stop()
        watch = None
    except Exception:
        if watch:
            evs, err = watch.stop()
            watch = None
            print("watch:", evs, err)
        print("inputs:", wk.diagnose(s.comp))
        raise
    finally:
        if watch:
            watch.stop()
        client.stop()
    assert t_press <= t_rel
    assert ev["event"] == "released" and ev["recovery"]["step"] == 1, ev
    found = [e for e in evs if e["event"] == "finding"]
    assert found and found[0]["finding"]["rule"] == "unknown-button"
    assert not any(e["finding"]["rule"] == "x-kernel-mismatch" for e in found)
    session = next(e["session"] for e in evs if e["event"] == "session")
    assert session["kind"] == "wayland" and session["compositor"] == s.name
    assert session["compositor_from"] == "socket owner"
    assert err.count("phantombutton: session: Wayland (" + s.name) == 1, err
    assert not s.held()
    latency(s.name, "Wayland client (wev), watch --fix", press_to_client_press=t_press - t0,
            press_to_client_release=t_rel - t0, finding_to_client_release=t_rel - found[0]["t"])


def _x_client(s):
    if not s.comp.display:
        pytest.skip(f"{s.name}: no Xwayland")
    return wk.XClient(s.comp, log_path(s, "xclient"))


def test_x_client_under_xwayland_status_and_release(clean):
    """Before: the X client got ButtonPress 20 and another client's XGrabPointer fails.
    status under Xwayland: the kernel finding only, no X state read. release: the grab ends."""
    s = clean
    xc = _x_client(s)
    try:
        wk.point_at_x(s.bridge, xc)
        t0 = time.monotonic()
        s.bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        xc.out.wait(lambda x: x == "press 20", 10, t0, "X ButtonPress 20")
        assert wk.grab_probe(s.comp) == "AlreadyGrabbed"
        # as under sudo: DISPLAY reached us, WAYLAND_DISPLAY did not; the X devices tell
        env = dict(os.environ, DISPLAY=s.comp.display)
        env.pop("WAYLAND_DISPLAY", None)
        r = labkit.run([labkit.PY, "-m", "phantombutton.cli.main", "status", "--json"],
                           cwd=labkit.REPO, env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 3, r.stdout + r.stderr
        doc = json.loads(r.stdout)
        assert [f["rule"] for f in doc["findings"]] == ["unknown-button"], doc["findings"]
        dev = next(d for d in doc["devices"] if d["node"] == s.event_node)
        assert dev["evdev_held"] == [0x11F] and dev["x_held"] is None
        assert doc["session"]["kind"] == "wayland" and doc["session"]["xwayland"] is True
        assert doc["session"]["x_state_is_evidence"] is False
        assert r.stderr.count("NOT read as evidence") == 1, r.stderr
        r = labkit.run([labkit.PY, "-m", "phantombutton.cli.main", "release"],
                           cwd=labkit.REPO, env=s.comp.root_env(), capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "step 1" in r.stdout and "verified" in r.stdout and "Xwayland pointer free" in r.stdout
        xc.out.wait(lambda x: x == "release 20", 5, t0, "X ButtonRelease 20")
        assert wk.grab_probe(s.comp) == "GrabSuccess"
        assert not s.held()
        r = labkit.run([labkit.PY, "-m", "phantombutton.cli.main", "status"], cwd=labkit.REPO,
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "no phantom button held" in r.stdout, r.stdout + r.stderr
    finally:
        xc.stop()


def test_x_client_under_xwayland_watch_fix(clean):
    s = clean
    xc = _x_client(s)
    watch = None
    try:
        watch = Watch(s.comp.root_env())
        wk.point_at_x(s.bridge, xc)
        t0 = time.monotonic()
        s.bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        t_press, _ = xc.out.wait(lambda x: x == "press 20", 10, t0, "X ButtonPress 20")
        t_rel, _ = xc.out.wait(lambda x: x == "release 20", 10, t0, "X ButtonRelease 20")
        ev = watch.released()
        evs, err = watch.stop()
        watch = None
    finally:
        if watch:
            watch.stop()
        xc.stop()
    assert ev["event"] == "released" and ev["recovery"]["step"] == 1, ev
    assert "Xwayland pointer free" in ev["recovery"]["attempts"][0], ev
    assert not any(e["finding"]["rule"] == "x-kernel-mismatch" for e in evs if e["event"] == "finding")
    session = next(e["session"] for e in evs if e["event"] == "session")
    assert session["xwayland"] is True and session["grab_probe"] is True
    assert wk.grab_probe(s.comp) == "GrabSuccess"
    latency(s.name, "X client under Xwayland, watch --fix", press_to_client_press=t_press - t0,
            press_to_client_release=t_rel - t0)


def test_daemon_releases_a_phantom_held_across_a_power_cycle(clean, tmp_path):
    """The M705 is switched off and on with the phantom held; the daemon (in the session's
    environment) releases it; the Wayland client sees the release."""
    s = clean
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    d = DaemonProcess(cfg, tmp_path / "daemon.log", env=s.comp.root_env())
    client = wk.WaylandClient(s.comp, log_path(s, "wev-daemon"))
    try:
        d.wait("slot 1 (101B): connected", timeout=90)   # python's start is slow under TCG
        wk.point_at_wayland(s.bridge, client)
        s.bridge.call("disconnect", slot=1)
        d.wait("slot 1: link lost")
        time.sleep(0.3)
        t0 = time.monotonic()
        s.bridge.call("connect", slot=1, power_cycle=True)
        s.bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        t_press, _ = client.out.wait(wk.wl_button(wk.BTN_PHANTOM, 1), 10, t0, "button 287 pressed")
        t_rel, _ = client.out.wait(wk.wl_button(wk.BTN_PHANTOM, 0), 10, t0, "button 287 released")
        d.wait("released by step 1 (release written to the event node), verified", timeout=5)
    finally:
        client.stop()
        d.stop()
        with open(log_path(s, "daemon"), "a") as out:
            out.write(d.text())
    assert t_rel - t_press < 1.0, f"release took {t_rel - t_press:.3f} s"
    assert not s.held()
    latency(s.name, "Wayland client (wev), daemon after a power cycle",
            press_to_client_press=t_press - t0, press_to_client_release=t_rel - t0)
