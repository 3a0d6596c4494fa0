"""Install the udev rule (system-wide) and the systemd user unit (for one user).

The plan is computed first, as a list of steps, so that `install-udev --print` shows exactly
what `install-udev` does, and so that a missing privilege is reported before anything is
written (no half-done installation).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from phantombutton.errors import PhantomError
from phantombutton.service.config import config_home

RULE_NAME = "70-phantombutton.rules"
UNIT_NAME = "phantombutton.service"
RULES_DIR = "/etc/udev/rules.d"
SHIPPED_EXEC = "/usr/bin/phantombutton"   # ExecStart in the shipped unit, replaced on install

RELOAD = ("udevadm", "control", "--reload-rules")
# A "change" event for the existing nodes applies the new permissions now (no replug).
TRIGGER = ("udevadm", "trigger", "--subsystem-match=hidraw", "--subsystem-match=input")


def shipped(name: str) -> str:
    """A data file shipped in the package (phantombutton/data/), identical to udev/<name>."""
    return resources.files("phantombutton").joinpath("data", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class WriteFile:
    """A file the installation writes."""

    path: Path
    content: str
    needs_root: bool
    owner: tuple[int, int] | None = None   # chown to (uid, gid): the user's unit under sudo

    def describe(self) -> str:
        return f"write {shlex.quote(str(self.path))}"


@dataclass(frozen=True)
class RunCommand:
    """A command the installation runs."""

    argv: tuple[str, ...]
    needs_root: bool

    def describe(self) -> str:
        return "run " + shlex.join(self.argv)


Step = WriteFile | RunCommand


@dataclass(frozen=True)
class Target:
    """The user whose systemd directory receives the unit."""

    name: str
    uid: int
    gid: int
    unit_dir: Path


def target_user(env: Mapping[str, str] | None = None, euid: int | None = None) -> Target:
    """The invoking user: SUDO_USER when run through sudo as root, else ourselves."""
    env = os.environ if env is None else env
    euid = os.geteuid() if euid is None else euid
    sudo_user = env.get("SUDO_USER")
    if euid == 0 and sudo_user and sudo_user != "root":
        try:
            pw = pwd.getpwnam(sudo_user)
        except KeyError:
            raise PhantomError(f"SUDO_USER={sudo_user} is not a known user") from None
        # sudo resets the environment: the user's XDG_CONFIG_HOME is unknown, use the default.
        return Target(sudo_user, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir) / ".config/systemd/user")
    pw = pwd.getpwuid(euid)
    # A relative HOME means nothing to systemd (and cannot be put under --root): ignore it,
    # as the XDG spec says of a relative XDG_CONFIG_HOME.
    env_home = env.get("HOME", "")
    home = Path(env_home if os.path.isabs(env_home) else pw.pw_dir)
    return Target(pw.pw_name, pw.pw_uid, pw.pw_gid, config_home(env, home) / "systemd/user")


_SYSTEMD_SAFE = re.compile(r"[A-Za-z0-9_@+=:,./-]+", re.ASCII)
_SYSTEMD_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)} | str.maketrans(
    {'"': '\\"', "\\": "\\\\", "\n": "\\n"})


def systemd_quote(word: str, *, executable: bool = False) -> str:
    """One word of an ExecStart= line (systemd.service(5), "Command lines"): double quotes
    around anything but plain characters, C escapes inside, `%` doubled (no specifier is
    expanded) and, in arguments, `$` doubled (no variable is; the executable's own path is
    not subject to variable expansion, systemd-analyze verify confirms)."""
    doubled = word.replace("%", "%%")
    if not executable:
        doubled = doubled.replace("$", "$$")
    if _SYSTEMD_SAFE.fullmatch(word):
        return doubled
    return '"' + doubled.translate(_SYSTEMD_ESCAPES) + '"'


def exec_line(argv: list[str] | tuple[str, ...]) -> str:
    return " ".join(systemd_quote(w, executable=i == 0) for i, w in enumerate(argv))


def exec_start() -> str:
    """The command line the unit runs: the phantombutton next to our interpreter, if any;
    quoted for systemd (a venv path may hold spaces)."""
    candidates = [Path(sys.executable).parent / "phantombutton"]
    if sys.argv and os.path.basename(sys.argv[0]) == "phantombutton":
        candidates.append(Path(os.path.abspath(sys.argv[0])))
    if found := shutil.which("phantombutton"):
        candidates.append(Path(found))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return exec_line([str(c), "daemon"])
    # Not installed as a script (e.g. run from a checkout): the interpreter and the module.
    return exec_line([str(Path(sys.executable).absolute()), "-m", "phantombutton.cli.main", "daemon"])


def render_unit(command: str) -> str:
    text = shipped(UNIT_NAME)
    old = f"ExecStart={SHIPPED_EXEC} daemon"
    if old not in text:
        raise PhantomError(f"shipped {UNIT_NAME} has no line {old!r}; the package is damaged")
    return text.replace(old, f"ExecStart={command}")


def plan(root: Path | None = None, target: Target | None = None,
         command: str | None = None) -> list[Step]:
    """The steps of an installation; `root` prefixes every path and skips the commands."""
    target = target or target_user()
    command = command or exec_start()

    def prefixed(p: Path) -> Path:
        return root / p.relative_to(p.anchor) if root is not None else p

    steps: list[Step] = [
        WriteFile(prefixed(Path(RULES_DIR) / RULE_NAME), shipped(RULE_NAME), needs_root=root is None),
        WriteFile(prefixed(target.unit_dir / UNIT_NAME), render_unit(command), needs_root=False,
                  owner=(target.uid, target.gid) if target.uid != os.geteuid() else None),
    ]
    if root is None:
        steps += [RunCommand(RELOAD, needs_root=True), RunCommand(TRIGGER, needs_root=True)]
    return steps


def next_steps(target: Target) -> str:
    """What the user still has to do: systemd user managers are per user, not ours to drive."""
    return (f"then, as {target.name}: systemctl --user daemon-reload && "
            f"systemctl --user enable --now {UNIT_NAME}")


def format_plan(steps: list[Step]) -> str:
    """Everything `install-udev` would do: files with their full content, then commands."""
    out = []
    for s in steps:
        root = " (needs root)" if s.needs_root else ""
        if isinstance(s, WriteFile):
            owner = f", owner uid {s.owner[0]} gid {s.owner[1]}" if s.owner else ""
            out.append(f"# {s.describe()} (mode 0644{owner}){root}")
            # quoted for the shell: the output is meant to be read and pasted, and a path
            # (a HOME with `$(...)` in it) must not run anything
            end = "EOF"
            while end in s.content.splitlines():
                end += "_"
            out += [f"cat > {shlex.quote(str(s.path))} <<'{end}'", s.content.rstrip("\n"), end]
        else:
            out += [f"# {s.describe()}{root}", shlex.join(s.argv)]
        out.append("")
    return "\n".join(out)


def missing_privilege(steps: list[Step]) -> list[Step]:
    return [] if os.geteuid() == 0 else [s for s in steps if s.needs_root]


def execute(steps: list[Step], log=print) -> None:
    for s in steps:
        if isinstance(s, WriteFile):
            _write(s)
        else:
            try:
                proc = subprocess.run(s.argv, capture_output=True, text=True, timeout=60)
            except FileNotFoundError:
                raise PhantomError(f"{s.argv[0]} not found: is udev installed?") from None
            except subprocess.TimeoutExpired:
                raise PhantomError(f"{' '.join(s.argv)} did not finish within 60 s") from None
            if proc.returncode != 0:
                detail = (proc.stderr or proc.stdout).strip().splitlines()
                raise PhantomError(f"{' '.join(s.argv)} failed (exit {proc.returncode})"
                                   + (f": {detail[-1]}" if detail else ""))
        log(f"done: {s.describe()}")


def _write(s: WriteFile) -> None:
    created = []
    d = s.path.parent
    while not d.exists():
        created.append(d)
        d = d.parent
    tmp = None
    try:
        for c in reversed(created):
            # 0755 whatever the umask (mkdir's mode is masked by it): systemd and udev read
            # these directories as other users
            os.makedirs(c, exist_ok=True)
            os.chmod(c, 0o755)
        fd, tmp = tempfile.mkstemp(dir=s.path.parent, prefix=f".{s.path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(s.content)
        os.chmod(tmp, 0o644)
        if s.owner:
            os.chown(tmp, *s.owner)
            for c in created:
                os.chown(c, *s.owner)
        os.replace(tmp, s.path)   # atomic: udev never reads half a rule file
        tmp = None
    except PermissionError as e:
        raise PhantomError(f"cannot write {s.path}: {e.strerror}; run with sudo") from None
    except OSError as e:
        raise PhantomError(f"cannot write {s.path}: {e.strerror or e}") from None
    finally:
        if tmp is not None:   # a failed write leaves no .70-phantombutton.rules.XXXXXX behind
            with contextlib.suppress(OSError):
                os.unlink(tmp)
