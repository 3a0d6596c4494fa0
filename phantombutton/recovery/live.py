"""The chain's real I/O: the mouse's event node, the X server, uinput.

Writes go only to the device diagnosed: its event node, its X slave, and - for an orphaned
X button - the master (XTest) or a short-lived uinput mouse of our own.
"""

from __future__ import annotations

import time

from phantombutton.buttons import BTN_MOUSE_FIRST, BTN_MOUSE_LAST, code_for_x_button, hid_button_scancode
from phantombutton.errors import PhantomError
from phantombutton.input import evdev_node as en
from phantombutton.input.xinput import GrabStatus, x_errors
from phantombutton.recovery.chain import Snapshot, Target
from phantombutton.transport.platform import EventNodes

UINPUT_NAME = "phantombutton release"


class LiveLayers:
    """`nodes`: the platform's event nodes (transport/platform.py EventNodes); a real
    node's by default."""

    def __init__(self, x=None, *, nodes: EventNodes = en):
        self.x = x                       # phantombutton.input.xinput.XSession or None
        self.nodes = nodes

    # -- reading -------------------------------------------------------------------------
    def snapshot(self, t: Target) -> Snapshot:
        kernel = None
        if t.node and t.code is not None:
            try:
                kernel = t.code in self.nodes.held_keys(t.node)
            except PhantomError:
                kernel = None  # gone or unreadable: unknown, not "up"
        x_slave = x_master = x_grab = None
        if self.x is not None and self._xwayland():
            # Xwayland's devices are virtual (10 buttons): their state is no evidence. What an
            # X client there can see is the implicit grab the held button started on an X
            # window: probe it as another application would (the chain's second check).
            x_grab = self._grabbed()
        elif self.x is not None and t.x_button is not None:
            x_slave, x_master = self._x_state(t)
        return Snapshot(kernel, x_slave, x_master, x_grab)

    def _xwayland(self) -> bool:
        try:
            return bool(self.x.is_xwayland())
        except Exception:  # noqa: BLE001 - fake or dead X: treat as Xorg, as before
            return False

    def _grabbed(self) -> bool | None:
        try:
            return self.x.grab_probe() == GrabStatus.ALREADY_GRABBED
        except Exception:  # noqa: BLE001 - Xwayland went away: unknown, not "free"
            return None

    def _x_state(self, t: Target) -> tuple[bool | None, bool | None]:
        b = t.x_button
        ptrs = self.x.pointers()
        slave_held = None
        others = False
        master_id = t.x_master_id
        for p in ptrs:
            if p.is_master:
                continue
            st = self.x.query_buttons(p.id)
            if st is None:
                continue
            if p.id == t.x_slave_id:
                slave_held = b in st[1]
                master_id = master_id or p.attachment
            elif b in st[1]:
                others = True
        if master_id is None:
            master_id = next((p.id for p in ptrs if p.is_master), None)
        master_held = None
        if master_id is not None:
            st = self.x.query_buttons(master_id)
            # a master button also held by another slave is that device's business, not ours
            master_held = None if st is None else (b in st[1] and not others)
        if t.x_slave_id is not None and slave_held is None:
            slave_held = False   # the slave is gone: whatever it held now lives on the master
        return slave_held, master_held

    # -- acting --------------------------------------------------------------------------
    def write_release(self, t: Target) -> str:
        node, code = _node_code(t)
        self.nodes.write_key(node, code, 0)
        return f"wrote EV_KEY 0x{code:03X} 0 + SYN_REPORT to {node}"

    def xtest_release(self, device_id: int, button: int) -> str:
        if self.x is None:
            raise PhantomError("no X connection")
        self.x.fake_device_button(device_id, button, press=False)
        return f"XTest DeviceButtonRelease {button} on X device {device_id}"

    def mute(self, t: Target) -> str:
        scancode = self._map(t, en.KEY_RESERVED)
        node, code = _node_code(t)
        return (f"muted scancode 0x{scancode:08X} on {node} (read back KEY_RESERVED); "
                f"undo: phantombutton unmute {node} {t.x_button or hex(code)}")

    def unmute(self, t: Target) -> None:
        """Map the button's HID usage back to its code (cmd_mute.py says what it did)."""
        self._map(t, _node_code(t)[1])

    def _map(self, t: Target, want: int) -> int:
        """EVIOCSKEYCODE the button's HID usage to `want`, checked by reading it back."""
        node, code = _node_code(t)
        scancode = hid_button_scancode(code)
        back = self.nodes.set_keycode(node, scancode, want)
        if back != want:
            raise PhantomError(f"{node}: set scancode 0x{scancode:08X} to 0x{want:03X} but it "
                               f"reads back 0x{back:03X}")
        return scancode

    def orphan_release(self, t: Target) -> str:
        tried = []
        if self.x is not None:
            master = t.x_master_id or next((p.id for p in self.x.pointers() if p.is_master), None)
            st = self.x.query_buttons(master) if master is not None else None
            if st is not None and st[0] >= t.x_button:
                try:
                    self.x.fake_device_button(master, t.x_button, press=False)
                    time.sleep(0.02)
                    if not self.snapshot(t).held:
                        return f"XTest DeviceButtonRelease {t.x_button} on X master {master}"
                    tried.append(f"XTest release on master {master} had no effect")
                except x_errors() as e:
                    tried.append(f"XTest release on master {master}: {e}")
        code = t.code
        if code is None and t.x_button is not None:
            code = code_for_x_button(t.x_button)
        if code is None:   # X buttons 4..7 are scroll: no evdev button to click
            raise PhantomError("; ".join(tried + [f"X button {t.x_button} has no evdev code to press and release"]))
        uinput_click(code, self.x)
        return "; ".join(tried + [f"uinput mouse pressed and released 0x{code:03X}"])


def _node_code(t: Target) -> tuple[str, int]:
    """The event node and evdev code a node step acts on (run_chain asks only when both are known)."""
    if t.node is None or t.code is None:
        raise PhantomError(f"{t.device}: no event node and code to act on")
    return t.node, t.code


def uinput_click(code: int, x=None, wait: float = 2.0) -> None:
    """A new mouse (BTN 0x110-0x11F) that presses and releases `code` once X has added it."""
    import evdev   # optional heavy: evdev, only for the uinput click
    from evdev import ecodes

    try:
        ui = evdev.UInput({ecodes.EV_KEY: list(range(BTN_MOUSE_FIRST, BTN_MOUSE_LAST + 1)),
                           ecodes.EV_REL: [ecodes.REL_X, ecodes.REL_Y]},
                          name=UINPUT_NAME, vendor=0x046D, product=0xFFFF)
    except (OSError, evdev.UInputError) as e:
        raise PhantomError(f"/dev/uinput: {e}; creating a virtual mouse needs root or an "
                           "access rule for /dev/uinput") from e
    try:
        deadline = time.monotonic() + wait
        if x is not None:  # X adds the device through udev hotplug: wait until it is a slave
            while time.monotonic() < deadline:
                if any(p.name == UINPUT_NAME for p in x.pointers()):
                    break
                time.sleep(0.05)
        else:
            time.sleep(min(wait, 0.5))
        ui.write(ecodes.EV_KEY, code, 1)
        ui.syn()
        time.sleep(0.05)   # longer than nothing, shorter than libinput's 25 ms debounce matters
        ui.write(ecodes.EV_KEY, code, 0)
        ui.syn()
        time.sleep(0.05)
    finally:
        ui.close()
