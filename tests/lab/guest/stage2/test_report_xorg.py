"""`phantombutton report` on the real kernel with Xorg: the archive a user attaches to a bug.

While `report --duration 3` records, the emulated M705 moves, then its receiver reports HID
button 16 (the phantom, X button 20 held) and keeps it held. The archive must hold the
summary, the capture with the phantom, info --json of the receiver, versions with the real
drivers, the kernel log's HID lines, udev properties and the timeline, and analyze inside
must have found the phantom.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time

import pytest

import labkit


# one X driver is enough here (the capture tests cover both): stage 2 is the lab's longest
@pytest.mark.parametrize("xorg", ["libinput"], indirect=True)
def test_report_while_the_phantom_is_held(xorg, tmp_path):
    xorg.reset()
    b = xorg.bridge
    out = tmp_path / "report.tar.gz"
    env = {**xorg.x.env(), "TMPDIR": str(tmp_path)}   # the capture's work directory, to watch it
    t0 = time.monotonic()
    proc = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "report", "--duration", "3",
                             "-o", str(out)], cwd=labkit.REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        def recording() -> bool:
            return any("  events:\n" in p.read_text() for p in tmp_path.glob("phantombutton-report-*/capture.yml"))

        labkit.wait_for(recording, 60, 0.05, what="report's capture started")
        for _ in range(5):
            b.call("move", slot=1, dx=2, dy=1)
            time.sleep(0.02)
        xorg.press_phantom()           # X button 20 down, held to the end of the capture
        assert proc.poll() is None, "the 3 s capture ended before X showed the phantom"
        _stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        xorg.reset()
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, stderr
    # the archive and its figures, for the host to look at (tests/lab/out/)
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    (labkit.OUT / f"report-{xorg.driver}.tar.gz").write_bytes(out.read_bytes())
    with open(labkit.OUT / "stage2-report-figures.txt", "a") as f:
        f.write(f"{xorg.driver}: report --duration 3 took {elapsed:.1f} s, archive {out.stat().st_size} bytes\n")
    with tarfile.open(out, "r:gz") as tar:
        names = tar.getnames()
        m = {n: tar.extractfile(n).read().decode() for n in names}   # type: ignore[union-attr]
    assert names[0] == "summary.md"
    for name in ("capture.yml", "info.json", "versions.txt", "versions.json", "kernel-log.txt",
                 "udev.txt", "analyze.txt", "analyze.json", "timeline.svg", "config.toml"):
        assert name in m, (name, names, stderr)
    analysis = json.loads(m["analyze.json"])
    assert analysis["verdict"] == "phantom", m["analyze.txt"]
    assert any(f["rule"] == "unknown-button" and f["code"] == 0x11F for f in analysis["findings"])
    assert any(h["code"] == 0x11F and h["layers"] == "kernel and X" for h in analysis["held_at_end"])
    assert "show_keycodes: false" in m["capture.yml"] and '"buttons": [20]' in m["capture.yml"]
    info = json.loads(m["info.json"])
    assert info["receivers"][0]["product"] == "C52B"
    assert info["receivers"][0]["devices"][0]["wpid"] == "101B"
    versions = json.loads(m["versions.json"])
    assert versions["kernel"] == os.uname().release
    for mod in ("hid-logitech-dj", "hid-logitech-hidpp"):   # Debian's modules carry no srcversion
        assert versions[mod].startswith(f"loaded module (/lib/modules/{os.uname().release}/"), versions[mod]
    assert versions["xorg"]["Xorg"] and versions["xorg"][f"xf86-input-{xorg.driver}"], versions["xorg"]
    assert versions["session"]["kind"] == "x11" and versions["session"]["headline"].startswith("X11 (Xorg")
    assert "logitech-djreceiver" in m["kernel-log.txt"]
    assert f"--name={labkit.receiver_node()}" in m["udev.txt"] and "DEVNAME=" in m["udev.txt"]
    assert "ID_INPUT_MOUSE=1" in m["udev.txt"]   # udevd runs for libinput's sake
    assert "0x11F (X 20)" in m["timeline.svg"] and "unknown-button" in m["timeline.svg"]
    summary = m["summary.md"]
    assert "Verdict: **PHANTOM**" in summary and "| hid-logitech-dj | loaded module" in summary
    assert "slot 1: M705" in summary
