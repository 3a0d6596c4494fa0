"""`phantombutton daemon` on a Bolt (hid-generic) and a Lightspeed (hid-logitech-dj, non-DJ)
receiver at once, behind /dev/uhid with the real 6.1 drivers: the configured dpi is applied
at start and re-applied after each mouse is switched off and on (the sensor is back at its
default), seen through each receiver's 0x41 (Bolt protocol 0x10, Lightspeed 0x0C), and read
back here through the real driver on the receiver's hidraw node (ADJUSTABLE_DPI
getSensorDpi). Lean: one daemon start, both bridges up together, no CLI call.
"""

from __future__ import annotations

import os
import subprocess
import time

import labkit
from test_receiver_families import FamilyBridge

CONFIG = '[device."B034"]\ndpi = 1600\n\n[device."4074"]\ndpi = 800\n'
# profile -> (slot, WPID, the dpi the config wants, the sensor's power-on dpi: virtual/mice.py)
MICE = {"bolt": (2, "B034", 1600, 1000), "lightspeed": (1, "4074", 800, 1600)}
SW = 0x0A                 # a software id of our own here: the daemon's is 0x0E
ADJUSTABLE_DPI = 0x2201


def read_dpi(node: str, slot: int) -> int:
    """ROOT getFeature(0x2201), then getSensorDpi(0): through the kernel, as any client."""
    h = labkit.Hidraw(node)
    try:
        root = h.request(bytes((0x10, slot, 0x00, 0x00 | SW, ADJUSTABLE_DPI >> 8, ADJUSTABLE_DPI & 0xFF, 0)))
        index = root[4]
        assert index, root.hex(" ")
        reply = h.request(bytes((0x10, slot, index, 0x20 | SW, 0, 0, 0)))
        return reply[5] << 8 | reply[6]
    finally:
        h.close()


def dpi_writes(bridge, slot: int, since: float) -> int:
    """setSensorDpi (function 3) requests the mouse got, from anyone (bridge traffic)."""
    n = 0
    for _t, way, hexed, _via in bridge.traffic(since):
        b = bytes.fromhex(hexed.replace(" ", ""))
        n += way == "out" and len(b) > 3 and b[0] in (0x10, 0x11) and b[1] == slot and b[3] >> 4 == 3 \
            and b[2] < 0x80
    return n


def test_daemon_reapplies_dpi_on_reconnect_on_bolt_and_lightspeed(lab_modules, udevd, tmp_path):
    t_start = time.monotonic()
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    log = tmp_path / "daemon.log"
    out = open(log, "w")
    env = dict(os.environ, PYTHONUNBUFFERED="1", JOURNAL_STREAM="")
    # the daemon starts first (a Python start is seconds here) and finds the receivers by its
    # rescan when their uhid devices appear, as after a plug-in
    proc = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "daemon", "--config", str(cfg)],
                            cwd=labkit.REPO, stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
    bridges: dict = {}

    def text() -> str:
        return log.read_text(errors="replace")

    def wait(words: str, n: int = 1, timeout: float = 20.0) -> None:
        labkit.wait_for(lambda: text().count(words) >= n or proc.poll() is not None, timeout, 0.02,
                        what=f"daemon line {words!r} x{n}")
        assert text().count(words) >= n, f"daemon ({proc.poll()}):\n{text()}"

    try:
        for p in MICE:
            bridges[p] = FamilyBridge(p).start()
        nodes = {p: b.receiver().node for p, b in bridges.items()}
        up = time.monotonic() - t_start
        # Bolt: hid-generic turned nothing on; the daemon turns its wireless notifications on
        wait(f"{nodes['bolt']}: wireless notifications turned on", timeout=60)
        for p, (slot, wpid, want, _default) in MICE.items():
            wait(f"{nodes[p]} slot {slot} ({wpid}): set dpi={want}, read back {want}", timeout=30)
        started = time.monotonic() - t_start
        figures: list[str] = []
        for p, (slot, wpid, want, default) in MICE.items():
            bridge, node = bridges[p], nodes[p]
            assert read_dpi(node, slot) == want
            bridge.call("disconnect", slot=slot)                 # switched off ...
            wait(f"{node} slot {slot}: link lost")
            since = time.monotonic()
            bridge.call("connect", slot=slot, power_cycle=True)  # ... and on: the sensor's default
            wait(f"{node} slot {slot} ({wpid}): set dpi={want}, read back {want}", n=2, timeout=10)
            took = time.monotonic() - since
            assert dpi_writes(bridge, slot, since) == 1          # once for this connection
            assert read_dpi(node, slot) == want                  # through the real driver
            figures.append(f"{p}: dpi {default} -> {want} re-applied and read back {took:.2f} s after the reconnect")
        assert "Traceback" not in text() and proc.poll() is None
        figures.append(f"bridges up {up:.1f} s, both applied at {started:.1f} s; "
                       f"test body {time.monotonic() - t_start:.1f} s")
        labkit.OUT.mkdir(parents=True, exist_ok=True)
        with open(labkit.OUT / "stage4-daemon-bench.txt", "a") as f:
            f.write("; ".join(figures) + "\n")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        finally:
            out.close()
            for b in bridges.values():
                b.stop()
            labkit.OUT.mkdir(parents=True, exist_ok=True)
            with open(labkit.OUT / "stage4-daemon.log", "a") as f:
                f.write(f"# ---- daemon on Bolt and Lightspeed\n{text()}")
