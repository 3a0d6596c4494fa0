"""What the daemon does through the layers above it: settings with read-back, the identity of
a paired device (every receiver family's registers: devices/pairing.py; a mouse without a
receiver: devices/direct.py), and the release of one held button by the
recovery chain on the mouse's event node (and in X, over one connection kept between
releases). The platform (transport/platform.py) says where the nodes are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from phantombutton.devices import pairing, settings
from phantombutton.devices.device import Device
from phantombutton.devices.direct import friendly_name, unit_id
from phantombutton.devices.receiver import Pairing, Receiver
from phantombutton.errors import DeviceGone, PhantomError
from phantombutton.hidpp import hidpp10
from phantombutton.hidpp.errors import HidppError
from phantombutton.hidpp.frames import RECEIVER
from phantombutton.hidpp.hidpp10 import Register
from phantombutton.input.xinput import (
    X_TIMEOUT,
    XSession,
    XUnavailable,
    find_slave,
    x_errors,
)
from phantombutton.recovery.chain import Outcome, Target, run_chain
from phantombutton.recovery.live import LiveLayers
from phantombutton.receivers import KernelDriver, family_of
from phantombutton.transport.direct import DIRECT_INDEX
from phantombutton.transport.platform import Platform


@dataclass(frozen=True)
class SettingOutcome:
    """One setting applied on connect, read back."""

    value: object                # read back after the write
    changed: bool                # False: it already had the wanted value, nothing written


def setting_text(value: object) -> str:
    """Config values (true, 800, "reset") in the words devices/settings.py speaks (and the
    journal shows)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _receiver(engine, product: int | None = None):
    """The receiver of `product`'s family (receivers.py; an unknown one reads as Unifying)."""
    return Receiver(engine, getattr(engine.transport, "node", "receiver"), product or 0xC52B)


def connection_device(engine, slot: int, wpid: int | None, product: int | None = None) -> Device:
    """The device in `slot` (DIRECT_INDEX: the mouse itself) for one connection: its feature
    table is read once, and again at the next connection (a firmware update changes it)."""
    return Device(_receiver(engine, product), Pairing(slot, wpid or 0, kind=0x02, polling_ms=0))


def apply_setting(device: Device, name: str, value) -> SettingOutcome:
    """One setting through devices/settings.py (HID++ 1.0 registers by model, HID++ 2.0 by
    the device's features: devices/settings20.py): read it; if it differs, write it (that
    module changes only the bits concerned and reads back, raising NotApplied on a mismatch)."""
    want = setting_text(value)
    before = settings.get(device, name)
    if before == want:
        return SettingOutcome(before, changed=False)
    return SettingOutcome(settings.put(device, name, want), changed=True)   # the value read back


def device_identity(engine, slot: int, product: int | None = None) -> tuple[str | None, str | None]:
    """Serial and name from the receiver's pairing table (Unifying/Nano/Lightspeed 0xB5
    0x2n/0x3n/0x4n, Bolt 0x5n/0x6n, answered by the receiver itself; never sub 0x03, which
    makes hid-logitech-dj re-enumerate). A mouse without a receiver (slot DIRECT_INDEX): its
    unit id and friendly name, as `list` shows them (devices/direct.py)."""
    if slot == DIRECT_INDEX:
        device = connection_device(engine, slot, product)
        return unit_id(device), friendly_name(device)
    record = _receiver(engine, product).pairing(slot)
    if record is None:
        return None, None
    return record.serial, record.name or None


def enable_connection_notifications(engine, product: int | None) -> str | None:
    """On a receiver hid-generic drives (Bolt on 6.1: receivers.py KernelDriver.GENERIC) no
    driver turns its wireless notifications on, so it sends no 0x41 when a mouse wakes up,
    until Solaar (receiver.py `enable_connection_notifications`: register 0x00, wireless flag)
    runs. hid-logitech-dj sets them on the receivers it drives; there nothing is written.
    Read-modify-write of register 0x00 (only the wireless bit 0x000100), read back: what was
    done in words, or None when nothing needed doing. HidppError/PhantomError propagate."""
    family = family_of(product) if product is not None else None
    if family is None or family.kernel is not KernelDriver.GENERIC:
        return None
    flags = int.from_bytes(engine.read_register(RECEIVER, Register.NOTIFICATIONS)[:3], "big")
    if flags & hidpp10.NotificationFlag.WIRELESS:
        return None
    want = flags | hidpp10.NotificationFlag.WIRELESS
    engine.write_register(RECEIVER, Register.NOTIFICATIONS, want.to_bytes(3, "big"))
    after = int.from_bytes(engine.read_register(RECEIVER, Register.NOTIFICATIONS)[:3], "big")
    if not after & hidpp10.NotificationFlag.WIRELESS:
        raise settings.NotApplied(f"wrote wireless notifications on but register 0x00 reads back 0x{after:06X}")
    return (f"wireless notifications turned on (register 0x00 0x{flags:06X} -> 0x{after:06X}; "
            f"{family.kernel.value} does not, so a reconnect would go unseen)")


def paired_count(engine, product: int | None) -> int | None:
    """Register 0x02 byte 1 (how many devices are paired; devices/receiver.py), None when the
    receiver does not say (a HID++ error or no answer). DeviceGone propagates."""
    try:
        return _receiver(engine, product).paired_count()
    except DeviceGone:
        raise
    except (HidppError, PhantomError):
        return None


def paired_wpid(engine, product: int | None, slot: int) -> int | None:
    """The WPID in `slot` from the family's first pairing register only (devices/pairing.py
    `wpid`), None when the slot is empty or the receiver refuses the read."""
    return pairing.wpid(_receiver(engine, product), slot)


def chain_release(platform: Platform, x: KeptX, target: Target, *, allow_mute: bool) -> Outcome:
    """The recovery chain for one held button of one mouse (`target.node` its event node):
    the event node first, X (when there is one) for the slave's state and the XTest fallback.
    Without X the chain still acts on the event node, which is what X itself follows. An X
    server that goes away during the release (restart, logout) is dropped and the chain runs
    again without it."""
    session, no_x = x.session()

    def chain(session, note: str) -> Outcome:
        slave = find_slave(session.pointers(), target.node) if session is not None and target.node else None
        aimed = replace(target, x_slave_id=slave.id if slave else None,
                        x_master_id=slave.attachment if slave else None)
        out = run_chain(aimed, LiveLayers(session, nodes=platform.nodes), allow_mute=allow_mute)
        out.note = note
        return out

    try:
        return chain(session, no_x)
    except x_errors() as e:
        if session is None:
            raise
        x.drop()
        return chain(None, f" [X: connection lost ({type(e).__name__}); without X]")


class KeptX:
    """One X connection, kept between releases (a connection costs round trips the release
    has to wait for); dropped when it fails, opened again at the next release, so an X
    server that restarted is picked up and a missing one costs nothing."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.x: XSession | None = None

    def connect(self, within: float | None = None) -> str | None:
        """Open the connection now; why there is none (to be said once), or None. `within`
        bounds the wait for a server that does not answer (daemon --for)."""
        if self.x is None:
            self.x, problem = self._open(X_TIMEOUT if within is None else min(X_TIMEOUT, max(0.01, within)))
            return problem
        return None

    def session(self) -> tuple[XSession | None, str]:
        problem = self.connect()
        return self.x, f" [X: {problem}]" if problem else ""

    def _open(self, timeout: float) -> tuple[XSession | None, str | None]:
        try:
            return self.platform.x_session(timeout), None
        except XUnavailable as e:
            return None, str(e)
        except x_errors() as e:   # a dying server: carry on without X
            return None, f"{type(e).__name__}: {e}"

    def drop(self) -> None:
        if self.x is not None:
            x, self.x = self.x, None
            x.close()
