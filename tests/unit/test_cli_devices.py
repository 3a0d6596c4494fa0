"""CLI: list, info, get, set on the virtual receiver; exit codes and one-line errors."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

from phantombutton.cli.main import main
from phantombutton.errors import UDEV_FIX


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_prints_receiver_and_m705(capsys):
    code, out, err = run(capsys, "--virtual", "info")
    assert code == 0 and err == ""
    assert "Unifying Receiver" in out and "E0662192" in out and "1 of 6" in out
    assert "1: M705 - Marathon Mouse M705 (M-R0009)" in out
    for line in ("WPID          : 101B", "Protocol      : HID++ 1.0", "side-scroll   : on",
                 "smooth-scroll : on", "Firmware      : 17.01.B0017", "Battery       : 100%, discharging"):
        assert line in out, line
    assert "X button 20) does not exist on this model" in out


def test_info_json(capsys):
    code, out, _ = run(capsys, "--virtual", "--profile", "mixed", "info", "--json")
    data = json.loads(out)
    (receiver,) = data["receivers"]
    assert receiver["serial"] == "E0662192" and receiver["max_devices"] == 6
    devs = {d["wpid"]: d for d in receiver["devices"]}
    assert devs["101B"]["settings"] == {"side-scroll": "on", "smooth-scroll": "on"}   # the kernel set it at connect
    assert devs["101A"]["settings"]["dpi"] == "900"
    assert devs["406D"]["protocol"] == "HID++ 4.5" and len(devs["406D"]["features"]) == 27
    assert devs["406D"]["settings"] == {"diversions": "none", "wheel-resolution": "high", "wheel-target": "hid"}
    assert not any(d["has_phantom_button"] for d in devs.values())


def test_info_one_device(capsys):
    code, out, _ = run(capsys, "--virtual", "info", "m705")
    assert code == 0 and out.startswith("1: M705") and "Unifying Receiver" not in out


def test_list(capsys):
    code, out, _ = run(capsys, "--virtual", "--profile", "mixed", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "virtual:c52b  Unifying Receiver C52B"
    assert lines[1].split() == ["1:", "M705", "101B", "mouse", "HID++", "1.0", "serial", "23691D3D"]
    assert lines[3].split()[:6] == ["3:", "M705", "406D", "mouse", "HID++", "4.5"]
    code, out, _ = run(capsys, "--virtual", "list", "--json")
    assert json.loads(out)["receivers"][0]["devices"][0]["wpid"] == "101B"


def test_set_reports_the_value_read_back(capsys):
    code, out, err = run(capsys, "--virtual", "set", "m705", "side-scroll", "off")
    assert code == 0 and err == ""
    assert out == "side-scroll: off (read back from M705 (slot 1, WPID 101B))\n"


def test_get(capsys):
    code, out, _ = run(capsys, "--virtual", "get", "1", "side-scroll")
    assert (code, out) == (0, "side-scroll: on\n")


@pytest.mark.parametrize("args,message", [
    (("set", "m705", "no-such-setting", "on"), "has no setting 'no-such-setting'; valid: side-scroll, smooth-scroll"),
    (("set", "m705", "side-scroll", "maybe"), "'maybe' is not a valid value of side-scroll; valid: on, off"),
    (("set", "g502", "side-scroll", "on"), "no device 'g502'; valid: 1 (M705, WPID 101B, serial 23691D3D)"),
    (("get", "9", "side-scroll"), "no device in slot 9; valid: 1 (M705"),
    (("--profile", "nope", "list"), "unknown virtual profile 'nope'; choose one of: default, mixed"),
])
def test_usage_errors_exit_2_with_one_line_naming_choices(capsys, args, message):
    code, out, err = run(capsys, "--virtual", *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_offline_device_is_a_failure_not_usage(capsys, monkeypatch):
    from phantombutton.virtual import receiver as vr

    original = vr.VirtualReceiver.__init__

    def init(self, *a, **k):
        original(self, *a, **k)
        self.devices[1].online = False

    monkeypatch.setattr(vr.VirtualReceiver, "__init__", init)
    code, out, err = run(capsys, "--virtual", "set", "m705", "side-scroll", "off")
    assert code == 1 and "offline" in err
    code, out, err = run(capsys, "--virtual", "info")
    assert code == 0 and "Protocol      : offline" in out


def test_offline_hidpp20_device_is_a_failure_not_usage(capsys, monkeypatch):
    # its settings come from its feature table: offline, say so instead of "no such setting"
    from phantombutton.virtual import receiver as vr

    original = vr.VirtualReceiver.__init__

    def init(self, *a, **k):
        original(self, *a, **k)
        self.devices[1].online = False

    monkeypatch.setattr(vr.VirtualReceiver, "__init__", init)
    code, out, err = run(capsys, "--virtual", "--profile", "m705-406d", "set", "1", "diversions", "reset")
    assert code == 1 and "offline" in err, err


def test_no_receiver_exit_1(capsys, monkeypatch):
    monkeypatch.setattr("phantombutton.transport.discovery.find_receivers", lambda sysfs="/sys", skipped=None: [])
    code, out, err = run(capsys, "list")
    assert code == 1 and out == ""
    assert err.startswith("phantombutton: no Logitech receiver found (") and err.count("\n") == 1


def test_permission_denied_names_node_errno_and_fix(capsys, monkeypatch):
    from phantombutton.transport import discovery, hidraw

    node = discovery.HidppNode(node="/dev/hidraw7", bus=3, vendor=0x046D, product=0xC52B,
                               name="Logitech USB Receiver", phys="usb-0000:00:14.0-1/input2",
                               driver="logitech-djreceiver", sysfs="/sys/class/hidraw/hidraw7")
    monkeypatch.setattr(discovery, "find_receivers", lambda sysfs="/sys", skipped=None: [node])

    def denied(path, flags, *a):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(hidraw.os, "open", denied)
    code, out, err = run(capsys, "info")
    assert code == 1
    assert "/dev/hidraw7" in err and "EACCES" in err and UDEV_FIX in err and err.count("\n") == 1


def test_set_smooth_scroll_off_explains_and_needs_force(capsys):
    code, out, err = run(capsys, "--virtual", "set", "m705", "smooth-scroll", "off")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "makes the wheel of M705 (slot 1, WPID 101B) 8x slow until it reconnects" in err and "--force" in err
    code, out, err = run(capsys, "--virtual", "set", "m705", "smooth-scroll", "off", "--force")
    assert code == 0 and out == "smooth-scroll: off (read back from M705 (slot 1, WPID 101B))\n"


def _receiver_node(n: int, product: int = 0xC52B):
    from phantombutton.transport import discovery

    return discovery.HidppNode(node=f"/dev/hidraw{n}", bus=3, vendor=0x046D, product=product,
                               name="Logitech USB Receiver", phys=f"usb-0000:00:14.0-{n}/input2",
                               driver="logitech-djreceiver", sysfs=f"/sys/class/hidraw/hidraw{n}")


def test_an_unreadable_receiver_is_skipped_when_another_is_readable(capsys, monkeypatch):
    from phantombutton.errors import AccessDenied
    from phantombutton.transport import discovery, hidraw
    from phantombutton.transport.virtual import VirtualTransport
    from phantombutton.virtual.receiver import VirtualReceiver

    monkeypatch.setattr(discovery, "find_receivers",
                        lambda sysfs="/sys", skipped=None: [_receiver_node(7), _receiver_node(8)])

    def transport(path):
        if path == "/dev/hidraw7":   # e.g. a second receiver without the udev rule
            raise AccessDenied(path, "EACCES", UDEV_FIX)
        return VirtualTransport(VirtualReceiver(), node=path)

    monkeypatch.setattr(hidraw, "HidrawTransport", transport)
    code, out, err = run(capsys, "list")
    assert code == 0 and out.startswith("/dev/hidraw8  Unifying Receiver C52B") and "M705" in out
    assert err == f"phantombutton: skipped /dev/hidraw7: permission denied (EACCES); {UDEV_FIX}\n"


def test_a_27mhz_receiver_is_skipped_with_a_note(capsys, monkeypatch, tmp_path):
    from test_transport_discovery import make_node

    from phantombutton.transport import discovery
    from phantombutton.virtual.descriptors import HIDPP_RECEIVER_DESCRIPTOR

    make_node(tmp_path, 3, "0003:046D:C517", "Logitech USB Receiver", "usb-0000:00:14.0-2/input1",
              "logitech-djreceiver", HIDPP_RECEIVER_DESCRIPTOR)
    real = discovery.find_receivers
    monkeypatch.setattr(discovery, "find_receivers",
                        lambda sysfs="/sys", skipped=None: real(str(tmp_path), skipped))
    code, out, err = run(capsys, "list")
    assert code == 1 and out == ""
    first, second = err.splitlines()
    assert first == ("phantombutton: skipped /dev/hidraw3: Logitech 27 MHz Receiver (046d:C517, 27 MHz) "
                     "is listed only: no pairing registers (27 MHz: 1-byte device ids), so there is "
                     "nothing phantombutton can read or repair")
    assert second.startswith("phantombutton: no Logitech receiver found (")


def test_profile_without_virtual_is_usage(capsys):
    code, out, err = run(capsys, "--profile", "mixed", "list")
    assert code == 2 and "needs --virtual" in err


def test_debug_traces_decoded_traffic_on_stderr(capsys):
    code, out, err = run(capsys, "--virtual", "--debug", "get", "m705", "side-scroll")
    assert code == 0 and out == "side-scroll: on\n"
    assert "<< M705(1) get reg 0x01" in err and ">> M705(1) reply reg 0x01 = 42 00 00 [side-scroll on, smooth-scroll on]" in err


def test_console_script_done_when():
    """The issue's done-when, through the installed console script in a fresh process."""
    exe = os.path.join(os.path.dirname(sys.executable), "phantombutton")
    info = subprocess.run([exe, "--virtual", "info"], capture_output=True, text=True, timeout=60)
    assert info.returncode == 0 and "HID++ 1.0" in info.stdout and "101B" in info.stdout
    assert "side-scroll   : on" in info.stdout
    off = subprocess.run([exe, "--virtual", "set", "m705", "side-scroll", "off"], capture_output=True, text=True)
    assert off.returncode == 0 and off.stdout.startswith("side-scroll: off (read back")
    bad = subprocess.run([exe, "--virtual", "set", "m705", "no-such-setting", "on"], capture_output=True, text=True)
    assert bad.returncode == 2 and "valid: side-scroll, smooth-scroll" in bad.stderr and bad.stdout == ""
