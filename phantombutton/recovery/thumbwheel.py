"""A thumb wheel left diverted (THUMB_WHEEL 0x2150) in `watch` (and `--fix`): the thumb-wheel
part of the diversion guard (recovery/diversion.py DiversionGuard feeds it; the rule in
detect/diversion.py, THUMB_EVENT).

The mouse sends THUMB_WHEEL events only while its thumb wheel is diverted. HID++ requests it
adds, per mouse:
- the first event-like report from a slot that is not a REPROG_CONTROLS_V4 event: one ROOT
  getFeature(0x2150) (then cached);
- a THUMB_WHEEL event (at most once per CHECK_GAP): one getThumbwheelStatus; with --fix and a
  stale verdict: getThumbwheelStatus, setThumbwheelReporting(HID, invert as read),
  getThumbwheelStatus (the read-back; devices/settings20.py write_thumb).
A repair is verified by the next turn reaching evdev as REL_HWHEEL (a Motion with `hwheel`).
"""

from __future__ import annotations

from phantombutton.detect.diversion import THUMB_EVENT, THUMB_START
from phantombutton.devices.settings20 import read_thumb, write_thumb
from phantombutton.errors import PhantomError
from phantombutton.hidpp.errors import HidppError
from phantombutton.recovery.diversion_base import CHECK_GAP, VERIFY_WINDOW, DiversionEvent, GuardBase, Mouse

SETTLE = 1.0              # thumb-wheel events this soon after its reset (no new turn's start):
#                           the rest of the turn that was repaired


class ThumbWheelPart(GuardBase):
    """The thumb-wheel half of DiversionGuard: `_thumb` takes a THUMB_WHEEL event, `_turned`
    a native turn, `_thumb_tick` gives up on a repair no turn verified."""

    def _thumb(self, mouse: Mouse, t: float, status: int) -> list[DiversionEvent]:
        """A THUMB_WHEEL event: the mouse sends it only while its thumb wheel is diverted."""
        if mouse.thumb_reset_at is not None:
            if status != THUMB_START and t - mouse.thumb_reset_at < SETTLE:
                return []         # the rest of the turn that was repaired, sent before the reset
            mouse.thumb_reset_at, mouse.thumb_left_alone = None, True
            return [DiversionEvent("not-verified", t, mouse.name, (
                "thumb wheel is diverted again after the repair: a program diverts it on purpose; "
                "left alone from now on"))]
        if mouse.thumb_left_alone or t - mouse.thumb_checked_at < CHECK_GAP:
            return []
        mouse.thumb_checked_at = t
        try:
            device = self.access(mouse.key)
            if device is None or read_thumb(device) != "hidpp":
                return []         # diverted a moment ago, native now: its program undid it
        except (HidppError, PhantomError, OSError) as e:
            return [DiversionEvent("note", t, mouse.name, f"thumb-wheel event, but its reporting mode "
                                                          f"could not be read: {e}")]
        out, stale = self._judge(mouse, [("thumb wheel", "diverted")], t, THUMB_EVENT)
        if not (stale and self.fix):
            return out
        try:
            after = write_thumb(device, "hid")   # the invert byte kept; raises unless it reads back hid
        except (HidppError, PhantomError, OSError) as e:
            return out + [DiversionEvent("failed", t, mouse.name, f"thumb wheel: reset refused or not "
                                                                  f"applied: {e}")]
        mouse.thumb_reset_at = t
        return out + [DiversionEvent("repaired", t, mouse.name, (
            f"thumb wheel: reporting mode set back to HID (read back: {after}); verifying with its "
            "next turn"))]

    def _turned(self, mouse: Mouse, t: float) -> list[DiversionEvent]:
        if mouse.thumb_reset_at is None:
            return []
        mouse.thumb_reset_at = None
        return [DiversionEvent("verified", t, mouse.name, (
            f"thumb wheel: its next turn reached evdev as REL_HWHEEL ({mouse.event_node})"))]

    def _thumb_tick(self, mouse: Mouse, now: float) -> list[DiversionEvent]:
        if mouse.thumb_reset_at is None or now - mouse.thumb_reset_at <= VERIFY_WINDOW:
            return []
        mouse.thumb_reset_at = None
        return [DiversionEvent("note", now, mouse.name, (
            f"thumb wheel: not turned within {VERIFY_WINDOW:g} s of the repair; not verified "
            "by a turn (the read-back showed it reporting to HID)"))]
