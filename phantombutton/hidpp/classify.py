"""What kind of input report is this, and whose request does it answer? One classifier.

Every hidraw reader of a receiver sees every input report: notifications, DJ input, and the
replies to everybody's requests. The engine (keeping what is not its reply), the HID++
context of a finding and the decoder all ask the same two questions, answered here from raw
bytes, without raising:

- `classify(raw)`: malformed, DJ input, notification/event, or a reply (errors included);
- `software_id(raw)`: the asker's HID++ 2.0 software id, low nibble of byte 3 (or of byte 4
  in an error frame), None where the protocol carries none (1.0 registers, notifications);
- `answer(request, raw)`: is this the reply, or the error, that answers our request?

Software id 0 normally means an event (a device speaking unasked). The exception is the
kernel's ping: before 6.2, hid-logitech-hidpp.c hidpp_root_get_protocol_version sent
CMD_ROOT_GET_PROTOCOL_VERSION (ROOT fn 1) through the RAP path without LINUX_KERNEL_SW_ID
("HID: Send SwID in GetProtocolVersion" added it in 6.2). The ROOT feature has no events,
so a ROOT frame with software id 0, or an error to one, is that ping: the kernel's.
"""

from __future__ import annotations

from enum import Enum

from phantombutton import SOFTWARE_ID
from phantombutton.hidpp.errors import Hidpp10Error, Hidpp20Error
from phantombutton.hidpp.frames import DJ_REPORT_IDS, HIDPP_REPORT_IDS, REPORT_LENGTH, ReportId, length_ok
from phantombutton.hidpp.hidpp10 import SubId
from phantombutton.hidpp.hidpp20 import ERROR_INDEX, ROOT_INDEX

NOTIFICATION_FIRST = 0x40   # HID++ 1.0 notification sub ids are 0x40..0x7F
DJ_NOTIFICATION_FIRST = 0x40   # DJ report types below are RF input (keyboard 0x01, mouse 0x02)

# Who uses which HID++ 2.0 software id. Solaar rotated 0x2..0xF before 1.1.20 (commit
# 3e88c736 fixed 0x0B), so an old Solaar can hide behind any of them; we name the current
# owner. 0x0E is ours (phantombutton.SOFTWARE_ID). 0x00 in a reply: the kernel's ping
# before 6.2 (see above); in anything else software id 0 is an event and has no owner.
KERNEL_SW_ID = 0x01             # hid-logitech-hidpp.c LINUX_KERNEL_SW_ID
OLD_KERNEL_PING_SW_ID = 0x00
SOFTWARE_IDS: dict[int, str] = {
    OLD_KERNEL_PING_SW_ID: "kernel before 6.2",
    KERNEL_SW_ID: "kernel",
    0x02: "logiops",
    0x03: "logiops",
    0x07: "OpenRGB",
    0x08: "libratbag",
    0x0A: "LGSTrayEx",
    0x0B: "Solaar",
    0x0D: "G HUB",
    SOFTWARE_ID: "phantombutton",
    0x0F: "firmware",
}
KERNEL_SW_IDS = frozenset({OLD_KERNEL_PING_SW_ID, KERNEL_SW_ID})

# Register reads whose replies also repeat p0, the sub-register (long 0xB5, short 0xF1).
P0_MATCHED = frozenset({(SubId.GET_LONG, 0xB5), (SubId.GET_SHORT, 0xF1)})


def owner(sw: int) -> str:
    """The program behind a software id seen in a request, reply or error."""
    return SOFTWARE_IDS.get(sw, "unknown")


class FrameKind(str, Enum):
    NOTIFICATION = "notification"  # receiver/1.0 notification (sub-id 0x40..0x7F) or 2.0 event (sw id 0)
    REPLY = "reply"  # a reply or error to a request (ours or another program's)
    INPUT = "input"  # DJ report (0x20/0x21): mouse/keyboard input, DJ notifications
    MALFORMED = "malformed"  # wrong length or unknown report id


def well_formed(raw: bytes) -> bool:
    """A HID++ or DJ report of its report id's length (very long: 20..64 bytes)."""
    return bool(raw) and raw[0] in REPORT_LENGTH and length_ok(ReportId(raw[0]), len(raw))


def is_hidpp(raw: bytes) -> bool:
    return well_formed(raw) and raw[0] in HIDPP_REPORT_IDS


def _is_error_to_20_request(raw: bytes) -> bool:
    """`FF fi fn|sw code` (2.0), or `8F fi fn|sw code`: a 1.0 device's answer to a 2.0
    request (a ping); a register error repeats a sub id >= 0x80 there instead."""
    return raw[2] == ERROR_INDEX or (raw[2] == SubId.ERROR and raw[3] < 0x80)


def classify(raw: bytes) -> FrameKind:
    """The kind of one input report. Pure; never raises."""
    raw = bytes(raw)
    if not well_formed(raw):
        return FrameKind.MALFORMED
    if raw[0] in DJ_REPORT_IDS:
        return FrameKind.INPUT
    sub = raw[2]
    if _is_error_to_20_request(raw) or sub >= 0x80:   # 1.0 register replies and errors too
        return FrameKind.REPLY
    if sub >= NOTIFICATION_FIRST:   # receiver and HID++ 1.0 notifications (0x41 connection ...)
        return FrameKind.NOTIFICATION
    if raw[3] & 0x0F == 0 and sub != ROOT_INDEX:   # 2.0 events carry software id 0
        return FrameKind.NOTIFICATION
    return FrameKind.REPLY


def software_id(raw: bytes) -> int | None:
    """The asking program's software id in a 2.0 request, reply or error; 0 in a 2.0 event
    or the kernel's ping before 6.2; None where HID++ carries none (1.0 registers and their
    errors, notifications, DJ and malformed reports). Pure; never raises."""
    raw = bytes(raw)
    if not is_hidpp(raw):
        return None
    if _is_error_to_20_request(raw):
        return raw[4] & 0x0F
    if raw[2] >= NOTIFICATION_FIRST:
        return None
    return raw[3] & 0x0F


def answer(request: bytes, raw: bytes) -> bytes | None:
    """`raw` if it is the reply to `request`, None if it answers something else; raises the
    device's Hidpp10Error or Hidpp20Error if it is the error answering `request`.

    docs/hidpp.md "Reply matching", as hid-logitech-hidpp.c hidpp_match_answer: a reply has
    the request's device index and repeats the two bytes after it (sub id or feature index,
    register address or function|software id); replies to long 0xB5 and short 0xF1 reads also
    repeat p0. Error frames 8F (1.0) and FF (2.0) carry the same two bytes one position later.
    """
    if not is_hidpp(raw) or raw[1] != request[1]:
        return None
    devnum, b2, b3 = request[1], request[2], request[3]
    if raw[2] == b2 and raw[3] == b3 and ((b2, b3) not in P0_MATCHED or raw[4] == request[4]):
        return raw
    if raw[3] == b2 and raw[4] == b3:
        if raw[2] == SubId.ERROR:
            raise Hidpp10Error(devnum, b2, b3, raw[5])
        if raw[2] == ERROR_INDEX:
            raise Hidpp20Error(devnum, b2, b3 >> 4, raw[5])
    return None
