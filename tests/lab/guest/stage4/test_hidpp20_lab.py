"""A HID++ 2.0 mouse (the MX Master 3S spec of virtual/mice.py) in a Unifying slot behind uhid,
driven by the real hid-logitech-dj and hid-logitech-hidpp: its buttons read from the mouse
through the kernel's nodes, a dpi round trip, and a stale diversion (the middle button, then
the thumb wheel) left by a program that exited, found and repaired by `watch --fix` with
read-back and the next press (turn) on evdev.
Lean: one bridge for the module, few CLI calls. Durations go to the lab log."""

from __future__ import annotations

import glob
import json
import os
import select
import struct
import sys
import time
from pathlib import Path

import labkit
import pytest

NAME = "MX Master 3S"     # the input device: "Logitech " + the receiver's stored name
EVENT = struct.Struct("=qqHHi")
EV_KEY, BTN_MIDDLE = 1, 0x112
EV_REL, REL_HWHEEL, REL_HWHEEL_HI_RES = 2, 0x06, 0x0C
MIDDLE = 0x0004          # HID button 3 in the DJ mouse report


@pytest.fixture(scope="module")
def mx(lab_modules, tmp_path_factory):
    b = labkit.Bridge("mx-master-3s").start(wait_node=False)
    node = labkit.wait_for(_event_nodes, 20, what=f"evdev node of the {NAME}")[0]
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))   # the CLI children inherit it
    yield b, node
    b.stop()


def _event_nodes() -> list[str]:
    return ["/dev/input/" + p.split("/")[4] for p in sorted(glob.glob("/sys/class/input/event*/device/name"))
            if NAME in Path(p).read_text()]


def cli(*args: str) -> tuple[int, str, str, float]:
    t0 = time.monotonic()
    r = labkit.phantombutton(*args)
    return r.returncode, r.stdout, r.stderr, time.monotonic() - t0


def bench(line: str) -> None:
    """A figure: printed, and kept in tests/lab/out/stage4-hidpp20-bench.txt."""
    print(line)
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    with open(labkit.OUT / "stage4-hidpp20-bench.txt", "a") as f:
        f.write(line.strip() + "\n")


def requests_since(bridge, since: float) -> int:
    return sum(1 for t in bridge.traffic(since) if t[1] == "out" and t[2][:2] in ("10", "11"))


def test_buttons_are_read_from_the_mouse_through_the_kernel_then_cached(mx):
    bridge, _ = mx
    since = time.monotonic()
    rc, out, err, took = cli("buttons", "1", "--json")
    first = requests_since(bridge, since)
    assert rc == 0, err
    dev = json.loads(out)["devices"][0]
    assert dev["wpid"] == "B034" and dev["source"] == "mouse (REPROG_CONTROLS_V4)"
    assert dev["buttons"] == ["left", "right", "middle", "back (side)", "forward (extra)"]
    assert os.path.exists(dev["cache"])
    since = time.monotonic()
    rc, out, err, took2 = cli("buttons", "1", "--json")
    hit = requests_since(bridge, since)
    assert rc == 0 and json.loads(out)["devices"][0]["buttons"] == dev["buttons"]
    assert hit < first
    bench(f"BENCH buttons: read {first} HID++ requests {took:.2f} s; cached {hit} requests {took2:.2f} s")


def test_dpi_set_reads_back_and_get_agrees(mx):
    rc, out, err, took = cli("set", "1", "dpi", "1600")
    assert rc == 0 and out.startswith("dpi: 1600 (read back"), err
    rc, out, _, _ = cli("get", "1", "dpi")
    assert (rc, out) == (0, "dpi: 1600\n")
    bench(f"BENCH set dpi: {took:.2f} s")


def _evdev_presses(fd: int, wait: float, kind: tuple[int, ...] = (EV_KEY, BTN_MIDDLE),
                   enough: int = 0) -> list[int]:
    """BTN_MIDDLE values (or those of the (type, code...) in `kind`) read from the event node
    within `wait` seconds, or as soon as `enough` of them came."""
    values, end = [], time.monotonic() + wait
    while (left := end - time.monotonic()) > 0 and not (enough and len(values) >= enough):
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            break
        data = os.read(fd, EVENT.size * 64)
        values += [v for _s, _u, typ, code, v in EVENT.iter_unpack(data[: len(data) - len(data) % EVENT.size])
                   if typ == kind[0] and code in kind[1:]]
    return values


def test_a_stale_diversion_is_found_reset_read_back_and_the_next_press_reaches_evdev(mx):
    """The middle button, then the thumb wheel, both left diverted by one remapper that exited."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stage1"))
    from test_watch_lab import Watch

    bridge, node = mx
    receiver = labkit.receiver_node()
    labkit.divert_and_exit(receiver, 1, thumb_wheel=True)
    fd = os.open(node, os.O_RDONLY | os.O_NONBLOCK)
    w = Watch("--fix")
    try:
        w.wait_attached(node, receiver)
        w.wait_event(lambda e: "watching" in e.get("message", ""), 20, what="watching line")
        t0 = time.monotonic()
        bridge.call("press", slot=1, buttons=MIDDLE)
        bridge.call("press", slot=1, buttons=0)
        finding = w.wait_event(lambda e: e["event"] == "diversion-finding", 10, what="stale diversion finding")
        repaired = w.wait_event(lambda e: e["event"] == "diversion-repaired", 10, what="repair")
        t_fix = time.monotonic() - t0
        assert _evdev_presses(fd, 0.2) == []                      # the diverted press never reached evdev
        assert finding["message"].startswith("stale diversion: Middle Button diverted to HID++")
        assert any("no other process holds" in e for e in finding["evidence"])
        assert "read back: regular" in repaired["message"]
        bridge.call("press", slot=1, buttons=MIDDLE)
        bridge.call("press", slot=1, buttons=0)
        assert _evdev_presses(fd, 2.0)[:2] == [1, 0]              # the next press reaches evdev
        w.wait_event(lambda e: e["event"] == "diversion-verified", 10, what="verified by the press")
        bench(f"BENCH stale diversion: press -> repaired {t_fix:.2f} s")
        # the thumb wheel: its turn arrives as THUMB_WHEEL events, not as AC Pan
        t0 = time.monotonic()
        bridge.call("thumb_wheel", slot=1, amount=2)
        finding = w.wait_event(lambda e: e["event"] == "diversion-finding" and "thumb wheel" in e["message"],
                               10, what="stale thumb wheel finding")
        repaired = w.wait_event(lambda e: e["event"] == "diversion-repaired" and "thumb wheel" in e["message"],
                                10, what="thumb wheel repair")
        t_thumb = time.monotonic() - t0
        hwheel = (EV_REL, REL_HWHEEL, REL_HWHEEL_HI_RES)
        assert _evdev_presses(fd, 0.2, hwheel) == []            # the diverted turn never reached evdev
        assert finding["message"].startswith("stale diversion: thumb wheel diverted to HID++")
        assert "read back: hid" in repaired["message"]
        bridge.call("thumb_wheel", slot=1, amount=1)
        assert _evdev_presses(fd, 2.0, hwheel, enough=1)        # the next turn: REL_HWHEEL
        w.wait_event(lambda e: e["event"] == "diversion-verified" and "thumb wheel" in e["message"], 10,
                     what="verified by the turn")
        bench(f"BENCH stale thumb wheel: turn -> repaired {t_thumb:.2f} s, whole part "
              f"{time.monotonic() - t0:.2f} s")
    finally:
        os.close(fd)
        w.stop()
