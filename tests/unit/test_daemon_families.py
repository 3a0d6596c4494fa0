"""The daemon on every handled family, on the virtual platform and a simulated clock (the
Harness of test_daemon_virtual.py): Bolt (0x41 protocol 0x10, its own pairing registers),
Lightspeed and Nano (non-DJ 0x41), a Bluetooth mouse without a receiver (its node comes and
goes), and stale diversions with and without `[fix] reset-stale-diversions`."""

from __future__ import annotations

from test_daemon_virtual import Harness, config

from phantombutton.hidpp import notifications
from phantombutton.hidpp.frames import parse
from phantombutton.service.config import DeviceConfig, FixConfig
from phantombutton.virtual.bluetooth import make_model

ADJUSTABLE_DPI_SET = 0x3      # setSensorDpi function


def dpi_writes(h: Harness, slot: int) -> int:
    """setSensorDpi requests the mouse in `slot` received (the model's own log)."""
    dev = h.model.devices[slot]
    index = dev.index[0x2201]
    return sum(1 for e in h.model.log
               if e.request[0] in (0x10, 0x11) and e.request[1] == slot and e.request[2] == index
               and e.request[3] >> 4 == ADJUSTABLE_DPI_SET)


def receiver_writes(h: Harness) -> list[bytes]:
    return [e.request[:7] for e in h.model.log if e.request[:1] == b"\x10" and e.request[1] == 0xFF
            and e.request[2] in (0x80, 0x82)]


def reconnect_applies_dpi(profile: str, slot: int, wpid: int, want: int) -> Harness:
    cfg = config(devices=(DeviceConfig(f"{wpid:04X}", "wpid", {"dpi": want}),))
    h = Harness(cfg, profile)
    mouse = h.model.devices[slot]
    default = mouse.spec.dpi
    assert default != want
    where = f"slot {slot} ({wpid:04X}): set dpi={want}, read back {want}"
    h.run_until(lambda: h.count(where) == 1, what="dpi at start")
    assert mouse.dpi == want and dpi_writes(h, slot) == 1
    for n in (2, 3):
        h.model.disconnect(slot)
        h.run_until(lambda n=n: h.count(f"slot {slot}: link lost") == n - 1, what="link loss")
        h.model.connect(slot, power_cycle=True)      # switched off and on: the sensor's default
        assert mouse.dpi == default
        h.run_until(lambda n=n: h.count(where) == n, what=f"dpi after reconnect {n}")
        h.run(0.2)
        assert mouse.dpi == want and dpi_writes(h, slot) == n    # once per connection
    # woke without a power loss: the value is kept, read, not written
    h.model.connect(slot)
    h.run_until(lambda: h.count(f"slot {slot} ({wpid:04X}): dpi already {want}") == 1)
    assert dpi_writes(h, slot) == 3
    return h


def test_bolt_reconnect_reapplies_dpi_from_its_own_registers():
    h = reconnect_applies_dpi("bolt", 2, 0xB034, 1600)
    assert h.count("receiver attached; listening for connections (Bolt)") == 1
    # hid-generic turns no notifications on: the daemon did, once (register 0x00, wireless bit)
    assert h.count("wireless notifications turned on (register 0x00 0x000000 -> 0x000100") == 1
    assert receiver_writes(h) == [bytes.fromhex("10ff8000000100")]
    # the WPID came from Bolt's 0xB5 0x52 (little-endian), never Unifying's 0xB5 0x2n
    reads = [e.request for e in h.model.log if e.request[:4] == bytes((0x10, 0xFF, 0x83, 0xB5))]
    assert reads and all(r[4] & 0xF0 in (0x50, 0x60) for r in reads), [r.hex() for r in reads]


def test_lightspeed_reconnect_reapplies_dpi():
    h = reconnect_applies_dpi("lightspeed", 1, 0x4074, 800)
    assert h.count("(Lightspeed)") == 1
    assert receiver_writes(h) == []        # hid-logitech-dj set its notifications already


def test_nano_settings_of_a_feature_the_mouse_lacks_fail_in_one_line():
    cfg = config(devices=(DeviceConfig("4054", "wpid", {"dpi": 800}),))
    h = Harness(cfg, "nano")
    h.run_until(lambda: h.count("slot 2 (4054): connected") == 1)
    h.run(0.2)
    [line] = [m for _, m in h.lines if "setting dpi=800 failed" in m]
    assert "has no setting 'dpi'" in line
    h.model.disconnect(2)
    h.model.connect(2)
    h.run_until(lambda: h.count("slot 2 (4054): connected") == 2, what="Nano reconnect")


def test_bolt_connection_notification_is_typed():
    raw = notifications.build_connection(2, 0xB034, protocol=notifications.Protocol.BOLT, encrypted=False)
    note = notifications.parse(parse(raw))
    assert isinstance(note, notifications.DeviceConnection)
    assert (note.devnum, note.wpid, note.link_established, note.encrypted) == (2, 0xB034, True, True)
    assert notifications.protocol_name(0x10) == "bolt"
    lost = notifications.parse(parse(notifications.build_connection(
        2, 0xB034, protocol=0x10, link_established=False)))
    assert not lost.link_established


def test_bluetooth_mouse_gets_its_settings_each_time_its_node_appears():
    cfg = config(devices=(DeviceConfig("B023", "wpid", {"dpi": 1200}),))
    h = Harness(cfg, "bluetooth")
    where = "virtual:b023 (B023, no receiver): set dpi=1200, read back 1200"
    h.run_until(lambda: h.count(where) == 1, what="dpi at attach")
    assert h.count("virtual:b023: mouse B023 attached (no receiver)") == 1
    h.model.unplug()                                   # Bluetooth link gone: the node goes
    h.run_until(lambda: h.count("mouse unplugged (device gone); dropped") == 1, what="drop")
    assert not [m for p, m in h.lines if p <= 4 and "virtual:b023" in m]   # no warning for it
    back = make_model("bluetooth", clock=h.clock, kernel_wheel=False, default_reader=False)
    assert back.devices[0xFF].dpi != 1200
    h.platform.plug(back)                              # it reconnects: a new node (hotplug)
    h.run_until(lambda: h.count(where) == 2, timeout=5, what="dpi after the node came back")
    assert back.devices[0xFF].dpi == 1200


def _stale(reset: bool) -> Harness:
    h = Harness(config(devices=(), fix=FixConfig(reset_stale_diversions=reset)), "stale-diversion")
    h.run_until(lambda: h.count("slot 1 (B034): connected") == 1)
    h.model.press(1, 0x04)                             # the diverted middle button
    h.run(0.1)
    h.model.press(1, 0)
    h.run(0.1)
    return h


def middle_reporting(h: Harness) -> int:
    return next(c.reporting for c in h.model.devices[1].controls if c.cid == 0x52)


def test_stale_diversion_is_reported_and_left_when_the_config_does_not_allow_a_reset():
    h = _stale(reset=False)
    assert h.count("stale diversion: Middle Button diverted to HID++") == 1
    assert h.count("not reset: reset-stale-diversions is off in the configuration") == 1
    assert middle_reporting(h) & 0x01


def test_stale_diversion_is_reset_by_the_daemon_when_the_config_allows_it():
    h = _stale(reset=True)
    assert h.count("Middle Button: divert flags cleared (read back: regular") == 1
    assert not middle_reporting(h) & 0x01
    h.model.press(1, 0x04)                             # now a mouse report: verified
    h.run(0.1)
    assert h.count("its next press reached evdev") == 1


def test_a_diversion_another_program_holds_is_never_reset():
    h = Harness(config(devices=(), fix=FixConfig(reset_stale_diversions=True)), "stale-diversion")
    h.platform.listeners = lambda node: ("solaar[4242]",)
    h.daemon.diversions.guard.listeners = h.platform.listeners
    h.run_until(lambda: h.count("slot 1 (B034): connected") == 1)
    h.model.press(1, 0x04)
    h.run(0.1)
    assert h.count("owned by Solaar (solaar[4242])") == 1
    assert middle_reporting(h) & 0x01


def _stale_thumb(reset: bool, listeners=None) -> Harness:
    h = Harness(config(devices=(), fix=FixConfig(reset_stale_diversions=reset)), "stale-thumb-wheel")
    if listeners is not None:
        h.platform.listeners = h.daemon.diversions.guard.listeners = lambda node: listeners
    h.run_until(lambda: h.count("slot 1 (B034): connected") == 1)
    h.model.thumb_wheel(1, 2)                          # the diverted thumb wheel: HID++ events only
    h.run(0.1)
    return h


def test_stale_thumb_wheel_is_reported_and_left_when_the_config_does_not_allow_a_reset():
    h = _stale_thumb(reset=False)
    assert h.count("stale diversion: thumb wheel diverted to HID++ with no program reading it") == 1
    assert h.count("not reset: reset-stale-diversions is off in the configuration") == 1
    assert h.model.devices[1].thumb[0] == 1


def test_stale_thumb_wheel_is_reset_by_the_daemon_and_verified_by_the_next_turn():
    h = _stale_thumb(reset=True)
    assert h.count("thumb wheel: reporting mode set back to HID (read back: hid)") == 1
    assert h.model.devices[1].thumb == [0, 0]
    assert h.count("its next turn reached evdev") == 0
    h.model.thumb_wheel(1, -1)                         # now AC Pan in the mouse report
    h.run(0.1)
    assert h.count("thumb wheel: its next turn reached evdev as REL_HWHEEL") == 1


def test_a_thumb_wheel_another_program_holds_is_never_reset():
    h = _stale_thumb(reset=True, listeners=("logid[900]",))
    assert h.count("thumb wheel diverted to HID++, owned by logiops (logid) (logid[900])") == 1
    assert h.model.devices[1].thumb[0] == 1
