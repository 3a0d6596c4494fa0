"""udev/phantombutton.service: `systemd-analyze --user verify`, as shipped and as installed.

The shipped unit runs /usr/bin/phantombutton (a distribution's path); install-udev writes the
path of the phantombutton it runs from. systemd-analyze checks that ExecStart exists and is
executable, so both forms are verified with a real executable in place.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phantombutton.service import install

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "udev" / "phantombutton.service"

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze not installed")


def verify(unit_text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    unit_dir = tmp_path / "units"
    unit_dir.mkdir(exist_ok=True)
    path = unit_dir / "phantombutton.service"
    path.write_text(unit_text)
    runtime = tmp_path / "runtime"          # the user manager wants a runtime directory
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), SYSTEMD_LOG_LEVEL="notice")
    return subprocess.run(["systemd-analyze", "--user", "verify", str(path)],
                          capture_output=True, text=True, env=env, timeout=60)


def test_installed_unit_verifies(tmp_path):
    exe = Path(sys.executable).parent / "phantombutton"
    assert exe.exists(), "the project venv should have the phantombutton script"
    text = install.render_unit(f"{exe} daemon")
    proc = verify(text, tmp_path)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def test_shipped_unit_verifies_with_its_executable_present(tmp_path):
    # same text as shipped; only the distribution path is pointed at a real executable
    fake_bin = tmp_path / "usr-bin-phantombutton"
    fake_bin.write_text("#!/bin/sh\nexit 0\n")
    fake_bin.chmod(0o755)
    text = UNIT.read_text().replace(install.SHIPPED_EXEC, str(fake_bin))
    proc = verify(text, tmp_path)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def test_verify_catches_mistakes(tmp_path):
    """The checks above can fail: a typo'd key and a missing executable are reported."""
    text = UNIT.read_text().replace("Restart=on-failure", "Restart=on-failure\nRestartt=always")
    proc = verify(text, tmp_path)
    assert "Unknown key" in proc.stderr
    proc = verify(UNIT.read_text().replace(install.SHIPPED_EXEC, "/nonexistent/phantombutton"),
                  tmp_path)
    assert proc.returncode != 0 and "not executable" in proc.stderr


def test_unit_policy():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string(UNIT.read_text())
    svc = unit["Service"]
    assert svc["Type"] == "simple"
    assert svc["ExecStart"] == f"{install.SHIPPED_EXEC} daemon"
    assert svc["Restart"] == "on-failure"
    # a bad config exits 78 (EX_CONFIG): restarting cannot fix it
    from phantombutton.cli.cmd_daemon import EX_CONFIG
    assert svc["RestartPreventExitStatus"] == str(EX_CONFIG) == "78"
    assert int(unit["Unit"]["StartLimitBurst"]) >= 1    # restarts are bounded
    assert "User" not in svc                            # a user unit runs as its user
