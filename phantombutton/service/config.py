"""The user's configuration: ~/.config/phantombutton/config.toml (XDG_CONFIG_HOME honoured).

    [detection]
    held-for = 0.25           # s a button the model does not have must stay down to count
    reassert-window = 30.0    # s: a phantom back within this time of its release re-asserts
    reassert-limit = 3        # re-asserts tolerated before the daemon backs off

    [fix]
    auto-release = true       # release a phantom held button when one is found
    mute-unknown-buttons = false   # let the recovery chain mute (EVIOCSKEYCODE) a button the
                                   # model does not have when releasing it did not work
    prevention = ["settings"]      # "settings": apply the [device] settings on every connect;
                                   # [] = never write a setting

    [daemon]
    settle-delay = 0.2        # s to leave the kernel driver its own set-up after a connection
    rescan-interval = 2.0     # s between looks for receivers plugged in or out
    backoff-initial = 1.0     # s; doubled per re-assert, capped at backoff-max
    backoff-max = 300.0

    [device."101B"]           # by WPID (4 hex digits), serial (8 hex digits) or name
    side-scroll = true

A bad file is refused, never guessed at: BadInput names the file, the line and the key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from phantombutton.errors import BadInput

SettingValue = bool | int | float | str

# An X button map that maps the phantom to 0 (xinput set-button-map) would be a second kind of
# prevention; it is not implemented, so it is not accepted either.
PREVENTIONS = ("settings",)
_SETTING_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_WPID = re.compile(r"^[0-9A-Fa-f]{4}$")
_SERIAL = re.compile(r"^[0-9A-Fa-f]{8}$")


@dataclass(frozen=True)
class DetectionConfig:
    held_for: float = 0.25
    reassert_window: float = 30.0
    reassert_limit: int = 3


@dataclass(frozen=True)
class FixConfig:
    auto_release: bool = True
    mute_unknown_buttons: bool = False
    prevention: tuple[str, ...] = ("settings",)


@dataclass(frozen=True)
class DaemonConfig:
    settle_delay: float = 0.2
    rescan_interval: float = 2.0
    backoff_initial: float = 1.0
    backoff_max: float = 300.0


@dataclass(frozen=True)
class DeviceConfig:
    """Settings for the devices one `[device."KEY"]` table names."""

    key: str                      # as written in the file
    kind: str                     # "wpid", "serial" or "name"
    settings: dict[str, SettingValue] = field(default_factory=dict)

    def matches(self, wpid: int | None, serial: str | None, name: str | None) -> bool:
        if self.kind == "wpid":
            return wpid is not None and int(self.key, 16) == wpid
        if self.kind == "serial":
            return serial is not None and serial.upper() == self.key.upper()
        return name is not None and self.key.casefold() in name.casefold()


@dataclass(frozen=True)
class Config:
    detection: DetectionConfig = DetectionConfig()
    fix: FixConfig = FixConfig()
    daemon: DaemonConfig = DaemonConfig()
    devices: tuple[DeviceConfig, ...] = ()
    path: Path | None = None          # the file read; None when defaults only
    explicit: frozenset[str] = frozenset()  # dotted keys the file set ("fix.auto-release")

    def settings_for(self, wpid: int | None, serial: str | None = None,
                     name: str | None = None) -> dict[str, SettingValue]:
        """Merged settings for one device: name < WPID < serial (the most specific wins)."""
        merged: dict[str, SettingValue] = {}
        for kind in ("name", "wpid", "serial"):
            for dev in self.devices:
                if dev.kind == kind and dev.matches(wpid, serial, name):
                    merged.update(dev.settings)
        return merged


_SECTIONS: dict[str, type] = {"detection": DetectionConfig, "fix": FixConfig, "daemon": DaemonConfig}


def config_home(env: dict[str, str] | None = None, home: Path | str | None = None) -> Path:
    """$XDG_CONFIG_HOME, or HOME/.config when it is unset or relative (XDG spec)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "")
    if base and os.path.isabs(base):
        return Path(base)
    return Path(home or env.get("HOME") or os.path.expanduser("~")) / ".config"


def default_path(env: dict[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/phantombutton/config.toml."""
    return config_home(env) / "phantombutton" / "config.toml"


def load(path: Path | str | None = None) -> Config:
    """Read the configuration; a missing default file means defaults, a bad one BadInput."""
    explicit_path = path is not None
    p = Path(path) if explicit_path else default_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit_path:
            raise BadInput(f"{p}: configuration file not found") from None
        return Config()
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{p}: cannot read the configuration file: {e}") from None
    return parse(text, p)


def parse(text: str, path: Path | str = "<config>") -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _syntax_error(path, text, str(e)) from None
    lines = _KeyLines(text)

    def bad(keypath: tuple[str, ...], problem: str) -> BadInput:
        line = lines.find(keypath)
        where = f"{path}:{line}" if line else f"{path}"
        return BadInput(f"{where}: {_dotted(keypath)}: {problem}")

    explicit: set[str] = set()
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name == "device":
            continue
        if name not in _SECTIONS:
            valid = ", ".join(f"[{s}]" for s in [*_SECTIONS, 'device."KEY"'])
            raise bad((name,), f"unknown section; valid sections: {valid}")
        if not isinstance(value, dict):
            raise bad((name,), "must be a table, e.g. [" + name + "]")
        sections[name] = _section(_SECTIONS[name], name, value, bad)
        explicit.update(f"{name}.{k}" for k in value)

    devices = []
    device_tables = data.get("device", {})
    if not isinstance(device_tables, dict):
        raise bad(("device",), 'must be tables such as [device."101B"]')
    for key, table in device_tables.items():
        devices.append(_device(key, table, bad))
        explicit.update(f'device."{key}".{k}' for k in table)

    cfg = Config(devices=tuple(devices), path=path, explicit=frozenset(explicit), **sections)
    if cfg.daemon.backoff_max < cfg.daemon.backoff_initial:
        raise bad(("daemon", "backoff-max"), "must be >= backoff-initial")
    return cfg


def _syntax_error(path: Path, text: str, message: str) -> BadInput:
    """tomllib says "Invalid value (at line 2, column 16)": lead with file:line and the key."""
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if not m:
        return BadInput(f"{path}: TOML syntax error: {message}")
    line, col = int(m.group(1)), int(m.group(2))
    what = message[:m.start()]
    source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    key = _KeyLines._KEY.match(source)
    header = _KeyLines._HEADER.match(source)
    near = (f" in key {_dotted(_split_dotted(key.group(1)))}" if key
            else f" in table [{header.group(1)}]" if header else "")
    return BadInput(f"{path}:{line}:{col}: TOML syntax error{near}: {what.lower()}")


def _section(cls: type, name: str, table: dict, bad) -> Any:
    by_key = {f.name.replace("_", "-"): f for f in fields(cls)}
    values = {}
    for key, value in table.items():
        f = by_key.get(key)
        if f is None:
            raise bad((name, key), f"unknown key; valid keys of [{name}]: {', '.join(by_key)}")
        default = f.default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise bad((name, key), f"expected true or false, got {_show(value)}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad((name, key), f"expected a whole number >= 1, got {_show(value)}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise bad((name, key), f"expected a number of seconds >= 0, got {_show(value)}")
            value = float(value)
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(v in PREVENTIONS for v in value):
                raise bad((name, key), f"expected a list of {', '.join(map(repr, PREVENTIONS))}, "
                                       f"got {_show(value)}")
            value = tuple(dict.fromkeys(value))
        values[f.name] = value
    return cls(**values)


def _device(key: str, table: Any, bad) -> DeviceConfig:
    if not isinstance(table, dict):
        raise bad(("device", key), "must be a table of settings, e.g. side-scroll = true")
    if _WPID.match(key):
        kind = "wpid"
    elif _SERIAL.match(key):
        kind = "serial"
    elif key.strip():
        kind = "name"
    else:
        raise bad(("device", key), "empty device key; use a WPID (101B), serial or name")
    settings: dict[str, SettingValue] = {}
    for name, value in table.items():
        if not _SETTING_NAME.match(name):
            raise bad(("device", key, name), "setting names are lower-case words with dashes, "
                                             "e.g. side-scroll")
        if isinstance(value, (dict, list)) or not isinstance(value, (bool, int, float, str)):
            raise bad(("device", key, name), f"expected true/false, a number or a string, "
                                             f"got {_show(value)}")
        problem = _check_setting(name, value)
        if problem:
            raise bad(("device", key, name), problem)
        settings[name] = value
    return DeviceConfig(key=key, kind=kind, settings=settings)


def _known_settings() -> dict[str, tuple[str, ...]]:
    """Setting name -> accepted values, from devices/settings.py (the one place they live)."""
    from phantombutton.devices import settings as s

    return {x.name: x.choices for x in (s.SIDE_SCROLL_SETTING, s.SMOOTH_SCROLL_SETTING,
                                        s.DPI_SETTING, s.DIVERSIONS_SETTING)}


def _check_setting(name: str, value: SettingValue) -> str | None:
    known = _known_settings()
    if name not in known:
        return f"unknown setting; valid settings: {', '.join(known)}"
    choices = known[name]
    if set(choices) == {"on", "off"}:
        return None if isinstance(value, bool) else f"expected true or false, got {_show(value)}"
    text = str(value) if not isinstance(value, bool) else None
    if text not in choices or (choices[0].isdigit() and not isinstance(value, int)):
        shown = ", ".join(choices) if len(choices) <= 4 else f"{choices[0]}..{choices[-1]}"
        return f"expected one of {shown}, got {_show(value)}"
    return None


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    return to_toml_value(value) if isinstance(value, (bool, int, float, str, list)) else repr(value)


def _dotted(keypath: tuple[str, ...]) -> str:
    out = []
    for i, part in enumerate(keypath):
        device_key = i == 1 and keypath[0] == "device"    # written [device."101B"]: keep quotes
        out.append(part if re.match(r"^[A-Za-z0-9_-]+$", part) and not device_key else f'"{part}"')
    return ".".join(out)


class _KeyLines:
    """Finds the line (1-based) where a key was written; tomllib gives lines only for syntax.

    Understands what this file format uses: [table] / [table."quoted"] headers and
    `key = value` lines, with bare or quoted keys and dotted keys. Returns None when unsure.
    """

    _HEADER = re.compile(r'^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$')
    _KEY = re.compile(r'^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
                      r'(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\'))*)\s*=')

    def __init__(self, text: str):
        self._where: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for n, line in enumerate(text.splitlines(), 1):
            m = self._HEADER.match(line)
            if m:
                table = _split_dotted(m.group(1))
                self._where.setdefault(table, n)
                continue
            m = self._KEY.match(line)
            if m:
                full = table + _split_dotted(m.group(1))
                for i in range(len(table) + 1, len(full) + 1):
                    self._where.setdefault(full[:i], n)

    def find(self, keypath: tuple[str, ...]) -> int | None:
        for i in range(len(keypath), 0, -1):
            if keypath[:i] in self._where:
                return self._where[keypath[:i]]
        return None


def _split_dotted(s: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', s)
    return tuple(a or b or c for a, b, c in parts)


# --- printing the effective configuration -------------------------------------------------

def to_toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def to_toml(cfg: Config) -> str:
    """The effective configuration as TOML; each value says whether it came from the file."""
    origin = str(cfg.path) if cfg.path else None
    out = ["# phantombutton effective configuration",
           f"# file: {origin}" if origin else f"# file: none found at {default_path()} (defaults)"]
    for name, cls in _SECTIONS.items():
        section = getattr(cfg, name)
        out.append("")
        out.append(f"[{name}]")
        for f in fields(cls):
            key = f.name.replace("_", "-")
            src = "from file" if f"{name}.{key}" in cfg.explicit else "default"
            out.append(f"{key} = {to_toml_value(getattr(section, f.name))}  # {src}")
    for dev in cfg.devices:
        out.append("")
        out.append(f'[device.{to_toml_value(dev.key)}]  # by {dev.kind}')
        for key, value in dev.settings.items():
            out.append(f"{key} = {to_toml_value(value)}  # from file")
    return "\n".join(out) + "\n"
