"""A mouse without a receiver on the real kernel: the MX Master 3 over Bluetooth (046d:B023).

The uhid bridge plays the mouse (profile "bluetooth", virtual/bluetooth.py) as a Bluetooth HID
device (bus 0005), so the real hid-logitech-hidpp binds it: 6.1's hidpp_devices lists
HID_BLUETOOTH_DEVICE(046d, 0xb023), and `modinfo hid-logitech-hidpp` shows the alias
hid:b0005g*v0000046Dp0000B023. The phantom (HID button 16) is released by `watch --fix` and
checked with EVIOCGKEY. `list`/`info` against Solaar: test_receiver_families.py, in the one
`solaar show` run over every family.
"""

from __future__ import annotations

import json
import os
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


def test_watch_fix_releases_hid_button_16(mouse, tmp_path):
    """The mouse reports HID button 16, which it does not have: watch --fix releases it."""
    node = mouse["event"]
    w = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "watch", "--json", "--no-x", "--fix",
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
