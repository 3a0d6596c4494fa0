"""Gather what `info` and `list` show, as plain dicts (rendered as text or JSON by the CLI).

A device that stops answering half-way (asleep, out of range) does not fail the report:
the part that could not be read says why under "errors".
"""

from __future__ import annotations

from phantombutton import buttons
from phantombutton.devices import settings as settings_mod
from phantombutton.models import BTN_PHANTOM
from phantombutton.errors import PhantomError
from phantombutton.hidpp import hidpp20
from phantombutton.hidpp.errors import HidppError
from phantombutton.hidpp.hidpp10 import NOTIFICATION_FLAG_NAMES, Register, flag_names


def receiver_summary(receiver) -> dict:
    out = {"node": receiver.node, "name": receiver.name, "product": f"{receiver.product:04X}"}
    if getattr(receiver, "direct", False):   # a mouse without a receiver (devices/direct.py)
        out["connection"] = receiver.connection
        return out
    out["family"] = receiver.family.family.value if receiver.known else None
    if receiver.mouse_nodes:   # Bolt on hid-generic: one mouse node for every paired mouse
        out["mouse_nodes"] = list(receiver.mouse_nodes)
    return out


def _notifications(flags: int | None) -> dict | None:
    """Register 0x00's flags, as `info` shows them."""
    if flags is None:
        return None
    return {"flags": f"0x{flags:06X}", "names": flag_names(flags, NOTIFICATION_FLAG_NAMES)}


def receiver_report(receiver) -> dict:
    d = receiver.details()
    out = receiver_summary(receiver)
    out.update({
        "serial": d.serial, "max_devices": d.max_devices, "firmware": d.firmware,
        "paired": d.paired, "notifications": _notifications(d.notifications),
    })
    return out


def device_summary(device) -> dict:
    out = {
        "slot": device.slot, "name": device.short_name, "receiver_name": device.pairing.name,
        "wpid": f"{device.wpid:04X}", "kind": device.kind, "serial": device.serial,
        "protocol": device.protocol_text(), "online": device.online,
    }
    if node := device.receiver.child_nodes.get(device.slot):
        out["node"] = node
    if getattr(device.receiver, "direct", False):
        out["connection"] = device.receiver.connection
    return out


def _buttons(device) -> dict:
    model = device.model
    source = "model table" if model.known else "assumed"
    if not model.known and device.online and not device.hidpp10:
        # start-up: only an unknown HID++ 2.0 mouse; with buttoncache.py ~2.5 ms for info and list
        from phantombutton.devices.buttons20 import button_map   # the mouse tells (cached)

        bmap = button_map(device)
        if bmap is not None:
            model, source = bmap.model(), "mouse"
    return {
        "model_known": model.known,
        "buttons_from": source,
        "model": model.full_name,
        "buttons": [buttons.label(c) for c in sorted(model.buttons)],
        "codes": [f"0x{c:X}" for c in sorted(model.buttons)],
        "tilt_codes": [f"0x{c:X}" for c in sorted(model.tilt_codes)],
        "has_phantom_button": model.has_button(BTN_PHANTOM),
        "phantom": f"HID button {buttons.PHANTOM_HID_BUTTON} (evdev 0x{BTN_PHANTOM:X}, X button "
                   f"{buttons.x_button_for(BTN_PHANTOM)})",
    }


def device_report(device) -> dict:
    out = device_summary(device)
    out.update(_buttons(device))
    errors: list[str] = []
    out["errors"] = errors
    if not device.online:
        return out

    def attempt(key: str, fn) -> None:
        try:
            out[key] = fn()
        except (HidppError, PhantomError) as e:
            errors.append(f"{key}: {e}")

    if not device.hidpp10:
        attempt("full_name", device.full_name)
    attempt("firmware", device.firmware)

    def battery():
        b = device.battery()
        return None if b is None else {"percent": b.percent, "level": b.level, "status": b.status}

    attempt("battery", battery)
    if device.hidpp10:
        def notifications():
            value = device.try_register(Register.NOTIFICATIONS)
            return _notifications(None if value is None else int.from_bytes(value, "big"))

        attempt("notifications", notifications)
    else:
        def features():
            return [{"index": f.index, "id": f"{f.feature_id:04X}", "name": f.name,
                     "flags": [(n.name or "").lower() for n in hidpp20.FeatureFlag if f.flags & n]}
                    for f in device.features()]

        attempt("features", features)
        if device.feature_index(hidpp20.FeatureId.REPROG_CONTROLS_V4) is not None:
            attempt("controls", lambda: [{"cid": f"0x{c.info.cid:04X}", "name": c.name,
                                          "divertable": c.info.divertable, "diverted": c.diverted,
                                          "reporting": c.diversion()}
                                         for c in device.controls()])

    def read_settings():
        if "controls" not in out:
            return settings_mod.read_all(device)
        # the controls are already read: do not ask the mouse for them twice
        values = settings_mod.read_all(device, skip=(settings_mod.DIVERSIONS,))
        parts = [f"{c['name']} ({c['reporting']})" for c in out["controls"] if c["diverted"]]
        if values.get("thumb-wheel") == "hidpp":
            parts.append("thumb wheel (diverted)")
        if values.get("wheel-target") == "hidpp":
            parts.append("wheel (HID++ target)")
        return {**values, settings_mod.DIVERSIONS: ", ".join(parts) or "none"}

    attempt("settings", read_settings)
    return out


def receivers_tree(receivers, *, full: bool) -> list[dict]:
    """Each receiver with its paired devices: summaries (`list`) or full reports (`info`)."""
    out = []
    for receiver in receivers:
        # a receiver that stops answering (unplugged, a register error, a timeout) is listed
        # with why; the others are still read
        try:
            entry = receiver_report(receiver) if full else receiver_summary(receiver)
            entry["devices"] = [device_report(d) if full else device_summary(d) for d in receiver.devices()]
        except (HidppError, PhantomError) as e:
            entry = receiver_summary(receiver)
            entry.update({"devices": [], "error": f"{receiver.node}: {e}"})
        out.append(entry)
    return out
