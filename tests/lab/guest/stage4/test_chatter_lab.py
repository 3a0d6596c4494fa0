"""A worn switch on the real kernel: `libinput record` of the emulated M705, read by `analyze`.

The bridge times each button state itself (`button_sequence`), so the bounce's few
milliseconds do not depend on how fast this test scripts it.

In stage 4 (it needs neither Xorg nor Solaar, and udevd changes nothing it reads): it
balances the two lanes of the lab, stage 1 + 3 against stage 2 + 4.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import labkit
import pytest

CAPTURES = Path(os.environ.get("PB_LAB_CAPTURES", labkit.OUT / "captures"))   # git-ignored
LEFT = 1   # HID button 1 = BTN_LEFT


def _record(path: Path, event_node: str) -> subprocess.Popen:
    proc = subprocess.Popen(["libinput", "record", "-o", str(path), event_node],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the header may sit in stdio's buffer until exit: wait for the file, then for the device
    labkit.wait_for(path.exists, 20, what="libinput record output file")
    time.sleep(1.0)
    assert proc.poll() is None, proc.stderr.read()
    return proc


def _stop(proc: subprocess.Popen) -> None:
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)


@pytest.fixture
def capture_dir():
    CAPTURES.mkdir(parents=True, exist_ok=True)
    return CAPTURES


def test_bouncing_switch_named_by_analyze(bridge, event_node, capture_dir):
    path = capture_dir / "bouncing-switch.yml"
    path.unlink(missing_ok=True)
    proc = _record(path, event_node)
    for _ in range(4):   # press, release 1 ms later, press again 2 ms after: within 3 ms
        bridge.call("button_sequence", slot=1, steps=[[0, LEFT], [0.001, 0], [0.003, LEFT], [0.12, 0]])
        time.sleep(0.5)
    _stop(proc)
    r = labkit.phantombutton("analyze", str(path))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "WORN SWITCH LIKELY" in r.stdout and "[switch-chatter]" in r.stdout, r.stdout
    assert "BTN_LEFT" in r.stdout


def test_fast_clean_clicker_no_verdict(bridge, event_node, capture_dir):
    path = capture_dir / "fast-clicker.yml"
    path.unlink(missing_ok=True)
    proc = _record(path, event_node)
    steps, t = [], 0.0
    for i in range(30):   # 12 clicks/s, 40 ms down; every fifth a double click with an 80 ms gap
        steps += [[t, LEFT], [t + 0.040, 0]]
        t += 0.120 if i % 5 == 4 else 1 / 12
    bridge.call("button_sequence", slot=1, steps=steps)
    time.sleep(t + 0.5)
    _stop(proc)
    presses = re.findall(r"\b1,\s+272,\s+1\]", path.read_text())   # EV_KEY BTN_LEFT 1
    assert len(presses) == 30
    r = labkit.phantombutton("analyze", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: clean" in r.stdout
