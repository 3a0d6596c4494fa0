"""watch / status / release / mute on the virtual receiver (DJ reports -> the kernel model
-> the real detector and chain), and watch --replay on a capture."""

from __future__ import annotations

import json

import pytest

from phantombutton.cli.main import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def jl(out):
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


@pytest.fixture(autouse=True)
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def test_watch_fix_detects_releases_and_sees_the_release(capsys):
    rc, out, err = run(capsys, "--virtual", "--profile", "phantom", "watch", "--fix", "--json",
                       "--duration", "0.8", "--poll-interval", "0.05")
    assert rc == 0, err
    kinds = [e["event"] for e in jl(out)]
    assert kinds[0] == "session" and jl(out)[0]["session"]["x_connected"] is False
    assert kinds.count("session") == 1
    assert err.count("phantombutton: session: ") == 1   # said once, on stderr
    assert "so no X checks" in err
    notes = [e["message"] for e in jl(out) if e["event"] == "note"]
    assert notes[0] == "watching Logitech M705 (virtual:1)"   # before any finding
    rest = [e for e in jl(out) if e["event"] not in ("note", "session")]
    assert [e["event"] for e in rest] == ["finding", "released", "ended"]
    f, r = rest[0]["finding"], rest[1]["recovery"]
    assert f["rule"] == "unknown-button" and f["code"] == 0x11F and f["x_button"] == 20 and f["slot"] == 1
    assert r["step"] == 1 and r["released"] and r["node"] == "virtual:1"


def test_watch_without_fix_only_reports(capsys):
    rc, out, _ = run(capsys, "--virtual", "--profile", "phantom", "watch", "--duration", "0.5")
    assert rc == 0
    assert "PHANTOM Logitech M705 (virtual:1)" in out and "fixed" not in out


def test_status_exit_codes(capsys):
    rc, out, _ = run(capsys, "--virtual", "--profile", "phantom", "status", "--json")
    assert rc == 3
    doc = json.loads(out)
    assert doc["phantom"] and doc["devices"][0]["evdev_held"] == [0x11F]
    rc, out, _ = run(capsys, "--virtual", "status")
    assert rc == 0 and "no phantom button held" in out


def test_release_finds_and_releases_or_says_nothing_held(capsys):
    rc, out, _ = run(capsys, "--virtual", "--profile", "phantom", "release")
    assert rc == 0 and "released by step 1" in out and "verified" in out
    rc, out, _ = run(capsys, "--virtual", "release")
    assert rc == 0 and "no phantom button held" in out
    rc, out, _ = run(capsys, "--virtual", "release", "1", "hid16")
    assert rc == 0 and "not held" in out


@pytest.mark.parametrize("argv, msg", [
    (("release", "1", "30"), "not a mouse button"),
    (("release", "7", "20"), "matches no device"),
    (("release", "1", "x"), "is not a button"),
    (("mute", "1", "1"), "would disable a real button"),
    (("--profile", "phantom", "watch"), "needs --virtual"),
])
def test_usage_errors_are_one_line_exit_2(capsys, argv, msg):
    virtual = () if argv[0] == "--profile" else ("--virtual",)
    rc, out, err = run(capsys, *virtual, *argv)
    last = err.strip().splitlines()[-1]
    assert rc == 2 and msg in last and last.startswith("phantombutton: ") and "Traceback" not in err


def test_mute_and_unmute_read_back(capsys):
    rc, out, _ = run(capsys, "--virtual", "mute", "1", "20")
    assert rc == 0 and "KEY_RESERVED" in out and "unmute virtual:1 20" in out
    rc, out, _ = run(capsys, "--virtual", "unmute", "M705", "0x11f")
    assert rc == 0 and "maps to 0x11F" in out


def test_replay_of_the_original_bug(capsys, tmp_path):
    import synthetic
    path = tmp_path / "bug.yml"
    synthetic.write_original_bug(path)
    rc, out, _ = run(capsys, "watch", "--replay", str(path), "--speed", "0", "--json")
    assert rc == 0
    found = [e for e in jl(out) if e["event"] == "finding"]
    assert found and found[0]["finding"]["code"] == 0x11F
    rc, _, err = run(capsys, "watch", "--replay", str(path), "--fix")
    assert rc == 2 and "--replay" in err


def test_fix_turns_side_scroll_on_for_an_m705_101b():
    from types import SimpleNamespace

    from phantombutton.detect.rules import Detector
    from phantombutton.devices import settings
    from phantombutton.devices.receiver import Receiver
    from phantombutton.recovery.live import LiveLayers
    from phantombutton.recovery.prevent import SideScrollFixer
    from phantombutton.recovery.watcher import Watcher
    from phantombutton.transport.engine import Engine
    from phantombutton.virtual.platform import VirtualPlatform

    platform = VirtualPlatform("default")
    t = platform.open_receiver("virtual:c52b")
    device = Receiver(Engine(t), t.node, platform.model.product_id).devices()[0]
    assert settings.put(device, "side-scroll", "off") == "off"
    fixer = SideScrollFixer(SimpleNamespace(platform=platform, debug=False))   # its own reader
    w = Watcher(platform.source(), Detector(), layers=LiveLayers(nodes=platform.nodes), fix=True,
                poll_interval=0.02, prevention=fixer)
    w.start()
    platform.model.press(1, 0x8000)
    evs = []
    for _ in range(10):
        evs += w.step()
    notes = [e.message for e in evs if e.kind == "note"]
    assert any("side-scroll was off" in n and "read back: on" in n for n in notes), notes
    assert settings.get(device, "side-scroll") == "on"
    assert [e.kind for e in evs].count("released") == 1
