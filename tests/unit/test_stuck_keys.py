"""Keys held by virtual keyboards: sysfs classification, the owner from /proc, the rule, the
watch hook with --fix (fakes only at EVIOCGKEY and the node write)."""

from __future__ import annotations

import os

from phantombutton.detect.stuck_keys import StuckKeyRule, held_now
from phantombutton import keys as KEYS
from phantombutton.input import keyboards as K
from phantombutton.recovery.keys import KeyWatch

CTRL, ALT, KEY_Q = 29, 56, 16
KEYS_WORD = "fffffffffffffffe"   # codes 1..63 (ESC .. F5): a keyboard's main block


def _input(root, dev_rel, input_name, event_name, *, name, bus, key="0"):
    inp = root / "sys" / dev_rel / input_name
    (inp / "id").mkdir(parents=True)
    (inp / "capabilities").mkdir()
    (inp / "name").write_text(name + "\n")
    (inp / "id/bustype").write_text(f"{bus:04x}\n")
    (inp / "capabilities/key").write_text(key + "\n")
    ev = inp / event_name
    ev.mkdir()
    os.symlink(inp, ev / "device")
    cls = root / "sys/class/input"
    cls.mkdir(parents=True, exist_ok=True)
    os.symlink(ev, cls / event_name)


def tree(root):
    _input(root, "devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/0003:046D:C31C.0005/input",
           "input3", "event3", name="Logitech USB Keyboard", bus=0x03, key=KEYS_WORD)
    _input(root, "devices/virtual/input", "input20", "event20", name="LogiOps Virtual Input",
           bus=0x06, key=KEYS_WORD)
    _input(root, "devices/virtual/input", "input21", "event21", name="pb-test uinput keyboard",
           bus=0x03, key=KEYS_WORD)      # a uinput device claiming USB: the sysfs path tells
    _input(root, "devices/pci0000:00/mouse/input", "input5", "event5", name="Logitech M705",
           bus=0x03, key="ffff0000 0 0 0 0")   # a physical mouse: its buttons count as fingers
    return str(root / "sys")


def proc(root, holders):
    for pid, comm, target in holders:
        d = root / "proc" / str(pid)
        (d / "fd").mkdir(parents=True)
        (d / "comm").write_text(comm + "\n")
        os.symlink(target, d / "fd" / "7")
    return str(root / "proc")


def test_keyboards_virtual_by_bus_or_sysfs_path(tmp_path):
    kbs = {k.node: k for k in K.keyboard_nodes(tree(tmp_path), "/dev")}
    assert set(kbs) == {"/dev/input/event3", "/dev/input/event20", "/dev/input/event21", "/dev/input/event5"}
    assert not kbs["/dev/input/event5"].virtual and 0x110 in kbs["/dev/input/event5"].keys   # a mouse
    assert not kbs["/dev/input/event3"].virtual
    assert kbs["/dev/input/event20"].virtual and kbs["/dev/input/event20"].bus == 0x06
    assert kbs["/dev/input/event21"].virtual          # under devices/virtual/input
    assert CTRL in kbs["/dev/input/event3"].keys


def test_owner_from_proc_decided_or_guessed(tmp_path):
    kbs = {k.node: k for k in K.keyboard_nodes(tree(tmp_path), "/dev")}
    p = proc(tmp_path, [(812, "logid", "/dev/uinput"), (900, "input-remapper", "/dev/uinput"),
                        (901, "bash", "/dev/pts/0")])
    holders = K.uinput_holders(p)
    assert holders == [(812, "logid"), (900, "input-remapper")]
    o = K.owner_of(kbs["/dev/input/event20"], holders)
    assert o.process == "logid (pid 812)" and not o.guess
    o = K.owner_of(kbs["/dev/input/event21"], holders)     # no name hint, two holders
    assert o.guess and "one of logid (pid 812), input-remapper (pid 900)" in o.describe()
    o = K.owner_of(kbs["/dev/input/event21"], [(812, "logid")])
    assert o.guess and o.process == "logid (pid 812)"
    assert K.owner_of(kbs["/dev/input/event20"], []).describe().startswith("logid (logiops) (guess")


def test_key_labels_hide_codes_but_name_modifiers():
    assert KEYS.key_label(CTRL) == "KEY_LEFTCTRL"
    assert "16" not in KEYS.key_label(KEY_Q) and "hidden" in KEYS.key_label(KEY_Q)
    assert KEYS.key_label(KEY_Q, show_keycodes=True) == "key 16"


V, P = "/dev/input/event20", "/dev/input/event3"


def test_rule_threshold_physical_keys_restart_the_clock():
    r = StuckKeyRule(threshold=3.0)
    assert r.update(0.0, {V: frozenset({CTRL}), P: frozenset()}, {V}) == []
    assert r.update(2.0, {V: frozenset({CTRL}), P: frozenset({CTRL})}, {V}) == []   # mirrored
    assert r.update(4.0, {V: frozenset({CTRL}), P: frozenset()}, {V}) == []         # clock at 2.0
    [s] = r.update(5.0, {V: frozenset({CTRL}), P: frozenset()}, {V})
    assert (s.node, s.code, s.since, s.held_for, s.modifier) == (V, CTRL, 2.0, 3.0, True)
    assert r.update(6.0, {V: frozenset({CTRL}), P: frozenset()}, {V}) == []   # once per hold


def test_rule_modifiers_first_and_short_shortcuts_ignored():
    r = StuckKeyRule(threshold=1.0)
    # a thumb button's Ctrl+Alt+Tab: held for one sample, gone at the next
    r.update(0.0, {V: frozenset({CTRL, ALT, 15})}, {V})
    assert r.update(0.5, {V: frozenset()}, {V}) == []
    r.update(1.0, {V: frozenset({KEY_Q, ALT})}, {V})
    out = r.update(2.5, {V: frozenset({KEY_Q, ALT})}, {V})
    assert [s.code for s in out] == [ALT, KEY_Q]
    assert held_now({V: frozenset({KEY_Q, CTRL}), P: frozenset()}, {V}) == [(V, CTRL), (V, KEY_Q)]
    assert held_now({V: frozenset({CTRL}), P: frozenset({30})}, {V}) == []


class FakeKernel:
    def __init__(self, held):
        self.held = held
        self.writes = []

    def read(self, node):
        return self.held.get(node, frozenset())

    def write(self, node, code, value):
        self.writes.append((node, code, value))
        if value == 0:
            self.held[node] = self.held[node] - {code}


def test_watch_fix_releases_and_verifies(tmp_path):
    sysfs = tree(tmp_path)
    k = FakeKernel({V: frozenset({CTRL})})
    w = KeyWatch(fix=True, threshold=3.0, sysfs=sysfs, dev="/dev", proc=proc(tmp_path, [(812, "logid", "/dev/uinput")]),
                 read_held=k.read, write=k.write)
    assert w.tick(0.0) == []
    events = w.tick(3.5)
    kinds = [e[0] for e in events]
    assert kinds == ["stuck-key", "key-released"]
    assert "LogiOps Virtual Input" in events[0][1] and "KEY_LEFTCTRL held 3.5 s" in events[0][1]
    assert "logid (pid 812)" in events[0][1]
    assert k.writes == [(V, CTRL, 0)]
    assert events[1][2]["released"] and "EVIOCGKEY: released" in events[1][1]
    assert w.tick(10.0) == []


def test_watch_without_fix_reports_only_and_hides_keycodes(tmp_path):
    k = FakeKernel({V: frozenset({KEY_Q})})
    w = KeyWatch(threshold=1.0, sysfs=tree(tmp_path), dev="/dev", proc=str(tmp_path / "none"),
                 read_held=k.read, write=k.write)
    w.tick(0.0)
    [(kind, line, d)] = w.tick(2.0)
    assert kind == "stuck-key" and k.writes == []
    assert "16" not in line.split(":", 1)[1].replace("/dev/input/event", "") and d["key"].startswith("a key")


def test_release_that_does_not_take_is_reported(tmp_path):
    k = FakeKernel({V: frozenset({CTRL})})
    k.write = lambda node, code, value: None     # the key-up does not take
    w = KeyWatch(fix=True, threshold=1.0, sysfs=tree(tmp_path), dev="/dev", proc=str(tmp_path / "none"),
                 read_held=k.read, write=k.write)
    w.tick(0.0)
    events = w.tick(2.0)
    assert [e[0] for e in events] == ["stuck-key", "key-not-released"]
    assert events[1][1].startswith("FAILED") and "still held" in events[1][1]


def test_watcher_hook_turns_key_events_into_watch_events(tmp_path):
    from phantombutton.detect.rules import Detector
    from phantombutton.recovery.watcher import Watcher

    class Source:
        problems: list = []
        devices: list = []

        def start(self):
            return []

        def poll(self, timeout):
            return []

    k = FakeKernel({V: frozenset({CTRL})})
    t = [0.0]
    kw = KeyWatch(fix=True, threshold=1.0, sysfs=tree(tmp_path), dev="/dev", proc=str(tmp_path / "none"),
                  read_held=k.read, write=k.write)
    w = Watcher(Source(), Detector(), keys=kw, clock=lambda: t[0])
    w.start()
    t[0] = 2.0
    evs = w.step(0)
    assert [e.kind for e in evs] == ["stuck-key", "key-released"]
    assert evs[0].to_dict()["event"] == "stuck-key" and evs[0].line().startswith("STUCK")


def test_threshold_from_config_and_its_range():
    import pytest

    from phantombutton.errors import BadInput
    from phantombutton.service.config import parse

    assert parse("[detection]\nstuck-key-after = 1.5\n").detection.stuck_key_after == 1.5
    with pytest.raises(BadInput, match="stuck-key-after"):
        parse("[detection]\nstuck-key-after = 0\n")


def test_a_physical_mouse_button_held_is_a_finger_on_the_hardware(tmp_path):
    # input-remapper maps the thumb button to Ctrl; the user Ctrl-drags for 5 s
    m = "/dev/input/event5"
    k = FakeKernel({V: frozenset({CTRL}), m: frozenset({0x116})})
    w = KeyWatch(fix=True, threshold=1.0, sysfs=tree(tmp_path), dev="/dev", proc=str(tmp_path / "none"),
                 read_held=k.read, write=k.write)
    assert w.tick(0.0) == [] and w.tick(5.0) == [] and k.writes == []
    k.held[m] = frozenset()            # button up, the remapper missed the release: stuck from now
    assert w.tick(5.5) == []
    assert [e[0] for e in w.tick(7.0)] == ["stuck-key", "key-released"]
