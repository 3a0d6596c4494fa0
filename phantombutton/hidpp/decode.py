"""One readable line for any HID++ or DJ frame, for logs, captures and the watch.

    M705(2) set reg 0x01 = 02 00 00 [side-scroll on]
    M705(2) reply reg 0x01 = 42 00 00 [side-scroll on, smooth-scroll on]
    receiver: device 2 connected M705 101B (link up) mouse, unifying, encrypted
    M705(2) DJ mouse buttons=16 [phantom: HID button 16 = X button 20]
    MX Master 3(1) reply idx 0 ROOT fn 1 [sw 0x0B Solaar] = 04 05 5a [protocol 4.5]
    device 1 reply idx 0 ROOT fn 1 [sw 0x00 kernel before 6.2] = 04 05 5a [protocol 4.5]

A hidraw reader only ever sees input reports, so frames are described as incoming
(replies, notifications, events) unless `outgoing=True` (requests we send, or output
reports seen by the virtual receiver). `describe` raises FrameError for bytes that are not
a frame and nothing else: annotating a well-formed frame cannot fail the caller (if a
payload surprises us, the line says `[undecodable: ...]` and keeps the raw bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from phantombutton.hidpp import dj, hidpp10, hidpp20, notifications
from phantombutton.hidpp.classify import FrameKind, classify
from phantombutton.hidpp.classify import owner as software_id_owner
from phantombutton.hidpp.errors import Hidpp10ErrorCode, Hidpp20ErrorCode, enum_name
from phantombutton.hidpp.frames import RECEIVER, DjFrame, HidppFrame, ReportId, parse
from phantombutton.hidpp.hidpp10 import MouseButtonFlag, PairingInfo, Register, SubId

UNDECODABLE = "[undecodable"


def _hex(b: bytes) -> str:
    return b.hex(" ")


def _trim(b: bytes, keep: int = 3) -> bytes:
    """Drop trailing zero bytes of a long payload, keeping at least `keep` bytes."""
    return b[: max(len(b.rstrip(b"\0")), keep)]


def _name(devnum: int, names: Mapping[int, str] | None) -> str:
    """The caller's short name for a slot, made safe for a single line."""
    name = names.get(devnum) if names else None
    return "".join(c if c.isprintable() else "?" for c in str(name)) if name else ""


def _who(devnum: int, names: Mapping[int, str] | None) -> str:
    name = _name(devnum, names)
    if devnum == RECEIVER:   # a mouse without a receiver answers on 0xFF itself (devices/direct.py)
        return f"{name}(direct)" if name else "receiver"
    return f"{name}({devnum})" if name else f"device {devnum}"


def _slot_name(devnum: int, names: Mapping[int, str] | None) -> str:
    name = _name(devnum, names)
    return f"{name} " if name else ""


def describe(
    data: bytes,
    names: Mapping[int, str] | None = None,
    *,
    outgoing: bool = False,
    features: Mapping[int, Mapping[int, int]] | None = None,
) -> str:
    """One line for one raw report; FrameError if `data` is not a HID++/DJ frame.

    names: slot -> short device name. outgoing: the report was written by the host.
    features: slot -> {feature index -> feature id} of HID++ 2.0 devices, when known, so
    that 2.0 traffic names its feature (and REPROG_CONTROLS_V4 events their controls)."""
    frame = parse(data)
    fn: Callable[..., str] = _describe_dj if isinstance(frame, DjFrame) else _describe_hidpp
    try:
        return fn(frame, names, outgoing, features)
    except Exception as e:  # noqa: BLE001 - a decoder must not take the watch down
        return f"{_who(frame.devnum, names)} {frame.hex()} {UNDECODABLE}: {type(e).__name__}]"


# --- DJ -------------------------------------------------------------------------------


def _describe_dj(frame: DjFrame, names, outgoing, features) -> str:
    who = _who(frame.devnum, names)
    msg = dj.parse_message(frame)
    t = frame.report_type
    if isinstance(msg, dj.DjMouseReport):
        parts = [f"{who} DJ mouse buttons={','.join(map(str, msg.pressed)) or 'none'}"]
        parts += [f"{k}={v}" for k, v in (("x", msg.x), ("y", msg.y), ("wheel", msg.wheel), ("pan", msg.pan)) if v]
        if msg.phantom:
            parts.append("[phantom: HID button 16 = X button 20]")
        return " ".join(parts)
    if isinstance(msg, dj.DjDevicePaired):
        if msg.list_empty:
            return "receiver: DJ no paired devices"
        kinds = [n for flag, n in dj.RF_REPORT_NAMES.items() if msg.rf_reports & flag]
        more = ", more follow" if msg.more_expected else ""
        return (f"receiver: DJ device {frame.devnum} paired {_slot_name(frame.devnum, names)}"
                f"{msg.wpid:04X} (reports: {', '.join(kinds) or 'none'}{more})")
    if isinstance(msg, dj.DjDeviceUnpaired):
        return f"receiver: DJ device {frame.devnum} unpaired"
    if isinstance(msg, dj.DjConnectionStatus):
        state = "link lost" if msg.link_lost else "link ok"
        return f"receiver: DJ device {frame.devnum} {_slot_name(frame.devnum, names)}{state}"
    if isinstance(msg, dj.DjError):
        what = "keepalive timeout" if msg.error_type == dj.ETYPE_KEEPALIVE_TIMEOUT else f"type 0x{msg.error_type:02X}"
        return f"receiver: DJ error {what}"
    if isinstance(msg, dj.DjCommand):
        if msg.command == dj.DjReportType.CMD_SWITCH:
            return f"receiver: DJ switch to DJ mode (slots 0x{msg.params[0]:02X}, keepalive {msg.params[1]})"
        return "receiver: DJ get paired devices"
    if t == dj.DjReportType.KEYBOARD:
        return f"{who} DJ keyboard report (keys hidden)"
    if t <= dj.RF_REPORT_LAST:
        return f"{who} DJ {enum_name(dj.DjReportType, t)} report = {_hex(_trim(frame.params))}"
    return f"{who} DJ report type 0x{t:02X} = {_hex(_trim(frame.params))}"


# --- HID++ ----------------------------------------------------------------------------


def _describe_hidpp(frame: HidppFrame, names, outgoing, features) -> str:
    sub = frame.sub_id
    if hidpp10.is_error_frame(frame):   # both checks exclude very long reports
        return _describe_error10(frame, names)
    if hidpp10.is_register_frame(frame):
        return _describe_register(frame, names, outgoing)
    if sub == hidpp20.ERROR_INDEX:
        return _describe_error20(frame, names)
    if not outgoing and notifications.is_receiver_notification(frame):
        return _describe_notification(frame, names)
    if not outgoing and isinstance(n := notifications.parse(frame), notifications.RegisterNotification):
        note = _register_note(sub, n.value, frame.devnum)
        return f"{_who(frame.devnum, names)} notification reg 0x{sub:02X} = {_hex(n.value)}{note}"
    if sub < 0x80:
        return _describe_feature(frame, names, outgoing, features)
    return (f"{_who(frame.devnum, names)} HID++ sub id 0x{sub:02X} addr 0x{frame.address:02X} "
            f"= {_hex(_trim(frame.params))}")


def _describe_error10(frame: HidppFrame, names) -> str:
    who = _who(frame.devnum, names)
    req_sub, reg, code = frame.address, frame.params[0], frame.params[1]
    err = f"{enum_name(Hidpp10ErrorCode, code)} (0x{code:02X})"
    if req_sub < 0x80:
        # The 1.0 answer to a 2.0 request: a ping (ROOT fn 1) answered so means HID++ 1.0.
        sw = reg & 0x0F
        if req_sub == hidpp20.ROOT_INDEX and reg >> 4 == 1 and code == Hidpp10ErrorCode.INVALID_SUBID:
            return f"{who} HID++ 1.0 device (ping answered with {err}) {_sw(sw)}"
        return f"{who} error to 2.0 request idx {req_sub} fn {reg >> 4} {_sw(sw)}: {err}"
    ops: dict[int, str] = {SubId.SET_SHORT: "set", SubId.GET_SHORT: "get", SubId.SET_LONG: "set long",
                           SubId.GET_LONG: "get long"}
    op = ops.get(req_sub, f"sub 0x{req_sub:02X}")
    return f"{who} error {op} reg 0x{reg:02X}: {err}"


def _describe_register(frame: HidppFrame, names, outgoing) -> str:
    msg = hidpp10.parse_register(frame)
    who = _who(frame.devnum, names)
    reg = msg.register
    long_ = " long" if msg.is_long else ""
    if msg.is_write and not outgoing:
        return f"{who} ack set{long_} reg 0x{reg:02X}"
    if outgoing and not msg.is_write:
        arg = _trim(msg.value, 0)
        tail = f" {_hex(arg)}" if arg else ""
        note = _pairing_request_note(msg.value) if reg == Register.PAIRING_INFO else ""
        return f"{who} get{long_} reg 0x{reg:02X}{tail}{note}"
    value = _trim(msg.value) if msg.is_long else msg.value
    verb = "set" if outgoing else "reply"
    return f"{who} {verb}{long_} reg 0x{reg:02X} = {_hex(value)}{_register_note(reg, msg.value, frame.devnum)}"


def _register_note(reg: int, v: bytes, devnum: int) -> str:
    if len(v) < 3:
        return ""
    if reg == Register.MOUSE_BUTTON_FLAGS and devnum != RECEIVER:
        on = hidpp10.flag_names(v[0], ((MouseButtonFlag.SIDE_SCROLL, "side-scroll on"),
                           (MouseButtonFlag.SMOOTH_SCROLL, "smooth-scroll on")), other=True)
        return f" [{', '.join(on) if on else 'side-scroll off, smooth-scroll off'}]"
    if reg == Register.NOTIFICATIONS:
        flags = int.from_bytes(v[:3], "big")
        on = hidpp10.flag_names(flags, hidpp10.NOTIFICATION_FLAG_NAMES, other=True)
        return f" [notifications: {', '.join(on) or 'none'}]"
    if reg == Register.CONNECTION_STATE and devnum == RECEIVER:
        return " [announce every paired device again]" if v[0] == 0x02 else f" [{v[1]} paired]"
    if reg in (Register.BATTERY_STATUS, Register.BATTERY_CHARGE):
        b = hidpp10.parse_battery_status(v) if reg == Register.BATTERY_STATUS else hidpp10.parse_battery_charge(v)
        return f" [battery {b.level}, {b.status}]"
    if reg == Register.MOUSE_DPI and hidpp10.DPI_MIN_CODE <= v[0] <= hidpp10.DPI_MAX_CODE:
        return f" [{hidpp10.dpi_from_code(v[0])} dpi]"
    if reg == Register.PAIRING and devnum == RECEIVER:
        action = {1: "open pairing lock", 2: "close pairing lock", 3: f"unpair device {v[1]}"}.get(v[0])
        return f" [{action}]" if action else ""
    if reg == Register.PAIRING_INFO:
        return _pairing_note(v)
    if reg == Register.FIRMWARE and 1 <= v[0] <= 4:
        what = enum_name(hidpp10.FirmwareInfo, v[0])
        return f" [{what} {v[1]:02X}{v[2]:02X}]" if v[0] == 2 else f" [{what} {v[1]:02X}.{v[2]:02X}]"
    return ""


def _pairing_request_note(v: bytes) -> str:
    sub = v[0]
    if sub == PairingInfo.RECEIVER:
        return " [receiver serial and max devices]"
    for base, what in ((PairingInfo.DEVICE, "pairing"), (PairingInfo.EXTENDED, "serial"), (PairingInfo.NAME, "name")):
        if base <= sub < base + 6:
            return f" [slot {sub - base + 1} {what}]"
    return ""


def _pairing_note(v: bytes) -> str:
    sub = v[0]
    if len(v) < 16:
        return ""
    if sub == PairingInfo.RECEIVER:
        info = hidpp10.parse_receiver_info(v)
        return f" [receiver serial {info.serial}, max {info.max_devices} devices]"
    if PairingInfo.DEVICE <= sub < PairingInfo.DEVICE + 6:
        rec = hidpp10.parse_pairing(v, sub - PairingInfo.DEVICE + 1)
        return f" [slot {rec.slot}: WPID {rec.wpid:04X}, {hidpp10.kind_name(rec.kind)}, {rec.polling_ms} ms]"
    if PairingInfo.EXTENDED <= sub < PairingInfo.EXTENDED + 6:
        ext = hidpp10.parse_extended(v, sub - PairingInfo.EXTENDED + 1)
        return f" [slot {ext.slot}: serial {ext.serial}]"
    if PairingInfo.NAME <= sub < PairingInfo.NAME + 6:
        slot = sub - PairingInfo.NAME + 1
        name = hidpp10.parse_name(v, slot)
        printable = "".join(c if c.isprintable() else "?" for c in name)
        return f" [slot {slot}: name {printable!r}]"
    return ""


def _describe_notification(frame: HidppFrame, names) -> str:
    n = notifications.parse(frame)
    slot = frame.devnum
    if isinstance(n, notifications.DeviceConnection):
        verb = "connected" if n.link_established else "disconnected"
        link = "link up" if n.link_established else "link down"
        extra = [n.kind_name, notifications.protocol_name(n.protocol)]
        extra += [word for word, on in (("encrypted", n.encrypted), ("software present", n.software_present)) if on]
        return f"receiver: device {slot} {verb} {_slot_name(slot, names)}{n.wpid:04X} ({link}) {', '.join(extra)}"
    if isinstance(n, notifications.DeviceUnpaired):
        return f"receiver: device {slot} {_slot_name(slot, names)}unpaired"
    if isinstance(n, notifications.ConnectionStatus):
        return f"receiver: device {slot} {_slot_name(slot, names)}{'link lost' if n.link_lost else 'link ok'}"
    if isinstance(n, notifications.PairingLock):
        err = f" (error 0x{n.error:02X})" if n.error else ""
        return f"receiver: pairing lock {'open' if n.open else 'closed'}{err}"
    if isinstance(n, notifications.PowerOn):
        what = "powered on" if n.powered_on else f"power notification 0x{frame.address:02X}"
        return f"receiver: device {slot} {_slot_name(slot, names)}{what}"
    if isinstance(n, notifications.RawInput):
        return f"{_who(slot, names)} raw input 0x{n.address:02X}"
    if frame.sub_id == notifications.NotificationId.DEVICE_UNPAIRED:   # address other than 0x02
        what = notifications.notification_name(frame.sub_id, frame.address)
        return f"receiver: device {slot} {_slot_name(slot, names)}{what}"
    return (f"{_who(slot, names)} notification 0x{frame.sub_id:02X} addr 0x{frame.address:02X}"
            f" = {_hex(_trim(frame.params))}")


def _sw(sw: int) -> str:
    return f"[sw 0x{sw:02X} {software_id_owner(sw)}]"


def _describe_error20(frame: HidppFrame, names) -> str:
    err = hidpp20.parse_error(frame)
    sw = hidpp20.error_software_id(frame)
    return (f"{_who(frame.devnum, names)} error idx {err.feature_index} fn {err.function} {_sw(sw)}: "
            f"{enum_name(Hidpp20ErrorCode, err.code)} ({err.code})")


def _feature_id(features, devnum: int, index: int) -> int | None:
    if index == hidpp20.ROOT_INDEX:
        return hidpp20.FeatureId.ROOT
    table = features.get(devnum) if features else None
    return table.get(index) if table else None


def _event_note(fid: int | None, fn: int, params: bytes) -> str:
    if fid == hidpp20.FeatureId.REPROG_CONTROLS_V4 and fn == 0:
        cids = hidpp20.parse_diverted_buttons(params)
        held = ", ".join(hidpp20.control_name(c) for c in cids)
        return f" [diverted buttons held: {held}]" if cids else " [diverted buttons: all released]"
    if fid == hidpp20.FeatureId.WIRELESS_DEVICE_STATUS and fn == 0:
        st = hidpp20.parse_wireless_status(params)
        ask = ", software should reconfigure" if st["request"] == 1 else ""
        return f" [{'reconnection' if st['status'] == 1 else 'status ' + str(st['status'])}{ask}]"
    if fid == hidpp20.FeatureId.BATTERY_STATUS and fn == 0:
        pct, nxt, status = hidpp20.parse_battery_status(params)
        return f" [battery {pct}%, {status}]"
    return ""


def _describe_feature(frame: HidppFrame, names, outgoing, features) -> str:
    who = _who(frame.devnum, names)
    idx, fn, sw = frame.sub_id, frame.function, frame.software_id
    params = frame.params if frame.report_id == ReportId.SHORT else _trim(frame.params)
    fid = _feature_id(features, frame.devnum, idx)
    feature = f" {hidpp20.feature_name(fid)}" if fid is not None else ""
    if not outgoing and classify(frame.to_bytes()) is FrameKind.NOTIFICATION:   # sw 0, not ROOT
        return f"{who} event idx {idx}{feature} fn {fn} = {_hex(params)}{_event_note(fid, fn, frame.params)}"
    kind = "request" if outgoing else "reply"
    note = ""
    if fid == hidpp20.FeatureId.ROOT and fn == 0:
        if outgoing:
            wanted = frame.params[0] << 8 | frame.params[1]
            note = f" [getFeature {wanted:04X} {hidpp20.feature_name(wanted)}]"
        else:
            index, flags, version = hidpp20.parse_get_feature(frame.params)
            note = f" [at index {index}]" if index else " [not supported]"
    elif fid == hidpp20.FeatureId.ROOT and fn == 1:
        if outgoing:
            note = f" [ping mark 0x{frame.params[2]:02X}]"
        else:
            major, minor = hidpp20.parse_ping_reply(frame.params)
            note = f" [protocol {major}.{minor}]"
    elif fid == hidpp20.FeatureId.REPROG_CONTROLS_V4 and fn in (2, 3):
        cid = frame.params[0] << 8 | frame.params[1]
        note = f" [{hidpp20.control_name(cid)}"
        if not outgoing or fn == 3:
            note += f": {', '.join(hidpp20.reporting_names(frame.params[2])) or 'regular'}"
        note += "]"
    return f"{who} {kind} idx {idx}{feature} fn {fn} {_sw(sw)} = {_hex(params)}{note}"
