"""phantombutton: diagnose and release phantom held buttons of Logitech mice."""

__version__ = "0.1.0"

# Our HID++ 2.0 software id. Replies carry it back, so every hidraw reader can tell who
# asked. The ids others use are in hidpp/classify.py SOFTWARE_IDS; 0x0E is free.
SOFTWARE_ID = 0x0E
