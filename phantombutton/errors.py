"""Errors that reach the user as one line and a documented exit code.

Exit codes: 0 ok, 1 failure, 2 usage (unknown device, setting or value; bad arguments).
Commands that report a finding document their own extra codes (e.g. `status`).
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2


class PhantomError(Exception):
    """Base of every error shown to the user as a single line."""

    exit_code = EXIT_FAILURE


class UsageProblem(PhantomError):
    """The user asked for something that does not exist; the message names valid choices."""

    exit_code = EXIT_USAGE


class NoReceiver(PhantomError):
    pass


class DeviceGone(PhantomError):
    """ENODEV/EIO on a node: the receiver was unplugged or the device left."""


class AccessDenied(PhantomError):
    """Permission denied on a device node; the message names node, errno and the fix."""

    def __init__(self, node: str, errno_name: str, fix: str):
        super().__init__(f"{node}: permission denied ({errno_name}); {fix}")
        self.node = node
        self.errno_name = errno_name
        self.fix = fix


class BadInput(PhantomError):
    """A file we were asked to read is malformed (capture, config)."""


UDEV_FIX = "install the udev rule: sudo phantombutton install-udev (or run as root)"
