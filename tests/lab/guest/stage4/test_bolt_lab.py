"""Bolt C548 + MX Master 3S (slot 2) behind uhid, driven by the real 6.1 hid-generic: every
paired mouse reports on the receiver's own "Logitech USB Receiver Mouse" node.

- A phantom (HID button 16 held) on that shared node: `release` finds it held at start and
  releases it on that node; `watch --fix` reports it with the receiver, the paired mice and
  the likely one and releases it at once (no paired mouse has the button); each verified by
  EVIOCGKEY. (`status` prints the same finding: unit-tested on the virtual Bolt.)
- A stale middle-button diversion left by a program that exited (its presses arrive as
  REPROG_CONTROLS_V4 event 0 on the receiver's HID++ node, not on the mouse node): `watch --fix`
  resets it and the next press reaches evdev on the shared node.
Lean: one bridge for the module, two CLI starts. Durations go to the lab log."""

from __future__ import annotations

import json
import os
import select
import struct
import sys
import time
from pathlib import Path

import labkit
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "stage1"))
from test_receiver_families import FamilyBridge  # noqa: E402
from test_watch_lab import Watch  # noqa: E402

SLOT = 2                       # virtual/profiles.py "bolt"
PHANTOM, MIDDLE = 0x8000, 0x0004
BTN_PHANTOM, BTN_MIDDLE, EV_KEY = 0x11F, 0x112, 1
EVENT = struct.Struct("=qqHHi")


class BoltBridge(FamilyBridge):
    def __init__(self):
        super().__init__("bolt")
        self.phys = "usb-0000:00:14.0-8/input2"   # a USB path of its own (the families test uses -6)
        self.sock_path, self.log_path = "/run/pb-uhid-bolt-lab.sock", Path("/tmp/pb-uhid-bolt-lab.log")


@pytest.fixture(scope="module")
def bolt(lab_modules, udevd, tmp_path_factory):
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))   # the CLI children inherit it
    b = BoltBridge().start()
    receiver = b.receiver()
    [mouse] = receiver.mouse_nodes
    yield b, receiver.node, mouse
    b.stop()


def held(node: str) -> frozenset[int]:
    from phantombutton.input.evdev_node import held_keys

    return frozenset(held_keys(node))


def bench(line: str) -> None:
    print(line)
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    with open(labkit.OUT / "stage4-bolt-bench.txt", "a") as f:
        f.write(line.strip() + "\n")


def _middle_values(fd: int, wait: float) -> list[int]:
    values, end = [], time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            break
        data = os.read(fd, EVENT.size * 64)
        values += [v for _s, _u, typ, code, v in EVENT.iter_unpack(data[: len(data) - len(data) % EVENT.size])
                   if typ == EV_KEY and code == BTN_MIDDLE]
        if len(values) >= 2:
            break
    return values


def test_release_finds_a_phantom_held_at_start_on_the_shared_node_and_releases_it_there(bolt):
    """`release` without arguments releases what its Detector finds: HID button 16 held when it
    starts is a phantom only because no paired mouse has it (pairing and REPROG_CONTROLS_V4
    read at attach), and the release is written to the shared node."""
    bridge, _receiver, mouse = bolt
    bridge.call("press", slot=SLOT, buttons=PHANTOM)
    labkit.wait_for(lambda: BTN_PHANTOM in held(mouse), 5, what="HID button 16 held on the shared node")
    t0 = time.monotonic()
    r = labkit.phantombutton("release", "--json")
    t_release = time.monotonic() - t0
    assert r.returncode == 0, (r.stdout, r.stderr)
    [outcome] = json.loads(r.stdout)
    assert (outcome["node"], outcome["code"], outcome["released"], outcome["step"]) == (mouse, BTN_PHANTOM, True, 1)
    assert BTN_PHANTOM not in held(mouse)                   # EVIOCGKEY: released in the kernel
    bridge.call("press", slot=SLOT, buttons=0)              # the HID cache lets go too
    bench(f"BENCH bolt release (one CLI start) {t_release:.2f} s")


def test_watch_fix_releases_a_phantom_then_resets_a_stale_diversion_on_bolt(bolt):
    bridge, receiver, mouse = bolt
    fd = os.open(mouse, os.O_RDONLY | os.O_NONBLOCK)
    w = Watch("--fix")
    try:
        w.wait_attached(mouse, receiver)
        w.wait_event(lambda e: "watching" in e.get("message", ""), 30, what="watching line")
        # 1. the phantom: released at once, no held-for wait (no paired mouse has button 16)
        t0 = time.monotonic()
        bridge.call("press", slot=SLOT, buttons=PHANTOM)
        finding = w.wait_event(lambda e: e["event"] == "finding", 10, what="phantom finding")
        w.wait_event(lambda e: e["event"] == "released", 10, what="release")
        t_release = time.monotonic() - t0
        assert finding["finding"]["node"] == mouse and finding["finding"]["rule"] == "unknown-button"
        assert any(e.startswith(f"likely: slot {SLOT} MX Master 3S") for e in finding["finding"]["evidence"])
        assert BTN_PHANTOM not in held(mouse)
        bridge.call("press", slot=SLOT, buttons=0)

        # 2. a remapper diverts the middle button, then exits
        labkit.divert_and_exit(receiver, SLOT)
        _middle_values(fd, 0.05)                             # drain
        t0 = time.monotonic()
        bridge.call("press", slot=SLOT, buttons=MIDDLE)
        bridge.call("press", slot=SLOT, buttons=0)
        div = w.wait_event(lambda e: e["event"] == "diversion-finding", 10, what="stale diversion finding")
        repaired = w.wait_event(lambda e: e["event"] == "diversion-repaired", 10, what="repair")
        t_fix = time.monotonic() - t0
        assert _middle_values(fd, 0.2) == []                 # the diverted press never reached evdev
        assert div["message"].startswith("stale diversion: Middle Button diverted to HID++")
        assert f"slot {SLOT}" in div["device"] and mouse in div["device"]
        assert "read back: regular" in repaired["message"]
        bridge.call("press", slot=SLOT, buttons=MIDDLE)
        bridge.call("press", slot=SLOT, buttons=0)
        assert _middle_values(fd, 2.0)[:2] == [1, 0]         # the next press reaches the shared node
        w.wait_event(lambda e: e["event"] == "diversion-verified", 10, what="verified by the press")
        bench(f"BENCH bolt watch --fix: phantom press -> released {t_release:.2f} s; "
              f"diverted press -> repaired {t_fix:.2f} s")
    finally:
        os.close(fd)
        w.stop()
