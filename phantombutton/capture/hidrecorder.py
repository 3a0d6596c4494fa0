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
from collections.abc import Iterable
from typing import IO

from phantombutton.capture.reader import Capture
from phantombutton.detect.events import HidppTraffic
from phantombutton.errors import BadInput


def _headers(cap: Capture, nodes: Iterable[str]) -> dict[str, dict]:
    known = {h["node"]: h for h in cap.meta.get("hidraw") or [] if isinstance(h, dict) and "node" in h}
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
    Two passes over the capture (nodes first, then events): constant memory."""
    cap = Capture(path)
    nodes: list[str] = []
    for obs in cap.observations():
        if isinstance(obs, HidppTraffic) and obs.node not in nodes and (node is None or obs.node == node):
            nodes.append(obs.node)
    if not nodes:
        raise BadInput(f"{path}: no HID reports" + (f" from {node}" if node else "") +
                       "; record with `phantombutton capture` (it records the receiver's hidraw node)")
    headers = _headers(cap, nodes)
    index = {n: i for i, n in enumerate(nodes)}
    multi = len(nodes) > 1
    for n in nodes:
        h = headers[n]
        if multi:
            out.write(f"D: {index[n]}\n")
        desc = h["descriptor"]
        out.write(f"# {h['name']} ({n}, exported by phantombutton from {os.path.basename(str(path))})\n")
        out.write(f"R: {len(desc)} {desc.hex(' ')}\n")
        out.write(f"N: {h['name']}\n")
        out.write(f"P: {h['phys']}\n")
        bus, vid, pid = h["id"][:3]
        out.write(f"I: {bus:x} {vid:04x} {pid:04x}\n")
    count = 0
    current = None
    for obs in Capture(path).observations():
        if not isinstance(obs, HidppTraffic) or obs.node not in index:
            continue
        if multi and obs.node != current:
            out.write(f"D: {index[obs.node]}\n")
            current = obs.node
        us = round(obs.t * 1e6)
        out.write(f"E: {us // 1_000_000:06d}.{us % 1_000_000:06d} {len(obs.data)} {obs.data.hex(' ')}\n")
        count += 1
    return count
