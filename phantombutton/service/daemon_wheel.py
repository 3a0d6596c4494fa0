"""The daemon's wheel guard and resume handling, kept beside daemon.py (which calls in).

- Wheel: the receiver node carries every DJ mouse report, so the raw wheel units per report
  are seen without the event node. They are scaled the way the kernel scales them (120 /
  multiplier per unit: detect/wheel.py) and fed to the same WheelGuard as `watch`; checks and
  repairs go through the link's own engine. Every event is one journal line.
- Resume: service/sleep.py's PrepareForSleep(false) -> every receiver's paired devices are
  pinged again and each online one goes through the daemon's connect path (held buttons
  first, settings second), and the wheel mode is read at once (not at the next wheel use).
"""

from __future__ import annotations

from phantombutton.detect.wheel import HIDPP10_MULTIPLIER, NOTCH
from phantombutton.recovery.wheel import WheelEvent, WheelGuard
from phantombutton.service.parts import connection_device

_PRIORITY = {"finding": "warning", "backoff": "warning", "failed": "error", "not-verified": "error",
             "repaired": "notice", "verified": "notice", "ok": "info", "note": "info"}


class DaemonWheel:
    def __init__(self, daemon, *, sleep=None):
        self.daemon = daemon
        self.guard = WheelGuard(self._access, fix=True, clock=daemon.clock,
                                listeners=lambda key: daemon.platform.listeners(key[0]))
        self.devices: dict = {}
        self.sleep = sleep            # service/sleep.py SleepWatch, or None
        self.resumes = 0

    # ---- wheel -------------------------------------------------------------------------------
    def _access(self, key):
        link = self.daemon.links.get(key[0])
        if link is None:
            return None
        device = self.devices.get(key)
        if device is None or device.engine is not link.engine:
            device = connection_device(link.engine, key[1], link.slot(key[1]).wpid, link.product)
            self.devices[key] = device
        return device

    def connected(self, link, slot: int) -> None:
        key = (link.node, slot)
        self.devices.pop(key, None)
        st = self.guard.states.get(key)
        if st is not None and self.daemon.clock() - st.last_read < 5.0:
            return                               # just read (a resume re-check): no second read
        self.guard.connected(key, f"{link.node} slot {slot}")

    def report(self, link, slot: int, units: int, t: float) -> None:
        """A DJ mouse report's wheel byte (raw units)."""
        if not units:
            return
        key = (link.node, slot)
        st = self.guard.states.get(key) or self.guard.state(key, f"{link.node} slot {slot}")
        mult = st.multiplier or HIDPP10_MULTIPLIER
        hi = units * NOTCH // mult if units > 0 else -(-units * NOTCH // mult)
        self._log(self.guard.frame(key, t, hi, 0))

    def traffic(self, link, raw: bytes, t: float) -> None:
        self.guard.writers.note(t, link.node, raw)

    def tick(self) -> None:
        self._log(self.guard.tick(self.daemon.clock()))
        if self.sleep is not None:
            try:
                events = self.sleep.poll(0)
            except Exception as e:   # the bus went away: say so once, go on without it
                self.daemon.journal.warning(f"system D-Bus lost ({type(e).__name__}: {e}); "
                                            "resume is noticed by wheel activity only")
                self.sleep = None
                return
            for ev in events:
                self.daemon.journal.info(f"logind: {ev.describe()} (PrepareForSleep({str(ev.going_down).lower()}))")
                if not ev.going_down:
                    self.resumed()

    def resumed(self) -> None:
        """Re-check every device now: held buttons and settings (the connect path), wheel."""
        self.resumes += 1
        self.guard.wake()
        d = self.daemon
        for link in list(d.links.values()):
            d._announce_connected(link)          # pings each paired slot; online ones reconnect
        for link in list(d.links.values()):
            for slot, st in sorted(link.slots.items()):
                if st.connected:
                    key = (link.node, slot)
                    self.devices.pop(key, None)
                    self.guard.state(key, f"{link.node} slot {slot}")
                    self._log(self.guard.check(key, reason="resume from sleep"))

    def _log(self, events: list[WheelEvent]) -> None:
        for e in events:
            getattr(self.daemon.journal, _PRIORITY.get(e.kind, "info"))(e.line().strip())
            if e.kind == "finding":
                for line in e.evidence:
                    self.daemon.journal.info(f"  {line}")

    def close(self) -> None:
        if self.sleep is not None:
            self.sleep.close()
