"""service/config.py and `phantombutton config`: defaults, per-device settings, bad files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from phantombutton.cli.main import main
from phantombutton.errors import BadInput
from phantombutton.service import config
from phantombutton.service.config import Config, DaemonConfig, DetectionConfig, FixConfig

GOOD = """\
# a user's file
[detection]
held-for = 1          # an int is fine for seconds

[fix]
auto-release = false
prevention = []

[daemon]
backoff-max = 60.0

[device."101B"]
side-scroll = true
smooth-scroll = false

[device."M705"]
side-scroll = false

[device."Performance"]
dpi = 800

[device."1A2B3C4D"]
smooth-scroll = true

[device."4082"]
diversions = "reset"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_defaults_when_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    cfg = config.load()
    assert cfg == Config()
    assert cfg.fix.auto_release is True and cfg.fix.prevention == ("settings",)
    assert cfg.daemon.settle_delay == 0.2
    assert cfg.settings_for(0x101B) == {}


def test_xdg_config_home_and_home(monkeypatch, tmp_path):
    assert config.default_path({"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/h"}) == \
        Path("/x/cfg/phantombutton/config.toml")
    # the XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored
    assert config.default_path({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) == \
        Path("/h/.config/phantombutton/config.toml")
    assert config.default_path({"HOME": "/h"}) == Path("/h/.config/phantombutton/config.toml")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "phantombutton").mkdir()
    (tmp_path / "phantombutton" / "config.toml").write_text("[fix]\nauto-release = false\n")
    assert config.load().fix.auto_release is False


def test_good_file(tmp_path):
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg.detection == DetectionConfig(held_for=1.0)
    assert isinstance(cfg.detection.held_for, float)
    assert cfg.fix == FixConfig(auto_release=False, prevention=())
    assert cfg.daemon == DaemonConfig(backoff_max=60.0)
    assert [d.kind for d in cfg.devices] == ["wpid", "name", "name", "serial", "wpid"]


def test_device_settings_merge_most_specific_last(tmp_path):
    cfg = config.load(write(tmp_path, GOOD))
    # name < WPID < serial
    assert cfg.settings_for(0x101B, None, "Logitech M705") == {
        "side-scroll": True, "smooth-scroll": False}
    assert cfg.settings_for(0x101B, "1a2b3c4d", "M705") == {
        "side-scroll": True, "smooth-scroll": True}
    assert cfg.settings_for(0x406D, None, "Logitech M705") == {"side-scroll": False}
    assert cfg.settings_for(0x101A, None, "Performance MX") == {"dpi": 800}
    assert cfg.settings_for(0x101A, "1A2B3C4D", "Performance MX") == {"dpi": 800, "smooth-scroll": True}
    assert cfg.settings_for(None) == {}


@pytest.mark.parametrize("text,line,key,words", [
    ("[fix]\nauto-release = \"yes\"\n", 2, "fix.auto-release", "expected true or false"),
    ("\n\n[detection]\nheld-for = -1\n", 4, "detection.held-for", "seconds >= 0"),
    ("[detection]\nheld-for = true\n", 2, "detection.held-for", "seconds"),
    ("[detection]\nreassert-limit = 2.5\n", 2, "detection.reassert-limit", "whole number"),
    ("[daemon]\nsettle-delay = 0.2\n  settle-dealy = 1\n", 3, "daemon.settle-dealy", "unknown key"),
    ("[fix]\nprevention = [\"x-button-map\"]\n", 2, "fix.prevention", "expected a list of 'settings'"),
    ("[fixes]\nauto-release = true\n", 1, "fixes", "unknown section"),
    ('[device."101B"]\nside-scroll = true\n\n[device."101B".sub]\nx = 1\n', 4,
     'device."101B".sub', "expected true/false"),
    ('[device."101B"]\nSide_Scroll = true\n', 2, 'device."101B".Side_Scroll', "lower-case"),
    ('[daemon]\nbackoff-initial = 10\nbackoff-max = 5\n', 3, "daemon.backoff-max", ">= backoff-initial"),
    ('[device."101B"]\nside-scrolling = true\n', 2, 'device."101B".side-scrolling',
     "unknown setting; valid settings: side-scroll, smooth-scroll, dpi, diversions"),
    ('[device."101B"]\nside-scroll = "on"\n', 2, 'device."101B".side-scroll', "expected true or false"),
    ('[device."101A"]\n\ndpi = 850\n', 3, 'device."101A".dpi', "expected one of 100..1500, got 850"),
    ('[device."101A"]\ndpi = "800"\n', 2, 'device."101A".dpi', "expected one of 100..1500"),
    ('[device."4082"]\ndiversions = "clear"\n', 2, 'device."4082".diversions', "expected one of reset"),
    ('fix.auto-release = 3\n', 1, "fix.auto-release", "expected true or false"),
])
def test_bad_values_name_file_line_and_key(tmp_path, text, line, key, words):
    p = write(tmp_path, text)
    with pytest.raises(BadInput) as e:
        config.load(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:{line}: {key}: "), msg
    assert words in msg
    assert "\n" not in msg


@pytest.mark.parametrize("text,line,key", [
    ("[fix]\nauto-release = \n", 2, "auto-release"),
    ("[detection]\nheld-for = 1\nheld-for = 2\n", 3, "held-for"),
    ("[fix\n", 1, None),
])
def test_syntax_errors_name_file_line_and_key(tmp_path, text, line, key):
    p = write(tmp_path, text)
    with pytest.raises(BadInput) as e:
        config.load(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:{line}:"), msg
    assert "TOML syntax error" in msg
    if key:
        assert f"in key {key}" in msg


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        config.load(tmp_path / "nope.toml")


def test_printed_configuration_round_trips(tmp_path):
    cfg = config.load(write(tmp_path, GOOD))
    text = config.to_toml(cfg)
    assert tomllib.loads(text)                       # valid TOML
    again = config.parse(text, tmp_path / "printed.toml")
    assert (again.detection, again.fix, again.daemon, again.devices) == \
        (cfg.detection, cfg.fix, cfg.daemon, cfg.devices)
    assert "auto-release = false  # from file" in text
    assert "settle-delay = 0.2  # default" in text
    assert f"# file: {tmp_path / 'config.toml'}" in text


def test_cli_config_prints_effective_configuration(tmp_path, capsys):
    p = write(tmp_path, GOOD)
    assert main(["config", "--file", str(p)]) == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out)["device"]["101B"] == {"side-scroll": True, "smooth-scroll": False}
    assert tomllib.loads(out)["fix"]["auto-release"] is False


def test_cli_config_defaults_say_where_they_looked(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert f"none found at {tmp_path}/phantombutton/config.toml (defaults)" in out
    assert tomllib.loads(out)["fix"]["auto-release"] is True


def test_cli_config_bad_file_one_line_exit_1(tmp_path, capsys):
    p = write(tmp_path, "[fix]\nauto-release = 1\n")
    assert main(["config", "--file", str(p)]) == 1
    err = capsys.readouterr().err
    assert err == f"phantombutton: {p}:2: fix.auto-release: expected true or false, got 1\n"


def test_daemon_refuses_bad_config_with_ex_config(tmp_path, capsys):
    p = write(tmp_path, "[daemon]\nsettle-delay = \"soon\"\n")
    assert main(["daemon", "--config", str(p)]) == 78
    out = capsys.readouterr()
    line = (out.out + out.err).strip()
    assert "bad configuration, not starting" in line and f"{p}:2: daemon.settle-delay" in line
