"""The one-line decoder: examples from the issue, real frames, and a fuzz (only FrameError
may escape, every line is one line)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantombutton.hidpp import dj, notifications
from phantombutton.hidpp.decode import UNDECODABLE, describe
from phantombutton.hidpp.errors import FrameError
from phantombutton.hidpp.frames import REPORT_LENGTH, ReportId

from tests.unit.test_hidpp_frames import reference_frames

NAMES = {2: "M705", 1: "MX Master 3"}
H = bytes.fromhex


@pytest.mark.parametrize(
    "data,outgoing,line",
    [
        ("10 02 80 01 02 00 00", True, "M705(2) set reg 0x01 = 02 00 00 [side-scroll on]"),
        ("10 02 81 01 42 00 00", False, "M705(2) reply reg 0x01 = 42 00 00 [side-scroll on, smooth-scroll on]"),
        ("10 02 81 01 00 00 00", False, "M705(2) reply reg 0x01 = 00 00 00 [side-scroll off, smooth-scroll off]"),
        ("10 02 81 01 00 00 00", True, "M705(2) get reg 0x01"),
        ("10 02 80 01 00 00 00", False, "M705(2) ack set reg 0x01"),
        ("10 02 8F 81 F1 03 00", False, "M705(2) error get reg 0xF1: invalid value (0x03)"),
        ("10 02 41 04 22 1b 10", False, "receiver: device 2 connected M705 101B (link up) mouse, unifying, encrypted"),
        ("10 02 41 04 62 1b 10", False,
         "receiver: device 2 disconnected M705 101B (link down) mouse, unifying, encrypted"),
        ("10 ff 81 02 00 01 00", False, "receiver reply reg 0x02 = 00 01 00 [1 paired]"),
        ("10 ff 80 02 02 00 00", True, "receiver set reg 0x02 = 02 00 00 [announce every paired device again]"),
        ("10 ff 83 b5 40 00 00", True, "receiver get long reg 0xB5 40 [slot 1 name]"),
        ("10 01 8F 00 1E 01 00", False,
         "MX Master 3(1) HID++ 1.0 device (ping answered with invalid subid (0x01)) [sw 0x0E phantombutton]"),
        ("10 02 0d 64 47 34 00", False, "M705(2) notification reg 0x0D = 64 47 34 [battery 100%, discharging]"),
        ("10 03 81 63 89 00 00", False, "device 3 reply reg 0x63 = 89 00 00 [900 dpi]"),
    ],
)
def test_examples(data, outgoing, line):
    assert describe(H(data), NAMES, outgoing=outgoing) == line


def test_dj_mouse_phantom_line():
    assert describe(dj.build_mouse(2, 1 << 15), NAMES) == (
        "M705(2) DJ mouse buttons=16 [phantom: HID button 16 = X button 20]")
    assert describe(dj.build_mouse(2, 0), NAMES) == "M705(2) DJ mouse buttons=none"
    assert describe(dj.build_mouse(3, 0b101, x=3, wheel=-1)) == "device 3 DJ mouse buttons=1,3 x=3 wheel=-1"


def test_keyboard_reports_hide_keys():
    line = describe(H("20 01 01 00 00 04 05 06 00 00 00 00 00 00 00"))
    assert "keys hidden" in line and "04" not in line


def test_hidpp20_lines_name_the_software_id_owner():
    reply = H("11 01 00 1b 04 05 5a") + bytes(13)
    assert describe(reply, NAMES) == "MX Master 3(1) reply idx 0 ROOT fn 1 [sw 0x0B Solaar] = 04 05 5a [protocol 4.5]"
    kernel = H("11 01 00 01 1b 04") + bytes(14)
    assert "[sw 0x01 kernel]" in describe(kernel, NAMES, outgoing=True)
    assert "[getFeature 1B04 REPROG_CONTROLS_V4]" in describe(kernel, NAMES, outgoing=True)
    err = H("11 01 ff 07 2e 02") + bytes(14)
    assert describe(err, NAMES) == "MX Master 3(1) error idx 7 fn 2 [sw 0x0E phantombutton]: invalid argument (2)"
    event = H("11 01 07 00 00 c3") + bytes(14)
    assert describe(event, NAMES) == "MX Master 3(1) event idx 7 fn 0 = 00 c3 00"


def test_feature_names_and_diverted_button_events_with_a_feature_table():
    features = {1: {7: 0x1B04, 4: 0x1D4B}}
    event = H("11 01 07 00 00 53 00 c3") + bytes(12)
    assert describe(event, NAMES, features=features) == (
        "MX Master 3(1) event idx 7 REPROG_CONTROLS_V4 fn 0 = 00 53 00 c3 "
        "[diverted buttons held: Back Button, Mouse Gesture Button]")
    released = H("11 01 07 00") + bytes(16)
    assert describe(released, NAMES, features=features).endswith("[diverted buttons: all released]")
    reporting = H("11 01 07 2b 00 52 01 00 00") + bytes(11)
    assert describe(reporting, NAMES, features=features).endswith(
        "REPROG_CONTROLS_V4 fn 2 [sw 0x0B Solaar] = 00 52 01 [Middle Button: diverted]")
    status = H("11 01 04 00 01 01 01") + bytes(13)
    assert describe(status, NAMES, features=features).endswith(
        "[reconnection, software should reconfigure]")
    assert "REPROG" not in describe(event, NAMES)  # without a table the index stays a number


def test_receiver_pairing_info_replies():
    name = H("11 ff 83 b5 41 04") + b"M705" + bytes(10)
    assert describe(name) == "receiver reply long reg 0xB5 = 41 04 4d 37 30 35 [slot 2: name 'M705']"
    info = H("11 ff 83 b5 03 e0 66 21 92 00 06") + bytes(9)
    assert describe(info).endswith("[receiver serial E0662192, max 6 devices]")


def test_dj_notifications_lines():
    assert describe(dj.build_paired(1, 0x101B)) == "receiver: DJ device 1 paired 101B (reports: mouse)"
    assert describe(dj.build_connection_status(2, True), NAMES) == "receiver: DJ device 2 M705 link lost"
    assert describe(dj.build_switch()) == "receiver: DJ switch to DJ mode (slots 0x3F, keepalive 0)"


def test_notification_lines():
    assert describe(H("10 02 40 02 00 00 00"), NAMES) == "receiver: device 2 M705 unpaired"
    # Solaar _process_hidpp10_notification: only address 0x02 means unpaired
    assert describe(H("10 02 40 00 00 00 00"), NAMES) == \
        "receiver: device 2 M705 device disconnection of unknown type 0x00"
    assert describe(H("10 02 4b 01 00 00 00"), NAMES) == "receiver: device 2 M705 powered on"
    assert describe(H("10 ff 4a 01 00 00 00")) == "receiver: pairing lock open"
    assert describe(notifications.build_connection(1, 0x4082, software_present=True), NAMES).endswith(
        "software present")


@pytest.mark.parametrize("name,direction,data", reference_frames())
def test_every_real_frame_decodes(name, direction, data):
    line = describe(data, {1: "dev", 2: "M705"}, outgoing=direction == "<<")
    assert "\n" not in line and UNDECODABLE not in line
    assert line.startswith(("dev(1)", "M705(2)"))


@pytest.mark.parametrize("data", [b"", b"\x10", b"\x00" * 7, b"\x13" + bytes(6), b"\x10" + bytes(7)])
def test_non_frames_raise_frame_error(data):
    with pytest.raises(FrameError):
        describe(data)


_IDS = [int(r) for r in ReportId]


@st.composite
def frames(draw):
    """Mostly well-formed frames (right report id and length), some garbage."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=70))
    rid = draw(st.sampled_from(_IDS))
    n = REPORT_LENGTH[ReportId(rid)]
    if rid == ReportId.VERY_LONG:
        n = draw(st.integers(20, 64))
    head = bytes([rid, draw(st.sampled_from([0xFF, 0, 1, 2, 6, draw(st.integers(0, 255))]))])
    sub = draw(st.one_of(st.sampled_from([0x80, 0x81, 0x82, 0x83, 0x8F, 0xFF, 0x40, 0x41, 0x42, 0x4A, 0x4B,
                                          0x49, 0x00, 0x01, 0x07, 0x0D, 0x02]), st.integers(0, 255)))
    addr = draw(st.one_of(st.sampled_from([0x01, 0x02, 0x00, 0x07, 0x0D, 0x63, 0xB2, 0xB5, 0xF1, 0x1E, 0x0B]),
                          st.integers(0, 255)))
    rest = draw(st.binary(min_size=n - 4, max_size=n - 4))
    return head + bytes([sub, addr]) + rest


@settings(max_examples=3000, deadline=None)
@given(frames(), st.booleans(), st.one_of(st.none(), st.dictionaries(st.integers(0, 255), st.text(max_size=8))))
def test_fuzz_only_frame_error_escapes(data, outgoing, names):
    try:
        line = describe(data, names, outgoing=outgoing)
    except FrameError:
        return
    assert isinstance(line, str) and line
    assert UNDECODABLE not in line, line
    assert len(line.splitlines()) == 1, line


def test_protocol_core_is_pure():
    """hidpp/ is the top layer: importing the decoder pulls in no transport, device or I/O module
    (only the root value modules every layer shares, which import nothing of phantombutton)."""
    import subprocess
    import sys

    code = ("import sys, phantombutton.hidpp.decode, phantombutton.hidpp.notifications;"
            "print(sorted(m for m in sys.modules if m.startswith('phantombutton.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out)  # a printed list of module names
    assert all(m.startswith("phantombutton.hidpp") or m == "phantombutton.buttons" for m in loaded), loaded
