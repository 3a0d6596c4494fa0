"""Sleep and resume: logind's PrepareForSleep signal on the system D-Bus.

logind (org.freedesktop.login1.Manager on /org/freedesktop/login1) emits
PrepareForSleep(true) before a suspend or hibernate and PrepareForSleep(false) after the
resume. A mouse can lose its wheel mode (or keep a button down) across the sleep without the
receiver reporting a reconnection, so on `false` the daemon re-checks every device at once.

D-Bus library: jeepney. It is pure Python (no C extension, no GLib main loop to run beside
ours), has no dependencies, is maintained and packaged by Debian (python3-jeepney) because
keyring/SecretStorage use it, and its blocking connection exposes the socket, so the daemon
polls it between HID++ reads with a zero timeout. dbus-python needs libdbus and a GLib loop;
dbus-fast is asyncio-first and compiles Cython extensions.

The bus address: `DBUS_SYSTEM_BUS_ADDRESS` as jeepney reads it, else the well-known socket;
tests pass the address of a private bus.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from jeepney import MatchRule, MessageType, message_bus
from jeepney.io.blocking import open_dbus_connection
from jeepney.low_level import HeaderFields

LOGIN1_PATH = "/org/freedesktop/login1"
LOGIN1_MANAGER = "org.freedesktop.login1.Manager"
SIGNAL = "PrepareForSleep"


class SleepUnavailable(Exception):
    """No system bus (a container, a CI box): the daemon relies on wheel activity instead."""


@dataclass(frozen=True)
class SleepEvent:
    """The system is about to sleep, or resumed."""

    going_down: bool          # True: about to sleep; False: resumed

    def describe(self) -> str:
        return "system going to sleep" if self.going_down else "system resumed from sleep"


class SleepWatch:
    def __init__(self, bus: str = "SYSTEM"):
        try:
            self.conn = open_dbus_connection(bus=bus)
        except Exception as e:   # no socket, refused, auth: one line, the caller goes on without
            raise SleepUnavailable(f"no system D-Bus ({type(e).__name__}: {e})") from None
        rule = MatchRule(type="signal", interface=LOGIN1_MANAGER, member=SIGNAL, path=LOGIN1_PATH)
        try:
            self.conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=2.0)
        except Exception as e:
            self.conn.close()
            raise SleepUnavailable(f"cannot subscribe to {SIGNAL} ({type(e).__name__}: {e})") from None

    def poll(self, timeout: float = 0.0) -> list[SleepEvent]:
        """PrepareForSleep signals that arrived (waiting at most `timeout` for the first).
        jeepney's receive() returns buffered messages first and waits only for new data."""
        out: list[SleepEvent] = []
        wait = max(0.0, timeout)
        while True:
            try:
                msg = self.conn.receive(timeout=wait)
            except TimeoutError:
                return out
            wait = 0.0
            h = msg.header
            if (h.message_type is MessageType.signal and h.fields.get(HeaderFields.member) == SIGNAL
                    and h.fields.get(HeaderFields.interface) == LOGIN1_MANAGER and msg.body):
                out.append(SleepEvent(bool(msg.body[0])))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
