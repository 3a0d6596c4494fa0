"""What the daemon does through the layers above it: settings with read-back, the identity of
a paired device, and the release of one held button by the
recovery chain on the mouse's event node (and in X, over one connection kept between
releases). The platform (transport/platform.py) says where the nodes are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from phantombutton.devices import settings
from phantombutton.devices.device import Device
from phantombutton.devices.receiver import Pairing, Receiver
from phantombutton.input.xinput import (
    X_TIMEOUT,
    XSession,
    XUnavailable,
    find_slave,
    x_errors,
)
from phantombutton.recovery.chain import Outcome, Target, run_chain
from phantombutton.recovery.live import LiveLayers
from phantombutton.transport.platform import Platform


@dataclass(frozen=True)
class SettingOutcome:
    name: str
    value: object                # read back after the write
    changed: bool                # False: it already had the wanted value, nothing written


def setting_text(value: object) -> str:
    """Config values (true, 800, "reset") in the words devices/settings.py speaks (and the
    journal shows)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _receiver(engine):
    return Receiver(engine, getattr(engine.transport, "node", "receiver"))


def _device(engine, slot: int, wpid: int | None):
    return Device(_receiver(engine), Pairing(slot, wpid or 0, kind=0x02, polling_ms=0))


def apply_setting(engine, slot: int, wpid: int | None, name: str, value) -> SettingOutcome:
    """One setting through devices/settings.py: read it; if it differs, write it (that module
    changes only the bit concerned and reads back, raising NotApplied on a mismatch)."""
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
        if self.x is None:
            self.x, problem = self._open(X_TIMEOUT)
            return self.x, f" [X: {problem}]" if problem else ""
        return self.x, ""

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
