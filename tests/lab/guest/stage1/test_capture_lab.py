"""`phantombutton capture` on the real kernel, read back by `analyze` and libinput's tools.

The story of the original bug, on hid-logitech-dj with the emulated receiver: the M705
reconnects, another program (software id 0x0B, as Solaar) pings it and writes register 0x01
clearing side-scroll, then the receiver reports HID button 16. The capture must name it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import labkit
import pytest

CAPTURES = Path(os.environ.get("PB_LAB_CAPTURES", labkit.OUT / "captures"))   # git-ignored


def _start_capture(path: Path, *args: str) -> subprocess.Popen:
    proc = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "capture", "-o", str(path),
                             "--no-x", *args], cwd=labkit.REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    labkit.wait_for(lambda: path.exists() and "  events:\n" in path.read_text(), 20,
                    what="capture header written")
    return proc


def _other_program_burst(receiver: str) -> None:
    """What a Solaar-like client does on reconnect: a 2.0 ping with its software id 0x0B,
    then register 0x01 written with side-scroll off."""
    h = labkit.Hidraw(receiver)
    try:
        h.write(bytes([0x10, 0x01, 0x00, 0x1B, 0x00, 0x00, 0xAA]))
        h.read_until(lambda r: r[:3] == bytes([0x10, 0x01, 0x8F]) or r[2:4] == bytes([0x00, 0x1B]), 3)
        h.write(bytes([0x10, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00]))
        h.read_until(lambda r: r[:4] == bytes([0x10, 0x01, 0x80, 0x01]), 3)
    finally:
        h.close()


@pytest.fixture
def released(bridge):
    """Whatever the test did, the next one starts with nothing held."""
    yield
    bridge.call("press", slot=1, buttons=0)


def test_capture_original_bug_then_analyze(bridge, event_node, receiver_node, released):
    CAPTURES.mkdir(parents=True, exist_ok=True)
    path = CAPTURES / "original-bug.yml"
    path.unlink(missing_ok=True)
    proc = _start_capture(path, "--duration", "8", event_node)
    for i in range(5):
        bridge.call("move", slot=1, dx=3, dy=-2)
        time.sleep(0.05)
    bridge.call("disconnect", slot=1)
    time.sleep(0.3)
    bridge.call("connect", slot=1)
    _other_program_burst(receiver_node)
    # capture stamps hidraw reports when it reads them (hidraw has no kernel timestamps), the
    # press with the kernel's time: a guest starved of CPU reads late, so leave the burst a
    # margin before the press
    time.sleep(0.3)
    bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
    labkit.wait_for(lambda: "287,       1]" in path.read_text(), 10, what="0x11F press recorded")
    proc.send_signal(signal.SIGINT)   # Ctrl-C: the story is recorded, --duration is only the cap
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    text = path.read_text()
    assert text.rstrip().splitlines()[-1].startswith("# end of capture")
    assert "hidraw" in text and "- hid:" in text
    # read over HID++ before recording: the receiver's firmware, the mouse's side-scroll
    assert '  settings: {"1": {"side-scroll": "on"}}' in text
    assert '"firmware": "firmware ' in text

    r = labkit.phantombutton("analyze", str(path))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "[unknown-button]" in r.stdout and "X button 20" in r.stdout
    assert "device connection notification, slot 1" in r.stdout
    assert "software id 0x0B (Solaar)" in r.stdout
    assert "register 0x01 (mouse mode (side-scroll)) written (slot 1)" in r.stdout

    env = {**os.environ, "PATH": "/usr/bin:/bin:" + os.environ.get("PATH", "")}
    r = subprocess.run(["libinput", "analyze", "recording", str(path)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "KEY_11F" in r.stdout


def test_libinput_replay_replays_our_capture(bridge):
    """`libinput replay` creates a uinput twin and replays the frames: 0x11F held on it."""
    import evdev

    path = CAPTURES / "original-bug.yml"
    if not path.exists():
        pytest.skip("needs the capture of the previous test")
    env = {**os.environ, "PATH": "/usr/bin:/bin:" + os.environ.get("PATH", "")}
    proc = subprocess.Popen(["libinput", "replay", str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()          # "/dev/input/eventN: Logitech M705"
        node = line.split(":", 1)[0].strip()
        assert node.startswith("/dev/input/event"), line + proc.stderr.read()
        proc.stdin.write("\n")
        proc.stdin.flush()

        def held():
            d = evdev.InputDevice(node)
            try:
                return 0x11F in d.active_keys()
            finally:
                d.close()
        labkit.wait_for(held, 30, 0.1, what="0x11F held on the replayed device")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_killed_capture_is_readable(bridge, event_node):
    path = CAPTURES / "killed.yml"
    path.unlink(missing_ok=True)
    proc = _start_capture(path, event_node)
    for i in range(40):
        bridge.call("move", slot=1, dx=2, dy=1)
        time.sleep(0.01)
    labkit.wait_for(lambda: path.read_text().count("- evdev:") >= 10, 10, what="frames recorded")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    r = labkit.phantombutton("analyze", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ends without its end marker" in r.stdout
    import yaml

    doc = yaml.safe_load(path.read_text())
    assert len(doc["devices"][0]["events"]) >= 10


# -- hostile outputs and device names on the real kernel (adversarial review 2026-12-01) ----------
def _capture(path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return labkit.run([labkit.PY, "-m", "phantombutton.cli.main", "capture", "-o", str(path),
                           "--no-x", *args], cwd=labkit.REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_hid_recorder_export_keeps_the_capture(bridge, event_node, tmp_path):
    """Defect 2a: `-o rec.hid --format hid-recorder` exported over its own recording (0 bytes
    left). Now refused before recording; `-o rec.yml` keeps rec.yml and writes rec.hid."""
    rec = tmp_path / "rec.hid"
    r = _capture(rec, "--format", "hid-recorder", "--duration", "1", event_node)
    assert r.returncode == 2 and "FILE.hid" in r.stderr and not rec.exists(), r.stderr
    yml = tmp_path / "rec.yml"
    proc = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "capture", "-o", str(yml),
                             "--no-x", "--format", "hid-recorder", "--duration", "4", event_node],
                            cwd=labkit.REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    labkit.wait_for(lambda: yml.exists() and "  events:\n" in yml.read_text(), 20, what="header")
    for _ in range(10):
        bridge.call("move", slot=1, dx=2, dy=1)
        time.sleep(0.05)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "- hid:" in yml.read_text() and yml.read_text().rstrip().splitlines()[-1].startswith("# end of capture")
    assert sum(ln.startswith("E: ") for ln in rec.read_text().splitlines()) >= 10


def test_hid_recorder_export_without_hid_traffic_leaves_no_empty_file(event_node, tmp_path):
    """Defect 2d: no HID traffic recorded: exit 1 with one line, the capture kept, and no
    0-byte .hid left behind."""
    yml = tmp_path / "quiet.yml"
    r = _capture(yml, "--format", "hid-recorder", "--no-hidraw", "--duration", "1", event_node)
    assert r.returncode == 1, r.stderr
    assert "no HID reports" in r.stderr and "the capture is in" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 2   # the summary line, then the error
    assert not (tmp_path / "quiet.hid").exists()
    assert labkit.phantombutton("analyze", str(yml)).returncode == 0


def test_capture_output_never_follows_a_symlink(event_node, tmp_path):
    """Defect 6 (live, as root): -o through a symlink overwrote its target; defect 14: a
    missing directory or a full disk gave an internal error."""
    decoy = tmp_path / "decoy"
    decoy.write_text("root:x:0:0:root:/root:/bin/bash\n")
    link = tmp_path / "link.yml"
    link.symlink_to(decoy)
    r = _capture(link, "--duration", "1", event_node)
    assert r.returncode == 1 and "symbolic link" in r.stderr, r.stderr
    assert decoy.read_text() == "root:x:0:0:root:/root:/bin/bash\n"
    r = _capture(tmp_path / "nodir" / "x.yml", "--duration", "1", event_node)
    assert r.returncode == 1 and "no such directory" in r.stderr and "internal error" not in r.stderr
    # defect 14, live: the header write fails on a full disk; one line, exit 1
    r = _capture(Path("/dev/full"), "--duration", "1", event_node)
    assert r.returncode == 1 and "/dev/full: no space left on device" in r.stderr, r.stderr
    assert "internal error" not in r.stderr


def _uinput(name: str, keys: list[int]):
    import evdev

    labkit.modprobe("uinput")
    ui = evdev.UInput({evdev.ecodes.EV_KEY: keys, evdev.ecodes.EV_REL: [0, 1]} if 0x110 in keys
                      else {evdev.ecodes.EV_KEY: keys}, name=name, vendor=0x046D, product=0x101B)
    labkit.wait_for(lambda: ui.device is not None and os.path.exists(ui.device.path), 10, what="uinput node")
    time.sleep(0.3)   # udev settles the node's permissions
    return ui


def test_device_name_cannot_inject_yaml(tmp_path):
    """Defect 7: a uinput mouse whose name carries a newline and YAML lines."""
    import yaml

    name = "M705\n  events:\n  - evdev: [[0, 1, 1, 287, 1], [0, 1, 0, 0, 0]]"
    ui = _uinput(name, [0x110, 0x111])
    try:
        path = tmp_path / "inject.yml"
        r = _capture(path, "--no-hidraw", "--duration", "1", ui.device.path)
        assert r.returncode == 0, r.stderr
    finally:
        ui.close()
    doc = yaml.safe_load(path.read_text())
    assert doc["devices"][0]["evdev"]["name"] == name and doc["devices"][0]["events"] is None
    r = labkit.phantombutton("analyze", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 evdev events" in r.stdout and "devices: M705\\x0a  events:" in r.stdout


def test_held_keys_hidden_unless_show_keycodes(tmp_path):
    """Defect 10: a keyboard held P and W when the capture started; held_at_start had them."""
    import evdev
    import yaml

    ec = evdev.ecodes
    ui = _uinput("pb keyboard", [ec.KEY_P, ec.KEY_W, ec.KEY_F1])
    try:
        for k in (ec.KEY_P, ec.KEY_W, ec.KEY_F1):
            ui.write(ec.EV_KEY, k, 1)
        ui.syn()
        time.sleep(0.2)
        node = ui.device.path
        hidden, shown = tmp_path / "hidden.yml", tmp_path / "shown.yml"
        assert _capture(hidden, "--no-hidraw", "--duration", "1", node).returncode == 0
        assert _capture(shown, "--no-hidraw", "--show-keycodes", "--duration", "1", node).returncode == 0
    finally:
        ui.close()
    held = yaml.safe_load(hidden.read_text())["phantombutton"]["held_at_start"][node]
    assert held == sorted([ec.KEY_A, ec.KEY_F1])     # letters become KEY_A; F1 kept, as libinput
    held = yaml.safe_load(shown.read_text())["phantombutton"]["held_at_start"][node]
    assert held == sorted([ec.KEY_P, ec.KEY_W, ec.KEY_F1])
