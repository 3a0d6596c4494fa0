"""Stale diversions (detect/diversion.py, recovery/diversion.py and thumbwheel.py): a control diverted to HID++
with nobody reading its events is found when pressed, reset with --fix (read back, then the
next press reaches evdev); one owned by a remapper, or whose owner /proc hides, is left alone;
a diverted event and a native press of one button together are "doubled"."""

from __future__ import annotations

import json

import pytest

from phantombutton.cli.main import main
from phantombutton.detect import diversion as rule
from phantombutton.detect.events import DeviceAdded, DeviceInfo, HidppTraffic, KeyEvent
from phantombutton.recovery.diversion import DiversionGuard

BTN_MIDDLE = 0x112


@pytest.fixture(autouse=True)
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def watch(capsys, *extra, profile="stale-diversion"):
    rc = main(["--virtual", "--profile", profile, "watch", "--json", "--duration", "2.2",
               "--poll-interval", "0.05", *extra])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return [e for e in (json.loads(x) for x in out.splitlines() if x.startswith("{"))
            if e["event"].startswith("diversion-")]


def test_watch_fix_resets_a_stale_diversion_reads_back_and_verifies_by_the_next_press(capsys):
    events = watch(capsys, "--fix")
    assert [e["event"] for e in events] == ["diversion-finding", "diversion-repaired", "diversion-verified"]
    finding = events[0]
    assert finding["message"].startswith("stale diversion: Middle Button diverted to HID++ with no program")
    assert "read back: Middle Button (diverted)" in finding["evidence"]
    assert any("no other process holds virtual:c52b open" in e for e in finding["evidence"])
    assert "read back: regular, flags 0x00" in events[1]["message"]
    assert "next press reached evdev (virtual:1)" in events[2]["message"]


def test_watch_without_fix_reports_once_with_the_fix_and_resets_nothing(capsys):
    events = watch(capsys)
    assert [e["event"] for e in events] == ["diversion-finding"]
    assert "fix: phantombutton watch --fix, or phantombutton set 1 diversions reset" in events[0]["message"]


@pytest.mark.parametrize("held,verdict", [(("solaar[4242]",), "owned by Solaar (solaar[4242])"),
                                          (("myremap[77]",), "owned by myremap[77]"),
                                          (None, "unknown")])
def test_a_diversion_someone_may_own_is_reported_not_reset(capsys, monkeypatch, held, verdict):
    from phantombutton.virtual.platform import VirtualPlatform

    monkeypatch.setattr(VirtualPlatform, "listeners", lambda self, node: held)
    events = watch(capsys, "--fix")
    assert [e["event"] for e in events] == ["diversion-finding"]
    assert f"Middle Button diverted to HID++, {verdict}; not reset" in events[0]["message"]


class FakeDevice:
    """The mouse at the OS boundary: REPROG_CONTROLS_V4 at index 9, the middle button diverted."""

    def __init__(self, flags=0x01):
        self.flags = flags
        self.calls = []

    def feature_index(self, feature):
        return 9 if feature == 0x1B04 else None

    def call(self, feature, function, params=b""):
        self.calls.append((function, bytes(params)))
        if function == 2:
            return bytes(params[:2]) + bytes([self.flags, 0, 0])
        if function == 3:
            self.flags &= ~0x15 if params[2] & 0x2A else 0xFF
            return bytes(params[:5])
        raise AssertionError(function)


def guard(device, listeners=()):
    g = DiversionGuard(lambda key: device, lambda node: listeners, fix=True, learn_buttons=False)
    info = DeviceInfo(node="/dev/input/event7", name="MX", product=0xB034, slot=2, receiver_node="/dev/hidraw3")
    g.feed(DeviceAdded(0.0, info, at_start=True))
    return g


def event(t, *cids, slot=2, index=9):
    params = b"".join(c.to_bytes(2, "big") for c in cids).ljust(16, b"\0")
    return HidppTraffic(t, "/dev/hidraw3", bytes([0x11, slot, index, 0x00]) + params)


def test_doubled_press_is_reported_and_not_reset():
    device = FakeDevice()
    g = guard(device, listeners=("logid[900]",))
    first = g.feed(event(1.0, 0x0052))
    assert "owned by logiops (logid) (logid[900])" in first[0].message
    out = g.feed(KeyEvent(1.01, "/dev/input/event7", BTN_MIDDLE, 1))
    assert len(out) == 1 and "Middle Button fires twice" in out[0].message
    assert "10 ms apart" in out[0].evidence[0]
    assert not any(fn == 3 for fn, _ in device.calls)           # nothing written


def test_only_real_diverted_events_count():
    device = FakeDevice()
    g = guard(device)
    assert g.feed(event(1.0, 0x0052, slot=3)) == []             # another slot: not this mouse
    assert g.feed(event(1.0, 0x0052, index=8)) == []            # another feature's event
    reply = HidppTraffic(1.0, "/dev/hidraw3", bytes([0x11, 2, 9, 0x2E, 0, 0x52]) + bytes(14))
    assert g.feed(reply) == []                                  # a reply (software id 0x0E)
    assert g.feed(event(1.0)) == []                             # "all released"
    assert device.calls == []


def test_a_control_that_stays_diverted_after_the_reset_is_a_failure():
    class Stubborn(FakeDevice):      # accepts the write, keeps the diversion
        def call(self, feature, function, params=b""):
            super().call(feature, function, params)
            return bytes(params[:2]) + bytes([0x01, 0, 0]) if function == 2 else bytes(params[:5])

    out = guard(Stubborn()).feed(event(1.0, 0x0052))
    assert [e.kind for e in out] == ["finding", "failed"]
    assert "still diverted after the reset" in out[1].message


def test_a_diversion_put_back_after_the_repair_is_left_alone():
    device = FakeDevice()
    g = guard(device)
    assert [e.kind for e in g.feed(event(1.0, 0x0052))] == ["finding", "repaired"]
    device.flags = 0x01                                          # a program diverts it again
    out = g.feed(event(2.0, 0x0052))
    assert [e.kind for e in out] == ["not-verified"] and "left alone" in out[0].message
    assert g.feed(event(20.0, 0x0052)) == []                     # no fight


def test_owner_names():
    assert rule.owner_of(("bash[1]", "solaar[22]")) == "Solaar (solaar[22])"
    assert rule.owner_of(("logid[5]",)) == "logiops (logid) (logid[5])"
    assert rule.owner_of(("cat[9]",)) is None


# --- analyze: captures ------------------------------------------------------------------

def write_capture(path, *, native_too=False, solaar=False, getfeature=True):
    import synthetic as syn
    from phantombutton.capture.record import CaptureWriter

    t = syn.START + 0.5
    with CaptureWriter(path, [syn.m705_header()], syn.meta(x_driver=None)) as w:
        if getfeature:   # someone (here: the kernel's id 1) looked up REPROG_CONTROLS_V4: index 9
            w.hid(syn.RECEIVER, t, bytes([0x10, 0x01, 0x00, 0x01, 0x1B, 0x04, 0x00]))
            w.hid(syn.RECEIVER, t + 0.01, bytes([0x11, 0x01, 0x00, 0x01, 0x09, 0x00, 0x05]) + bytes(13))
        if solaar:
            w.hid(syn.RECEIVER, t + 0.02, bytes([0x10, 0x01, 0x09, 0x2B, 0x00, 0x52, 0x00]))
        for k in range(3):
            at = t + 1 + k
            w.hid(syn.RECEIVER, at, bytes([0x11, 0x01, 0x09, 0x00, 0x00, 0x52]) + bytes(14))
            w.hid(syn.RECEIVER, at + 0.1, bytes([0x11, 0x01, 0x09, 0x00]) + bytes(16))
            if native_too:
                w.evdev(syn.NODE, syn.button_frame(at + 0.005, BTN_MIDDLE, 1))
                w.evdev(syn.NODE, syn.button_frame(at + 0.1, BTN_MIDDLE, 0))


def analyze(capsys, path, *extra):
    rc = main(["analyze", str(path), *extra])
    out, err = capsys.readouterr()
    return rc, out, err


def test_analyze_names_a_dead_diverted_button(capsys, tmp_path):
    write_capture(tmp_path / "c.yml")
    rc, out, _ = analyze(capsys, tmp_path / "c.yml")
    assert rc == 3 and "verdict: STALE DIVERSION - 1 finding(s)" in out
    assert "BTN_MIDDLE 0x112 (X button 2, HID button 3) diverted to HID++ from 1.500 s to 3.500 s" in out
    assert "Middle Button: 3 press(es) as HID++ REPROG_CONTROLS_V4 diverted-button events" in out
    assert "no mouse-report press of it in the capture" in out
    assert "none (no remapper was talking to the mouse)" in out


def test_analyze_infers_the_index_and_names_a_likely_owner(capsys, tmp_path):
    write_capture(tmp_path / "c.yml", getfeature=False, solaar=True)
    rc, out, _ = analyze(capsys, tmp_path / "c.yml", "--json")
    f = json.loads(out)["findings"][0]
    assert rc == 3 and f["rule"] == "stale-diversion" and f["code"] == BTN_MIDDLE and f["slot"] == 1
    assert "inferred from the control ids" in f["evidence"][0]
    assert "Solaar" in f["evidence"][2] and "only Solaar could be reading it" in f["cause"]


def test_analyze_reports_doubled_presses(capsys, tmp_path):
    write_capture(tmp_path / "c.yml", native_too=True)
    rc, out, _ = analyze(capsys, tmp_path / "c.yml")
    assert rc == 3 and "3 of them also as a mouse-report press within 50 ms" in out
    assert "it fires twice" in out


def test_analyze_ignores_other_features_events(capsys, tmp_path):
    import synthetic as syn
    from phantombutton.capture.record import CaptureWriter

    with CaptureWriter(tmp_path / "c.yml", [syn.m705_header()], syn.meta(x_driver=None)) as w:
        # a HIRES_WHEEL event (index 15) and a battery event: not control ids
        w.hid(syn.RECEIVER, syn.START + 1, bytes([0x11, 0x01, 0x0F, 0x00, 0x10, 0x00, 0x0F]) + bytes(13))
        w.hid(syn.RECEIVER, syn.START + 2, bytes([0x11, 0x01, 0x08, 0x00, 0x19, 0x02, 0x00]) + bytes(13))
    rc, out, _ = analyze(capsys, tmp_path / "c.yml")
    assert rc == 0 and "verdict: clean" in out


def test_status_lists_diverted_controls_and_who_reads_them(capsys, monkeypatch):
    rc = main(["--virtual", "--profile", "stale-diversion", "status", "--json"])
    out, _ = capsys.readouterr()
    found = [e for e in json.loads(out)["wheel"] if e["event"].startswith("diversion-")]
    assert rc == 0 and [e["event"] for e in found] == ["diversion-finding"]
    assert found[0]["message"].startswith("diverted to HID++: Middle Button (diverted); nobody else holds")
    from phantombutton.virtual.platform import VirtualPlatform

    monkeypatch.setattr(VirtualPlatform, "listeners", lambda self, node: ("logid[31]",))
    main(["--virtual", "--profile", "stale-diversion", "status", "--json"])
    out, _ = capsys.readouterr()
    found = [e for e in json.loads(out)["wheel"] if e["event"].startswith("diversion-")]
    assert [e["event"] for e in found] == ["diversion-note"]
    assert "owned by logiops (logid) (logid[31])" in found[0]["message"]
    main(["--virtual", "--profile", "mx-master-3s", "status", "--json"])
    out, _ = capsys.readouterr()
    assert not [e for e in json.loads(out)["wheel"] if e["event"].startswith("diversion-")]


# --- the thumb wheel (THUMB_WHEEL 0x2150) ---------------------------------------------------

def watch_thumb(capsys, *extra):
    return watch(capsys, *extra, profile="stale-thumb-wheel")


def test_watch_fix_resets_a_stale_thumb_wheel_reads_back_and_verifies_by_the_next_turn(capsys):
    events = watch_thumb(capsys, "--fix")
    assert [e["event"] for e in events] == ["diversion-finding", "diversion-repaired", "diversion-verified"]
    finding = events[0]
    assert finding["message"] == ("stale diversion: thumb wheel diverted to HID++ with no program reading it "
                                  "(the thumb wheel is dead)")
    assert finding["evidence"][0].startswith("HID++ THUMB_WHEEL rotation event at ")
    assert "read back: thumb wheel (diverted)" in finding["evidence"]
    assert any("no other process holds virtual:c52b open" in e for e in finding["evidence"])
    assert "reporting mode set back to HID (read back: hid)" in events[1]["message"]
    assert "its next turn reached evdev as REL_HWHEEL (virtual:1)" in events[2]["message"]


def test_watch_without_fix_reports_a_stale_thumb_wheel_once_and_resets_nothing(capsys):
    events = watch_thumb(capsys)
    assert [e["event"] for e in events] == ["diversion-finding"]
    assert "(the thumb wheel is dead); fix: phantombutton watch --fix" in events[0]["message"]


def test_a_thumb_wheel_another_process_reads_is_reported_not_reset(capsys, monkeypatch):
    from phantombutton.virtual.platform import VirtualPlatform

    monkeypatch.setattr(VirtualPlatform, "listeners", lambda self, node: ("input-remapper-[55]",))
    events = watch_thumb(capsys, "--fix")
    assert [e["event"] for e in events] == ["diversion-finding"]
    assert events[0]["message"] == ("thumb wheel diverted to HID++, owned by input-remapper (input-remapper-[55]); "
                                    "not reset (phantombutton set 1 diversions reset does it)")
    assert any("held open by input-remapper-[55]" in e for e in events[0]["evidence"])


class FakeThumbMouse:
    """The mouse at the OS boundary: REPROG_CONTROLS_V4 at index 9, THUMB_WHEEL at 16, its
    reporting mode `mode` (1 = HID++); `sticks`: a write that the mouse ignores."""

    label = "MX (slot 2)"

    def __init__(self, mode=1, sticks=False):
        self.mode, self.sticks = mode, sticks
        self.calls = []

    def feature_index(self, feature):
        return {0x1B04: 9, 0x2150: 16}.get(feature)

    def call(self, feature, function, params=b""):
        self.calls.append((feature, function, bytes(params)))
        assert feature == 0x2150
        if function == 2 and not self.sticks:
            self.mode = params[0]
        return bytes([self.mode, 0])


def thumb(t, rotation=40, status=1, slot=2):
    params = rotation.to_bytes(2, "big", signed=True) + bytes([0, 8, status, 0])
    return HidppTraffic(t, "/dev/hidraw3", bytes([0x11, slot, 16, 0x00]) + params.ljust(16, b"\0"))


def test_thumb_wheel_reset_verification_and_a_program_that_diverts_it_again():
    from phantombutton.detect.events import Motion

    mouse = FakeThumbMouse()
    g = guard(mouse)
    assert [e.kind for e in g.feed(thumb(1.0))] == ["finding", "repaired"]
    # getThumbwheelStatus; with the stale verdict: status, setThumbwheelReporting(0, invert), read back
    assert [(fn, p[:2]) for _, fn, p in mouse.calls] == [(1, b""), (1, b""), (2, b"\0\0"), (1, b"")]
    assert g.feed(thumb(1.02, 0, status=3)) == []               # the end of the repaired turn
    assert g.feed(Motion(1.5, "/dev/input/event9", hwheel=True)) == []    # another mouse
    assert g.feed(Motion(1.5, "/dev/input/event7", wheel=True)) == []     # the vertical wheel
    [ok] = g.feed(Motion(1.6, "/dev/input/event7", wheel=True, hwheel=True))
    assert ok.kind == "verified"
    mouse.mode = 1                                              # a program diverts it again
    out = g.feed(thumb(9.0))
    assert [e.kind for e in out] == ["finding", "repaired"]     # no repair pending: a new check
    out = g.feed(thumb(9.5, status=1))                          # a new turn, diverted again
    assert [e.kind for e in out] == ["not-verified"] and "left alone" in out[0].message
    assert g.feed(thumb(30.0)) == []                            # no fight


def test_thumb_wheel_events_other_than_a_diverted_thumb_wheel_do_nothing():
    mouse = FakeThumbMouse(mode=0)
    g = guard(mouse)
    assert g.feed(thumb(1.0, slot=3)) == []                     # another slot
    reply = HidppTraffic(1.0, "/dev/hidraw3", bytes([0x11, 2, 16, 0x1E, 0, 0]) + bytes(14))
    assert g.feed(reply) == []                                  # a reply (software id 0x0E)
    assert mouse.calls == []
    assert g.feed(thumb(1.0)) == []                             # read back: native, its program undid it
    assert [(f, fn) for f, fn, _ in mouse.calls] == [(0x2150, 1)]


def test_a_thumb_wheel_that_stays_diverted_after_the_reset_is_a_failure():
    out = guard(FakeThumbMouse(sticks=True)).feed(thumb(1.0))
    assert [e.kind for e in out] == ["finding", "failed"]
    assert "thumb wheel: reset refused or not applied" in out[1].message
    assert "reads back hidpp" in out[1].message


def test_status_names_a_stale_thumb_wheel(capsys):
    rc = main(["--virtual", "--profile", "stale-thumb-wheel", "status", "--json"])
    out, _ = capsys.readouterr()
    found = [e for e in json.loads(out)["wheel"] if e["event"].startswith("diversion-")]
    assert rc == 0 and [e["event"] for e in found] == ["diversion-finding"]
    assert found[0]["message"].startswith("diverted to HID++: thumb wheel (diverted); nobody else holds")


def test_a_reset_thumb_wheel_not_turned_again_is_said_unverified_once():
    g = guard(FakeThumbMouse())
    assert [e.kind for e in g.feed(thumb(1.0))] == ["finding", "repaired"]
    assert g.tick(20.0) == []
    [note] = g.tick(31.5)
    assert note.kind == "note" and "not turned within 30 s of the repair" in note.message
    assert g.tick(40.0) == []
