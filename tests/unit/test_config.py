"""service/config.py and `phantombutton config`: defaults, per-device settings, bad files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from phantombutton.cli.main import main
from phantombutton.errors import BadInput
from phantombutton.service import config
from phantombutton.service.config import Config, DaemonConfig, DetectionConfig, FixConfig
from phantombutton.service.tomltext import to_toml_value

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
     "unknown setting; valid settings: side-scroll, smooth-scroll, dpi, diversions, wheel-resolution"),
    ('[device."101B"]\nside-scroll = "on"\n', 2, 'device."101B".side-scroll', "expected true or false"),
    ('[device."101A"]\n\ndpi = 850\n', 3, 'device."101A".dpi',
     "expected one of 100..1500 (the Performance MX's register values), got 850"),
    ('[device."101A"]\ndpi = "800"\n', 2, 'device."101A".dpi', "expected a whole number of dpi from 50 to 32000"),
    ('[device."101A"]\ndpi = 1600\n', 2, 'device."101A".dpi', "expected one of 100..1500 (the Performance MX's"),
    ('[device."4074"]\nwheel-resolution = "low"\n', 2, 'device."4074".wheel-resolution', "expected one of high"),
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


# --- hardening: values that make no sense, files that are not configurations -------------

@pytest.mark.parametrize("text,line,key,words", [
    ("[daemon]\nrescan-interval = 0\n", 2, "daemon.rescan-interval", ">= 0.1 and <= 3600, got 0"),
    ("[daemon]\nrescan-interval = -2.0\n", 2, "daemon.rescan-interval", "got -2.0"),
    ("[daemon]\nbackoff-initial = 0\n", 2, "daemon.backoff-initial", "> 0 and <= 3600"),
    ("[daemon]\nsettle-delay = 1e300\n", 2, "daemon.settle-delay", ">= 0 and <= 60, got 1e+300"),
    ("[daemon]\nsettle-delay = 3601\n", 2, "daemon.settle-delay", "<= 60"),
    ("[daemon]\nbackoff-max = inf\n", 2, "daemon.backoff-max", "got inf"),
    ("[detection]\nheld-for = nan\n", 2, "detection.held-for", "got nan"),
    ("[detection]\nreassert-window = 0\n", 2, "detection.reassert-window", "> 0"),
    ("[detection]\nreassert-limit = 100000\n", 2, "detection.reassert-limit", "from 1 to 1000"),
    ('[device."101B"]\ndpi = 800\n', 2, 'device."101B".dpi',
     "the M705 (WPID 101B) has no setting dpi; its settings: side-scroll, smooth-scroll"),
    ('[device."101B"]\ndiversions = "reset"\n', 2, 'device."101B".diversions', "has no setting"),
    ('[device."4082"]\nside-scroll = true\n', 2, 'device."4082".side-scroll',
     "the MX Master 3 (WPID 4082) has no setting side-scroll; its settings: dpi, wheel-resolution, diversions"),
    ('[device."anywhere"]\n\ndpi = 800\n', 3, 'device."anywhere".dpi', 'no "anywhere" model has setting dpi'),
    ('[device."ABCD"]\nsmooth-scroll = true\n', 2, 'device."ABCD".smooth-scroll', "unknown model"),
    ("\n\n[[fix]]\nauto-release = true\n", 3, "fix", "must be a table"),
    ('[fix]\n[[device]]\nside-scroll = true\n', 2, "device", "must be tables"),
    ('[[device."101B"]]\nside-scroll = true\n', 1, 'device."101B"', "must be a table"),
    ('[device."a\\nb"]\nx-y = 1\n', 2, 'device."a\\nb".x-y', "unknown setting"),
])
def test_nonsense_values_are_refused_with_file_line_key(tmp_path, text, line, key, words):
    p = write(tmp_path, text)
    with pytest.raises(BadInput) as e:
        config.load(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:{line}: {key}: "), msg
    assert words in msg and "\n" not in msg, msg


def test_settings_a_model_has_are_accepted(tmp_path):
    cfg = config.load(write(tmp_path, '[device."101A"]\ndpi = 800\nside-scroll = true\n'
                                      '[device."MX Master"]\ndiversions = "reset"\n'
                                      '[device."Some other mouse"]\nside-scroll = true\n'
                                      '[device."1A2B3C4D"]\ndpi = 400\n'))
    assert cfg.settings_for(0x101A) == {"dpi": 800, "side-scroll": True}


def test_hidpp20_settings_and_the_diversion_reset_key_are_accepted(tmp_path):
    cfg = config.load(write(tmp_path, '[fix]\nreset-stale-diversions = true\n'
                                      '[device."B034"]\ndpi = 1600\nwheel-resolution = "high"\n'
                                      '[device."4074"]\ndpi = 3200\n'
                                      '[device."G305"]\ndiversions = "reset"\n'))
    assert cfg.fix.reset_stale_diversions is True
    assert cfg.settings_for(0xB034) == {"dpi": 1600, "wheel-resolution": "high"}
    assert cfg.settings_for(0x4074, name="G305") == {"dpi": 3200, "diversions": "reset"}
    assert config.Config().fix.reset_stale_diversions is False     # off unless asked
    assert "reset-stale-diversions = true  # from file" in config.to_toml(cfg)


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    import os

    files = {
        "directory": tmp_path / "cfgdir",
        "not-utf8": tmp_path / "latin1.toml",
        "deep-arrays": tmp_path / "deep.toml",
        "deep-inline-tables": tmp_path / "deep2.toml",
        "deep-but-parsed": tmp_path / "deep3.toml",
        "fifo": tmp_path / "fifo",
        "missing": tmp_path / "nope.toml",
        "device-file": Path("/dev/null"),
        "rescan-0": tmp_path / "r0.toml",
        "too-big": tmp_path / "big.toml",
    }
    files["directory"].mkdir()
    files["not-utf8"].write_bytes(b"# caf\xe9\n[fix]\nauto-release = true\n")
    files["deep-arrays"].write_text("[fix]\nprevention = " + "[" * 5000 + "]" * 5000 + "\n")
    files["deep-inline-tables"].write_text("x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n")
    files["deep-but-parsed"].write_text("[fix]\nprevention = " + "[" * 40 + "]" * 40 + "\n")
    os.mkfifo(files["fifo"])
    files["rescan-0"].write_text("[daemon]\nrescan-interval = 0\n")
    files["too-big"].write_text("# " + "x" * (2 << 20) + "\n")
    return files


BAD_KINDS = ["directory", "not-utf8", "deep-arrays", "deep-inline-tables", "deep-but-parsed",
             "fifo", "missing", "device-file", "rescan-0", "too-big"]
EXPECTED = {"directory": ": is a directory", "not-utf8": ":1: not UTF-8 (byte 0xe9)",
            "deep-arrays": ":2: TOML nested too deeply", "deep-inline-tables": ":1: TOML nested",
            "deep-but-parsed": ":2: fix.prevention: nested more than 8 deep",
            "fifo": ": not a regular file", "missing": ": configuration file not found",
            "device-file": ": not a regular file", "rescan-0": ":2: daemon.rescan-interval",
            "too-big": ": larger than 1 MiB"}


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_daemon_exits_78_for_every_bad_configuration(tmp_path, capsys, kind):
    p = _bad_files(tmp_path)[kind]
    assert main(["--virtual", "daemon", "--config", str(p), "--for", "0.2"]) == 78
    out = capsys.readouterr()
    lines = (out.out + out.err).strip().splitlines()
    assert len(lines) == 1 and "bad configuration, not starting" in lines[0], lines
    assert f"{p}{EXPECTED[kind]}" in lines[0], lines


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_config_file_exits_1_for_every_bad_configuration(tmp_path, capsys, kind):
    p = _bad_files(tmp_path)[kind]
    assert main(["config", "--file", str(p)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"phantombutton: {p}{EXPECTED[kind]}") and err.count("\n") == 1, err


def test_unreadable_file_exits_78(tmp_path, capsys, monkeypatch):
    import errno
    import os

    p = write(tmp_path, "[fix]\n")
    if os.geteuid() == 0:      # root reads a mode-000 file: the kernel's answer to anyone else
        real_open = os.open

        def denied(path, *a, **k):
            if str(path) == str(p):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, *a, **k)

        monkeypatch.setattr(os, "open", denied)
    else:
        p.chmod(0)
    assert main(["--virtual", "daemon", "--config", str(p), "--for", "0.2"]) == 78
    assert f"{p}: cannot read the configuration file: Permission denied" in capsys.readouterr().out
    assert main(["config", "--file", str(p)]) == 1


@pytest.mark.parametrize("key", ["a\nb", "a\u0000b", "tab\there", 'q"uo\\te', "del\u007f", "é ü"])
def test_config_prints_valid_toml_for_any_device_key(tmp_path, capsys, key):
    escaped = to_toml_value(key)
    p = write(tmp_path, f"[device.{escaped}]\nside-scroll = true\n")
    assert main(["config", "--file", str(p)]) == 0
    printed = tomllib.loads(capsys.readouterr().out)
    assert printed["device"] == {key: {"side-scroll": True}}


def test_printed_file_comment_escapes_the_path(tmp_path, capsys):
    d = tmp_path / "new\nline"
    d.mkdir()
    p = d / "config.toml"
    p.write_text("[fix]\nauto-release = false\n")
    assert main(["config", "--file", str(p)]) == 0
    assert tomllib.loads(capsys.readouterr().out)["fix"]["auto-release"] is False
