"""Export the raw HID traffic of a capture in hid-recorder's format (hid-tools).

What the kernel HID maintainers ask for: `hid-decode` reads the `R:` lines, `hid-replay`
recreates the device over uhid and replays the `E:` lines. Per hidraw node:

    D: 0                                  (only when there are several nodes)
    # <name>
    R: <descriptor length> <descriptor bytes in hex>
    N: <name>
    P: <phys>
    I: <bus> <vendor> <product>          (hex)
    E: <sec>.<usec> <length> <bytes in hex>

Descriptors come from our `phantombutton.hidraw` block; for a plain `libinput record
--with-hidraw` file the hidraw node belongs to the recorded event node, whose `hid:`
descriptor is used.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from typing import IO

from phantombutton.capture.fields import one_line
from phantombutton.capture.reader import Capture
from phantombutton.detect.events import HidppTraffic
from phantombutton.errors import BadInput

SPOOL_MEMORY = 4 << 20   # bytes of E: lines kept in memory before the spool goes to disk


def _headers(cap: Capture, nodes: Iterable[str]) -> dict[str, dict]:
    known = {h["node"]: h for h in cap.meta.get("hidraw") or []}   # each checked by fields.hidraw_header
    out = {}
    for node in nodes:
        h = known.get(node)
        if h is not None:
            out[node] = {"name": h.get("name") or os.path.basename(node), "phys": h.get("phys") or "",
                         "id": (h.get("id") or [3, 0, 0]) + [0, 0, 0], "descriptor":
                         bytes.fromhex(h.get("descriptor") or "")}
        elif cap.devices and cap.devices[0].hid:
            d = cap.devices[0]
            ids = (d.id + [0, 0, 0, 0])[:3]
            out[node] = {"name": d.name, "phys": "", "id": ids, "descriptor": bytes(d.hid)}
        else:
            raise BadInput(f"{cap.path}: no report descriptor for {node}; hid-recorder files need one")
    return out


def export(path: str | os.PathLike, out: IO[str], node: str | None = None) -> int:
    """Write the hid-recorder file for one hidraw node (or all); returns the report count.

    One pass over the capture, so a pipe (`<(cat f)`) works: the `E:` lines go to a spool
    file (in memory up to SPOOL_MEMORY, then on disk: constant memory) and are copied after
    the headers, which need every node seen. Nothing is written to `out` before the whole
    capture was read and found valid."""
    cap = Capture(path)
    index: dict[str, int] = {}
    count = 0
    current = None
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, mode="w+", encoding="utf-8") as spool:
        for obs in cap.observations():
            if not isinstance(obs, HidppTraffic) or (node is not None and obs.node != node):
                continue
            index.setdefault(obs.node, len(index))
            if obs.node != current:
                spool.write(f"D: {index[obs.node]}\n")
                current = obs.node
            us = round(obs.t * 1e6)
            spool.write(f"E: {us // 1_000_000:06d}.{us % 1_000_000:06d} {len(obs.data)} {obs.data.hex(' ')}\n")
            count += 1
        if not index:
            raise BadInput(f"{path}: no HID reports" + (f" from {node}" if node else "") +
                           "; record with `phantombutton capture` (it records the receiver's hidraw node)")
        headers = _headers(cap, list(index))
        multi = len(index) > 1
        source = one_line(os.path.basename(str(path)))
        for n, i in index.items():
            h = headers[n]
            if multi:
                out.write(f"D: {i}\n")
            desc = h["descriptor"]
            # name and phys come from the capture: a newline in them must not forge an E: line
            out.write(f"# {one_line(h['name'])} ({one_line(n)}, exported by phantombutton from {source})\n")
            out.write(f"R: {len(desc)} {desc.hex(' ')}\n")
            out.write(f"N: {one_line(h['name'])}\n")
            out.write(f"P: {one_line(h['phys'])}\n")
            bus, vid, pid = h["id"][:3]
            out.write(f"I: {bus:x} {vid:04x} {pid:04x}\n")
        spool.seek(0)
        for line in spool:
            # a single node needs no D: lines (hid-recorder writes them only for several)
            if multi or not line.startswith("D: "):
                out.write(line)
    return count
