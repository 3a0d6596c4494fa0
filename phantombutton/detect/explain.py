"""Likely cause and suggested fix of a finding, in words a user can act on.

Kept apart from the rules so the wording can change without touching detection. The fixes
name phantombutton's own commands; every one of them verifies its effect by reading back.
"""

from __future__ import annotations

from phantombutton.detect.findings import Rule


def cause_and_fix(rule: Rule, *, model: str | None, code: int | None, x_button: int | None,
                  node: str | None, x_slave_id: int | None, context: list[str],
                  settings: list[str], extra: str = "", wpid: int | None = None,
                  sender: str = "the receiver") -> tuple[str, str]:
    """`sender`: who sent the report ("the mouse" for a mouse without a receiver)."""
    # the most telling line first: a write by another program, else anything it did
    others = sorted((c for c in context if "another program" in c), key=lambda c: " written " in c)
    other = others[-1].split(" [")[0] if others else ""   # the sentence without the raw bytes
    reconnect = [c for c in context if "device connection notification" in c]
    # the latest side-scroll state we know of before the press
    states = [s for s in settings if s.startswith("side-scroll ")]
    side_scroll_off = bool(states) and "side-scroll off" in states[-1].split(", then")[0] or (
        not states and any("side-scroll off" in c for c in context))
    dev = node or "DEVICE"
    release = f"phantombutton release {dev}" + (f" {x_button}" if x_button else "")

    if rule is Rule.UNKNOWN_BUTTON:
        cause = (f"{sender} reported a button the {model or 'mouse'} does not have; "
                 "no hand can press it, so it is a phantom")
        if other and reconnect:
            cause += f"; it followed a reconnection during which the mouse was initialised over HID++ ({other})"
        elif other:
            cause += f"; HID++ traffic of another program just before: {other}"
        elif reconnect:
            cause += "; it came right after the mouse (re)connected"
        if side_scroll_off:
            cause += "; side-scroll (register 0x01 bit 0x02) is off, the state in which it was reported"
        # `set` names HID++ devices (slot, WPID, serial, name), not event nodes
        prevent = f"prevent it: phantombutton set {wpid:04X} side-scroll on; " if wpid else ""
        fix = (f"{release} (ends X's grab); {prevent}durable: phantombutton mute {dev} 0x{code:03X}"
               if code is not None else release)
        return cause, fix
    if rule is Rule.HELD_AT_LINK_LOSS:
        return ("the mouse's link dropped (switched off, asleep, battery, out of range) while the "
                "button was held, and this receiver family gets no all-released report from the "
                "kernel: it stays held until the mouse sends a release, which it never will",
                f"{release}; the held button comes back only if it is held at the next link loss")
    if rule is Rule.PRESS_AFTER_CONNECT:
        cause = ("pressed right after the mouse (re)connected with no motion before: a report "
                 "replayed or invented at connection, not a hand")
        if other:
            cause += f"; another program spoke HID++ meanwhile ({other})"
        return cause, f"{release}; if it recurs, capture a reconnection: phantombutton capture -o bug.yml"
    if rule is Rule.HELD_IDLE:
        return (f"held for a long time without any motion{extra}: a stuck button, or a hand resting "
                "on it", f"{release} if you are not holding it; if it recurs, "
                "phantombutton capture -o bug.yml and attach the file to a bug report")
    # X_MISMATCH
    if extra == "orphan":
        return ("X's master pointer still holds the button but no slave does: the device that "
                "pressed it is gone (unplugged or disabled while held)",
                f"{release} (a uinput mouse presses and releases it, or an XTest release on the "
                f"master {x_slave_id})")
    return ("X still holds a button the kernel released: X missed the release (e.g. the device "
            "was disabled or unplugged while held; xf86-input-libinput never releases the highest "
            "button then)", f"{release} (an XTest device release aimed at X device {x_slave_id})")
