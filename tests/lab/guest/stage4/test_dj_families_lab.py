"""Mouse buttons on the receivers 6.1's hid-logitech-dj drives without DJ mode: Nano C534 and
Lightspeed C539, behind /dev/uhid with the real drivers.

The bridge sends a paired mouse's input as the real receivers do (virtual/families.py): report
0x02 on the Nano's HID++ interface, on the Lightspeed's mouse interface (a second uhid device
of the same receiver). hid-logitech-dj forwards it to the child (logi_dj_raw_event ->
logi_dj_recv_forward_input_report), whose event node is named after the receiver's codename.
Both receivers up at once (one bridge each), two CLI starts for both (`status`, one `watch --fix`):
- a held HID button 16 reaches the child's event node (EVIOCGKEY) and `status` names it;
- on the real driver a button held across a link loss (0x41, link not established) stays held,
  and stays held after the link is back: only a new report releases it;
- `watch --fix` releases HID button 16 (unknown-button) and, on the next link loss, the held
  middle button (held-at-link-loss), each checked with EVIOCGKEY.
Figures: tests/lab/out/stage4-dj-families.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import labkit
import pytest
from test_receiver_families import FAMILIES, FamilyBridge

from phantombutton.input import evdev_node as en

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stage1"))
from test_watch_lab import Watch  # noqa: E402

# HID button 3 (middle) -> BTN_MIDDLE: one both mice have (an M185 has no back button, so a
# held back button is a button it lacks, released at once)
BTN_MIDDLE, MIDDLE = 0x112, 0x0004
# profile -> (slot, the codename the child's input device is named after, a USB path of its own)
MICE = {"nano": (2, "M185n", "usb-0000:00:14.0-7/input2"),
        "lightspeed": (1, "G305", "usb-0000:00:14.0-8/input2")}
FIGURES: dict = {}


def record(profile: str, **figures) -> None:
    FIGURES.setdefault(profile, {}).update(figures)
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    (labkit.OUT / "stage4-dj-families.json").write_text(json.dumps(FIGURES, indent=2) + "\n")


def held(node: str) -> frozenset[int]:
    return en.held_keys(node)                # EVIOCGKEY on a fresh fd


def wait_held(node: str, want: bool, code: int, timeout: float = 5.0) -> float:
    t0 = time.monotonic()
    labkit.wait_for(lambda: (code in held(node)) == want, timeout, 0.005,
                    what=f"{hex(code)} {'held' if want else 'released'} on {node}")
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def mice(lab_modules, udevd):
    """Both receivers at once, each on its own USB path (so two receivers to hid-logitech-dj):
    one `status` and one `watch` serve both."""
    bridges, out = [], {}
    try:
        for profile, (_slot, _codename, phys) in sorted(MICE.items()):
            bridge = FamilyBridge(profile)
            bridge.phys = phys
            bridges.append(bridge.start())
        for bridge in bridges:
            receiver = bridge.receiver()
            assert receiver.driver == FAMILIES[bridge.profile][2]
            slot, codename, _ = MICE[bridge.profile]
            name = f"Logitech {codename}"
            [node] = labkit.wait_for(lambda name=name: labkit.event_nodes(name), 20, 0.05, what=f"event node {name!r}")
            out[bridge.profile] = {"profile": bridge.profile, "bridge": bridge, "slot": slot, "node": node,
                                   "name": name, "receiver": receiver.node}
        yield out
    finally:
        for bridge in bridges:
            bridge.stop()
            if bridge.log_path.exists():
                labkit.OUT.mkdir(parents=True, exist_ok=True)
                with open(labkit.OUT / "stage4-uhid.log", "a") as f:
                    f.write(f"# ---- dj families {bridge.profile}\n{bridge.log_path.read_text(errors='replace')}")


def test_report_2_reaches_the_child_and_status_names_it(mice):
    for m in mice.values():
        m["bridge"].call("press", slot=m["slot"], buttons=labkit.HID_BUTTON_16)
        record(m["profile"], press_to_evdev_s=round(wait_held(m["node"], True, labkit.BTN_PHANTOM), 3))
    r = labkit.phantombutton("status", "--json", "--no-x")
    print(r.stdout[-3000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    status = json.loads(r.stdout)
    for m in mice.values():
        [dev] = [d for d in status["devices"] if d["node"] == m["node"]]
        assert (dev["name"], dev["slot"]) == (m["name"], m["slot"])
        assert labkit.BTN_PHANTOM in dev["evdev_held"]
        m["bridge"].call("press", slot=m["slot"], buttons=0)      # the next report releases it
        wait_held(m["node"], False, labkit.BTN_PHANTOM)


@pytest.mark.parametrize("profile", sorted(MICE))
def test_the_real_driver_keeps_a_button_held_across_a_link_loss(mice, profile):
    m = mice[profile]
    bridge, slot, node = m["bridge"], m["slot"], m["node"]
    bridge.call("press", slot=slot, buttons=MIDDLE)
    wait_held(node, True, BTN_MIDDLE)
    since = time.monotonic()
    bridge.call("disconnect", slot=slot)            # 0x41 with "link not established"
    time.sleep(0.5)
    # the notification went to the kernel: 10 <slot> 41 <protocol> <0x40 | kind> ...
    sent = [hexes for _t, way, hexes, _via in bridge.traffic(since) if way == "in"]
    assert any(h.startswith(f"10 {slot:02x} 41 ") and int(h.split()[4], 16) & 0x40 for h in sent), sent
    assert BTN_MIDDLE in held(node), "hid-logitech-dj released at link loss"
    bridge.call("connect", slot=slot)               # the link is back, no report yet
    time.sleep(0.3)
    assert BTN_MIDDLE in held(node), "released at reconnection"
    bridge.call("press", slot=slot, buttons=0)
    wait_held(node, False, BTN_MIDDLE)


def test_watch_fix_releases_hid_16_and_a_button_held_across_a_link_loss(mice):
    w = Watch("--fix")
    done = []
    try:
        # a CLI start takes 2-30 s in the TCG guest, depending on the host's load
        w.wait_attached(*(n for m in mice.values() for n in (m["node"], m["receiver"])), timeout=90)
        w.wait_event(lambda e: "watching" in e.get("message", ""), 30, what="watching line")
        for m in mice.values():
            bridge, slot, node = m["bridge"], m["slot"], m["node"]

            def outcome(code, node=node):
                return lambda e: (e["event"] in ("released", "not-released") and e["finding"]["node"] == node
                                  and e["finding"]["code"] == code)

            t0 = time.monotonic()
            bridge.call("press", slot=slot, buttons=labkit.HID_BUTTON_16)
            w.wait_event(outcome(labkit.BTN_PHANTOM), 10, what=f"release of HID 16 on {node}")
            wait_held(node, False, labkit.BTN_PHANTOM, 2)
            phantom_s = time.monotonic() - t0

            bridge.call("press", slot=slot, buttons=MIDDLE)   # a hand holds the middle button: left alone
            wait_held(node, True, BTN_MIDDLE)
            time.sleep(0.4)
            assert BTN_MIDDLE in held(node)
            t1 = time.monotonic()
            done.append(m)
            bridge.call("disconnect", slot=slot)            # the mouse sleeps with it held
            w.wait_event(outcome(BTN_MIDDLE), 10, what=f"release at link loss on {node}")
            wait_held(node, False, BTN_MIDDLE, 2)
            record(m["profile"], hid16_press_to_verified_release_s=round(phantom_s, 3),
                   link_loss_to_verified_release_s=round(time.monotonic() - t1, 3))
    finally:
        err = w.stop()
        for m in done:
            m["bridge"].call("connect", slot=m["slot"])
            m["bridge"].call("press", slot=m["slot"], buttons=0)
    print(json.dumps(w.events, indent=1)[-6000:])
    assert "Traceback" not in err, err
    for m in mice.values():
        node = m["node"]
        findings = [e["finding"] for e in w.events if e["event"] == "finding" and e["finding"]["node"] == node]
        outcomes = [e["event"] for e in w.events if e["event"] in ("released", "not-released")
                    and e["finding"]["node"] == node]
        record(m["profile"], findings=[(f["rule"], hex(f["code"])) for f in findings])
        assert [(f["rule"], f["code"]) for f in findings] == [
            ("unknown-button", labkit.BTN_PHANTOM), ("held-at-link-loss", BTN_MIDDLE)], findings
        assert outcomes == ["released", "released"], outcomes
