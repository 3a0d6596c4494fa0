"""A peer nobody here wrote: Solaar reads our virtual receiver through the real kernel.

Also benchmark P1: HID++ requests on the wire and wall time of `phantombutton info` against
`solaar show`, same receiver, same guest. Figures go to tests/lab/out/p1-benchmark.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import labkit
import pytest

SOLAAR = os.environ.get("PB_LAB_SOLAAR", "")


@pytest.fixture(scope="module")
def solaar(udevd):
    if not SOLAAR or not os.path.exists(SOLAAR):
        msg = "Solaar peer not installed on the host (runner: ensure_solaar)"
        if os.environ.get("PB_LAB_CI") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return SOLAAR


def _measure(bridge, cmd, settle=1.0):
    """Run cmd; wire counts (bridge) over the run plus `settle` s of kernel reactions."""
    before = bridge.stats()
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=labkit.REPO)
    wall = time.monotonic() - t0
    time.sleep(settle)
    after = bridge.stats()
    return r, {
        "wall_s": round(wall, 2),
        "hidpp_requests": after["hidpp_requests"] - before["hidpp_requests"],
        "dj_requests": after["dj_requests"] - before["dj_requests"],  # kernel re-enumerations
    }


@pytest.fixture(scope="module")
def solaar_show(solaar, bridge):
    """One `solaar show` on a fresh receiver: (completed process, wire figures, evdev node)."""
    node = labkit.m705_event_node()
    r, figures = _measure(bridge, [solaar, "show"])
    print(r.stdout)
    return r, figures, node


def test_solaar_show_lists_receiver_and_m705(solaar_show):
    r, _, node = solaar_show
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert re.search(r"Device path\s*:\s*" + re.escape(labkit.receiver_node()), out), out
    assert re.search(r"USB id\s*:\s*046d:C52B", out), out
    assert re.search(r"Has 1 paired device\(s\)", out), out
    assert re.search(r"1: .*M705", out), out
    assert re.search(r"WPID\s*:\s*101B", out), out
    assert re.search(r"Protocol\s*:\s*HID\+\+ 1\.0", out), out
    assert labkit.event_nodes(labkit.M705_NAME) == [node]  # the kernel kept its device


def _wall(cmd) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, capture_output=True, timeout=120, cwd=labkit.REPO)
    return round(time.monotonic() - t0, 2)


def test_p1_phantombutton_info_against_solaar_show(solaar_show, bridge):
    solaar_r, s, _ = solaar_show
    assert solaar_r.returncode == 0, solaar_r.stderr[-2000:]
    exe = os.path.join(os.path.dirname(labkit.PY), "phantombutton")   # what a user runs
    r, p = _measure(bridge, [exe, "info"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert "101B" in r.stdout
    # the wall time again, twice (the guest is noisy), and where it goes: the interpreter,
    # click, `--help` (no command module), then `info` itself
    runs = [p["wall_s"]] + [_wall([exe, "info"]) for _ in range(2)]
    start = {"python -c pass": _wall([labkit.PY, "-c", "pass"]),
             "python -c 'import click'": _wall([labkit.PY, "-c", "import click"]),
             "phantombutton --help": _wall([exe, "--help"])}
    report = {
        "what": "HID++ requests on the wire (incl. the kernel's reactions within 1 s) and wall "
                "time, same emulated receiver, same guest (qemu TCG), Solaar first",
        "solaar show": s,
        "phantombutton info": p,
        "ratio_requests": round(p["hidpp_requests"] / s["hidpp_requests"], 2) if s["hidpp_requests"] else None,
        "ratio_wall": round(p["wall_s"] / s["wall_s"], 2) if s["wall_s"] else None,
        "info_runs_s": runs,
        "speedup_vs_solaar_show": round(s["wall_s"] / sorted(runs)[1], 2),   # on the median run
        "start_up_s": start,
    }
    labkit.OUT.mkdir(parents=True, exist_ok=True)
    (labkit.OUT / "p1-benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    print("P1", json.dumps(report))
    print(f"P1 info is {report['speedup_vs_solaar_show']}x faster than solaar show "
          f"(info {sorted(runs)[1]} s median of {runs}, solaar show {s['wall_s']} s)")
    assert p["hidpp_requests"] > 0 and s["hidpp_requests"] > 0
