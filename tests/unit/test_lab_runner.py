"""The lab runner's per-stage qemu options and its two-at-a-time scheduling (no boot here)."""

from __future__ import annotations

import importlib.util
import shutil
import threading
import time
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[1] / "lab" / "runner.py"


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("lab_runner", RUNNER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not shutil.which("qemu-system-x86_64"), reason="qemu-system-x86 not installed")
def test_stage_options_add_a_card_and_replace_the_memory(runner):
    cmd = runner.qemu_command(Path("/k"), Path("/i"), "s.sh", runner.STAGE_QEMU["3"])
    assert cmd.count("-m") == 1 and cmd[cmd.index("-m") + 1] == "1536"
    assert cmd[cmd.index("VGA") - 1] == "-device"
    plain = runner.qemu_command(Path("/k"), Path("/i"), "s.sh")
    assert plain[plain.index("-m") + 1] == "1024" and "VGA" not in plain


def test_all_runs_every_stage_two_at_a_time(runner, monkeypatch, tmp_path):
    running, peak, order = set(), [0], []
    first, second, *rest = runner.LONGEST_FIRST
    lock = threading.Lock()

    def fake_stage(stage, *a, **k):
        with lock:
            running.add(stage)
            order.append(stage)
            peak[0] = max(peak[0], len(running))
        time.sleep(0.3 if stage == first else 0.1)
        with lock:
            running.discard(stage)
        return 0

    monkeypatch.setattr(runner, "run_stage", fake_stage)
    monkeypatch.setattr(runner, "ensure_debs", lambda names: None)
    monkeypatch.setattr(runner, "ensure_solaar", lambda: None)
    monkeypatch.setattr(runner, "find_qemu", lambda: "qemu")
    monkeypatch.setattr(runner, "ensure_boot_files", lambda: (Path("/k"), Path("/i"), "6.1"))
    monkeypatch.setattr(runner, "VENV_PY", Path(__file__))
    monkeypatch.setattr(runner, "CACHE", Path(__file__).parent / ".lab-cache-test")
    # not the machine-wide lock: scripts/test runs the real lab beside the unit tests
    monkeypatch.setattr(runner, "LOCK_PATH", tmp_path / "lab.lock")
    try:
        assert runner.main(["--stage", "all", "--exec", "true"]) == 0
    finally:
        shutil.rmtree(runner.CACHE, ignore_errors=True)
    assert sorted(order) == sorted(runner.STAGES)
    # the longest two first, the rest as the shorter ones end, longest first
    assert order[:2] == [first, second] and order[2:] == rest
    assert peak[0] == 2
