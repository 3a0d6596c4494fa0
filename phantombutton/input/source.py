"""The Source protocol: where `watch` and `status` get their observations from.

input/evdev_source.py EvdevSource (the event nodes of a machine) and virtual/kernel.py
VirtualKernel (the virtual receiver's) are the two; recovery/watcher.py Watcher reads one.
"""

from __future__ import annotations

from typing import Protocol

from phantombutton.detect.events import Observation


class Source(Protocol):
    problems: list[str]     # one-line notes for the UI, taken by the watcher
    woken: bool             # a wake fd became readable during the last poll()
    denied: dict            # node -> AccessDenied: nodes it may not read

    def start(self) -> list[Observation]: ...      # devices present, their held keys
    def poll(self, timeout: float) -> list[Observation]: ...
    def add_wake_fd(self, fd: int) -> None: ...    # also wake poll() when fd is readable
    def close(self) -> None: ...
