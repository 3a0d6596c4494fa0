"""Frames, DJ, HID++ 1.0/2.0 and notifications: parse/build round trips and real frames."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantombutton import SOFTWARE_ID, buttons
from phantombutton.hidpp import dj, hidpp10, hidpp20, notifications
from phantombutton.hidpp.classify import answer
from phantombutton.hidpp.errors import FrameError, Hidpp10Error, Hidpp10ErrorCode, Hidpp20Error
from phantombutton.hidpp.frames import (
    REPORT_LENGTH, DjFrame, HidppFrame, ReportId, build, build_dj, build_long, build_short, parse, parse_hidpp,
)

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "solaar-device-docs"
_LINE = re.compile(r"^(<<|>>) \(\s*[\d.]+\) \[([0-9A-Fa-f ]+)\]")


def reference_frames() -> list[tuple[str, str, bytes]]:
    """(file, direction, bytes) for every `<<` / `>>` line of the real device dumps."""
    out = []
    for path in sorted(REFERENCE.glob("*.txt")):
        for line in path.read_text().splitlines():
            m = _LINE.match(line)
            if m:
                out.append((path.name, m.group(1), bytes.fromhex(m.group(2).replace(" ", ""))))
    return out


def reference_pairs() -> list[tuple[str, bytes, bytes]]:
    frames = reference_frames()
    return [(f, req, rep) for (f, d1, req), (_, d2, rep) in zip(frames, frames[1:]) if d1 == "<<" and d2 == ">>"]


def test_reference_dumps_are_there():
    frames = reference_frames()
    assert len(frames) >= 30
    assert {name for name, _, _ in frames} >= {"Marathon-Mouse-M705-101B.txt", "performance-mx.txt", "anywhere-mx.txt"}


@pytest.mark.parametrize("name,direction,data", reference_frames())
def test_real_frames_round_trip(name, direction, data):
    frame = parse(data)
    assert isinstance(frame, HidppFrame)
    assert frame.to_bytes() == data


@pytest.mark.parametrize("name,req,rep", reference_pairs())
def test_real_replies_answer_their_requests(name, req, rep):
    """The engine's matcher (classify.answer) on every request/reply pair of the real dumps."""
    if hidpp10.is_error_frame(parse_hidpp(rep)):
        with pytest.raises(Hidpp10Error) as e:
            answer(req, rep)
        assert (e.value.sub_id, e.value.address) == (req[2], req[3])
    else:
        assert answer(req, rep) == rep


def test_real_m705_register_values():
    pairs = {(f, req[3]): rep for f, req, rep in reference_pairs()}
    m705 = "Marathon-Mouse-M705-101B.txt"
    flags = answer(bytes.fromhex("10028101000000"), pairs[m705, 0x01])[4:7]
    assert flags == bytes.fromhex("020000")
    assert flags[0] & hidpp10.MouseButtonFlag.SIDE_SCROLL
    assert not flags[0] & hidpp10.MouseButtonFlag.SMOOTH_SCROLL
    battery = hidpp10.parse_battery_charge(parse_hidpp(pairs[m705, 0x0D]).params)
    assert battery.percent == 100 and battery.status == "discharging"
    err = hidpp10.parse_error(parse_hidpp(pairs[m705, 0xF1]))
    assert (err.devnum, err.sub_id, err.address, err.code) == (2, 0x81, 0xF1, Hidpp10ErrorCode.INVALID_VALUE)
    dpi = parse_hidpp(pairs["performance-mx.txt", 0x63]).params[0]
    assert hidpp10.dpi_from_code(dpi) == 900
    assert hidpp10.parse_battery_status(parse_hidpp(pairs["performance-mx.txt", 0x07]).params).level == "full"


def test_long_reply_to_short_get_long_request():
    # anywhere-mx: `10 01 83FD 000000` answered with a long report
    (req, rep), = [(req, rep) for f, req, rep in reference_pairs() if req[3] == 0xFD]
    assert parse(rep).report_id is ReportId.LONG
    assert answer(req, rep)[4:] == bytes(16)


@pytest.mark.parametrize(
    "data,error",
    [
        (b"", "empty"),
        (bytes.fromhex("10 01 81 00 00 00"), "6 bytes"),
        (bytes.fromhex("10 01 81 00 00 00 00 00"), "8 bytes"),
        (bytes(20), "unknown report id 0x00"),
        (bytes.fromhex("11 01 81 00"), "4 bytes"),
        (bytes([0x12] + [0] * 64), "65 bytes"),
        (bytes([0x20] * 14), "14 bytes"),
        (bytes([0x21] * 33), "33 bytes"),
    ],
)
def test_malformed_frames_raise_frame_error(data, error):
    with pytest.raises(FrameError, match=error):
        parse(data)


def test_parse_rejects_non_bytes():
    with pytest.raises(FrameError):
        parse("10 01 81 00 00 00 00")  # type: ignore[arg-type]


def test_builders_pad_and_round_trip():
    short = build_short(2, 0x80, 0x01, b"\x02")
    assert short == bytes.fromhex("10 02 80 01 02 00 00")
    long_ = build_long(0xFF, 0x83, 0xB5, b"\x20")
    assert len(long_) == 20 and parse(long_) == HidppFrame(ReportId.LONG, 0xFF, 0x83, 0xB5, b"\x20" + bytes(15))
    very = build(ReportId.VERY_LONG, 1, 2, 3, b"\x04")
    assert len(very) == 64 and parse(very).params[0] == 4
    assert parse(build_dj(ReportId.DJ_LONG, 1, 0x02)) == DjFrame(ReportId.DJ_LONG, 1, 2, bytes(29))
    with pytest.raises(FrameError):
        build_short(1, 0x80, 0x01, b"\x01\x02\x03\x04")
    with pytest.raises(FrameError):
        build_short(256, 0x80, 0x01)
    with pytest.raises(FrameError):
        build(ReportId.DJ_SHORT, 1, 2, 3)


def test_hidpp10_requests():
    assert hidpp10.read_request(2, hidpp10.Register.MOUSE_BUTTON_FLAGS) == bytes.fromhex("10 02 81 01 00 00 00")
    assert hidpp10.read_request(0xFF, 0xB5, b"\x20", long=True) == bytes.fromhex("10 ff 83 b5 20 00 00")
    assert hidpp10.write_request(2, 0x01, b"\x42\x00\x00") == bytes.fromhex("10 02 80 01 42 00 00")
    assert hidpp10.write_request(0xFF, 0x01, b"\x01", long=True)[:5] == bytes.fromhex("11 ff 82 01 01")
    with pytest.raises(FrameError):
        hidpp10.write_request(2, 0x01, b"\x00\x00\x00\x00")


def test_hidpp10_error_round_trip():
    raw = hidpp10.build_error(2, 0x81, 0xF1, 0x03)
    assert raw == bytes.fromhex("10 02 8F 81 F1 03 00")
    err = hidpp10.parse_error(parse_hidpp(raw))
    assert isinstance(err, Hidpp10Error) and err.code == 3 and "invalid value" in str(err)


def test_answer_rejects_other_replies():
    req = bytes.fromhex("10 02 81 01 00 00 00")
    assert answer(req, bytes.fromhex("10 02 81 02 00 00 00")) is None      # another register
    assert answer(req, bytes.fromhex("10 03 81 01 00 00 00")) is None      # another device
    assert answer(req, bytes.fromhex("10 02 8F 81 02 03 00")) is None      # another register's error
    b5 = bytes.fromhex("10 FF 83 B5 20 00 00")                             # pairing info, slot 1
    assert answer(b5, bytes.fromhex("11 FF 83 B5 21") + bytes(15)) is None  # slot 2's reply
    assert answer(b5, bytes.fromhex("11 FF 83 B5 20") + bytes(15)) is not None


def test_pairing_info_parsers():
    name = bytes.fromhex("40 04") + b"M705" + bytes(10)
    assert hidpp10.parse_name(name, 1) == "M705"
    rec = hidpp10.parse_pairing(bytes.fromhex("21 00 08 10 1b 00 00 02") + bytes(8), 2)
    assert (rec.slot, rec.wpid, rec.kind, rec.polling_ms) == (2, 0x101B, 2, 8)
    info = hidpp10.parse_receiver_info(bytes.fromhex("03 e0 66 21 92 00 06") + bytes(9))
    assert (info.serial, info.max_devices) == ("E0662192", 6)
    ext = hidpp10.parse_extended(bytes.fromhex("30 23 69 1d 3d 00 00 00 00 01") + bytes(6), 1)
    assert (ext.serial, ext.power_switch) == ("23691D3D", 1)
    with pytest.raises(FrameError):
        hidpp10.parse_pairing(bytes.fromhex("22") + bytes(15), 1)  # answer for slot 3, asked slot 1
    assert hidpp10.parse_firmware({1: b"\x01\x17\x01", 2: b"\x02\x00\x17", 4: b"\x04\x02\x06",
                                  3: b"\x03\x00\x04"}) == {
        "firmware": "17.01.B0017", "bootloader": "02.06", "other": "00.04"}


def test_dpi_codes():
    assert [hidpp10.dpi_from_code(c) for c in (0x81, 0x89, 0x8F)] == [100, 900, 1500]
    assert hidpp10.dpi_to_code(800) == 0x88
    for bad in (0, 50, 1600, 850):
        with pytest.raises(ValueError):
            hidpp10.dpi_to_code(bad)


def test_hidpp20_request_reply_error():
    req = hidpp20.request(1, 7, 2, SOFTWARE_ID, b"\x00\x5B")
    assert req == bytes.fromhex("10 01 07 2e 00 5b 00")
    long_req = hidpp20.request(1, 7, 3, SOFTWARE_ID, bytes.fromhex("00 5b 2a 00 00"))
    assert parse(long_req).report_id is ReportId.LONG
    rep = build_long(1, 7, 0x2E, bytes.fromhex("00 5b 00 00 00"))
    assert answer(req, rep)[4:6] == b"\x00\x5b"
    err = hidpp20.build_error(1, 7, 2, SOFTWARE_ID, 2)
    with pytest.raises(Hidpp20Error) as e:
        answer(req, err)
    assert (e.value.feature_index, e.value.function, e.value.code) == (7, 2, 2)
    assert hidpp20.error_software_id(parse_hidpp(err)) == SOFTWARE_ID
    with pytest.raises(FrameError):
        hidpp20.request(1, 0, 1, 0)  # software id 0 is reserved for events


def test_ping_request_layout():
    assert hidpp20.ping_request(1, 0x0E, 0x5A) == bytes.fromhex("10 01 00 1e 00 00 5a")


def test_reprog_controls_payloads():
    info = hidpp20.parse_control_info(5, bytes.fromhex("00 5b 00 3e 31 00 02 03 00") + bytes(7))
    assert info.name == "Left Tilt" and info.divertable and info.group == 2
    rep = hidpp20.parse_control_reporting(bytes.fromhex("00 52 05 00 00") + bytes(11))
    assert rep.cid == 0x52 and rep.diverted
    assert not hidpp20.parse_control_reporting(bytes.fromhex("00 52 00 00 00") + bytes(11)).diverted
    assert hidpp20.reset_reporting_params(0x52, 0x05) == bytes.fromhex("00 52 0a 00 00")
    assert hidpp20.reset_reporting_params(0x52, 0x15) == bytes.fromhex("00 52 2a 00 00")
    assert hidpp20.reset_reporting_params(0x52, 0x01) == bytes.fromhex("00 52 02 00 00")
    assert hidpp20.parse_diverted_buttons(bytes.fromhex("00 c3 00 00") + bytes(12)) == (0xC3,)
    assert hidpp20.parse_diverted_buttons(bytes(16)) == ()


def test_dj_mouse_round_trip_and_phantom():
    for buttons, x, y, wheel, pan in [(0, 0, 0, 0, 0), (1 << 15, 0, 0, 0, 0), (0x0001, -2047, 2047, -127, 127),
                                       (0xFFFF, 5, -300, 1, -1)]:
        raw = dj.build_mouse(2, buttons, x, y, wheel, pan)
        assert len(raw) == 15 and raw[:3] == b"\x20\x02\x02"
        report = dj.parse_mouse(parse(raw))
        assert (report.buttons, report.x, report.y, report.wheel, report.pan) == (buttons, x, y, wheel, pan)
    phantom = dj.build_mouse(1, 1 << 15)
    assert phantom[4] == 0x80  # facts: byte 4 bit 7
    assert dj.parse_mouse(parse(phantom)).phantom
    assert dj.parse_mouse(parse(phantom)).pressed == (16,)


def test_button_numbering():
    assert buttons.hid_button_to_evdev(16) == 0x11F
    assert buttons.x_button_for(0x11F) == 20
    assert [buttons.x_button_for(c) for c in (0x110, 0x111, 0x112, 0x113, 0x114)] == [1, 3, 2, 8, 9]
    with pytest.raises(ValueError):
        buttons.hid_button_to_evdev(17)


def test_dj_notifications():
    paired = dj.parse_message(parse(dj.build_paired(1, 0x101B)))
    assert paired == dj.DjDevicePaired(1, 0x101B, dj.RF_STD_MOUSE, False, False)
    assert dj.parse_message(parse(dj.build_connection_status(1, True))) == dj.DjConnectionStatus(1, True)
    assert dj.build_switch() == bytes.fromhex("20 ff 80 3f 00") + bytes(10)
    cmd = dj.parse_message(parse(dj.build_get_paired()))
    assert isinstance(cmd, dj.DjCommand) and cmd.command is dj.DjReportType.CMD_GET_PAIRED_DEVICES
    assert dj.parse_message(parse(build_dj(ReportId.DJ_SHORT, 1, 0x01, b"\x00\x00\x04"))) is None  # keyboard


def test_connection_notification_bits():
    up = notifications.parse(parse_hidpp(notifications.build_connection(2, 0x101B)))
    assert up == notifications.DeviceConnection(2, 0x04, 2, False, True, True, 0x101B)
    raw_down = notifications.build_connection(2, 0x101B, link_established=False)
    assert raw_down == bytes.fromhex("10 02 41 04 62 1b 10")
    down = notifications.parse(parse_hidpp(raw_down))
    assert not down.link_established and down.wpid == 0x101B and down.kind_name == "mouse"


def test_other_notifications():
    assert notifications.parse(parse_hidpp(bytes.fromhex("10 02 40 02 00 00 00"))) == notifications.DeviceUnpaired(2)
    # only address 0x02 means unpaired (Solaar _process_hidpp10_notification)
    assert notifications.parse(parse_hidpp(bytes.fromhex("10 02 40 01 00 00 00"))) == \
        notifications.OtherNotification(2, 0x40, 0x01, bytes(3))
    assert notifications.parse(parse_hidpp(bytes.fromhex("10 02 42 01 00 00 00"))).link_lost
    assert notifications.parse(parse_hidpp(bytes.fromhex("10 ff 4a 01 00 00 00"))).open
    assert notifications.parse(parse_hidpp(bytes.fromhex("10 02 4b 01 00 00 00"))).powered_on
    battery = notifications.parse(parse_hidpp(bytes.fromhex("10 02 0d 64 47 34 00")))
    assert battery == notifications.RegisterNotification(2, 0x0D, bytes.fromhex("64 47 34"))
    event = notifications.parse(parse_hidpp(bytes.fromhex("11 01 07 00 00 c3") + bytes(14)))
    assert event == notifications.FeatureEvent(1, 7, 0, bytes.fromhex("00 c3") + bytes(14))
    # a reply to somebody's request is not a notification
    assert notifications.parse(parse_hidpp(bytes.fromhex("11 01 07 2b 00 c3") + bytes(14))) is None


@pytest.mark.parametrize("code,status", [
    (0x00, "discharging"), (0x20, "unknown"), (0x21, "charging"), (0x24, "charging (fast)"),
    (0x25, "charging (slow)"), (0x22, "full"), (0x26, "full (topping charge)"),
    (0x23, "not charging (charging error)"), (0x27, "not charging"), (0x05, "not charging")])
def test_register_07_charging_byte_as_the_kernel_maps_it(code, status):
    # hid-logitech-hidpp.c hidpp10_battery_status_map_status
    assert hidpp10.parse_battery_status(bytes((5, code, 0))).status == status


def test_battery_payloads():
    assert hidpp20.parse_battery_status(bytes((50, 20, 0))) == (50, 20, "discharging")
    assert hidpp20.parse_unified_battery(bytes((0, 4, 1, 1))) == (None, "good", "charging")
    assert hidpp20.parse_unified_battery(bytes((85, 8, 0, 0))) == (85, "full", "discharging")
    assert hidpp10.parse_battery_charge(bytes.fromhex("646430")) == hidpp10.Battery(100, "100%", "discharging")


# --- properties (hypothesis) ----------------------------------------------------------


@st.composite
def well_formed(draw):
    rid = draw(st.sampled_from(list(ReportId)))
    n = draw(st.integers(20, 64)) if rid is ReportId.VERY_LONG else REPORT_LENGTH[rid]
    return bytes([rid]) + draw(st.binary(min_size=n - 1, max_size=n - 1))


@settings(max_examples=2000, deadline=None)
@given(well_formed())
def test_every_well_formed_frame_round_trips_and_types_without_surprises(data):
    frame = parse(data)
    assert frame.to_bytes() == data
    typed = []
    for fn in ((dj.parse_message,) if isinstance(frame, DjFrame) else
               (notifications.parse, hidpp10.parse_register, hidpp10.parse_error, hidpp20.parse_message,
                hidpp20.parse_error)):
        try:
            typed.append(fn(frame))
        except FrameError:
            pass  # "not this kind of frame" is the only refusal allowed
    if isinstance(frame, HidppFrame) and frame.sub_id in (0x80, 0x81, 0x82, 0x83) and frame.report_id != 0x12:
        assert any(isinstance(t, hidpp10.RegisterMessage) for t in typed)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80))
def test_parse_of_arbitrary_bytes_raises_only_frame_error(data):
    try:
        parse(data)
    except FrameError:
        pass


@given(st.integers(1, 6), st.integers(0, 0xFFFF), st.integers(-2047, 2047), st.integers(-2047, 2047),
       st.integers(-127, 127), st.integers(-127, 127))
def test_dj_mouse_report_property(devnum, buttons, x, y, wheel, pan):
    report = dj.parse_mouse(parse(dj.build_mouse(devnum, buttons, x, y, wheel, pan)))
    assert report == dj.DjMouseReport(devnum, buttons, x, y, wheel, pan)
    assert report.phantom == bool(buttons & 0x8000)
