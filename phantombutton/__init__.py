"""phantombutton: diagnose and release phantom held buttons of Logitech mice."""

__version__ = "0.1.0"

# Our HID++ 2.0 software id. Replies carry it back, so every hidraw reader can tell who
# asked. Taken ids: kernel 0x01, logiops 0x02/0x03, OpenRGB 0x07, libratbag 0x08,
# LGSTrayEx 0x0A, Solaar 0x0B, G HUB 0x0D, firmware 0x0F. 0x0E is free.
SOFTWARE_ID = 0x0E
