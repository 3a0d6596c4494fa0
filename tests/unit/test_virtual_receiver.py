"""The virtual receiver answers like the real hardware in reference/solaar-device-docs."""

from __future__ import annotations

import threading
import time

import pytest

from phantombutton.errors import UsageProblem
from phantombutton.virtual.profiles import profile_names
from phantombutton.virtual.receiver import VirtualReceiver

H = bytes.fromhex


def ask(receiver, request: str | bytes) -> list[bytes]:
    receiver.handle_output(H(request) if isinstance(request, str) else request)
    return receiver.default.pop()


def one(receiver, request) -> str:
    answers = ask(receiver, request)
    assert len(answers) == 1, answers
    return answers[0].hex()


# Request/answer pairs from the register probes in the real dumps, device index rewritten to
# the slot the profile uses ([10 02 8100 000000] -> 10 01 81 00 00 00 00).
M705_101B_PROBES = [
    ("8100000000", "8100100000"),
    ("8101000000", "8101020000"),
    ("810d000000", "810d644734"),
    ("81d0000000", "81d0000000"),
    ("81d2000000", "81d2000003"),
    ("81d4000000", "81d4000004"),
    ("81f1000000", "8f81f10300"),
    ("81f3000000", "81f3000000"),
]
PERFORMANCE_MX_PROBES = [
    ("8100000000", "8100100000"),
    ("8101000000", "8101020000"),
    ("8107000000", "8107070000"),
    ("8151000000", "8151111100"),
    ("8163000000", "8163890000"),
    ("81d0000000", "81d0000000"),
    ("81d4000000", "81d4000012"),
    ("81f1000000", "8f81f10300"),
    ("81f3000000", "81f3000000"),
]


@pytest.mark.parametrize("request_, answer", M705_101B_PROBES)
def test_m705_101b_register_probes_match_real_device(request_, answer):
    assert one(VirtualReceiver("default"), "1001" + request_) == "1001" + answer


@pytest.mark.parametrize("request_, answer", PERFORMANCE_MX_PROBES)
def test_performance_mx_register_probes_match_real_device(request_, answer):
    assert one(VirtualReceiver("performance-mx"), "1001" + request_) == "1001" + answer


def test_m705_101b_errors_like_real_hardware():
    r = VirtualReceiver()
    assert one(r, "1001001e0000aa") == "10018f001e0100"  # 2.0 ping -> 8F 01
    assert one(r, "10010512345678") == "10018f05120100"  # any feature request -> 8F 01
    assert one(r, "10018142000000") == "10018f81420200"  # unknown register: invalid address
    assert one(r, "10018107000000") == "10018f81070200"  # no 0x07 battery on this mouse
    assert one(r, "10018380000000") == "10018f83800200"  # no long registers
    assert one(r, "100180d2000001") == "10018f80d20200"  # read-only register
    assert one(r, "10018d00000000") == "10018f8d000100"  # unknown sub-id


def test_m705_101b_ping_answer_matches_lab_observation():
    # docs/hidpp.md: a HID++ 1.0 device answers the 2.0 ping with `10 01 8F 00 1x 01 00`
    assert one(VirtualReceiver(), "1001001a0000aa") == "10018f001a0100"


def test_m705_101b_firmware_subregisters():
    r = VirtualReceiver()
    assert [one(r, f"100181f10{n}0000")[8:] for n in range(1, 5)] == ["011701", "020017", "030004", "040206"]


def test_kernel_side_scroll_read_modify_write_and_power_cycle():
    r = VirtualReceiver()
    assert one(r, "10018101000000") == "10018101020000"
    assert one(r, "10018001420000") == "10018001000000"  # the kernel sets 0x40
    assert one(r, "10018101000000") == "10018101420000"  # docs/receivers.md: reads back 42 00 00
    r.disconnect(1)
    r.connect(1, power_cycle=True)
    r.default.pop()
    assert one(r, "10018101000000") == "10018101020000"  # power-on value again


def test_performance_mx_dpi_accepts_only_its_range():
    r = VirtualReceiver("performance-mx")
    assert one(r, "10018063850000") == "10018063000000"
    assert one(r, "10018163000000") == "10018163850000"
    assert one(r, "10018063900000") == "10018f80630300"  # 0x90 is out of 0x81..0x8F
    assert one(r, "10018163000000") == "10018163850000"


# ---- the receiver itself (Unifying-Receiver-C52B.txt) ---------------------------------------
def test_receiver_identity_matches_real_dump():
    r = VirtualReceiver("mixed")
    serial = H(one(r, "10ff83b5030000"))
    assert serial[:5] == H("11ff83b503") and serial[5:9].hex().upper() == "E0662192" and serial[10] == 6
    firmware = [H(one(r, f"10ff81f10{n}0000"))[5:7].hex().upper() for n in (1, 2, 3, 4)]
    assert firmware == ["2411", "0036", "AAAC", "0209"]  # 24.11.B0036, other AA.AC, boot 02.09
    assert one(r, "10ff8100000000") == "10ff8100000900"  # wireless + software present
    activity = H(one(r, "10ff83b3000000"))
    assert activity[4:6] == bytes([225, 132])  # "Device activity counters: 1=225, 2=132"
    assert one(r, "10ff8102000000") == "10ff8102000300"  # three connected devices


def test_receiver_pairing_info_for_each_slot():
    r = VirtualReceiver("mixed")
    info = {n: H(one(r, f"10ff83b52{n - 1}0000"))[4:] for n in (1, 2, 3)}
    assert [info[n][3:5].hex().upper() for n in (1, 2, 3)] == ["101B", "101A", "406D"]
    assert all(info[n][7] & 0x0F == 2 and info[n][2] == 8 for n in (1, 2, 3))  # mouse, 8 ms
    ext = H(one(r, "10ff83b5300000"))[4:]
    assert ext[1:5].hex().upper() == "23691D3D" and ext[9] & 0x0F == 1  # power switch on the base
    name = H(one(r, "10ff83b5400000"))[4:]
    assert name[2 : 2 + name[1]] == b"M705"
    assert one(r, "10ff83b5250000") == "10ff8f83b50300"  # nothing paired in slot 6


def test_receiver_errors():
    r = VirtualReceiver()
    assert one(r, "10ff8177000000") == "10ff8f81770200"
    assert one(r, "10ff81f1000000") == "10ff8f81f10300"
    assert one(r, "10ff001e0000aa") == "10ff8f001e0100"  # the receiver speaks HID++ 1.0
    assert one(r, "10058100000000") == "10058f81000800"  # slot 5: unknown device


def test_fake_device_arrival_announces_every_paired_device():
    r = VirtualReceiver("mixed")
    answers = [a.hex() for a in ask(r, "10ff8002020000")]
    assert answers == ["10ff8002000000", "10014104221b10", "10024104221a10", "10034104226d40"]


# ---- the kernel's traffic (docs/receivers.md "A Unifying receiver at probe") ---------------------
def test_kernel_dj_probe_sequence_on_fresh_receiver():
    r = VirtualReceiver("mixed", dj_mode=False)
    assert ask(r, "20ff803f" + "00" * 11) == [] and r.dj_mode
    assert one(r, "10ff8000000900") == "10ff8000000000"
    enumerated = [a.hex() for a in ask(r, "20ff81" + "00" * 12)]
    assert enumerated == [
        "200141001b1004000000" + "00" * 5,
        "200241001a1004000000" + "00" * 5,
        "200341006d4004000000" + "00" * 5,
    ]
    assert H(one(r, "10ff83b5320000"))[5:9].hex().upper() == "B14D65DA"
    assert H(one(r, "10ff83b5420000"))[6:10] == b"M705"


def test_hidpp_driver_probe_of_406d_gets_answers_for_every_feature():
    r = VirtualReceiver("m705-406d")
    assert one(r, "10010011000042")[:14] == "11010011040542"  # ping: HID++ 4.5, mark echoed
    expected = {"1d4b": 4, "0005": 3, "1000": 6, "1004": 0, "1001": 0, "2121": 26, "2120": 0}
    for feature, index in expected.items():
        assert H(one(r, f"10010001{feature}00"))[4] == index, feature


def test_406d_feature_table_matches_real_dump():
    r = VirtualReceiver("m705-406d")
    count = H(one(r, "10010101000000"))[4]
    table = []
    for i in range(count + 1):
        p = H(one(r, req(1, 1, 1, bytes([i]))))[4:]
        table.append((f"{p[0]:02X}{p[1]:02X}", p[2] & 0x60))
    ids = [t[0] for t in table]
    assert count == 26
    assert ids == ["0000", "0001", "0003", "0005", "1D4B", "0020", "1000", "1B04", "2205", "2100", "00C2",
                   "1802", "1803", "1806", "1810", "1830", "1890", "18A1", "1DF3", "1E00", "1EB0", "1861",
                   "18B1", "1850", "1F03", "18C0", "2121"]
    assert dict(table)["1E00"] == 0x40 and dict(table)["1802"] == 0x60 and dict(table)["2121"] == 0


def req(devnum: int, index: int, function: int, params: bytes = b"", swid: int = 1) -> str:
    """A short HID++ 2.0 request as hex."""
    return (bytes([0x10, devnum, index, function << 4 | swid]) + params.ljust(3, b"\0")).hex()


def read_name(r):
    length = H(one(r, req(1, 3, 0)))[4]
    name = b""
    while len(name) < length:
        name += H(one(r, req(1, 3, 1, bytes([len(name)]))))[4:]
    return name[:length].decode()


def test_406d_name_battery_firmware_wheel():
    r = VirtualReceiver("m705-406d")
    assert read_name(r) == "Marathon Mouse/Performance Plus M705"
    assert H(one(r, "10010321000000"))[4] == 3  # kind: mouse
    assert H(one(r, "10010601000000"))[4:7] == bytes([50, 20, 0])  # 50 %, next 20 %, discharging
    ids = H(one(r, "10010201000000"))[4:]
    assert ids[0] == 2 and ids[1:5].hex().upper() == "5E1A15B8" and ids[7:13].hex().upper() == "406D00000000"
    entities = []
    for n in range(2):
        p = H(one(r, req(1, 2, 1, bytes([n]))))[4:]
        entities.append(f"{p[1:4].decode()} {p[4]:02X}.{p[5]:02X}.B{p[6]:02X}{p[7]:02X} {p[9:16].hex().upper()}")
    assert entities == ["BOT 59.00.B0002 406D5F5048B901", "RQM 67.01.B0005 406D5F5048B901"]
    wheel = H(one(r, "10011a01000000"))[4:6]
    assert wheel[0] == 8 and wheel[1] & 0x0C == 0x0C  # multiplier 8, invert + ratchet switch
    assert H(one(r, "10011a11000000"))[4] == 0  # low resolution, HID notification


def test_406d_controls_match_real_dump():
    r = VirtualReceiver("m705-406d")
    assert H(one(r, "10010701000000"))[4] == 7
    controls = []
    for i in range(7):
        p = H(one(r, req(1, 7, 1, bytes([i]))))[4:]
        controls.append((p[0] << 8 | p[1], p[2] << 8 | p[3], bool(p[4] & 0x20), p[6]))
    assert controls == [(0x50, 0x38, False, 1), (0x51, 0x39, False, 1), (0x52, 0x3A, True, 2),
                        (0x53, 0x3C, True, 2), (0x56, 0x3E, True, 2), (0x5B, 0x3F, True, 2),
                        (0x5D, 0x40, True, 2)]


def test_406d_errors():
    r = VirtualReceiver("m705-406d")
    assert one(r, "10010001abcd00")[8:14] == "000000"  # unknown feature: index 0
    assert one(r, "10011b01000000")[:12] == "1101ff1b0106"  # feature index 27 does not exist
    assert one(r, "10010f01000000")[:12] == "1101ff0f0107"  # index 15 (0x1830, internal) has no modelled function
    assert one(r, "10010731009900")[:12] == "1101ff073102"  # unknown control id


def test_406d_diversion_set_get_and_diverted_press():
    r = VirtualReceiver("m705-406d")
    assert one(r, "1101073100520300" + "00" * 12)[:18] == "110107310052030000"
    assert H(one(r, "10010721005200"))[4:7] == H("005201")  # temporarily diverted
    r.press(1, 0x0004 | 0x0001)  # middle (diverted) + left
    event, report = r.default.pop()
    assert event.hex().startswith("11010700" + "0052" + "0000")
    assert report[:5] == H("2001020100")  # only the left button reaches the HID report
    r.press(1, 0)
    release, _ = r.default.pop()
    assert release == H("11010700") + bytes(16)
    # the left button cannot be diverted
    assert one(r, "1101073100500300" + "00" * 12)[:12] == "1101ff073102"
    # temporary diversion does not survive a power cycle
    r.disconnect(1)
    r.connect(1, power_cycle=True)
    r.default.pop()
    assert H(one(r, "10010721005200"))[6] == 0


# ---- scripting ---------------------------------------------------------------------------
def test_phantom_press_is_a_dj_mouse_report_with_button_16():
    r = VirtualReceiver()
    r.press(1, 0x8000)
    assert r.default.pop() == [H("200102" + "0080" + "00" * 10)]


def test_move_and_wheel_pack_12_bit_motion():
    r = VirtualReceiver()
    r.move(1, -1, 1)
    r.wheel(1, -1, pan=2)
    move, wheel = r.default.pop()
    assert move[3:10] == H("0000ff1f000000")  # x = 0xFFF, y = 0x001
    assert wheel[3:10] == H("0000000000ff02")  # buttons, no motion, wheel -1, pan 2
    r.move(1, 5000, -5000)  # clamped to the 12-bit range
    assert r.default.pop()[0][5:8] == H("ff1780")


def test_disconnect_and_connect_notifications():
    r = VirtualReceiver()
    r.press(1, 0x8000)
    r.default.pop()
    r.disconnect(1)
    assert [a.hex() for a in r.default.pop()] == ["200142" + "01" + "00" * 11, "10014104421b10"]
    assert one(r, "10018101000000") == "10018f81010900"  # offline: resource error
    # register 0x02 byte 1 counts paired devices, offline ones too (Solaar receiver.py count())
    assert one(r, "10ff8102000000") == "10ff8102000100"
    with pytest.raises(ValueError):
        r.press(1, 1)
    r.connect(1)
    assert [a.hex() for a in r.default.pop()] == ["200142" + "00" * 12, "10014104221b10"]


def test_no_hidpp_connection_notification_when_wireless_notifications_off():
    r = VirtualReceiver()
    one(r, "10ff8000000000")
    r.disconnect(1)
    assert [a[0] for a in r.default.pop()] == [0x20]


def test_mouse_input_dropped_until_dj_mode():
    r = VirtualReceiver(dj_mode=False)
    r.press(1, 0x8000)
    assert r.default.pop() == []
    ask(r, "20ff803f" + "00" * 11)
    r.press(1, 0x8000)
    assert len(r.default.pop()) == 1


def test_unpair():
    r = VirtualReceiver("mixed")
    answers = [a.hex() for a in ask(r, "10ff80b2030200")]
    assert answers[0] == "10ff80b2000000" and answers[1].startswith("100240") and answers[2].startswith("200240")
    assert one(r, "10028100000000") == "10028f81000800"


def test_latency_delays_replies_not_scripted_input():
    clock = [100.0]
    r = VirtualReceiver(clock=lambda: clock[0])
    r.latency = 0.03
    r.handle_output(H("10018101000000"))
    assert r.default.next_at() == pytest.approx(100.03)
    assert r.default.pop() == []
    r.press(1, 1)
    assert r.default.pop()[0][0] == 0x20  # input is immediate
    clock[0] = 100.031
    assert r.default.pop() == [H("10018101020000")]


def test_wait_input_wakes_on_input_from_another_thread():
    r = VirtualReceiver()
    assert r.default.wait(0.01) is False
    threading.Timer(0.02, r.press, args=(1, 1)).start()
    start = time.monotonic()
    assert r.default.wait(2.0) is True
    assert time.monotonic() - start < 1.5


def test_faults_busy_lost_garbage_and_log():
    r = VirtualReceiver("mixed")
    r.busy(1)
    assert one(r, "10018101000000") == "10018f81010700"
    r.busy(1)
    assert one(r, "1003000e000500")[:12] == "1103ff000e08"  # 2.0 device: FF error 8
    r.lose_replies(1)
    assert ask(r, "10018101000000") == []
    r.garbage()
    assert len(r.default.pop()) == 4
    assert [e.note for e in r.log] == ["busy", "busy", "reply lost"]
    assert r.hidpp_requests() == 3


def test_profiles():
    assert {"default", "mixed", "performance-mx", "m705-406d"} <= set(profile_names())
    with pytest.raises(UsageProblem) as info:
        VirtualReceiver("nope")
    assert "default" in str(info.value) and "mixed" in str(info.value)
    assert info.value.exit_code == 2 and isinstance(info.value, ValueError)  # the uhid bridge catches ValueError


def test_unplug_makes_writes_fail_with_enodev():
    r = VirtualReceiver()
    r.unplug()
    with pytest.raises(OSError) as info:
        r.handle_output(H("10018101000000"))
    assert info.value.errno == 19
    assert r.default.wait(5) is True


def test_406d_config_change_cookie():
    # `solaar show` reads CONFIG_CHANGE fn 0 on every device that lists 0x0020; an error there
    # aborted its whole report in the lab (FeatureCallError), so the model must answer it.
    r = VirtualReceiver("m705-406d")
    assert H(one(r, req(1, 5, 0)))[4:6] == b"\x00\x00"
    assert H(one(r, req(1, 5, 1, b"\x12\x34")))[4:6] == b"\x12\x34"
    assert H(one(r, req(1, 5, 0)))[4:6] == b"\x12\x34"
    r.disconnect(1)
    r.connect(1, power_cycle=True)
    r.default.pop()
    assert H(one(r, req(1, 5, 0)))[4:6] == b"\x00\x00"


def test_button_sequence_sends_each_state_when_due():
    t = [100.0]
    r = VirtualReceiver("default", clock=lambda: t[0])
    r.button_sequence(1, [[0, 1], [0.001, 0], [0.003, 1], [0.1, 0]])
    assert [x[3] for x in r.default.pop(100.0)] == [1]          # only the press is due
    assert [x[3] for x in r.default.pop(100.0035)] == [0, 1]     # the bounce, in order
    assert r.default.pop(100.05) == []
    assert [x[3] for x in r.default.pop(100.2)] == [0]
