"""`phantombutton watch` on the real kernel (stage 1, no X): HID++ context from the receiver's
hidraw node, P2 (phantom report -> kernel state released) over 20 trials (100 with
runner.py --bench), hotplug churn.

The watcher runs as the real CLI in its own process; the uhid bridge plays the receiver.
Figures are printed to the lab log (no timed assertions)."""

from __future__ import annotations

import json
import os
import select
import statistics
import struct
import subprocess
import time

import labkit

from phantombutton.input import evdev_node as en

SIDE = 0x0008          # HID button 4 -> BTN_SIDE 0x113: a button the M705 has
EVENT = struct.Struct("=qqHHi")


class Watch:
    """`phantombutton watch --json --no-x [--fix]` in the background, its output collected."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        self.proc = labkit.popen([labkit.PY, "-m", "phantombutton.cli.main", "watch", "--json",
                                      "--no-x", *args], cwd=labkit.REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.events: list[dict] = []
        self._buf = ""

    def fds(self, held_only: bool = False) -> list[str]:
        """What the process has open; `held_only`: not the sysfs and procfs files it reads and
        closes at once (a snapshot may catch one)."""
        d = f"/proc/{self.proc.pid}/fd"
        out = []
        for name in os.listdir(d):
            try:
                out.append(os.readlink(os.path.join(d, name)))
            except OSError:
                pass
        if held_only:
            out = [x for x in out if not x.startswith(("/sys/", "/proc/"))]
        return out

    def wait_attached(self, *nodes: str, timeout: float = 30.0) -> None:
        labkit.wait_for(lambda: all(n in self.fds() for n in nodes) or self._dead(), timeout,
                        what=f"watch to open {nodes}")
        assert self.proc.poll() is None, self.proc.stderr.read()

    def _dead(self) -> bool:
        return self.proc.poll() is not None

    def poll(self) -> list[dict]:
        try:
            chunk = self.proc.stdout.read()
        except (BlockingIOError, TypeError):
            chunk = None
        if chunk:
            self._buf += chunk
            *lines, self._buf = self._buf.split("\n")
            self.events += [json.loads(x) for x in lines if x.startswith("{")]
        return self.events

    def wait_event(self, pred, timeout: float = 10.0, what: str = "watch event") -> dict:
        def hit():
            for e in self.poll():
                if pred(e):
                    return e
            assert self.proc.poll() is None, f"watch exited: {self.proc.stderr.read()}"
            return None
        return labkit.wait_for(hit, timeout, 0.02, what=what)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        self._buf += out or ""
        self.events += [json.loads(x) for x in self._buf.split("\n") if x.startswith("{")]
        self._buf = ""
        return err


def findings(w: Watch, rule: str | None = None) -> list[dict]:
    return [e["finding"] for e in w.poll() if e["event"] == "finding"
            and (rule is None or e["finding"]["rule"] == rule)]


def reset(bridge, node: str) -> None:
    bridge.call("press", slot=1, buttons=0)
    if labkit.BTN_PHANTOM in en.held_keys(node):
        labkit.release_via_evdev(node)


# ------------------------------------------------------------------ HID++ context
def test_reconnect_on_hidraw_gives_rule_b_and_context(bridge, event_node, receiver_node, capsys):
    w = Watch()
    try:
        w.wait_attached(event_node, receiver_node)
        # a DJ reconnect: 0x41 on the receiver node, no new evdev node
        bridge.call("connect", slot=1)
        time.sleep(0.3)
        bridge.call("press", slot=1, buttons=SIDE)    # no motion since the link came up
        f = w.wait_event(lambda e: e["event"] == "finding", what="rule b finding")["finding"]
        bridge.call("press", slot=1, buttons=0)
        with capsys.disabled():
            print(f"\nrule b finding: {json.dumps(f, indent=1)}")
        assert f["rule"] == "press-after-connect" and f["code"] == 0x113
        ctx = " | ".join(f["hidpp_context"])
        assert "device connection notification, slot 1, WPID 101B, link established" in ctx, ctx

        # another program (Solaar's pattern): a 2.0 ping with software id 0x0B, then a
        # HID++ 1.0 write of register 0x01 (no software id), then the phantom
        time.sleep(1.5)              # out of the kernel's connect-probe window
        h = labkit.Hidraw(labkit.m705_hidraw())
        try:
            h.request(bytes.fromhex("10 01 00 1b 00 00 5a"))       # -> 8F error (1.0 device)
            value = h.request(bytes.fromhex("10 01 81 01 00 00 00"))[4:7]
            h.request(bytes.fromhex("10 01 80 01") + value)          # written back unchanged
        finally:
            h.close()
        bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
        f = w.wait_event(lambda e: e["event"] == "finding" and e["finding"]["code"] == 0x11F,
                         what="phantom finding")["finding"]
        with capsys.disabled():
            print(f"\nphantom finding context: {json.dumps(f['hidpp_context'], indent=1)}")
        assert f["rule"] == "unknown-button"
        ctx = " | ".join(f["hidpp_context"])
        assert "register 0x01 (mouse mode (side-scroll)) written (slot 1) by another program, " \
               "software id 0x0B (Solaar)" in ctx, ctx
        assert "ping / protocol version" in ctx or "error 0x01" in ctx, ctx
    finally:
        err = w.stop()
        reset(bridge, event_node)
    assert "Traceback" not in err, err


# ------------------------------------------------------------------ P2 in the lab
def _events(fd: int, timeout: float):
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return []
    buf = os.read(fd, EVENT.size * 64)
    return [(s + u / 1e6, t, c, v) for s, u, t, c, v in EVENT.iter_unpack(buf)]


def test_p2_phantom_report_to_kernel_released(bridge, event_node, receiver_node, capsys, tmp_path):
    n = labkit.trials(ci=20, bench=100)
    # n presses of one mouse would read as a phantom that keeps coming back, and watch --fix
    # backs off by the configured re-assert policy (3 in 30 s): let every trial count
    conf = tmp_path / "phantombutton"
    conf.mkdir()
    (conf / "config.toml").write_text("[detection]\nreassert-limit = 1000\n")
    w = Watch("--fix", env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
    fd = en.open_node(event_node)            # an observer: sees the press and our release
    en.set_monotonic_clock(fd)
    times, misses = [], 0
    try:
        w.wait_attached(event_node, receiver_node)
        for i in range(n):
            bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
            pressed = released = None
            end = time.monotonic() + 3.0
            while released is None and time.monotonic() < end:
                for t, typ, code, value in _events(fd, 0.5):
                    if typ == en.EV_KEY and code == labkit.BTN_PHANTOM:
                        if value == 1 and pressed is None:
                            pressed = t
                        elif value == 0 and pressed is not None:
                            released = t
            if pressed is None or released is None:
                misses += 1
            else:
                assert labkit.BTN_PHANTOM not in en.held_keys(event_node)   # EVIOCGKEY agrees
                times.append(released - pressed)
            bridge.call("press", slot=1, buttons=0)   # the mouse's own release clears HID's cache
            w.poll()                                  # keep its stdout pipe from filling up
            time.sleep(0.55)
    finally:
        os.close(fd)
        err = w.stop()
        reset(bridge, event_node)
    times.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[max(0, int(len(times) * 0.99) - 1)] * 1000
    with capsys.disabled():   # figures go to the lab log, passed or not
        print(f"\nP2 lab (TCG guest, watch --fix --no-x, kernel timestamps of the press and of the "
              f"release on an observer fd): n={len(times)} misses={misses} p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, max {times[-1] * 1000:.1f} ms")
    released = [e for e in w.events if e["event"] == "released"]
    assert misses == 0 and len(times) == n and len(released) == n, err[-2000:]


# ------------------------------------------------------------------ hotplug churn
def test_churn_no_crash_no_missed_phantom_no_fd_growth(bridge, event_node, receiver_node, capsys):
    """Link cycles, 40 (200 with runner.py --bench) (disconnect/connect: DJ link loss + 0x41;
    hid-logitech-dj keeps the node); after every 10th the phantom is pressed and must be found
    and released; every 40th the receiver itself is unplugged and plugged back (the uhid device destroyed and created:
    receiver hidraw, child hidraw and evdev nodes all go and come back). CI runs one replug
    (about 0.6 s of guest time per cycle): enough to show a reader left on the unplugged
    receiver; the figures of issue 2 come from --bench."""
    cycles = labkit.trials(ci=40, bench=200)
    w = Watch("--fix")
    t0 = time.monotonic()
    phantoms = replugs = 0
    try:
        w.wait_attached(event_node, receiver_node)
        fds_before = sorted(w.fds(held_only=True))
        node = event_node
        for i in range(cycles):
            bridge.call("disconnect", slot=1)
            bridge.call("connect", slot=1)
            w.poll()
            if i % 10 != 9:
                continue
            if i % 40 == 39:
                bridge.stop()
                bridge.start()
                replugs += 1
                node = labkit.m705_event_node()
                w.wait_attached(node, labkit.receiver_node())
            bridge.call("press", slot=1, buttons=labkit.HID_BUTTON_16)
            phantoms += 1
            w.wait_event(lambda e, n=phantoms: sum(x["event"] == "released" for x in w.events) >= n,
                         15, what=f"release of phantom {phantoms}")
            assert labkit.BTN_PHANTOM not in en.held_keys(node)
            bridge.call("press", slot=1, buttons=0)
        time.sleep(0.5)
        fds_after = sorted(w.fds(held_only=True))
        alive = w.proc.poll() is None
    finally:
        err = w.stop()
        reset(bridge, labkit.m705_event_node())
    found = [e for e in w.events if e["event"] == "finding" and e["finding"]["code"] == 0x11F]
    with capsys.disabled():
        print(f"\nchurn: {cycles} link cycles, {replugs} receiver unplug/replug cycles, "
              f"{time.monotonic() - t0:.1f} s guest time; phantoms {phantoms}, findings {len(found)}, "
              f"released {sum(e['event'] == 'released' for e in w.events)}; watch fds "
              f"{len(fds_before)} -> {len(fds_after)} ({fds_before} -> {fds_after})")
    assert alive and "Traceback" not in err, err[-3000:]
    assert len(found) == phantoms == cycles // 10
    # a reader left on an unplugged receiver shows as "(deleted)" and holds its hidraw minor
    assert not [x for x in fds_after if x.endswith("(deleted)")], fds_after
    assert len(fds_after) == len(fds_before)
