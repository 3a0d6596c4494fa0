"""`watch --replay` on a terminal draws the same table as the live watch, from the capture."""

from pathlib import Path

from phantombutton.cli.cmd_watch import _replay, _screen

CAPTURES = Path(__file__).resolve().parents[2] / "captures"


def _last_screen(name: str) -> str:
    screens: list[str] = []
    _replay(str(CAPTURES / name), 0, lambda ev: None,
            lambda det: screens.append(_screen(det, {}, x_on=bool(det.x_masters()))))
    return screens[-1]


def test_original_bug_table_shows_button_20_held_in_evdev_and_x():
    screen = _last_screen("original-bug.yml")
    row = next(line for line in screen.splitlines() if line.startswith("Logitech M705"))
    assert row.split()[-3:] == ["20", "20", "unknown-button"]
    assert "cause: the receiver reported a button the M705 does not have" in screen
    assert "phantombutton set 101B side-scroll on" in screen


def test_clean_session_table_has_no_finding():
    screen = _last_screen("clean-session.yml")
    assert "cause:" not in screen
    row = next(line for line in screen.splitlines() if line.startswith("Logitech M705"))
    assert row.split()[-1] == "ok"
