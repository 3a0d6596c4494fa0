"""`phantombutton report`: the archive's members, what is missing and why, output rules, exit
codes; and click's shell completion."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from phantombutton.cli import cmd_report
from phantombutton.cli.main import main
from phantombutton.report import system

CAPTURES = Path(__file__).resolve().parents[2] / "captures"


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        out = {n: tar.extractfile(n).read() for n in names}   # type: ignore[union-attr]
        assert all(m.uid == 0 and m.uname == "" and m.mode == 0o644 for m in tar.getmembers())
    assert names[0] == "summary.md" and all("/" not in n for n in names)
    return out


def test_virtual_report_with_a_capture(tmp_path, capsys):
    out = tmp_path / "r.tar.gz"
    assert main(["--virtual", "report", "--capture", str(CAPTURES / "phantom-middle.yml"), "-o", str(out)]) == 0
    m = _members(out)
    for name in ("capture.yml", "info.json", "versions.txt", "versions.json", "analyze.txt",
                 "analyze.json", "timeline.svg", "config.toml", "report.json"):
        assert name in m, name
    assert m["capture.yml"] == (CAPTURES / "phantom-middle.yml").read_bytes()
    info = json.loads(m["info.json"])
    assert info["receivers"][0]["devices"][0]["wpid"] == "101B"
    analysis = json.loads(m["analyze.json"])
    assert analysis["verdict"] == "phantom" and analysis["findings"][0]["rule"] == "press-after-connect"
    assert analysis["held_at_end"][0]["code"] == 0x112
    assert m["timeline.svg"].startswith(b"<svg ") and b"connection" in m["timeline.svg"]
    versions = json.loads(m["versions.json"])
    assert versions["kernel"] == os.uname().release and "hid-logitech-dj" in versions
    summary = m["summary.md"].decode()
    assert summary.startswith("## phantombutton report\n")
    assert "Verdict: **PHANTOM** - 1 finding(s)" in summary and "slot 1: M705" in summary
    assert "| `timeline.svg` |" in summary and "| kernel | `" in summary
    err = capsys.readouterr().err
    assert f"wrote {out}: " in err and "summary.md is ready to paste" in err


def test_nothing_useful_exits_1_and_says_why(tmp_path, monkeypatch, capsys):
    """No receiver, no mouse, no readable kernel log: the archive is still written, with the
    versions and the reasons; exit 1."""
    monkeypatch.setattr(system, "run", lambda argv, timeout=10.0: (None, f"{argv[0]}: not installed"))
    monkeypatch.setattr("phantombutton.capture.meta.default_event_nodes", list)
    monkeypatch.setattr("phantombutton.transport.discovery.find_receivers", lambda *a, **k: [])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    out = tmp_path / "r.tar.gz"
    assert main(["report", "--duration", "1", "-o", str(out)]) == 1
    m = _members(out)
    assert "capture.yml" not in m and "info.json" not in m and "kernel-log.txt" not in m
    summary = m["summary.md"].decode()
    assert "### Missing" in summary
    assert "- capture: no Logitech receiver mouse found under /dev/input" in summary
    assert "- info: " in summary and "- kernel log: kernel log not readable: dmesg: not installed" in summary
    assert json.loads(m["report.json"])["missing"]
    err = capsys.readouterr().err
    assert "missing: capture: no Logitech receiver mouse" in err and "nothing useful was collected" in err


def test_output_rules(tmp_path, capsys):
    cap = str(CAPTURES / "clean-session.yml")
    existing = tmp_path / "r.tar.gz"
    existing.write_text("keep")
    assert main(["--virtual", "report", "--capture", cap, "-o", str(existing)]) == 2
    assert existing.read_text() == "keep" and "exists; pass --force" in capsys.readouterr().err
    assert main(["--virtual", "report", "--capture", cap, "-o", str(existing), "--force"]) == 0
    assert "summary.md" in _members(existing)
    link = tmp_path / "link.tar.gz"
    link.symlink_to(tmp_path / "elsewhere")
    assert main(["--virtual", "report", "--capture", cap, "-o", str(link), "--force"]) == 2
    assert not (tmp_path / "elsewhere").exists() and "symbolic link" in capsys.readouterr().err
    assert main(["--virtual", "report", "--capture", cap, "-o", str(tmp_path / "no" / "r.tar.gz")]) == 2
    assert main(["--virtual", "report", "--duration", "0"]) == 2


def test_default_name_never_clobbers():
    taken = {"phantombutton-report-20261201-101500.tar.gz", "phantombutton-report-20261201-101500-2.tar.gz"}
    import time

    now = time.mktime((2026, 12, 1, 10, 15, 0, 0, 0, -1))
    assert cmd_report.default_name(now, exists=taken.__contains__) == "phantombutton-report-20261201-101500-3.tar.gz"


def test_report_to_stdout(tmp_path):
    r = subprocess.run([sys.executable, "-m", "phantombutton.cli.main", "--virtual", "report", "--capture",
                        str(CAPTURES / "original-bug.yml"), "-o", "-"], check=False, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with tarfile.open(fileobj=io.BytesIO(r.stdout), mode="r:gz") as tar:
        assert tar.getnames()[0] == "summary.md"


def _exe() -> str:
    return str(Path(sys.executable).parent / "phantombutton")


def test_bash_completion_script_completes_a_verb():
    env = {**os.environ, "_PHANTOMBUTTON_COMPLETE": "bash_source"}
    script = subprocess.run([_exe()], check=False, env=env, capture_output=True, text=True, timeout=60).stdout
    assert "complete -o nosort -F _phantombutton_completion phantombutton" in script
    # the script, sourced by a real bash, completes `phantombutton rep` and `analyze --mar`
    probe = script + (
        '\nPATH="$PBDIR:$PATH"\n'
        'COMP_WORDS=(phantombutton rep); COMP_CWORD=1; _phantombutton_completion phantombutton\n'
        'echo "verbs: ${COMPREPLY[*]}"\n'
        'COMPREPLY=(); COMP_WORDS=(phantombutton analyze --mar); COMP_CWORD=2; _phantombutton_completion phantombutton\n'
        'echo "options: ${COMPREPLY[*]}"\n')
    r = subprocess.run(["bash", "-c", probe], check=False, env={**os.environ, "PBDIR": str(Path(_exe()).parent)},
                       capture_output=True, text=True, timeout=60)
    assert "verbs: report\n" in r.stdout, r.stdout + r.stderr
    assert "options: --markdown\n" in r.stdout, r.stdout + r.stderr


XORG_LOG = """\
[    10.101] X.Org X Server 1.21.1.7
[    10.505] (II) LoadModule: "libinput"
[    10.506] (II) Loading /usr/lib/xorg/modules/input/libinput_drv.so
[    10.507] (II) Module libinput: vendor="X.Org Foundation"
[    10.507] \tcompiled for 1.21.1.3, module version = 1.2.1
[    10.610] (II) Using input driver 'libinput' for 'Logitech M705'
"""


def test_xorg_versions_from_its_log(tmp_path):
    log = tmp_path / "Xorg.0.log"
    log.write_text(XORG_LOG)
    v = system.xorg_versions((str(log),))
    assert v["Xorg"] == "1.21.1.7" and v["xf86-input-libinput"] == "1.2.1"
    assert v["input drivers"] == "libinput (Logitech M705)"


def test_kernel_log_keeps_hid_lines_and_falls_back(monkeypatch):
    dmesg = ("[    1.0] Linux version 6.1.0\n[    2.0] logitech-djreceiver 0003:046D:C52B.0003: hidraw0: "
             "USB HID v1.11 Device [Logitech USB Receiver]\n[    3.0] e1000: link up\n"
             "[    4.0] input: Logitech M705 as /devices/.../input/input7\n")

    def fake(argv, timeout=10.0):
        if argv[0] == "dmesg":
            return None, "dmesg: exit 1: dmesg: read kernel buffer failed: Operation not permitted"
        return dmesg, ""

    monkeypatch.setattr(system, "run", fake)
    g = system.kernel_log()
    assert g.data["source"].startswith("journalctl -k") and not g.problems
    assert g.text.splitlines() == [dmesg.splitlines()[1], dmesg.splitlines()[3]]


def test_capture_without_x_says_so(tmp_path):
    """A capture made with no X server: the summary says X state is missing, and why."""
    text = (CAPTURES / "phantom-middle.yml").read_text(encoding="utf-8")
    start = text.index("  x_at_start: ")
    text = text[:start] + "  x_at_start: []\n" + text[text.index("\n", start) + 1:]
    cap = tmp_path / "nox.yml"
    cap.write_text(text, encoding="utf-8")
    out = tmp_path / "r.tar.gz"
    assert main(["--virtual", "report", "--capture", str(cap), "-o", str(out)]) == 0
    summary = _members(out)["summary.md"].decode()
    assert "- X button state: not recorded: no X server answered (DISPLAY unset" in summary
