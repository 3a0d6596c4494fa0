"""`analyze` over the bundled captures (recorded in the lab on the real kernel and Xorg)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CAPTURES = Path(__file__).resolve().parents[2] / "captures"


def analyze(name):
    r = subprocess.run([sys.executable, "-m", "phantombutton.cli.main", "analyze", "--json",
                        str(CAPTURES / name)], capture_output=True, text=True, timeout=60)
    return r.returncode, json.loads(r.stdout)


def test_original_bug():
    rc, doc = analyze("original-bug.yml")
    assert rc == 3 and doc["complete"] and doc["x_input_driver"] == "libinput"
    (f,) = doc["findings"]
    assert (f["rule"], f["code"], f["x_button"], f["slot"], f["wpid"]) == ("unknown-button", 0x11F, 20, 1, 0x101B)
    assert f["x_slave_id"] is not None and f["ended"] is None
    ctx = "\n".join(f["hidpp_context"])
    assert "device connection notification, slot 1, WPID 101B, link established" in ctx
    assert "software id 0x0B (Solaar)" in ctx
    assert "register 0x01 (mouse mode (side-scroll)) written (slot 1)" in ctx
    assert any(s.startswith("side-scroll off (read at") for s in f["settings"])


def test_clean_session():
    rc, doc = analyze("clean-session.yml")
    assert rc == 0 and doc["verdict"] == "clean" and doc["evdev_events"] > 100


def test_phantom_middle():
    rc, doc = analyze("phantom-middle.yml")
    assert rc == 3
    (f,) = doc["findings"]
    assert (f["rule"], f["code"], f["x_button"]) == ("press-after-connect", 0x112, 2)


@pytest.mark.skipif(not os.path.exists("/usr/libexec/libinput/libinput-analyze-recording"),
                    reason="libinput-tools not installed")
@pytest.mark.parametrize("name", ["original-bug.yml", "clean-session.yml", "phantom-middle.yml"])
def test_libinput_reads_bundled(name):
    env = {**os.environ, "PATH": "/usr/bin:/bin:" + os.environ.get("PATH", "")}
    r = subprocess.run([shutil.which("libinput") or "libinput", "analyze", "recording", str(CAPTURES / name)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
