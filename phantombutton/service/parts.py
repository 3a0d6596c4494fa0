"""The parts the daemon is built from: real receivers (sysfs + hidraw) or the virtual one.

Both sets share the settings and the phantom-button table (devices/); they differ in how
receivers are found and opened and in how a held button is released: on hardware by the
recovery chain on the mouse's own event node (and X), on the virtual receiver by the
recovery chain's virtual path when it has one.
"""

from __future__ import annotations

import functools

import glob
import os

from phantombutton.buttons import HID_BUTTONS, PHANTOM_HID_BUTTON, hid_button_to_evdev, x_button_for
from phantombutton.devices import models
from phantombutton.errors import PhantomError
from phantombutton.recovery.chain import Target, run_chain
from phantombutton.service.parts_api import PhantomHeld, ReleaseOutcome, SettingOutcome, setting_text
from phantombutton.transport.discovery import UNIFYING_PIDS


@functools.lru_cache(maxsize=None)   # asked on every DJ mouse report; depends on the WPID only
def phantom_mask(wpid: int | None) -> int:
    """HID buttons the model cannot have; for an unknown model only HID 16 (0x11F) is sure."""
    model = models.model_for(wpid)
    if not model.known:
        return 1 << (PHANTOM_HID_BUTTON - 1)
    mask = 0
    for n in range(1, HID_BUTTONS + 1):
        if not model.has_button(hid_button_to_evdev(n)):
            mask |= 1 << (n - 1)
    return mask


def _receiver(engine):
    from phantombutton.devices.receiver import Receiver

    return Receiver(engine, getattr(engine.transport, "node", "receiver"))


def _device(engine, slot: int, wpid: int | None):
    from phantombutton.devices.device import Device
    from phantombutton.devices.receiver import Pairing

    return Device(_receiver(engine), Pairing(slot, wpid or 0, kind=0x02, polling_ms=0))


def apply_setting(engine, slot: int, wpid: int | None, name: str, value) -> SettingOutcome:
    """One setting through devices/settings.py: read it; if it differs, write it (that module
    changes only the bit concerned and reads back, raising NotApplied on a mismatch)."""
    from phantombutton.devices import settings

    device = _device(engine, slot, wpid)
    want = setting_text(value)
    before = settings.get(device, name)
    if before == want:
        return SettingOutcome(name, before, changed=False)
    after = settings.put(device, name, want)
    return SettingOutcome(name, after, changed=True)


def device_identity(engine, slot: int) -> tuple[str | None, str | None]:
    """Serial and name from the receiver's pairing table (0xB5 0x2n/0x3n/0x4n, answered by
    the receiver itself; never sub 0x03, which makes hid-logitech-dj re-enumerate)."""
    pairing = _receiver(engine).pairing(slot)
    if pairing is None:
        return None, None
    return pairing.serial, pairing.name or None


class HardwareParts:
    """Unifying receivers found in sysfs, opened through hidraw; releases by the recovery
    chain (recovery/chain.py) on the mouse's own event node, and in X when there is one."""

    def __init__(self, sysfs: str = "/sys", *, allow_mute: bool = False, release=None):
        self.sysfs = sysfs
        self.allow_mute = allow_mute
        self._release = release
        # Import now, not at the first phantom: on a slow machine imports take a noticeable
        # part of the second the release has to happen in.
        import phantombutton.input.xinput  # noqa: F401
        import phantombutton.recovery.live  # noqa: F401
        if os.environ.get("DISPLAY"):
            import Xlib.display  # noqa: F401

    def find_receivers(self) -> list[str]:
        from phantombutton.transport.discovery import LOGITECH, find_receivers

        # Safety: only Logitech (046d) Unifying receivers, never any other hidraw node.
        return [r.node for r in find_receivers(self.sysfs)
                if r.vendor == LOGITECH and r.product in UNIFYING_PIDS]

    def open_engine(self, node: str):
        from phantombutton.transport.engine import Engine
        from phantombutton.transport.hidraw import HidrawTransport

        return Engine(HidrawTransport(node))

    apply_setting = staticmethod(apply_setting)
    device_identity = staticmethod(device_identity)
    phantom_mask = staticmethod(phantom_mask)

    def observe_buttons(self, node: str, slot: int, mask: int) -> None:
        pass   # the real kernel keeps its own state; the chain reads it with EVIOCGKEY

    def held_codes(self, node: str, slot: int) -> frozenset[int] | None:
        from phantombutton.input.evdev_node import held_keys

        event = event_node_for(node, slot, self.sysfs)
        return None if event is None else held_keys(event)

    def release(self, held: PhantomHeld) -> ReleaseOutcome:
        node = event_node_for(held.receiver_node, held.slot, self.sysfs)
        if node is None:
            return ReleaseOutcome(False, f"no event node found for slot {held.slot} behind "
                                         f"{held.receiver_node}")
        if self._release is not None:
            return self._release(node, held)
        x, no_x = self._x_session()
        try:
            return chain_release(node, held, x, allow_mute=self.allow_mute, no_x=no_x)
        except Exception as e:  # noqa: BLE001 - the X server went away (restart, logout)
            if x is None or isinstance(e, PhantomError):
                raise
            self._drop_x()
            return chain_release(node, held, None, allow_mute=self.allow_mute,
                                 no_x=f" [X: connection lost ({type(e).__name__}); without X]")

    # One X connection, kept between releases (a connection costs round trips the release
    # has to wait for); dropped when it fails, opened again at the next release, so an X
    # server that restarted is picked up and a missing one costs nothing.
    _x = None

    def connect_x(self, within: float | None = None) -> str | None:
        """Open the X connection now; why there is none (to be said once), or None. `within`
        bounds the wait for a server that does not answer (daemon --for)."""
        from phantombutton.input.xinput import X_TIMEOUT, XUnavailable

        if self._x is not None:
            return None
        try:
            self._x = self._open_x(min(X_TIMEOUT, max(0.01, within)) if within is not None else X_TIMEOUT)
        except XUnavailable as e:
            return str(e)
        except Exception as e:  # noqa: BLE001 - a dying server: carry on without X
            return f"{type(e).__name__}: {e}"
        return None

    @staticmethod
    def _open_x(timeout: float):
        from phantombutton.input.xinput import XSession

        return XSession(timeout=timeout)

    def _x_session(self):
        if self._x is not None:
            return self._x, ""
        from phantombutton.input.xinput import X_TIMEOUT, XUnavailable

        try:
            self._x = self._open_x(X_TIMEOUT)
        except XUnavailable as e:
            return None, f" [X: {e}]"
        except Exception as e:  # noqa: BLE001 - a dying server: carry on without X
            return None, f" [X: {type(e).__name__}: {e}]"
        return self._x, ""

    def _drop_x(self) -> None:
        if self._x is not None:
            self._x.close()
            self._x = None


def release_target(held: PhantomHeld, node: str, slave=None) -> Target:
    """What the recovery chain is asked to release for the daemon's PhantomHeld; `slave` is
    the mouse's X slave (input.xinput.XPointer) when X is there."""
    return Target(
        device=f"{models.model_for(held.wpid).name} slot {held.slot}", node=node,
        code=held.code, x_button=x_button_for(held.code),
        x_slave_id=slave.id if slave else None,
        x_master_id=slave.attachment if slave else None,
        model_has_button=False)   # the daemon only acts on buttons the model lacks


def release_outcome(target: Target, layers, *, allow_mute: bool, note: str = "",
                    **chain_options) -> ReleaseOutcome:
    """Run the recovery chain; its summary and every step's line make the journal's detail."""
    out = run_chain(target, layers, allow_mute=allow_mute, **chain_options)
    steps = "; ".join(a.line() for a in out.attempts)
    return ReleaseOutcome(out.released, out.summary() + (f" ({steps})" if steps else "") + note)


def chain_release(node: str, held: PhantomHeld, x, *, allow_mute: bool, no_x: str = "") -> ReleaseOutcome:
    """The recovery chain for one held button of one mouse: the event node first, X (when
    there is one) for the slave's state and the XTest fallback. Without X the chain still
    acts on the event node, which is what X itself follows."""
    from phantombutton.input.xinput import find_slave
    from phantombutton.recovery.live import LiveLayers

    slave = find_slave(x.pointers(), node) if x is not None else None
    return release_outcome(release_target(held, node, slave), LiveLayers(x),
                           allow_mute=allow_mute, note=no_x)


def event_node_for(receiver_node: str, slot: int, sysfs: str = "/sys") -> str | None:
    """/dev/input/eventN of the mouse in `slot` behind the receiver at /dev/hidrawN.

    Only the event nodes of the receiver's children are looked at (the paired devices' HID
    devices are children of the receiver's); which slot each one is in, input/sysfs_map.py
    says, as it does for `watch` and `capture`."""
    from phantombutton.input.sysfs_map import describe

    hid_dir = os.path.join(sysfs, "class", "hidraw", os.path.basename(receiver_node), "device")
    for event in sorted(glob.glob(os.path.join(hid_dir, "[0-9]*:*", "input", "input*", "event*"))):
        p = describe(os.path.basename(event), sysfs)
        if p is not None and p.slot == slot:
            return p.node
    return None


class VirtualParts:
    """The in-process virtual receiver (`phantombutton --virtual daemon`, tests).

    There is no kernel behind it, so the input core's key state is modelled by the
    recovery layer's VirtualKernel, fed with every DJ mouse report the daemon reads; the
    release is the same recovery chain as on hardware, on that model (no X: steps 1 and 3)."""

    def __init__(self, receiver, node: str = "virtual:c52b", *, allow_mute: bool = False,
                 release=None):
        from phantombutton.input.virtual_source import VirtualKernel

        self.receiver = receiver
        self.node = node
        self.allow_mute = allow_mute
        self.kernel = VirtualKernel()
        self._release = release

    def find_receivers(self) -> list[str]:
        return [] if getattr(self.receiver, "unplugged", False) else [self.node]

    def open_engine(self, node: str):
        from phantombutton.transport.engine import Engine
        from phantombutton.transport.virtual import VirtualTransport

        self.kernel.hid_mask.clear()      # a (re)plugged receiver: a fresh kernel state
        self.kernel.keys.clear()
        return Engine(VirtualTransport(self.receiver, node=node))

    apply_setting = staticmethod(apply_setting)
    device_identity = staticmethod(device_identity)
    phantom_mask = staticmethod(phantom_mask)

    def observe_buttons(self, node: str, slot: int, mask: int) -> None:
        self.kernel.report(slot, mask)

    def held_codes(self, node: str, slot: int) -> frozenset[int] | None:
        return self.kernel.held(slot)

    def release(self, held: PhantomHeld) -> ReleaseOutcome:
        if self._release is not None:
            return self._release(held)
        from phantombutton.input.virtual_source import virtual_node
        from phantombutton.recovery.virtual_layers import VirtualLayers

        return release_outcome(release_target(held, virtual_node(held.slot)),
                               VirtualLayers(_KernelOnly(self.kernel)),
                               allow_mute=self.allow_mute, settle=0.0)


class _KernelOnly:
    """What VirtualLayers needs of a VirtualSource: the kernel model and its two writes."""

    def __init__(self, kernel):
        self.kernel = kernel

    def inject_key(self, slot: int, code: int, value: int) -> None:
        self.kernel.write(slot, code, value)

    def mute(self, slot: int, code: int, on: bool = True) -> None:
        self.kernel.mute(slot, code, on)
