"""`phantombutton install-udev`: --print, --root staging, the non-root refusal, sudo's user."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from phantombutton.cli.main import main
from phantombutton.service import install

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_RULE = (ROOT / "udev" / "70-phantombutton.rules").read_text()


@pytest.fixture
def me(monkeypatch, tmp_path):
    """Run as an ordinary user whose home is tmp_path/home (no sudo)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    return home


def test_print_shows_files_with_content_and_commands(me, capsys):
    assert main(["install-udev", "--print"]) == 0
    out = capsys.readouterr().out
    rule_path = "/etc/udev/rules.d/70-phantombutton.rules"
    unit_path = f"{me}/.config/systemd/user/phantombutton.service"
    assert f"# write {rule_path} (mode 0644) (needs root)" in out
    assert f"cat > {rule_path} <<'EOF'\n{SHIPPED_RULE.rstrip()}\nEOF" in out   # exact content
    assert f"cat > {unit_path} <<'EOF'" in out
    exe = Path(sys.executable).parent / "phantombutton"
    assert f"ExecStart={exe} daemon" in out                # resolved at install time
    assert "ExecStart=/usr/bin/phantombutton" not in out
    assert "\nudevadm control --reload-rules\n" in out
    assert "\nudevadm trigger --subsystem-match=hidraw --subsystem-match=input\n" in out
    assert "systemctl --user enable --now phantombutton.service" in out
    # nothing was written
    assert not (me / ".config").exists()


def test_root_prefix_installs_both_files(me, tmp_path, capsys):
    dest = tmp_path / "stage"
    assert main(["install-udev", "--root", str(dest)]) == 0
    rule = dest / "etc/udev/rules.d/70-phantombutton.rules"
    unit = dest / str(me).lstrip("/") / ".config/systemd/user/phantombutton.service"
    assert rule.read_text() == SHIPPED_RULE
    assert unit.read_text() == install.render_unit(install.exec_start())
    assert stat.S_IMODE(rule.stat().st_mode) == 0o644
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    err = capsys.readouterr().err
    assert f"done: write {rule}" in err and "udevadm" not in err     # --root runs no command
    # idempotent: a second run replaces the files atomically, leaves no temporary files
    assert main(["install-udev", "--root", str(dest)]) == 0
    assert sorted(p.name for p in rule.parent.iterdir()) == [rule.name]


def test_xdg_config_home_is_honoured_without_sudo(me, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    steps = install.plan(root=None, target=install.target_user())
    assert steps[1].path == tmp_path / "cfg/systemd/user/phantombutton.service"


def test_without_root_says_which_steps_need_it(me, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 65534)
    monkeypatch.setattr(install.pwd, "getpwuid",
                        lambda uid: pwd.struct_passwd(("nobody", "x", 65534, 65534, "", str(me), "/bin/sh")))
    assert main(["install-udev"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "needs root for: write /etc/udev/rules.d/70-phantombutton.rules; " \
           "run udevadm control --reload-rules; run udevadm trigger" in err
    assert "Nothing was changed" in err and "sudo phantombutton install-udev" in err
    assert not (me / ".config").exists()


def test_under_sudo_the_unit_goes_to_the_invoking_user(monkeypatch):
    user = next((p for p in pwd.getpwall() if p.pw_uid >= 1000 and p.pw_uid != 65534), None) \
        or pwd.getpwnam("nobody")
    t = install.target_user(env={"SUDO_USER": user.pw_name, "HOME": "/root"}, euid=0)
    assert (t.name, t.uid, t.gid) == (user.pw_name, user.pw_uid, user.pw_gid)
    assert t.unit_dir == Path(user.pw_dir) / ".config/systemd/user"
    steps = install.plan(root=None, target=t, command="/opt/pb/bin/phantombutton daemon")
    if user.pw_uid != os.geteuid():
        assert steps[1].owner == (user.pw_uid, user.pw_gid)   # the user's file, not root's
    assert steps[0].needs_root and not steps[1].needs_root


def test_unknown_sudo_user_is_one_line_error():
    from phantombutton.errors import PhantomError
    with pytest.raises(PhantomError, match="SUDO_USER=no-such-user-xyz is not a known user"):
        install.target_user(env={"SUDO_USER": "no-such-user-xyz"}, euid=0)


# --- hardening: the adversarial review's install-udev cases ------------------------------

def test_empty_root_is_a_usage_error_not_the_live_system(me, capsys):
    # `--root "$DESTDIR"` with DESTDIR unset: an empty DIR counted as no --root and the plan
    # wrote /etc/udev/rules.d and ran udevadm
    for root in ("", " "):
        assert main(["install-udev", "--root", root, "--print"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and "/etc/udev" not in err
        assert err.count("\n") == 1 and "--root needs a directory" in err


def test_relative_home_uses_the_passwd_home(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", "relhome")
    monkeypatch.chdir(tmp_path)
    dest = tmp_path / "stage"
    assert main(["install-udev", "--root", str(dest)]) == 0, capsys.readouterr().err
    pw_home = pwd.getpwuid(os.geteuid()).pw_dir
    assert (dest / pw_home.lstrip("/") / ".config/systemd/user/phantombutton.service").is_file()
    assert not (tmp_path / "relhome").exists()


def test_exec_start_is_quoted_for_systemd(monkeypatch, tmp_path):
    # a venv whose path has a space (and systemd's specifier and variable characters)
    venv_bin = tmp_path / "sp ace %h $HOME" / "bin"
    venv_bin.mkdir(parents=True)
    exe = venv_bin / "phantombutton"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python3"))
    line = install.exec_start()
    assert line == f'"{str(exe).replace("%", "%%")}" daemon'
    unit = install.render_unit(line)
    assert f"\nExecStart={line}\n" in unit
    if shutil.which("systemd-analyze"):
        from test_systemd_unit import verify
        proc = verify(unit, tmp_path)
        assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def test_systemd_quote_escapes():
    assert install.systemd_quote("/usr/bin/phantombutton") == "/usr/bin/phantombutton"
    assert install.systemd_quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert install.systemd_quote("50%$X") == '"50%%$$X"'
    assert install.systemd_quote("/a b/$X", executable=True) == '"/a b/$X"'


def test_printed_plan_is_quoted_for_the_shell(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    home = tmp_path / "$(touch PWNED)"
    monkeypatch.setenv("HOME", str(home))
    stage = tmp_path / "stage"
    assert main(["install-udev", "--root", str(stage), "--print"]) == 0
    script = capsys.readouterr().out
    # pasting the plan into a shell must not run the command in the path: it writes the files
    # (the directories exist) and nothing else
    unit_dir = stage / str(home).lstrip("/") / ".config/systemd/user"
    unit_dir.mkdir(parents=True)
    (stage / "etc/udev/rules.d").mkdir(parents=True)
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, check=False,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "PWNED").exists()
    assert (unit_dir / "phantombutton.service").read_text() == \
        install.render_unit(install.exec_start()).rstrip("\n") + "\n"


def test_failed_write_leaves_no_temporary_file(me, tmp_path, capsys):
    dest = tmp_path / "stage"
    rules = dest / "etc/udev/rules.d"
    (rules / "70-phantombutton.rules").mkdir(parents=True)    # the destination is a directory
    assert main(["install-udev", "--root", str(dest)]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert [p.name for p in rules.iterdir()] == ["70-phantombutton.rules"]


def test_created_directories_are_0755_whatever_the_umask(me, tmp_path):
    dest = tmp_path / "stage"
    old = os.umask(0)
    try:
        assert main(["install-udev", "--root", str(dest)]) == 0
    finally:
        os.umask(old)
    created = [dest, dest / "etc", dest / "etc/udev", dest / "etc/udev/rules.d",
               dest / str(me).lstrip("/") / ".config/systemd/user"]
    for d in created:
        assert stat.S_IMODE(d.stat().st_mode) == 0o755, d
