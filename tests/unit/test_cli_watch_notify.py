"""`watch --notify` against a real D-Bus: a private session bus (dbus-daemon) with a small
notification server (GLib's Gio, run by the system python3) that owns
org.freedesktop.Notifications and records every Notify call. Also the honest failures:
no notify-send/gdbus at all, no notification server, no session bus -- each said once on
stderr while the watch goes on."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from phantombutton.cli.cmd_watch import _Notifier

SYSTEM_PYTHON = "/usr/bin/python3"
PHANTOMBUTTON = str(Path(sys.executable).parent / "phantombutton")

# A private bus: no service activation (so no real notification daemon can be started on it),
# everyone may talk to and own anything.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir={tmpdir}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# The Desktop Notifications spec's server side, minimal: record Notify, answer with an id.
SERVER = r'''
import json, sys
import gi
gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib

XML = """<node><interface name="org.freedesktop.Notifications">
 <method name="Notify">
  <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
  <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
  <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/>
 </method>
 <method name="GetCapabilities"><arg type="as" direction="out"/></method>
 <method name="GetServerInformation">
  <arg type="s" direction="out"/><arg type="s" direction="out"/>
  <arg type="s" direction="out"/><arg type="s" direction="out"/>
 </method>
 <method name="CloseNotification"><arg type="u" direction="in"/></method>
 <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
 <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
</interface></node>"""

record = open(sys.argv[1], "a")
count = [0]

def on_call(conn, sender, path, iface, method, params, invocation):
    if method == "Notify":
        app, replaces, icon, summary, body, actions, hints, timeout = params.unpack()
        count[0] += 1
        record.write(json.dumps({"app_name": app, "summary": summary, "body": body,
                                 "timeout": timeout, "sender": sender}) + "\n")
        record.flush()
        invocation.return_value(GLib.Variant("(u)", (count[0],)))
    elif method == "GetCapabilities":
        invocation.return_value(GLib.Variant("(as)", (["body"],)))
    elif method == "GetServerInformation":
        invocation.return_value(GLib.Variant("(ssss)", ("recorder", "phantombutton-test", "1", "1.2")))
    else:
        invocation.return_value(None)

node = Gio.DBusNodeInfo.new_for_xml(XML)

def on_bus(conn, name):
    conn.register_object("/org/freedesktop/Notifications", node.interfaces[0], on_call, None, None)

def on_name(conn, name):
    print("ready", flush=True)

def on_lost(conn, name):
    print("name lost", flush=True)
    sys.exit(1)

Gio.bus_own_name(Gio.BusType.SESSION, "org.freedesktop.Notifications",
                 Gio.BusNameOwnerFlags.NONE, on_bus, on_name, on_lost)
GLib.MainLoop().run()
'''


def _readline(proc: subprocess.Popen, what: str, timeout: float = 10.0) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line.strip():
        proc.kill()
        pytest.fail(f"{what} did not start (exit status {proc.poll()})")
    return line.strip()


@pytest.fixture
def session_bus(tmp_path):
    """Address of a private, throw-away session bus."""
    if not shutil.which("dbus-daemon"):
        pytest.skip("dbus-daemon not installed (Debian package dbus)")
    conf = tmp_path / "bus.conf"
    conf.write_text(BUS_CONFIG.format(tmpdir=tempfile.gettempdir()))
    with open(tmp_path / "dbus-daemon.log", "w") as log:
        proc = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
                                stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        yield _readline(proc, "dbus-daemon")
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def notification_server(session_bus, tmp_path):
    """(bus address, file of recorded Notify calls as JSON lines)."""
    probe = "import gi; gi.require_version('Gio', '2.0'); from gi.repository import Gio"
    if not os.access(SYSTEM_PYTHON, os.X_OK) or subprocess.run(
            [SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode != 0:
        pytest.skip("python3-gi not installed (Debian package python3-gi), needed for the test server")
    script, record = tmp_path / "server.py", tmp_path / "notify-calls.jsonl"
    script.write_text(SERVER)
    record.touch()
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=session_bus)
    proc = subprocess.Popen([SYSTEM_PYTHON, str(script), str(record)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert _readline(proc, "notification server") == "ready"
        yield session_bus, record
    finally:
        proc.terminate()
        proc.wait(5)


def _path_with(tmp_path: Path, *tools: str) -> str:
    """A PATH holding only the named tools, so the notifier can choose nothing else."""
    d = tmp_path / "bin"
    d.mkdir(exist_ok=True)
    for t in tools:
        (d / t).symlink_to(shutil.which(t))
    return str(d)


def _watch(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([PHANTOMBUTTON, "--virtual", "--profile", "phantom", "watch", "--notify",
                           "--json", "--duration", "2"],
                          env=env, capture_output=True, text=True, timeout=30)


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")}
    env.update(extra)
    return env


def _findings(stdout: str) -> list[dict]:
    return [e["finding"] for e in map(json.loads, stdout.splitlines()) if e["event"] == "finding"]


@pytest.mark.parametrize("tool", ["notify-send", "gdbus"])
def test_each_phantom_reaches_the_notification_server(tool, notification_server, tmp_path):
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed (Debian package "
                    f"{'libnotify-bin' if tool == 'notify-send' else 'libglib2.0-bin'})")
    bus, record = notification_server
    r = _watch(_clean_env(PATH=_path_with(tmp_path, tool), DBUS_SESSION_BUS_ADDRESS=bus))
    assert r.returncode == 0, r.stderr
    assert "--notify" not in r.stderr            # nothing to complain about
    assert [f["x_button"] for f in _findings(r.stdout)] == [20]
    calls = [json.loads(x) for x in record.read_text().splitlines()]
    assert len(calls) == 1, calls
    (call,) = calls
    assert call["app_name"] == "phantombutton"
    assert call["summary"] == "Phantom button held"
    assert "Logitech M705 (virtual:1)" in call["body"] and "X button 20" in call["body"]
    assert "[unknown-button]" in call["body"] and "phantombutton release virtual:1 20" in call["body"]


def test_no_notifier_is_said_once_and_the_watch_goes_on(tmp_path, monkeypatch, capsys):
    r = _watch(_clean_env(PATH=_path_with(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert [f["x_button"] for f in _findings(r.stdout)] == [20]
    said = [x for x in r.stderr.splitlines() if "--notify" in x]
    assert said == ["phantombutton: --notify: no notify-send or gdbus found, so no desktop "
                    "notifications (fix: apt-get install libnotify-bin)"]
    # and only once however many phantoms follow
    monkeypatch.setenv("PATH", _path_with(tmp_path))
    notifier = _Notifier()
    notifier("Phantom button held", "one")
    notifier("Phantom button held", "two")
    assert capsys.readouterr().err.count("no notify-send or gdbus found") == 1


@pytest.mark.parametrize("tool", ["notify-send", "gdbus"])
def test_no_notification_server_is_said_once_with_the_reason(tool, session_bus, tmp_path, monkeypatch,
                                                             capsys):
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed")
    path = _path_with(tmp_path, tool)
    r = _watch(_clean_env(PATH=path, DBUS_SESSION_BUS_ADDRESS=session_bus))
    assert r.returncode == 0, r.stderr
    assert [f["x_button"] for f in _findings(r.stdout)] == [20]
    said = [x for x in r.stderr.splitlines() if "--notify" in x]
    assert len(said) == 1 and "desktop notification failed" in said[0]
    assert "org.freedesktop.Notifications" in said[0] and "ServiceUnknown" in said[0]
    monkeypatch.setenv("PATH", path)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus)
    notifier = _Notifier()
    notifier("Phantom button held", "one")
    notifier("Phantom button held", "two")
    assert capsys.readouterr().err.count("desktop notification failed") == 1


def test_no_session_bus_is_said_with_the_reason(tmp_path):
    tool = shutil.which("notify-send") or shutil.which("gdbus")
    if not tool:
        pytest.skip("neither notify-send (libnotify-bin) nor gdbus (libglib2.0-bin) installed")
    r = _watch(_clean_env(PATH=_path_with(tmp_path, os.path.basename(tool))))
    assert r.returncode == 0, r.stderr
    assert [f["x_button"] for f in _findings(r.stdout)] == [20]
    said = [x for x in r.stderr.splitlines() if "--notify" in x]
    assert len(said) == 1
    assert "desktop notification failed" in said[0] and "DBUS_SESSION_BUS_ADDRESS is not set" in said[0]
