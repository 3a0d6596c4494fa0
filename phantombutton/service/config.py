"""The user's configuration: ~/.config/phantombutton/config.toml (XDG_CONFIG_HOME honoured).

    [detection]
    held-for = 0.25           # s HID button 16 of a model we do not know must stay down to
                              # count (a button the model does not have counts at once)
    reassert-window = 30.0    # s: a phantom back within this time of its release re-asserts
    reassert-limit = 3        # re-asserts tolerated before the daemon backs off

    [fix]
    auto-release = true       # release a phantom held button when one is found
    mute-unknown-buttons = false   # let the recovery chain mute (EVIOCSKEYCODE) a button the
                                   # model does not have when releasing it did not work
    prevention = ["settings"]      # "settings": apply the [device] settings on every connect;
                                   # [] = never write a setting
    reset-stale-diversions = false # the daemon resets a control diverted to HID++ that no
                                   # program reads (service/daemon_diversions.py); never one
                                   # another program holds the node of

    [daemon]
    settle-delay = 0.2        # s to leave the kernel driver its own set-up after a connection
    rescan-interval = 2.0     # s between looks for receivers plugged in or out
    backoff-initial = 1.0     # s; doubled per re-assert, capped at backoff-max
    backoff-max = 300.0

    [device."101B"]           # by WPID (4 hex digits), serial (8 hex digits) or name
    side-scroll = true

A bad file is refused, never guessed at: BadInput names the file, the line and the key (the
line a key was written on, and values printed as TOML: service/tomltext.py).
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from phantombutton.detect.reassert import ReassertPolicy
from phantombutton.devices.settings import (
    DIVERSIONS, DIVERSIONS_SETTING, DPI, DPI_SETTING, SIDE_SCROLL_SETTING, SMOOTH_SCROLL_SETTING,
)
from phantombutton.devices.settings20 import WHEEL_RESOLUTION
from phantombutton.errors import BadInput
from phantombutton.models import MODELS, model_for
from phantombutton.service.tomltext import (
    KeyLines, comment, deepest_line, dotted, escape, show, syntax_error, to_toml_value, too_deep,
)

SettingValue = bool | int | float | str

# An X button map that maps the phantom to 0 (xinput set-button-map) would be a second kind of
# prevention; it is not implemented, so it is not accepted either.
PREVENTIONS = ("settings",)
_SETTING_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_WPID = re.compile(r"[0-9A-Fa-f]{4}")
_SERIAL = re.compile(r"[0-9A-Fa-f]{8}")


@dataclass(frozen=True)
class DetectionConfig:
    """The [detection] table of the configuration file."""

    held_for: float = 0.25
    reassert_window: float = 30.0
    reassert_limit: int = 3
    # a key held this long on a virtual keyboard (a remapper's uinput device) while no
    # physical key is held is stuck (detect/stuck_keys.py)
    stuck_key_after: float = 3.0


@dataclass(frozen=True)
class FixConfig:
    """The [fix] table of the configuration file."""

    auto_release: bool = True
    mute_unknown_buttons: bool = False
    prevention: tuple[str, ...] = ("settings",)
    reset_stale_diversions: bool = False


@dataclass(frozen=True)
class DaemonConfig:
    """The [daemon] table of the configuration file."""

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
    """The whole configuration file, the defaults where it says nothing."""

    detection: DetectionConfig = DetectionConfig()
    fix: FixConfig = FixConfig()
    daemon: DaemonConfig = DaemonConfig()
    devices: tuple[DeviceConfig, ...] = ()
    path: Path | None = None          # the file read; None when defaults only
    explicit: frozenset[str] = frozenset()  # dotted keys the file set ("fix.auto-release")

    @property
    def reassert(self) -> ReassertPolicy:
        """The re-assert policy watch --fix and the daemon share."""
        return ReassertPolicy(self.detection.reassert_window, self.detection.reassert_limit,
                              self.daemon.backoff_initial, self.daemon.backoff_max)

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

# What makes sense for each number: (lowest, lowest is allowed, highest). A zero interval
# busy-loops the daemon, a zero back-off is no back-off, and a settle delay or back-off of
# hours means the settings are in practice never applied; nan and inf are never numbers here.
HOUR = 3600.0
DAY = 86400.0
_RANGES: dict[str, tuple[float, bool, float]] = {
    "detection.held-for": (0.0, True, HOUR),
    "detection.reassert-window": (0.0, False, DAY),
    "detection.reassert-limit": (1, True, 1000),
    "detection.stuck-key-after": (0.0, False, HOUR),
    "daemon.settle-delay": (0.0, True, 60.0),
    "daemon.rescan-interval": (0.1, True, HOUR),
    "daemon.backoff-initial": (0.0, False, HOUR),
    "daemon.backoff-max": (0.0, False, DAY),
}
MAX_BYTES = 1 << 20      # a configuration is a few hundred bytes; /dev/zero is not one
MAX_DEPTH = 8            # tables and arrays in a value; the format itself uses 3


def config_home(env: Mapping[str, str] | None = None, home: Path | str | None = None) -> Path:
    """$XDG_CONFIG_HOME, or HOME/.config when it is unset or relative (XDG spec)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "")
    if base and os.path.isabs(base):
        return Path(base)
    return Path(home or env.get("HOME") or os.path.expanduser("~")) / ".config"


def default_path(env: Mapping[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/phantombutton/config.toml."""
    return config_home(env) / "phantombutton" / "config.toml"


def load(path: Path | str | None = None) -> Config:
    """Read the configuration; a missing default file means defaults, a bad one BadInput
    (whatever is wrong: the daemon turns every BadInput into exit 78)."""
    p = Path(path) if path is not None else default_path()
    try:
        data = _read(p)
    except FileNotFoundError:
        if path is not None:
            raise BadInput(f"{p}: configuration file not found") from None
        return Config()
    except OSError as e:
        raise BadInput(f"{p}: cannot read the configuration file: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise BadInput(f"{p}:{line}: not UTF-8 (byte 0x{data[e.start]:02x}); "
                       f"TOML files are UTF-8") from None
    return parse(text, p)


def stuck_key_after() -> float:
    """[detection] stuck-key-after for the one-shot commands and `watch`: a bad file is the
    daemon's and `config`'s to report (exit 78 / 1), so they fall back to the default."""
    try:
        return load().detection.stuck_key_after
    except BadInput:
        return DetectionConfig().stuck_key_after


def _read(p: Path) -> bytes:
    """The file's bytes: a regular file of at most MAX_BYTES. O_NONBLOCK: a FIFO with no
    writer must not block the daemon's start (it is refused below, as a device file is)."""
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise BadInput(f"{p}: is a directory, not a configuration file")
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"{p}: not a regular file (a device, FIFO or socket); "
                           "give a configuration file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_BYTES + 1)   # a buffered read loops over short reads until EOF
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise BadInput(f"{p}: larger than {MAX_BYTES >> 20} MiB; not a configuration file")
    return data


def parse(text: str, path: Path | str = "<config>") -> Config:
    # tomllib here, not at the top: 6 ms (host) that status, release and watch pay for
    # nothing when there is no configuration file (load() returns the defaults)
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise syntax_error(path, text, str(e)) from None
    except RecursionError:   # tomllib parses nested arrays and inline tables recursively
        raise BadInput(f"{path}:{deepest_line(text)}: TOML nested too deeply") from None
    lines = KeyLines(text)

    def bad(keypath: tuple[str, ...], problem: str) -> BadInput:
        line = lines.find(keypath)
        where = f"{path}:{line}" if line else f"{path}"
        return BadInput(f"{where}: {dotted(keypath)}: {problem}")

    explicit: set[str] = set()
    sections: dict[str, Any] = {}
    if (deep := too_deep(data, MAX_DEPTH)) is not None:
        raise BadInput(f"{path}:{lines.find(deep) or deepest_line(text)}: {dotted(deep)}: "
                       f"nested more than {MAX_DEPTH} deep")
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

    device_tables = data.get("device", {})
    if not isinstance(device_tables, dict):
        raise bad(("device",), 'must be tables such as [device."101B"]')
    devices = [_device(key, table, bad) for key, table in device_tables.items()]
    explicit.update(f'device."{key}".{k}' for key, table in device_tables.items() for k in table)

    cfg = Config(devices=tuple(devices), path=path, explicit=frozenset(explicit), **sections)
    if cfg.daemon.backoff_max < cfg.daemon.backoff_initial:
        raise bad(("daemon", "backoff-max"), "must be >= backoff-initial")
    return cfg


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
                raise bad((name, key), f"expected true or false, got {show(value)}")
        elif isinstance(default, int):
            low, _, high = _RANGES[f"{name}.{key}"]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise bad((name, key), f"expected a whole number from {low:g} to {high:g}, "
                                       f"got {show(value)}")
        elif isinstance(default, float):
            low, low_ok, high = _RANGES[f"{name}.{key}"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < low or (value == low and not low_ok) \
                    or value > high:
                raise bad((name, key), f"expected a number of seconds {'>=' if low_ok else '>'} "
                                       f"{low:g} and <= {high:g}, got {show(value)}")
            value = float(value)
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(v in PREVENTIONS for v in value):
                raise bad((name, key), f"expected a list of {', '.join(map(repr, PREVENTIONS))}, "
                                       f"got {show(value)}")
            value = tuple(dict.fromkeys(value))
        values[f.name] = value
    return cls(**values)


def _device(key: str, table: Any, bad) -> DeviceConfig:
    if not isinstance(table, dict):
        raise bad(("device", key), "must be a table of settings, e.g. side-scroll = true")
    if not key.strip():
        raise bad(("device", key), "empty device key; use a WPID (101B), serial or name")
    kind = "wpid" if _WPID.fullmatch(key) else "serial" if _SERIAL.fullmatch(key) else "name"
    settings: dict[str, SettingValue] = {}
    for name, value in table.items():
        if not _SETTING_NAME.match(name):
            raise bad(("device", key, name), "setting names are lower-case words with dashes, "
                                             "e.g. side-scroll")
        if isinstance(value, (dict, list)) or not isinstance(value, (bool, int, float, str)):
            raise bad(("device", key, name), f"expected true/false, a number or a string, "
                                             f"got {show(value)}")
        if problem := _check_setting(name, value) or _check_model(kind, key, name, value):
            raise bad(("device", key, name), problem)
        settings[name] = value
    return DeviceConfig(key=key, kind=kind, settings=settings)


# A HID++ 2.0 sensor's dpi list is the mouse's own (ADJUSTABLE_DPI getSensorDpiList): the
# file can only be checked for a plausible number; the mouse refuses others at the connect,
# which the journal says. HID++ 1.0 models are checked against their register's values.
DPI_RANGE = (50, 32000)


# Setting name -> accepted values, from devices/settings.py and settings20.py (the one place
# they live). wheel-resolution: only `high` - `low` makes the wheel slow until the next
# connect (settings20.refusal), so only `set --force` writes it.
_KNOWN_SETTINGS: dict[str, tuple[str, ...]] = {
    **{x.name: x.choices for x in (SIDE_SCROLL_SETTING, SMOOTH_SCROLL_SETTING, DPI_SETTING, DIVERSIONS_SETTING)},
    WHEEL_RESOLUTION: ("high",),
}


def _check_setting(name: str, value: SettingValue) -> str | None:
    if name not in _KNOWN_SETTINGS:
        return f"unknown setting; valid settings: {', '.join(_KNOWN_SETTINGS)}"
    if name == DPI:
        low, high = DPI_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"expected a whole number of dpi from {low} to {high}, got {show(value)}"
        return None
    choices = _KNOWN_SETTINGS[name]
    if set(choices) == {"on", "off"}:
        return None if isinstance(value, bool) else f"expected true or false, got {show(value)}"
    text = str(value) if not isinstance(value, bool) else None
    if text not in choices or (choices[0].isdigit() and not isinstance(value, int)):
        shown = ", ".join(choices) if len(choices) <= 4 else f"{choices[0]}..{choices[-1]}"
        return f"expected one of {shown}, got {show(value)}"
    return None


def _model_settings(m) -> tuple[str, ...]:
    """What devices/settings.settings_for may offer a model: its HID++ 1.0 registers, or for
    a 2.0 model (known or not) the feature-based settings the daemon applies (dpi,
    wheel-resolution: whether the mouse has ADJUSTABLE_DPI / HIRES_WHEEL only it can say, at
    the connect) and diversions (an unknown 1.0 device gets no settings)."""
    if m.hidpp10 and m.known:
        return m.hidpp10_settings
    return (DPI, WHEEL_RESOLUTION, DIVERSIONS)


def _check_model(kind: str, key: str, name: str, value: SettingValue | None = None) -> str | None:
    """A setting the models this key can name do not have (dpi on an M705): the daemon would
    only find out at the next connection, so it is refused now. Serials name no model."""
    if kind == "wpid":
        m = model_for(int(key, 16))
        offered = _model_settings(m)
        if name not in offered:
            which = f"the {m.name} (WPID {key.upper()})" if m.known else f"an unknown model (WPID {key.upper()})"
            return f"{which} has no setting {name}; its settings: {', '.join(offered) or 'none'}"
        if name == DPI and m.hidpp10 and str(value) not in DPI_SETTING.choices:
            # dpi on a HID++ 1.0 model: one of its register's values (devices/settings.py)
            c = DPI_SETTING.choices
            return f"expected one of {c[0]}..{c[-1]} (the {m.name}'s register values), got {show(value)}"
    if kind == "name":
        named = [m for m in MODELS.values()
                 if key.casefold() in m.name.casefold() or key.casefold() in m.full_name.casefold()]
        offered = tuple(dict.fromkeys(s for m in named for s in _model_settings(m)))
        if named and name not in offered:
            return f'no "{escape(key)}" model has setting {name}; their settings: ' \
                   f"{', '.join(offered) or 'none'}"
    return None


# --- printing the effective configuration -------------------------------------------------

def to_toml(cfg: Config) -> str:
    """The effective configuration as TOML; each value says whether it came from the file."""
    origin = str(cfg.path) if cfg.path else None
    out = ["# phantombutton effective configuration",
           f"# file: {comment(origin)}" if origin
           else f"# file: none found at {comment(str(default_path()))} (defaults)"]
    for name, cls in _SECTIONS.items():
        section = getattr(cfg, name)
        out += ["", f"[{name}]"]
        for f in fields(cls):
            key = f.name.replace("_", "-")
            src = "from file" if f"{name}.{key}" in cfg.explicit else "default"
            out.append(f"{key} = {to_toml_value(getattr(section, f.name))}  # {src}")
    for dev in cfg.devices:
        out += ["", f'[device.{to_toml_value(dev.key)}]  # by {dev.kind}']
        out += [f"{key} = {to_toml_value(value)}  # from file" for key, value in dev.settings.items()]
    return "\n".join(out) + "\n"
