"""Buttons read from a HID++ 2.0 mouse (REPROG_CONTROLS_V4), the cache per WPID + firmware,
and the detection rule "a button the model does not have" for a mouse missing from models.py."""

from __future__ import annotations

import json
import os

from phantombutton import buttoncache, models
from phantombutton.buttons import Btn, hid_button_to_evdev
from phantombutton.cli.main import main
from phantombutton.detect.events import DeviceAdded, DeviceInfo, KeyEvent
from phantombutton.detect.findings import Rule
from phantombutton.detect.rules import Detector

PHANTOM = hid_button_to_evdev(16)


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cache_files() -> list[str]:
    return sorted(os.listdir(buttoncache.cache_dir()))


def test_buttons_read_from_the_mouse_then_cached_and_used_by_the_model_table(capsys):
    assert not models.model_for(0xB034).known          # not in the table, never read
    code, out, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "buttons")
    assert code == 0 and err == ""
    assert "buttons from the mouse (REPROG_CONTROLS_V4)" in out
    assert "buttons : left, right, middle, back (side), forward (extra)\n" in out
    assert "0x00C3 Mouse Gesture Button         no HID button" in out
    assert cache_files() == ["buttons-B034-RBM_22.00.B0003.json"]
    buttoncache.forget()                                   # a new process: from the file
    model = models.model_for(0xB034)
    assert model.known and not model.has_button(PHANTOM) and model.has_button(int(Btn.EXTRA))
    assert models.has_button(0xB034, PHANTOM) is False


def test_a_cache_hit_costs_only_the_firmware_read_and_refresh_rereads(capsys, monkeypatch):
    from phantombutton.virtual import receiver as vr

    counts = []
    original = vr.VirtualReceiver.__init__

    def spy(self, *a, **k):
        original(self, *a, **k)
        counts.append(self)

    monkeypatch.setattr(vr.VirtualReceiver, "__init__", spy)
    for args in ((), (), ("--refresh",)):
        assert run(capsys, "--virtual", "--profile", "mx-master-3s", "buttons", "1", *args)[0] == 0
    first, hit, refresh = (rx.hidpp_requests() for rx in counts)
    assert hit < first and refresh == first, (first, hit, refresh)


def test_a_corrupt_cache_is_ignored_with_a_note_and_rewritten(capsys):
    path = buttoncache.path_for(0xB034, "RBM 22.00.B0003")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for junk in ("{not json", json.dumps({"format": 1, "wpid": "B034", "controls": [{"cid": "zz"}]}),
                 json.dumps([1, 2])):
        with open(path, "w") as f:
            f.write(junk)
        code, out, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "buttons", "1")
        assert code == 0 and "buttons from the mouse" in out
        assert "ignored, not a readable button cache" in err and err.count("\n") == 1
        with open(path) as f:
            assert json.load(f)["wpid"] == "B034"          # rewritten, whole


def test_an_unwritable_cache_is_a_note_not_a_failure(capsys, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))   # a file where the directory should be
    code, out, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "buttons", "1")
    assert code == 0 and "left, right, middle" in out and "button cache not written" in err


def test_unmapped_mouse_controls_assume_buttons_6_to_8_never_16():
    bmap = buttoncache.ButtonMap(0x4321, "X 1", "Odd", (
        buttoncache.LearnedControl(0x0050, 0x38, 0x01), buttoncache.LearnedControl(0x00FD, 0x99, 0x31),
        buttoncache.LearnedControl(0x00D0, 0x9A, 0x10)))   # 0xD0 without "mse": a keyboard key
    assert bmap.guessed()
    assert bmap.codes() == {int(Btn.LEFT), int(Btn.FORWARD), int(Btn.BACK), int(Btn.TASK)}
    assert buttoncache.ButtonMap.from_json(json.loads(json.dumps(bmap.to_json()))) == bmap


def test_the_unknown_button_rule_fires_for_a_learnt_mouse(capsys):
    assert run(capsys, "--virtual", "--profile", "mx-master-3s", "buttons")[0] == 0
    det = Detector()
    info = DeviceInfo(node="/dev/input/event9", name="Logitech MX Master 3S", product=0xB034, slot=1)
    det.feed(DeviceAdded(0.0, info, at_start=True))
    findings = det.feed(KeyEvent(5.0, "/dev/input/event9", PHANTOM, 1))
    assert [f.rule for f in findings] == [Rule.UNKNOWN_BUTTON]


def test_watch_reads_the_buttons_of_a_mouse_missing_from_the_table_at_attach(capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    code, out, err = run(capsys, "--virtual", "--profile", "mx-master-3s", "watch", "--json", "--duration", "0.3")
    learned = [json.loads(x) for x in out.splitlines() if '"buttons-learned"' in x]
    assert code == 0 and len(learned) == 1
    assert learned[0]["message"].endswith("left, right, middle, back (side), forward (extra)")
    assert models.has_button(0xB034, PHANTOM) is False
