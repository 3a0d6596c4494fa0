"""Engine on the virtual receiver: matching, unsolicited traffic, BUSY, timeouts, device gone."""

from __future__ import annotations

import errno
import threading
import time

import pytest

from phantombutton import SOFTWARE_ID
from phantombutton.errors import DeviceGone
from phantombutton.hidpp.errors import Hidpp10Error, Hidpp20Error, HidppTimeout
from phantombutton.transport.engine import Engine, UnsolicitedKind, classify
from phantombutton.transport.virtual import VirtualTransport
from phantombutton.virtual.receiver import VirtualReceiver

SOLAAR = 0x0B


def make(profile="default", **kw):
    receiver = VirtualReceiver(profile)
    return receiver, Engine(VirtualTransport(receiver), **kw)


def kinds(engine):
    return [u.kind for u in engine.unsolicited]


def test_register_read_write_round_trip():
    receiver, engine = make()
    assert engine.read_register(1, 0x01) == bytes.fromhex("020000")
    assert engine.write_register(1, 0x01, bytes.fromhex("000000")) == bytes(3)
    assert engine.read_register(1, 0x01) == bytes(3)
    assert engine.requests == 3
    assert receiver.hidpp_requests() == 3


def test_long_register_read_returns_16_bytes_and_matches_p0():
    receiver, engine = make()
    receiver.latency = 0.03
    # another program's 0xB5 read (pairing info of slot 1) answered while we wait for 0x03
    receiver.inject(bytes.fromhex("11ff83b520") + bytes(15), delay=0.01)
    value = engine.read_register(0xFF, 0xB5, b"\x03", long=True)
    assert len(value) == 16
    assert value[0] == 0x03 and value[1:5] == bytes.fromhex("E0662192") and value[6] == 6
    assert [u.raw[4] for u in engine.unsolicited] == [0x20]
    assert engine.unsolicited[0].kind is UnsolicitedKind.REPLY


def test_call_uses_our_software_id_and_returns_16_bytes():
    receiver, engine = make("m705-406d")
    params = engine.call(1, 0, 0, b"\x00\x05")  # getFeature(DEVICE_NAME)
    assert len(params) == 16 and params[0] == 3
    assert receiver.log[-1].request[3] == 0x00 | SOFTWARE_ID


def test_long_call_params_go_in_a_long_frame():
    receiver, engine = make("m705-406d")
    engine.call(1, 7, 3, bytes.fromhex("0052 03 0000"))  # setCidReporting: 5 bytes -> long
    assert receiver.log[-1].request[0] == 0x11


def test_interleaved_notifications_are_kept_not_dropped():
    receiver, engine = make()
    receiver.latency = 0.05
    receiver.press(1, 0x8000)  # queued before the request: drained, kept
    receiver.inject(bytes.fromhex("10014104221b10"), delay=0.01)  # arrives mid-wait
    receiver.inject(bytes.fromhex("200102" + "00" * 12), delay=0.02)
    assert engine.read_register(1, 0x0D) == bytes.fromhex("644734")
    assert kinds(engine) == [UnsolicitedKind.INPUT, UnsolicitedKind.NOTIFICATION, UnsolicitedKind.INPUT]
    assert engine.unsolicited[0].raw[3:5] == b"\x00\x80"  # the phantom's button byte survived
    times = [u.time for u in engine.unsolicited]
    assert times == sorted(times)


def test_other_programs_reply_with_same_feature_and_function_is_not_ours():
    receiver, engine = make("m705-406d")
    receiver.latency = 0.02
    # Solaar asks getFeature(REPROG_CONTROLS_V4) just before we ask getFeature(DEVICE_NAME):
    # same device, feature index 0, function 0 - only the software id tells them apart.
    receiver.handle_output(bytes([0x10, 1, 0x00, SOLAAR, 0x1B, 0x04, 0]))
    assert engine.call(1, 0, 0, b"\x00\x05")[0] == 3
    foreign = [u for u in engine.unsolicited if u.kind is UnsolicitedKind.REPLY]
    assert len(foreign) == 1
    assert foreign[0].software_id == SOLAAR and foreign[0].raw[4] == 7  # 1B04 is at index 7


def test_other_programs_register_reply_is_kept_without_software_id():
    receiver, engine = make()
    receiver.latency = 0.02
    receiver.handle_output(bytes.fromhex("10018101000000"))  # e.g. the kernel reading 0x01
    assert engine.read_register(1, 0x0D) == bytes.fromhex("644734")
    assert [(u.kind, u.software_id) for u in engine.unsolicited] == [(UnsolicitedKind.REPLY, None)]


def test_busy_then_success_retries():
    receiver, engine = make(busy_retries=3)
    receiver.busy(2)
    assert engine.read_register(1, 0x01) == bytes.fromhex("020000")
    assert engine.requests == 3
    assert [e.note for e in receiver.log] == ["busy", "busy", ""]


def test_busy_exhausted_raises_busy_error():
    receiver, engine = make(busy_retries=2)
    receiver.busy(10)
    with pytest.raises(Hidpp10Error) as info:
        engine.read_register(1, 0x01)
    assert info.value.code == 0x07
    assert engine.requests == 3  # first try + 2 retries, then give up


def test_busy_on_hidpp20_device_retries_and_exhausts():
    receiver, engine = make("m705-406d", busy_retries=1)
    receiver.busy(1)
    assert engine.call(1, 0, 0, b"\x10\x00")[0] == 6  # BATTERY_STATUS index
    receiver.busy(5)
    with pytest.raises(Hidpp20Error) as info:
        engine.call(1, 0, 0, b"\x10\x00")
    assert info.value.code == 8


def test_lost_reply_times_out_with_device_timeout_and_engine_recovers():
    receiver, engine = make(device_timeout=0.1, receiver_timeout=5.0)
    receiver.lose_replies(1)
    with pytest.raises(HidppTimeout) as info:
        engine.read_register(1, 0x01)
    assert info.value.seconds == 0.1 and info.value.devnum == 1
    assert engine.read_register(1, 0x01) == bytes.fromhex("020000")


def test_receiver_requests_use_receiver_timeout():
    receiver, engine = make(device_timeout=5.0, receiver_timeout=0.05)
    receiver.lose_replies(1)
    with pytest.raises(HidppTimeout) as info:
        engine.read_register(0xFF, 0x02)
    assert info.value.seconds == 0.05


def test_late_reply_is_drained_and_never_taken_for_a_later_answer():
    receiver, engine = make(device_timeout=0.05)
    receiver.latency = 0.15
    with pytest.raises(HidppTimeout):
        engine.read_register(1, 0x01)  # its answer (02 00 00) comes after we gave up
    receiver.latency = 0.0
    engine.write_register(1, 0x01, b"\x00\x00\x00")
    time.sleep(0.2)  # the stale 02 00 00 is now queued on the node
    assert engine.read_register(1, 0x01) == bytes(3)
    stale = [u.raw for u in engine.unsolicited if u.kind is UnsolicitedKind.REPLY]
    assert stale == [bytes.fromhex("10018101020000")]


def test_garbage_frames_are_kept_as_malformed_and_do_not_break_matching():
    receiver, engine = make()
    receiver.garbage()
    assert engine.read_register(1, 0x01) == bytes.fromhex("020000")
    assert kinds(engine).count(UnsolicitedKind.MALFORMED) == 4


def test_error_frames_raise_typed_errors():
    receiver, engine = make("mixed")
    with pytest.raises(Hidpp10Error) as info:
        engine.read_register(1, 0x42)
    assert (info.value.code, info.value.sub_id, info.value.address) == (0x02, 0x81, 0x42)
    with pytest.raises(Hidpp20Error) as info20:
        engine.call(3, 40, 0)
    assert info20.value.code == 6 and info20.value.feature_index == 40


def test_ping_versions_and_offline():
    receiver, engine = make("mixed")
    assert engine.ping(1) == (1, 0)  # HID++ 1.0: 8F error 01
    assert engine.ping(3) == (4, 5)
    receiver.disconnect(3)
    assert engine.ping(3) is None  # paired but link down (error 09)


def test_ping_of_an_unpaired_slot_is_an_error_not_offline():
    # Solaar base.ping: 08 unknown device = no such device (an error); only 04/09 = offline
    _, engine = make("mixed")
    with pytest.raises(Hidpp10Error) as info:
        engine.ping(5)
    assert info.value.code == 0x08


@pytest.mark.parametrize("code", [0x04, 0x09])
def test_ping_answered_with_a_hidpp20_error_is_raised_not_offline(code):
    # `11 03 FF 00 1E <code>`: the device itself answered (2.0 hardware error / unsupported)
    receiver, engine = make("mixed")
    receiver.lose_replies(1)
    receiver.inject(bytes.fromhex("1103ff00") + bytes([0x10 | SOFTWARE_ID, code]) + bytes(14), delay=0.01)
    with pytest.raises(Hidpp20Error) as info:
        engine.ping(3)
    assert info.value.code == code


def test_ping_answered_by_the_receiver_with_connect_fail_is_offline():
    receiver, engine = make("mixed")
    receiver.lose_replies(1)
    receiver.inject(bytes.fromhex("10038f00") + bytes([0x10 | SOFTWARE_ID, 0x04, 0x00]), delay=0.01)
    assert engine.ping(3) is None


def test_device_gone_when_receiver_unplugged():
    receiver, engine = make()
    receiver.unplug()
    with pytest.raises(DeviceGone) as info:
        engine.read_register(1, 0x01)
    message = str(info.value)
    assert "virtual:c52b" in message and "gone" in message and "ENODEV" in message


class FailingTransport:
    """A transport whose node has vanished: reads raise DeviceGone, as HidrawTransport does."""

    node = "/dev/hidraw7"

    def __init__(self, err):
        self.err = err

    def write(self, data):
        pass

    def read(self, timeout):
        from phantombutton.transport.base import device_gone

        raise device_gone(self.node, self.err, "read")

    def close(self):
        pass


@pytest.mark.parametrize("err", [errno.ENODEV, errno.EIO])
def test_device_gone_from_transport_propagates_with_clear_message(err):
    engine = Engine(FailingTransport(err))
    with pytest.raises(DeviceGone) as info:
        engine.read_register(1, 0x01)
    assert "/dev/hidraw7" in str(info.value) and errno.errorcode[err] in str(info.value)


def test_poll_returns_kept_reports_first_then_live_ones_then_none():
    receiver, engine = make()
    receiver.latency = 0.02
    receiver.inject(bytes.fromhex("10014104621b10"), delay=0.005)
    engine.read_register(1, 0x01)
    receiver.press(1, 0x0001)
    first, second = engine.poll(0.1), engine.poll(0.1)
    assert first.kind is UnsolicitedKind.NOTIFICATION and first.raw[2] == 0x41
    assert second.kind is UnsolicitedKind.INPUT and second.raw[3] == 0x01
    assert engine.poll(0.01) is None


def test_classify_tags():
    assert classify(bytes.fromhex("10ff4a01000000")).kind is UnsolicitedKind.NOTIFICATION
    event = classify(bytes.fromhex("11030700005200000000000000000000000000".ljust(40, "0")))
    assert (event.kind, event.software_id) == (UnsolicitedKind.NOTIFICATION, 0)
    err = classify(bytes.fromhex("1103ff000b06") + bytes(14))
    assert (err.kind, err.software_id) == (UnsolicitedKind.REPLY, SOLAAR)
    assert classify(bytes.fromhex("10018f001b0100")).software_id == SOLAAR  # 1.0 answer to Solaar's ping
    assert classify(b"\x10\x01").kind is UnsolicitedKind.MALFORMED


def test_very_long_frames_are_20_to_64_bytes_as_the_parser_says():
    # hid-logitech-hidpp.c hidpp_validate_device: very long >= 20 and <= 64
    for n, ok in ((4, False), (19, False), (20, True), (64, True), (65, False)):
        raw = bytes([0x12, 0x01, 0x05, 0x1B]) + bytes(n - 4)
        assert (classify(raw).kind is not UnsolicitedKind.MALFORMED) is ok, n


def test_kernel_ping_before_6_2_is_a_reply_with_software_id_0():
    # 6.1 hidpp_root_get_protocol_version: `10 01 00 10 00 00 5a`, sw 0; its answers
    for raw in ("1001001004055a", "10018f00100100"):
        u = classify(bytes.fromhex(raw))
        assert (u.kind, u.software_id) == (UnsolicitedKind.REPLY, 0), raw


def test_unsolicited_is_bounded_but_large():
    _, engine = make()
    assert engine.unsolicited.maxlen >= 10_000


def test_concurrent_callers_each_get_their_own_reply():
    receiver, engine = make("mixed")
    results, errors = {}, []

    def worker(slot, register, expected):
        try:
            for _ in range(30):
                assert engine.read_register(slot, register) == expected
            results[slot] = True
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(1, 0x0D, bytes.fromhex("644734"))),
               threading.Thread(target=worker, args=(2, 0x63, bytes.fromhex("890000")))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == {1: True, 2: True}


def test_bad_arguments_are_refused_before_writing():
    receiver, engine = make()
    with pytest.raises(ValueError):
        engine.write_register(1, 0x01, bytes(4))
    with pytest.raises(ValueError):
        engine.call(1, 0, 16)
    with pytest.raises(ValueError):
        Engine(VirtualTransport(receiver), software_id=0)
    assert engine.requests == 0


def test_a_long_poll_does_not_hold_up_requests_from_another_thread():
    receiver, engine = make()
    polled = []
    poller = threading.Thread(target=lambda: polled.append(engine.poll(3.0)))
    poller.start()
    time.sleep(0.02)  # the poller is now waiting on the node
    start = time.monotonic()
    assert engine.read_register(1, 0x01) == bytes.fromhex("020000")  # its reply is not stolen
    assert time.monotonic() - start < 1.0
    receiver.press(1, 0x8000)
    poller.join(5)
    assert polled and polled[0].kind is UnsolicitedKind.INPUT and polled[0].raw[4] == 0x80
