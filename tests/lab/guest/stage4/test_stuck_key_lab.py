"""A remapper's uinput keyboard left holding KEY_LEFTCTRL: `watch --fix` releases it, verified
with EVIOCGKEY on the real kernel.

In stage 4 (it needs neither Xorg nor Solaar, and udevd changes nothing it reads): it
balances the two lanes of the lab, stage 1 + 3 against stage 2 + 4."""

from __future__ import annotations

import json
import os
import time

import labkit

from phantombutton.input.evdev_node import held_keys

KEY_LEFTCTRL, KEY_A = 29, 30


def _uinput_keyboard(name: str):
    import evdev

    labkit.modprobe("uinput")
    ui = evdev.UInput({evdev.ecodes.EV_KEY: [KEY_LEFTCTRL, KEY_A]}, name=name, bustype=0x06)
    labkit.wait_for(lambda: ui.device is not None and os.path.exists(ui.device.path), 10, what="uinput node")
    time.sleep(0.3)
    return ui


def test_watch_fix_releases_ctrl_held_by_a_virtual_keyboard():
    ui = _uinput_keyboard("pb-lab remapper keyboard")
    try:
        node = ui.device.path
        ui.write(1, KEY_LEFTCTRL, 1)
        ui.syn()
        labkit.wait_for(lambda: KEY_LEFTCTRL in held_keys(node), 5, what="Ctrl held")
        r = labkit.phantombutton("watch", "--fix", "--no-x", "--json", "--duration", "9", timeout=60)
        events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        stuck = [e for e in events if e.get("event") == "stuck-key"]
        assert stuck, r.stdout + r.stderr
        assert stuck[0]["node"] == node and stuck[0]["key"] == "KEY_LEFTCTRL" and stuck[0]["modifier"]
        assert stuck[0]["device"] == "pb-lab remapper keyboard"
        # this test process is the only one holding /dev/uinput: named, as a guess
        assert f"(pid {os.getpid()})" in stuck[0]["owner"] and "guess" in stuck[0]["owner"]
        done = [e for e in events if e.get("event") == "key-released"]
        assert done and done[0]["released"], r.stdout
        assert KEY_LEFTCTRL not in held_keys(node)   # EVIOCGKEY on a fresh fd
        assert "code" not in stuck[0]                 # no key code in the output
    finally:
        ui.close()
