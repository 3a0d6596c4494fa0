"""Keys held by virtual keyboards: find them (watch, status), release them, verify.

Reads: the keyboards' sysfs entries (name, bus, capabilities; rescanned every `rescan` s),
EVIOCGKEY of each keyboard node at each tick (held state only, never keystrokes), and
/proc/*/fd links to /dev/uinput to name the program behind a virtual device. No HID++.

Release: the key-up written to the virtual device's event node (input_inject_event: the input
core clears the key bit and passes the release to every reader, X, the compositor and the
remapper alike), then - where X is present - an XTest DeviceKeyRelease from its X keyboard
slave (X keycode = evdev code + 8, the evdev/libinput drivers' offset). Verified with
EVIOCGKEY on a fresh fd.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from phantombutton.detect.stuck_keys import StuckKey, StuckKeyRule, held_now
from phantombutton.errors import AccessDenied, DeviceGone
from phantombutton import keys as KEYS
from phantombutton.input import keyboards as K
from phantombutton.input.evdev_node import held_keys, write_key
from phantombutton.input.xinput import XI_DEVICE_KEY_RELEASE

X_KEYCODE_OFFSET = 8          # xf86-input-evdev / xf86-input-libinput: keycode = evdev code + 8
XI_SLAVE_KEYBOARD = 4         # XIUse SlaveKeyboard


@dataclass(frozen=True)
class KeyRelease:
    """The outcome of one release."""

    device: str
    node: str
    key: str                  # label (modifiers named; others hidden unless --show-keycodes)
    owner: str
    steps: tuple[str, ...]
    released: bool

    def line(self) -> str:
        head = "fixed   " if self.released else "FAILED  "
        what = "released" if self.released else "still held"
        return f"{head}{self.device} ({self.node}): {self.key} {what} ({'; '.join(self.steps)})"

    def to_dict(self) -> dict:
        return {"event": "key-released" if self.released else "key-not-released", "device": self.device,
                "node": self.node, "key": self.key, "owner": self.owner, "steps": list(self.steps),
                "released": self.released}


def x_keyboard_slave(x, node: str) -> int | None:
    """The X slave keyboard whose "Device Node" is `node` (input/xinput.XSession `x`)."""
    from Xlib.ext import xinput   # optional heavy: Xlib, only with an X session

    want = os.path.realpath(node)
    for d in x.display.xinput_query_device(xinput.AllDevices).devices:
        if d.use != XI_SLAVE_KEYBOARD:
            continue
        dn = x.device_node(d.deviceid)
        if dn and (dn == node or os.path.realpath(dn) == want):
            return d.deviceid
    return None


def x_key_release(x, device_id: int, code: int) -> None:
    """XTest DeviceKeyRelease from `device_id` (the request of input/xinput's button release)."""
    x.fake_device_event(device_id, XI_DEVICE_KEY_RELEASE, code + X_KEYCODE_OFFSET, f"key {code}")


@dataclass
class KeyScan:
    """What the keyboards hold now, read in one pass."""

    keyboards: dict[str, K.KeyboardNode]
    held: dict[str, frozenset[int]]
    denied: list[str] = field(default_factory=list)

    @property
    def virtual(self) -> set[str]:
        return {n for n, kb in self.keyboards.items() if kb.virtual}


def scan(sysfs: str = "/sys", dev: str = "/dev", read_held: Callable = held_keys,
         keyboards: list[K.KeyboardNode] | None = None) -> KeyScan:
    kbs = {k.node: k for k in (keyboards if keyboards is not None else K.keyboard_nodes(sysfs, dev))}
    held, denied = {}, []
    for node, kb in kbs.items():
        try:
            held[node] = read_held(node) & kb.keys
        except AccessDenied:
            denied.append(node)
        except (DeviceGone, OSError):   # unplugged between listing and reading
            pass
    return KeyScan(kbs, held, denied)


class KeyWatch:
    """Stuck virtual keys for `watch` (a tick hook) and the one-shot commands."""

    def __init__(self, *, fix: bool = False, threshold: float = 3.0, show_keycodes: bool = False,
                 sysfs: str = "/sys", dev: str = "/dev", proc: str = "/proc", rescan: float = 5.0,
                 read_held: Callable = held_keys, write: Callable = write_key):
        self.fix, self.show_keycodes = fix, show_keycodes
        self.sysfs, self.dev, self.proc = sysfs, dev, proc
        self.rule = StuckKeyRule(threshold)
        self.rescan = rescan
        self.read_held, self.write = read_held, write
        self._kbs: list[K.KeyboardNode] | None = None
        self._listed = -1e18
        self._denied_told = False

    def _keyboards(self, now: float) -> list[K.KeyboardNode]:
        if self._kbs is None or now - self._listed >= self.rescan:
            self._kbs, self._listed = K.keyboard_nodes(self.sysfs, self.dev), now
        return self._kbs

    def tick(self, now: float, x=None) -> list[tuple[str, str, dict]]:
        """(kind, line, dict) events: "stuck-key", then "key-released"/"key-not-released"."""
        s = scan(self.sysfs, self.dev, self.read_held, self._keyboards(now))
        out: list[tuple[str, str, dict]] = []
        if s.denied and not self._denied_told:
            self._denied_told = True
            out.append(("note", "keyboards not readable (root or the input group): "
                        + ", ".join(s.denied) + "; stuck keys on them are not seen", {}))
        for sk in self.rule.update(now, s.held, s.virtual):
            out += self._report(sk, s, x)
        return out

    def _describe(self, node: str, code: int, kbs: dict) -> tuple[str, str, str]:
        kb = kbs[node]
        owner = K.owner_of(kb, K.uinput_holders(self.proc)).describe()
        return kb.name, KEYS.key_label(code, self.show_keycodes), owner

    def _report(self, sk: StuckKey, s: KeyScan, x) -> list[tuple[str, str, dict]]:
        name, key, owner = self._describe(sk.node, sk.code, s.keyboards)
        line = (f"STUCK   {name} ({sk.node}, virtual, made by {owner}): {key} held {sk.held_for:.1f} s "
                "while no physical key is held")
        d = {"event": "stuck-key", "t": round(sk.seen, 6), "device": name, "node": sk.node, "key": key,
             "modifier": sk.modifier, "held_for": round(sk.held_for, 3), "owner": owner}
        out = [("stuck-key", line, d)]
        if self.fix:
            r = release(sk.node, sk.code, name, key, owner, x=x, read_held=self.read_held, write=self.write)
            if r.released:
                self.rule.forget(sk.node, sk.code)
            out.append((r.to_dict()["event"], r.line(), r.to_dict()))
        return out

    def held_now(self, confirm: float = 0.5) -> list[dict]:
        """Keys held on virtual keyboards while no physical key is, in two samples `confirm`
        seconds apart (status, release): a remapper's shortcut lasts milliseconds."""
        s = scan(self.sysfs, self.dev, self.read_held)
        keys = held_now(s.held, s.virtual)
        if keys and confirm > 0:
            time.sleep(confirm)
            s = scan(self.sysfs, self.dev, self.read_held, list(s.keyboards.values()))
            keys = [k for k in held_now(s.held, s.virtual) if k in keys]
        out = []
        for node, code in keys:
            name, key, owner = self._describe(node, code, s.keyboards)
            out.append({"device": name, "node": node, "key": key, "modifier": KEYS.is_modifier(code),
                        "owner": owner, "code": code})
        return out

    def release_all(self, x=None) -> list[KeyRelease]:
        return [release(h["node"], h["code"], h["device"], h["key"], h["owner"], x=x,
                        read_held=self.read_held, write=self.write) for h in self.held_now()]


def release(node: str, code: int, device: str, key: str, owner: str, *, x=None,
            read_held: Callable = held_keys, write: Callable = write_key) -> KeyRelease:
    steps = []
    try:
        write(node, code, 0)
        steps.append("key-up written to the event node")
    except Exception as e:
        steps.append(f"event node write failed: {e}")
    if x is not None:
        try:
            slave = x_keyboard_slave(x, node)
            if slave is None:
                steps.append("no X keyboard slave for the node")
            else:
                x_key_release(x, slave, code)
                steps.append(f"XTest key release on X device {slave}")
        except Exception as e:   # X gone or refusing: the kernel release is what counts
            steps.append(f"XTest key release failed: {type(e).__name__}")
    try:
        released = code not in read_held(node)
        steps.append("EVIOCGKEY: " + ("released" if released else "still held"))
    except Exception as e:
        released = False
        steps.append(f"EVIOCGKEY failed: {e}")
    return KeyRelease(device, node, key, owner, tuple(steps), released)


def key_watch(platform, *, threshold: float, fix: bool = False, show_keycodes: bool = False) -> KeyWatch | None:
    """The KeyWatch of `watch`, `status` and `release` on a real kernel's devices (None on the
    virtual platform: it has no keyboards). `threshold`: [detection] stuck-key-after."""
    return KeyWatch(fix=fix, threshold=threshold, show_keycodes=show_keycodes) if platform.kernel else None
