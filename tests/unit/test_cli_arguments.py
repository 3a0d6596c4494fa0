"""Arguments as the adversarial review typed them: empty device names, Unicode digits,
nan/inf times and speeds, `--debug` as a file name.

Every case must end with a documented exit code and one line, never "internal error".
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from phantombutton.cli.main import main
from phantombutton.errors import UsageProblem

CAPTURE = str(Path(__file__).resolve().parents[2] / "captures" / "original-bug.yml")


@pytest.fixture(autouse=True)
def no_x(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def errors(capsys) -> list[str]:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "no X display" not in line]
    assert "internal error" not in err and "Traceback" not in err, err
    return lines


@pytest.mark.parametrize("args", [
    ["mute", "", "20"], ["mute", " ", "20"], ["unmute", "\n", "20"], ["release", "", "20"],
    ["release", " "], ["info", ""], ["get", " ", "side-scroll"], ["set", "", "side-scroll", "on"],
])
def test_empty_device_name_is_a_usage_error(capsys, args):
    # "" is part of every name: it picked the only mouse, and `mute "" 20` muted the M705
    assert main(["--virtual", *args]) == 2
    out = capsys.readouterr()
    assert "muted" not in out.out and "released" not in out.out
    err = [line for line in out.err.splitlines() if "no X display" not in line]
    assert len(err) == 1 and "empty device name; valid:" in err[0], out.err


@pytest.mark.parametrize("args", [
    ["info", "²"], ["get", "²", "side-scroll"], ["set", "²", "side-scroll", "on"],
    ["release", "²", "20"], ["mute", "²", "20"], ["unmute", "²", "20"],
    ["release", "1", "٣"], ["mute", "1", "hid١٦"], ["release", "1", "0x_11f"],
    ["--profile", "performance-mx", "set", "1", "dpi", "٨٠٠"],
])
def test_only_ascii_digits_are_numbers(capsys, args):
    # "²".isdigit() is true and int("²") fails (internal error); int("٣") is 3 (X button 3)
    assert main(["--virtual", *args]) == 2
    err = errors(capsys)
    assert len(err) == 1, err


def test_ascii_numbers_still_work(capsys):
    assert main(["--virtual", "--profile", "performance-mx", "set", "1", "dpi", "800"]) == 0
    assert "dpi: 800" in capsys.readouterr().out
    assert main(["--virtual", "release", "1", "hid16"]) == 0


@pytest.mark.parametrize("args", [
    ["daemon", "--for", "-1"], ["daemon", "--for", "0"],
    ["watch", "--duration", "1", "--poll-interval", "nan"],
    ["watch", "--duration", "1", "--speed", "nan"], ["watch", "--duration", "1", "--speed", "inf"],
    ["watch", "--duration", "nan"], ["watch", "--duration", "-1"], ["watch", "--duration", "١"],
    ["watch", "--replay", CAPTURE, "--speed", "1e-300"], ["capture", "--duration", "nan"],
])
def test_times_and_speeds_are_finite(capsys, args):
    assert main(["--virtual", *args]) == 2
    err = capsys.readouterr().err
    assert "Invalid value for" in err and "internal error" not in err, err


@pytest.mark.parametrize("args", [
    ["daemon", "--for", "nan"], ["daemon", "--for", "inf"], ["watch", "--duration", "inf"],
    ["watch", "--duration", "1e999"],
])
def test_endless_times_are_refused_not_run_forever(args):
    # nan compares false with every deadline and inf is never reached: these never stopped
    # (a subprocess under a timeout, so that such a hang fails instead of hanging the suite)
    proc = subprocess.run([sys.executable, "-m", "phantombutton.cli.main", "--virtual", *args],
                          check=False, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "is not a finite decimal number" in proc.stderr, proc.stderr


def test_replay_speed_zero_still_means_as_fast_as_possible(capsys):
    assert main(["watch", "--replay", CAPTURE, "--speed", "0"]) == 0


def test_debug_after_the_command_is_an_argument(capsys, tmp_path, monkeypatch):
    # `analyze -- --debug` is a file named "--debug": no traceback, exit 1 like any missing file
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "--", "--debug"]) == 1
    assert len(errors(capsys)) == 1
    assert main(["--virtual", "info", "--", "--debug"]) == 2
    assert errors(capsys) == [("phantombutton: no device '--debug'; valid: 1 (M705, WPID 101B, "
                               "serial 23691D3D)")]


def test_debug_as_the_global_option_still_raises():
    with pytest.raises(UsageProblem):
        main(["--debug", "--virtual", "info", "nope"])
    assert main(["--virtual", "info", "nope"]) == 2     # and is reset for the next call


