"""Switch chatter: generated click sequences, bounces against fast clean clickers."""

from __future__ import annotations

import random

from phantombutton.buttons import Btn
from phantombutton.detect.chatter import ChatterMonitor, Kind, verdict_of
from phantombutton.detect.events import DeviceAdded, DeviceInfo, KeyEvent, Motion
from phantombutton.detect.findings import Rule

NODE = "/dev/input/event5"
LEFT = int(Btn.LEFT)


def run(obs):
    m = ChatterMonitor()
    m.feed(DeviceAdded(0.0, DeviceInfo(NODE, "Logitech M705"), at_start=True))
    for o in sorted(obs, key=lambda o: o.t):
        m.feed(o)
    return m.findings()


def click(t, down, code=LEFT):
    return [KeyEvent(t, NODE, code, 1), KeyEvent(t + down, NODE, code, 0)]


def double_clicks(rnd, n=40):
    """Human double clicks: 60-110 ms down, 80-150 ms between release and second press."""
    out, t = [], 1.0
    for _ in range(n):
        d1, gap, d2 = rnd.uniform(0.06, 0.11), rnd.uniform(0.08, 0.15), rnd.uniform(0.06, 0.11)
        out += click(t, d1) + click(t + d1 + gap, d2)
        t += d1 + gap + d2 + rnd.uniform(0.5, 2.0)
    return out


def gaming(rnd, cps, seconds=20):
    """A gamer clicking at `cps` clicks/s, about half of each period down."""
    out, t = [], 1.0
    period = 1.0 / cps
    while t < seconds:
        p = period * rnd.uniform(0.9, 1.1)
        out += click(t, p * rnd.uniform(0.35, 0.6))
        t += p
    return out


def test_fast_clean_double_clicks_give_no_verdict():
    for seed in range(20):
        assert run(double_clicks(random.Random(seed))) == []


def test_gaming_clicks_8_to_15_cps_give_no_verdict():
    for seed in range(10):
        rnd = random.Random(seed)
        for cps in (8, 10, 12, 15):
            assert run(gaming(rnd, cps)) == [], cps


def test_bounces_of_1_to_10_ms_give_a_verdict_naming_the_button():
    rnd = random.Random(3)
    obs, t = [], 1.0
    for i in range(6):                          # clicks; every other one bounces on press
        if i % 2:
            g = rnd.uniform(0.001, 0.010)
            obs += [KeyEvent(t, NODE, LEFT, 1), KeyEvent(t + 0.002, NODE, LEFT, 0),
                    KeyEvent(t + 0.002 + g, NODE, LEFT, 1), KeyEvent(t + 0.09, NODE, LEFT, 0)]
        else:
            obs += click(t, 0.09)
        t += 1.0
    [f] = run(obs)
    assert f.rule is Rule.SWITCH_CHATTER and f.code == LEFT and f.node == NODE
    assert f.device == "Logitech M705"
    assert "worn switch likely" in f.cause
    text = "\n".join(f.evidence)
    assert "3 release-then-press" in text and "3 bounce(s)" in text
    # re-press within 25 ms of the press: libinput's bounce timeout hides them (case 5)
    assert "would hide all of them" in text and "xf86-input-evdev" in text
    assert verdict_of([f]) == "worn switch"
    assert "chatters" in f.headline()


def test_one_bunched_pair_is_not_a_verdict():
    # a receiver flushing queued reports can bunch a real release/press once: not a worn switch
    obs = click(1.0, 0.05) + click(1.055, 0.05) + click(3.0, 0.1)
    assert run(obs) == []


def test_other_buttons_and_other_nodes_do_not_mix():
    # left released, right pressed 2 ms later: two buttons, no bounce
    obs = []
    for i in range(5):
        t = 1.0 + i
        obs += click(t, 0.05) + click(t + 0.052, 0.05, int(Btn.RIGHT))
    assert run(obs) == []


def drag_with_breaks(gaps, t0=1.0):
    """A 2 s drag with motion; the switch drops the contact for `gaps` at 0.5 s intervals."""
    obs = [KeyEvent(t0, NODE, LEFT, 1)]
    obs += [Motion(t0 + 0.008 * i, NODE) for i in range(1, 250)]
    for i, g in enumerate(gaps):
        r = t0 + 0.5 * (i + 1)
        obs += [KeyEvent(r, NODE, LEFT, 0), KeyEvent(r + g, NODE, LEFT, 1)]
    obs.append(KeyEvent(t0 + 2.0, NODE, LEFT, 0))
    return obs


def test_spurious_release_during_drag_and_what_libinput_hides():
    [f] = run(drag_with_breaks([0.005, 0.004, 0.014]))
    text = "\n".join(f.evidence)
    assert "3 spurious release(s) during a drag" in text
    # the first is delivered (and turns libinput's spurious mode on), the second (4 ms < 12 ms)
    # is hidden, the third (14 ms) is not
    assert "would hide 1 of 3; libinput users still see 2" in text
    assert "does not catch all" in f.fix


def test_slow_bounce_outside_libinput_windows_is_not_hidden():
    m = ChatterMonitor()
    obs = []
    for i in range(3):   # press held 40 ms, release, re-press 13 ms later, held
        t = 1.0 + i
        obs += [KeyEvent(t, NODE, LEFT, 1), KeyEvent(t + 0.040, NODE, LEFT, 0),
                KeyEvent(t + 0.053, NODE, LEFT, 1), KeyEvent(t + 0.2, NODE, LEFT, 0)]
    for o in obs:
        m.feed(o)
    [f] = m.findings()
    assert "would hide none of them" in "\n".join(f.evidence)
    assert all(c.kind is Kind.BOUNCE for c in m._events[(NODE, LEFT)])


def test_window_counts_only_close_events():
    # two bounces 10 minutes apart: not two within the 300 s window
    obs = [KeyEvent(1.0, NODE, LEFT, 1), KeyEvent(1.002, NODE, LEFT, 0), KeyEvent(1.004, NODE, LEFT, 1),
           KeyEvent(1.1, NODE, LEFT, 0),
           KeyEvent(601.0, NODE, LEFT, 1), KeyEvent(601.002, NODE, LEFT, 0), KeyEvent(601.004, NODE, LEFT, 1),
           KeyEvent(601.1, NODE, LEFT, 0)]
    assert run(obs) == []


def test_analyze_names_the_bouncing_button_in_text_json_markdown(tmp_path):
    import json
    import subprocess
    import sys

    import synthetic as S
    from phantombutton.capture.record import CaptureWriter

    p = tmp_path / "bounce.yml"
    with CaptureWriter(p, [S.m705_header()], S.meta()) as w:
        t = S.START + 0.5
        for _ in range(4):   # press, release 1 ms later, press again 2 ms after that
            for fr in (S.button_frame(t, LEFT, 1), S.button_frame(t + 0.001, LEFT, 0),
                       S.button_frame(t + 0.003, LEFT, 1), S.button_frame(t + 0.1, LEFT, 0)):
                w.evdev(S.NODE, fr)
            t += 0.7

    def run_cli(*args):
        return subprocess.run([sys.executable, "-m", "phantombutton.cli.main", "analyze", str(p), *args],
                              capture_output=True, text=True, timeout=120)

    r = run_cli()
    assert r.returncode == 3, r.stderr
    assert "verdict: WORN SWITCH LIKELY - 1 finding(s)" in r.stdout
    assert "BTN_LEFT" in r.stdout and "[switch-chatter]" in r.stdout and "4 bounce(s)" in r.stdout
    j = json.loads(run_cli("--json").stdout)
    assert j["verdict"] == "worn switch"
    [f] = j["findings"]
    assert f["rule"] == "switch-chatter" and f["code"] == LEFT
    md = run_cli("--markdown").stdout
    assert "**WORN SWITCH LIKELY**" in md and "switch-chatter" in md
    svg = tmp_path / "t.svg"
    run_cli("--svg", str(svg))
    assert "switch-chatter" in svg.read_text()
