"""CLI: fix-wheel, the wheel lines of status, reset-receiver's refusals (virtual receiver)."""

from __future__ import annotations

import json

from phantombutton.cli.main import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_fix_wheel_check_reports_and_changes_nothing(capsys):
    # the mouse woke in low resolution (register 0x01 = 02) while the kernel expects high
    code, out, err = run(capsys, "--virtual", "--profile", "wheel-desync", "fix-wheel", "--check")
    assert code == 3 and err == ""
    assert "wheel 8x slow: the mouse is in low resolution, the kernel expects high" in out
    assert "mouse: low resolution (register 0x01 = 02 00 00)" in out and "fixed" not in out


def test_fix_wheel_repairs_and_reads_back_every_mouse(capsys):
    code, out, _ = run(capsys, "--virtual", "--profile", "mixed-wheel-desync", "fix-wheel", "--json")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [e["event"] for e in events] == ["wheel-finding", "wheel-repaired"] * 3
    assert "read back: high resolution (0x2121 mode 0x02, multiplier 8)" in events[-1]["message"]


def test_fix_wheel_unknown_device_is_a_usage_error(capsys):
    code, _, err = run(capsys, "--virtual", "fix-wheel", "9")
    assert code == 2 and "no device" in err


def test_status_reads_each_wheel_once(capsys):
    code, out, _ = run(capsys, "--virtual", "--profile", "mixed", "status", "--no-x")
    assert code == 0
    assert out.count("wheel in sync") == 3      # a running system: the kernel set hi-res


def test_reset_receiver_refuses_the_virtual_receiver(capsys):
    code, _, err = run(capsys, "--virtual", "reset-receiver")
    assert code == 2 and "kernel driver" in err
