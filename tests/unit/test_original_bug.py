"""The `original-bug` profile: the seed's report replayed on the virtual receiver, found and
released by `watch --fix`; and the receiver's readers fan out as hidraw's open files do."""

from __future__ import annotations

import json

import pytest

from phantombutton.cli.main import main
from phantombutton.transport.virtual import VirtualTransport
from phantombutton.virtual.receiver import VirtualReceiver


@pytest.fixture(autouse=True)
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def test_every_reader_gets_every_report():
    model = VirtualReceiver("default", default_reader=False)
    first = model.open_reader()
    model.press(1, 0x8000)
    second = model.open_reader()           # opened after the press: sees only what follows
    transport = VirtualTransport(model)
    model.press(1, 0)
    assert len(first.pop()) == 2
    assert len(second.pop()) == 1
    assert transport.read(0) is not None and transport.read(0) is None   # its own copy
    first.close()
    model.press(1, 0x8000)
    assert first.pop() == [] and len(second.pop()) == 1


def test_original_bug_script_reaches_readers_opened_before_it_runs():
    clock = [100.0]
    model = VirtualReceiver("original-bug", clock=lambda: clock[0])
    reader = model.open_reader()
    assert reader.pop() == [] and reader.next_at() == pytest.approx(100.5)
    clock[0] += 1.0
    reports = reader.pop()
    assert reports[0][:3] == bytes([0x20, 0x01, 0x42])            # DJ link loss first
    assert reports[-1][:5] == bytes([0x20, 0x01, 0x02, 0x00, 0x80])   # then HID button 16 held
    owners = {r[4] & 0x0F for r in reports if r[:1] == b"\x10" and r[2] == 0x8F}
    assert owners == {0x01, 0x0B}     # the kernel's probe and another program's ping


def test_original_bug_is_found_and_released_while_the_fixer_reads_the_receiver(capsys):
    rc = main(["--virtual", "--profile", "original-bug", "watch", "--fix", "--json", "--no-x",
               "--duration", "1.6", "--poll-interval", "0.05"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    events = [json.loads(x) for x in out.splitlines()]
    found = [e for e in events if e["event"] == "finding"]
    assert len(found) == 1
    f = found[0]["finding"]
    assert (f["rule"], f["code"], f["x_button"]) == ("unknown-button", 0x11F, 20)
    assert "side-scroll (register 0x01 bit 0x02) is off" in f["cause"]
    released = [e for e in events if e["event"] == "released"]
    recovery = released[0]["recovery"] if len(released) == 1 else {}
    assert recovery["released"] is True and recovery["step"] == 1   # read back: up
    notes = [e["message"] for e in events if e["event"] == "note"]
    assert any("prevention: side-scroll was off" in m and "read back: on" in m for m in notes)
    assert [e["event"] for e in events if e["event"] != "note"] == ["finding", "released", "ended"]
