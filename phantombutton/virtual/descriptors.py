"""Report descriptors of the emulated receivers and mice.

The receiver's HID++/DJ interface must be byte-identical to `hidpp_descriptor` in the
kernel's hid-logitech-dj.c (98 bytes; docs/receivers.md): hid-logitech-dj and hidraw readers (Solaar, us) pick the
node by it. Three vendor application collections on usage page 0xFF00, each report both
input and output, 8-bit fields with logical range 0..255:
  usage 1: report 0x10, 6 data bytes   (HID++ short)
  usage 2: report 0x11, 19 data bytes  (HID++ long)
  usage 4: report 0x20, 14 data bytes and report 0x21, 31 data bytes (DJ short/long)
"""

from __future__ import annotations

HIDPP_RECEIVER_DESCRIPTOR = bytes.fromhex(
    # usage page FF00, usage 1, collection; id 0x10, size 8, count 6, 0..255, in/out; end
    "06 00 ff 09 01 a1 01 85 10 75 08 95 06 15 00 26 ff 00 09 01 81 00 09 01 91 00 c0"
    # usage 2: id 0x11, count 19
    "06 00 ff 09 02 a1 01 85 11 75 08 95 13 15 00 26 ff 00 09 02 81 00 09 02 91 00"
    " c0"
    # usage 4: id 0x20, count 14 (usage 0x41); id 0x21, count 31 (usage 0x42)
    "06 00 ff 09 04 a1 01 85 20 75 08 95 0e 15 00 26 ff 00 09 41 81 00 09 41 91 00"
    " 85 21 95 1f 15 00 26 ff 00 09 42 81 00 09 42 91 00 c0"
)

# A mouse application as report 2: 16 buttons, 16-bit X/Y, wheel, AC Pan - the layout of
# hid-logitech-dj.c `mse_high_res_descriptor`, written out here (wire.py `mouse_report`).
HIGH_RES_MOUSE_COLLECTION = bytes.fromhex(
    "05 01 09 02 a1 01 85 02 09 01 a1 00"                  # Generic Desktop, Mouse, report 2, Pointer
    " 05 09 19 01 29 10 15 00 25 01 95 10 75 01 81 02"     # 16 buttons
    " 05 01 16 01 80 26 ff 7f 75 10 95 02 09 30 09 31 81 06"   # X, Y: 16-bit relative
    " 15 81 25 7f 75 08 95 01 09 38 81 06"                 # wheel
    " 05 0c 0a 38 02 95 01 81 06"                          # AC Pan
    " c0 c0"
)
