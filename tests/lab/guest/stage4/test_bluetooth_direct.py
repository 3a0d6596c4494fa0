"""A mouse without a receiver on the real kernel: the MX Master 3 over Bluetooth (046d:B023).

The uhid bridge plays the mouse (profile "bluetooth", virtual/bluetooth.py) as a Bluetooth HID
device (bus 0005), so the real hid-logitech-hidpp binds it: 6.1's hidpp_devices lists
HID_BLUETOOTH_DEVICE(046d, 0xb023), and `modinfo hid-logitech-hidpp` shows the alias
hid:b0005g*v0000046Dp0000B023. Solaar is the peer for `list`/`info`; the phantom (HID button
16) is released by `watch --fix` and checked with EVIOCGKEY.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
from pathlib import Path

import labkit
import pytest

from phantombutton.input import evdev_node as en

BT_ID = "0005:0000046D:0000B023"
FIGURES: dict = {}


def record(**figures) -> None:
    """Figures of this module's runs, to tests/lab/out/stage4-bluetooth.json (passing tests'
    output is not shown in the log)."""
    FIGURES.update(figures)
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    (labkit.OUT / "stage4-bluetooth.json").write_text(json.dumps(FIGURES, indent=2) + "\n")
SOLAAR = os.environ.get("PB_LAB_SOLAAR", "")


@pytest.fixture(scope="module")
def mouse(lab_modules, udevd):
    """The bridge, the mouse's hidraw node, its HID device's driver and its event node."""
    b = labkit.Bridge("bluetooth", name="pb-uhid-bt")
    t0 = time.monotonic()
    b.start(wait_node=False)
    node = labkit.wait_for(lambda: [r["node"] for r in labkit.hidraw_nodes(BT_ID)], 20, what="B023 hidraw")[0]
    hid = Path("/sys/class/hidraw", os.path.basename(node), "device").resolve()
    event = labkit.wait_for(lambda: sorted(hid.glob("input/input*/event*")), 20, what="B023 event node")[0]
    probe = round(time.monotonic() - t0, 2)
    driver = (hid / "driver").resolve().name
    name = (event.parent / "name").read_text().strip()
    print(f"\nB023 probed in {probe} s: {node}, driver {driver}, /dev/input/{event.name} {name!r}")
    record(bridge_start_to_event_node_s=probe, driver=driver, event_name=name)
    labkit.sh("udevadm", "settle", "--timeout=10", check=False)
    yield {"bridge": b, "node": node, "driver": driver, "event": f"/dev/input/{event.name}", "name": name}
    b.stop()


def test_hidpp_driver_binds_the_bluetooth_mouse(mouse):
    assert mouse["driver"] == "logitech-hidpp-device", labkit.kernel_log()[-3000:]
    # the probe: every request to device index 0xFF, and long (the descriptor has no 0x10)
    sent = [hex_ for _, direction, hex_, _via in mouse["bridge"].traffic() if direction == "out"]
    record(kernel_probe_hidpp_requests=len(sent))
    assert sent and all(r.startswith("11 ff ") for r in sent), sent
    assert any(r.startswith("11 ff 00 1") for r in sent)     # the ping (ROOT fn 1) went out long
    # hidpp_overwrite_name: "Logitech " + DEVICE_NAME (0x0005) replaces BlueZ's name
    assert mouse["name"] == "Logitech Wireless Mouse MX Master 3"


def test_list_and_info_agree_with_solaar_show(mouse):
    if not SOLAAR or not os.path.exists(SOLAAR):
        pytest.skip("Solaar peer not installed on the host (runner: ensure_solaar)")
    t0 = time.monotonic()     # the first CLI call of the boot: cold caches over 9p
    r = labkit.phantombutton("info", "--json")
    t_info = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    (dev,) = [d for rec in json.loads(r.stdout)["receivers"] for d in rec["devices"]]
    t0 = time.monotonic()
    r = labkit.phantombutton("list")
    t_list = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^{re.escape(mouse['node'])}  Bluetooth \(no receiver\) 046d:B023$", r.stdout, re.M), r.stdout
    assert re.search(rf"^  -: MX Master 3 +B023  mouse +HID\+\+ 4\.5 +serial {dev['serial']}$", r.stdout, re.M), r.stdout
    t0 = time.monotonic()
    s = subprocess.run([SOLAAR, "show"], capture_output=True, text=True, timeout=120, check=False)
    t_solaar = time.monotonic() - t0
    print(f"\nlist {t_list:.2f} s, info --json {t_info:.2f} s, solaar show {t_solaar:.2f} s\n{s.stdout}")
    record(info_json_s=round(t_info, 2), list_s=round(t_list, 2), solaar_show_s=round(t_solaar, 2))
    assert s.returncode == 0, s.stderr[-2000:]
    out = s.stdout
    # read from the mouse by both: product id (the HID device), unit id and feature table
    # (DEVICE_FW_VERSION, FEATURE_SET), firmware, protocol (ping)
    assert re.search(r"Device path\s*:\s*" + re.escape(mouse["node"]), out), out
    assert re.search(r"USB id\s*:\s*046d:B023", out) and dev["wpid"] == "B023", out
    assert re.search(r"Unit ID:\s*" + dev["serial"] + "$", out, re.M), out
    assert re.search(rf"Supports {len(dev['features'])} HID\+\+ 2\.0 features", out), out
    for fw in dev["firmware"].values():     # Solaar 1.1.20 prints the entity type as a number
        assert re.search(r"\d: " + re.escape(fw) + "$", out, re.M), out
    assert dev["protocol"] == "HID++ 4.5" and re.search(r"Protocol\s*:\s*HID\+\+ 4\.5", out), out
    # names: Solaar 1.1.20 takes name and codename of B023 from its own table (descriptors.py:
    # "MX Master 3 Wireless Mouse", codename "MX Master 3"); ours are the mouse's friendly name
    # (0x0007) and DEVICE_NAME (0x0005). Same mouse, same short name.
    assert re.search(r"Codename\s*:\s*" + re.escape(dev["name"]) + "$", out, re.M), out
    assert re.search(r"^\s*(\d+: )?MX Master 3 Wireless Mouse$", out, re.M), out
    assert dev["full_name"] == "Wireless Mouse MX Master 3"


def test_watch_fix_releases_hid_button_16(mouse, tmp_path):
    """The mouse reports HID button 16, which it does not have: watch --fix releases it."""
    node = mouse["event"]
    w = subprocess.Popen([labkit.PY, "-m", "phantombutton.cli.main", "watch", "--json", "--no-x", "--fix",
                          "--duration", "60"], cwd=labkit.REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
    events: list[dict] = []

    def read_until(pred, timeout: float, what: str) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not select.select([w.stdout], [], [], max(0.0, end - time.monotonic()))[0]:
                break
            line = w.stdout.readline()
            if not line:
                break
            if line.startswith("{"):
                events.append(json.loads(line))
                if pred(events[-1]):
                    return events[-1]
        raise AssertionError(f"no {what} from watch: {events} {w.stderr.read() if w.poll() is not None else ''}")

    try:
        read_until(lambda e: e["event"] == "note" and node in e.get("message", ""), 30, "note naming the node")
        t0 = time.monotonic()
        mouse["bridge"].call("press", slot=0xFF, buttons=labkit.HID_BUTTON_16)
        finding = read_until(lambda e: e["event"] == "finding", 10, "finding")["finding"]
        read_until(lambda e: e["event"] in ("released", "not-released"), 10, "release outcome")
        released_in = time.monotonic() - t0
        held_after = labkit.BTN_PHANTOM in en.held_keys(node)      # EVIOCGKEY
    finally:
        w.terminate()
        _, err = w.communicate(timeout=20)
        mouse["bridge"].call("press", slot=0xFF, buttons=0)
    print(f"\nphantom on the Bluetooth mouse: finding {finding['rule']} {hex(finding['code'])}, released "
          f"{released_in:.3f} s after the bridge was asked to press (press, detection, release, read-back)")
    record(press_to_verified_release_s=round(released_in, 3), finding_rule=finding["rule"])
    assert finding["rule"] == "unknown-button" and finding["code"] == 0x11F and finding["node"] == node, finding
    assert events[-1]["event"] == "released", events[-1]
    assert not held_after
    assert "Traceback" not in err, err
