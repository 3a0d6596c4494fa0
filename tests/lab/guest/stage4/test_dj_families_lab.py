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
- `capture` of the Nano child and of Bolt's shared node (a Bolt bridge beside them) is read by
  `analyze`, which names both; `mute` on Bolt's shared node silences HID button 16 there.
Figures: tests/lab/out/stage4-dj-families.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import labkit
import pytest
from test_receiver_families import FAMILIES, FamilyBridge

from phantombutton.capture.reader import Capture
from phantombutton.cli.cmd_analyze import analyze_file
from phantombutton.detect.events import DeviceAdded, HidppTraffic
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


def test_capture_analyze_and_mute_on_nano_and_bolts_shared_node(mice, tmp_path):
    """One capture of the Nano child and Bolt's shared mouse node (a Bolt bridge beside this
    module's receivers), a phantom on each: `analyze` names both devices (Bolt: the receiver, its
    paired mouse, the likely one) and the capture holds each one's hid entries (the Nano child's
    report 0x02, Bolt's mouse interface); `mute` on Bolt's shared node reads its paired mouse
    first and silences HID button 16 there (EVIOCGKEY). Two CLI starts (capture, mute) and the
    Bolt bridge."""
    nano = mice["nano"]
    os.environ.setdefault("XDG_CACHE_HOME", str(tmp_path / "cache"))   # the CLI children inherit it
    bolt = FamilyBridge("bolt")
    bolt.phys = "usb-0000:00:14.0-9/input2"        # a USB path of its own
    bolt.sock_path, bolt.log_path = "/run/pb-uhid-bolt-capture.sock", Path("/tmp/pb-uhid-bolt-capture.log")
    t_start = time.monotonic()
    try:
        bolt.start()
        [shared] = bolt.receiver().mouse_nodes
        hid_dir = f"/sys/class/input/{os.path.basename(shared)}/device/device"
        mouse_hidraw = "/dev/" + sorted(os.listdir(f"{hid_dir}/hidraw"))[0]
        path = tmp_path / "families.yml"
        t0 = time.monotonic()
        proc = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "capture", "-o", str(path), "--no-x",
                                 nano["node"], shared], cwd=labkit.REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        labkit.wait_for(lambda: path.exists() and "  events:\n" in path.read_text(), 60, what="capture header")
        t_capture = time.monotonic() - t0
        nano["bridge"].call("press", slot=nano["slot"], buttons=labkit.HID_BUTTON_16)
        bolt.call("press", slot=2, buttons=labkit.HID_BUTTON_16)
        for node in (nano["node"], shared):
            wait_held(node, True, labkit.BTN_PHANTOM)
        time.sleep(0.3)                              # the capture reads what the kernel queued
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err

        # `analyze` in this process (the function the command runs: its CLI is unit-tested),
        # with the button map the capture learnt in XDG_CACHE_HOME: one Python start saved
        t0 = time.monotonic()
        report = analyze_file(str(path))
        t_analyze = time.monotonic() - t0
        findings = {f.node: f for f in report["findings"] if f.code == labkit.BTN_PHANTOM}
        assert (findings[nano["node"]].device, str(findings[nano["node"]].rule)) == (nano["name"], "unknown-button")
        assert str(findings[shared].rule) == "unknown-button", findings[shared]
        evidence = "\n".join(findings[shared].evidence)
        assert f"shared mouse node of the Bolt receiver C548 ({bolt.receiver().node})" in evidence, evidence
        assert "likely: slot 2 MX Master 3S - the only mouse paired" in evidence, evidence

        cap = Capture(str(path))
        obs = list(cap.observations())
        infos = {o.device.node: o.device for o in obs if isinstance(o, DeviceAdded)}
        hid = {}
        for o in obs:
            if isinstance(o, HidppTraffic):
                hid.setdefault(o.node, []).append(o.data)
        child = infos[nano["node"]].hidpp_node
        assert infos[nano["node"]].receiver_product == 0xC534 and infos[shared].receiver_product == 0xC548
        # the Nano's press forwarded to its child as report 0x02, HID button 16 set
        assert any(d[0] == 0x02 and d[2] & 0x80 for d in hid.get(child, [])), hid.keys()
        assert hid.get(mouse_hidraw), (mouse_hidraw, hid.keys())   # Bolt's mouse interface
        record("capture", capture_start_to_header_s=round(t_capture, 2), analyze_s=round(t_analyze, 2),
               hid_reports={k: len(v) for k, v in hid.items()})

        t0 = time.monotonic()
        r = labkit.phantombutton("mute", shared, "20")
        t_mute = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        assert labkit.BTN_PHANTOM not in held(shared)               # released by the remap
        bolt.call("press", slot=2, buttons=0)
        bolt.call("press", slot=2, buttons=labkit.HID_BUTTON_16)    # reported again: quiet
        time.sleep(0.3)
        assert labkit.BTN_PHANTOM not in held(shared)
        record("bolt", mute_s=round(t_mute, 2), capture_test_total_s=round(time.monotonic() - t_start, 2))
    finally:
        nano["bridge"].call("press", slot=nano["slot"], buttons=0)
        bolt.stop()
