"""Open the receivers of the platform a command works on (cli/main.py Options.platform).

    with open_receivers(options) as receivers:
        for receiver in receivers: ...

With `--debug`, every HID++ report in and out is written to stderr as one decoded line.
A receiver that is not handled (27 MHz, Bluetooth hubs) or cannot be opened while another can is
skipped with one line on stderr saying why; the command goes on with the others.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from phantombutton.devices.direct import DirectMouse
from phantombutton.devices.receiver import Receiver
from phantombutton.errors import NoReceiver, PhantomError
from phantombutton.hidpp.errors import FrameError
from phantombutton.transport.discovery import Skipped
from phantombutton.transport.engine import Engine

NO_RECEIVER = ("no Logitech receiver found (Unifying, Nano, Lightspeed or Bolt); plug one in "
               "(or check `ls /dev/hidraw*` and the udev rule), or try the virtual one: "
               "phantombutton --virtual info")


def _tracer(node: str, receiver):
    # start-up: --debug only; the decoder (with hidpp/dj.py, notifications.py) costs info and list ~6 ms
    from phantombutton.hidpp.decode import describe

    def trace(direction: str, t: float, raw: bytes) -> None:
        try:
            line = describe(raw, receiver.known_names(), outgoing=direction == "out",
                            features=receiver.known_features())
        except FrameError as e:
            line = f"{raw.hex(' ')} (not a frame: {e})"
        arrow = "<<" if direction == "out" else ">>"
        print(f"{node} {t:.3f} {arrow} {line}", file=sys.stderr)

    return trace


def _note(text: str) -> None:
    print(f"phantombutton: {text}", file=sys.stderr)


def _open(platform, node, is_direct: bool) -> Receiver | DirectMouse:
    """A receiver, or a mouse without a receiver (devices/direct.py) over its own node."""
    if is_direct:
        transport = platform.open_direct(node)  # AccessDenied names node, errno, fix
        return DirectMouse(Engine(transport), node.node, node.product, node.bus, node.name)
    transport = platform.open_receiver(node.node)  # AccessDenied names node, errno, fix
    receiver = Receiver(Engine(transport), transport.node, node.product,
                        {c.slot: c.node for c in node.children if c.slot is not None})
    receiver.mouse_nodes = tuple(node.mouse_nodes)
    return receiver


def platform_receivers(platform, debug: bool = False) -> list[Receiver]:
    """The platform's receivers, then its mice without a receiver (`direct_devices`)."""
    skipped: list[Skipped] = []
    nodes = platform.receivers(skipped=skipped)
    direct = platform.direct_devices()
    for s in skipped:
        _note(str(s))
    if not nodes and not direct:
        raise NoReceiver(NO_RECEIVER)
    receivers: list = []
    failed: list[PhantomError] = []
    try:
        for node, is_direct in [(n, False) for n in nodes] + [(n, True) for n in direct]:
            try:
                receiver = _open(platform, node, is_direct)
            except PhantomError as e:
                failed.append(e)
                continue
            if debug:
                receiver.engine.trace = _tracer(receiver.node, receiver)
            receivers.append(receiver)
    except BaseException:
        for r in receivers:
            r.close()
        raise
    for err in failed[0 if receivers else 1:]:
        _note(f"skipped {err}")
    if not receivers:
        raise failed[0]
    return receivers


@contextlib.contextmanager
def open_receivers(options) -> Iterator[list[Receiver]]:
    """Receivers for cli.main.Options (platform, debug); closed on exit."""
    receivers = platform_receivers(options.platform, options.debug)
    try:
        yield receivers
    finally:
        for r in receivers:
            with contextlib.suppress(Exception):
                r.close()
