"""Regression tests of the adversarial review (2026-12-01), capture half: each test builds
its input as the review's repro does (from captures/original-bug.yml) and runs the command.

Defect numbers are the review's; every test fails on a67e7fe."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import synthetic as S
from phantombutton.capture.hidrecorder import export
from phantombutton.capture.reader import Capture
from phantombutton.capture.record import CaptureWriter
from phantombutton.cli.main import main
from phantombutton.detect.events import HeldState, KeyEvent
from phantombutton.detect.rules import Detector
from phantombutton.detect.run import detect_all

ROOT = Path(__file__).resolve().parents[2]
C = ROOT / "captures" / "original-bug.yml"
ORIGINAL = C.read_text()
CONVERT = ["capture", "--format", "hid-recorder", "--convert"]
# the three readers of a capture, as the review ran them
READERS = {"analyze": ["analyze"], "replay": ["watch", "--speed", "0", "--replay"], "convert": CONVERT}


def run_cli(args, capsys) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


def child(args, *, stdin=None, preexec=None, timeout=60, rlimit_mb=None):
    """The CLI in a child process; returns (rc, stdout, stderr, peak RSS in MB)."""
    code = ("import resource, sys\nfrom phantombutton.cli.main import main\nrc = main(sys.argv[1:])\n"
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)\n"
            "sys.exit(rc)\n")

    def pre():
        if rlimit_mb:
            resource.setrlimit(resource.RLIMIT_AS, (rlimit_mb << 20, rlimit_mb << 20))
        if preexec:
            preexec()
    p = subprocess.run([sys.executable, "-c", code, *map(str, args)], stdin=stdin, capture_output=True,
                       timeout=timeout, preexec_fn=pre)
    err = p.stderr.decode(errors="replace")
    rss = [int(ln.split()[1]) for ln in err.splitlines() if ln.startswith("MAXRSS")]
    err = "".join(ln + "\n" for ln in err.splitlines() if not ln.startswith("MAXRSS"))
    return p.returncode, p.stdout.decode(errors="replace"), err, (rss[0] if rss else None)


def mutate(tmp_path: Path, old: str, new: str, count: int = 1, name: str = "m.yml") -> Path:
    assert old in ORIGINAL, old
    p = tmp_path / name
    p.write_text(ORIGINAL.replace(old, new, count))
    return p


def with_entry(tmp_path: Path, entry: str) -> Path:
    """The capture with one more event entry right after `events:`."""
    return mutate(tmp_path, "  events:\n", "  events:\n" + entry + "\n")


# -- 2: the hid-recorder export never destroys the capture or an existing file --------------------
def test_defect2b_convert_onto_its_own_input_keeps_it(tmp_path, capsys):
    c = tmp_path / "c.yml"
    c.write_text(ORIGINAL)
    rc, _, err = run_cli([*CONVERT, c, "-o", c], capsys)
    assert rc == 1 and "is also the input" in one_line_error(err)
    assert c.read_text() == ORIGINAL


def test_defect2c_output_untouched_when_input_is_bad(tmp_path, capsys):
    keep = tmp_path / "keep.hid"
    keep.write_text("PRECIOUS\n")
    empty = tmp_path / "e.yml"
    empty.write_text("")
    rc, _, err = run_cli([*CONVERT, empty, "-o", keep], capsys)
    assert rc == 1 and "empty file" in one_line_error(err)
    assert keep.read_text() == "PRECIOUS\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.yml", "keep.hid"]   # no temp left


def test_defect2a_live_export_onto_the_capture_refused_up_front(tmp_path, capsys):
    rec = tmp_path / "rec.hid"
    rec.write_text("PRECIOUS\n")
    rc, _, err = run_cli(["capture", "-o", rec, "--format", "hid-recorder", "/dev/input/event0"], capsys)
    assert rc == 2 and "FILE.hid" in one_line_error(err) and "rec.yml" in err
    assert rec.read_text() == "PRECIOUS\n"


def test_defect2d_live_export_target_checked_before_recording(tmp_path, capsys):
    (tmp_path / "rec.hid").mkdir()     # the export could never be written: say so first
    rc, _, err = run_cli(["capture", "-o", tmp_path / "rec.yml", "--format", "hid-recorder",
                          "/dev/input/event0"], capsys)
    assert rc == 1 and "rec.hid: is a directory" in one_line_error(err)
    assert not (tmp_path / "rec.yml").exists()


# -- 3: bounded memory on a line with no newline ----------------------------------------------------
@pytest.mark.parametrize("reader", sorted(READERS))
def test_defect3_dev_zero_fails_fast_and_small(reader):
    rc, _, err, rss = child([*READERS[reader], "/dev/zero"], timeout=20, rlimit_mb=1024)
    assert rc == 1 and "/dev/zero: is a device" in one_line_error(err)
    assert rss < 200


def test_defect3_endless_pipe_and_one_huge_line_bounded(tmp_path):
    with subprocess.Popen(["cat", "/dev/zero"], stdout=subprocess.PIPE) as zero:
        rc, _, err, rss = child(["analyze", "/dev/stdin"], stdin=zero.stdout, timeout=20, rlimit_mb=1024)
        zero.kill()
    assert rc == 1 and "line 1: longer than" in one_line_error(err)
    assert rss < 200
    big = tmp_path / "one-line.yml"
    big.write_bytes(b"version: 1\n" + b"x" * (50 << 20))
    rc, _, err, rss = child(["analyze", big], timeout=20, rlimit_mb=1024)
    assert rc == 1 and "line 2: longer than" in one_line_error(err)
    assert rss < 120   # was 217 MB: the line was read whole


# -- 4: timestamps are checked for range; detection never loops on one --------------------------------
@pytest.mark.parametrize("old,new,line", [
    ("    - [  0, 522304,", "    - [  4503599627370496, 522304,", "line 73"),   # 2^52: infinite loop
    ("    - [  0, 522304,", "    - [  100000000000000000, 522304,", "line 73"),
    ("      time: [  0, 493185]", "      time: [99999999999999999999, 0]", "line 63"),
])
@pytest.mark.parametrize("reader", ["analyze", "replay"])
def test_defect4_huge_timestamps_refused(tmp_path, old, new, line, reader):
    rc, _, err, _ = child([*READERS[reader], mutate(tmp_path, old, new)], timeout=20)   # looped forever
    assert rc == 1 and line in one_line_error(err) and "range" in err


def test_defect4_flow_frame_1e999(tmp_path):
    p = with_entry(tmp_path, "  - evdev: [[1e999, 0, 1, 287, 1]]")
    rc, _, err, _ = child(["analyze", p], timeout=20)   # looped forever
    assert rc == 1 and "line 58: evdev[0]: expected an integer" in one_line_error(err)


def test_defect4_detect_all_terminates_past_2_52():
    def alarm(*_):
        raise TimeoutError("detect_all looped")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(5)
    try:
        t = float(1 << 52)
        obs = [KeyEvent(0.0, "/dev/input/event5", 0x110, 1), KeyEvent(t, "/dev/input/event5", 0x110, 0),
               KeyEvent(t + 2.0, "/dev/input/event5", 0x110, 1)]
        list(detect_all(obs, Detector()))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# -- 5: every field type-checked where it is read; the error names file, line and field ---------------
REPROS_5 = [
    # (old, new, expected in the message)
    ("      time: [  0, 493185]", "      time: [1]", "line 63: hid time: expected [seconds, microseconds]"),
    ("        0x20, 0x01, 0x02, 0x00, 0x00, 0x02, 0x10", "        0x100, 0x01, 0x02, 0x00, 0x00, 0x02, 0x10",
     "line 65: byte list: a value out of range"),
    ("        0x20, 0x01, 0x02, 0x00, 0x00, 0x02, 0x10", "        -1, 0x01, 0x02, 0x00, 0x00, 0x02, 0x10",
     "line 65: byte list: a value out of range"),
    ('  held_at_start: {"/dev/input/event1": []}', "  held_at_start: [1]",
     "line 21: phantombutton.held_at_start: expected a {...} mapping"),
    ("  x_at_start: [{", "  x_at_start: [{}, {", "line 22: phantombutton.x_at_start[0].device: expected an integer"),
    ('  phantombutton: {"slot": 1, "wpid": 4123, "receiver": "/dev/hidraw0", "hidraw": "/dev/hidraw1", '
     '"x_slave": null, "settings": {"side-scroll": "on"}}', '  phantombutton: "str"',
     "line 56: phantombutton: expected a {...} mapping"),
    ('"settings": {"side-scroll": "on"}}\n  events', '"settings": 5}\n  events',
     "line 56: phantombutton.settings: expected a {...} mapping"),
    ("  other_devices: []", "  other_devices: " + "[" * 1000 + "]" * 1000,
     "line 23: phantombutton.other_devices: nested deeper than"),
]
ENTRIES_5 = [
    ('  - xinput: {"time": [0, 1], "device": "x"}', "line 58: xinput.device: expected an integer"),
    ('  - xinput: {"time": [0, 1], "device": 2, "buttons": [[1]]}', "line 58: xinput.buttons[0]: expected an integer"),
    ('  - xinput: {"time": [0, 1], "device": 2, "buttons": ' + "[" * 1000 + "]" * 1000 + "}",
     "line 58: xinput: nested deeper than"),
    ('  - held: {"time": [0, 1]}', "line 58: held.node: expected a string"),
    ('  - held: {"time": [0, 1], "node": "/dev/input/event1", "codes": "abc"}',
     "line 58: held.codes: expected a [...] list"),
    ('  - hid: {"time": [0, 1], "hidraw0": [16, 300]}', "line 58: hid.hidraw0[1]: 300 out of range"),
    ('  - device: {"time": [0, 1], "added": "/dev/input/event9", "slot": "one"}',
     "line 58: device.slot: expected an integer"),
    ('  - evdev-node: {"node": 5, "frame": []}', "line 58: evdev-node.node: expected a string"),
]


@pytest.mark.parametrize("old,new,expect", REPROS_5, ids=[e.split(": ", 1)[1][:30] for *_, e in REPROS_5])
@pytest.mark.parametrize("reader", sorted(READERS))
def test_defect5_wrong_types_name_line_and_field(tmp_path, capsys, old, new, expect, reader):
    p = mutate(tmp_path, old, new)
    rc, _, err = run_cli([*READERS[reader], p], capsys)
    assert rc == 1, err
    msg = one_line_error(err)
    assert msg == f"phantombutton: {p} {expect}" or (f"{p} {expect}" in msg), msg


@pytest.mark.parametrize("entry,expect", ENTRIES_5, ids=[e[:25] for _, e in ENTRIES_5])
@pytest.mark.parametrize("reader", sorted(READERS))
def test_defect5_wrong_types_in_entries(tmp_path, capsys, entry, expect, reader):
    p = with_entry(tmp_path, entry)
    rc, _, err = run_cli([*READERS[reader], p], capsys)
    assert rc == 1, err
    assert f"{p} {expect}" in one_line_error(err)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_defect5_read_error_after_open(capsys, reader):
    rc, _, err = run_cli([*READERS[reader], "/proc/self/mem"], capsys)
    assert rc == 1 and "/proc/self/mem line 1: read error: Input/output error (EIO)" in one_line_error(err)


# -- 6: -o never follows a symlink -------------------------------------------------------------------
def test_defect6_convert_does_not_write_through_symlinks(tmp_path, capsys):
    decoy = tmp_path / "decoy"
    decoy.write_text("root:x:0:0:root:/root:/bin/bash\n")
    link = tmp_path / "out.hid"
    link.symlink_to(decoy)
    rc, _, err = run_cli([*CONVERT, C, "-o", link], capsys)
    assert rc == 1 and "symbolic link" in one_line_error(err)
    assert decoy.read_text() == "root:x:0:0:root:/root:/bin/bash\n"
    dangling = tmp_path / "dangling.hid"
    dangling.symlink_to(tmp_path / "created")
    rc, _, err = run_cli([*CONVERT, C, "-o", dangling], capsys)
    assert rc == 1 and not (tmp_path / "created").exists()


# -- 7: a device name cannot inject YAML into the capture header ------------------------------------
INJECTED = "M705\n  events:\n  - evdev: [[0, 1, 1, 287, 1], [0, 1, 0, 0, 0]]"


def test_defect7_device_name_and_node_cannot_forge_lines(tmp_path, capsys):
    import dataclasses

    info = dataclasses.replace(S.M705_INFO, name=INJECTED, node="/dev/input/event5\n- node: x")
    h = S.m705_header(node=info.node, info=info)
    h.name = INJECTED
    h.udev.append("ID_INPUT=1\n  events:\n  - evdev: [[0, 1, 1, 287, 1]]")
    p = tmp_path / "c.yml"
    with CaptureWriter(p, [h], S.meta()):
        pass
    doc = yaml.safe_load(p.read_text())
    dev = doc["devices"][0]
    assert dev["events"] is None and dev["evdev"]["name"] == INJECTED and dev["node"] == info.node
    cap = Capture(p)
    list(cap.observations())
    assert cap.evdev_events == 0
    assert cap.devices[0].name == INJECTED and cap.devices[0].node == info.node
    assert cap.devices[0].udev[-1] == h.udev[-1]
    rc, out, _ = run_cli(["analyze", p], capsys)   # and analyze's report keeps it on its line
    assert rc == 0 and "0 evdev events" in out
    assert "  devices: M705\\x0a  events:\\x0a  - evdev: [[0, 1, 1, 287, 1], [0, 1, 0, 0, 0]] (" in out


# -- 10: held keys follow --show-keycodes ------------------------------------------------------------
@pytest.mark.parametrize("show", [False, True])
def test_defect10_held_at_start_and_resync_hide_key_codes(tmp_path, show):
    node = S.NODE
    p = tmp_path / "c.yml"
    meta = S.meta(held={node: [17, 25, 0x110]})          # KEY_W, KEY_P held, and BTN_LEFT
    with CaptureWriter(p, [S.m705_header()], meta, show_keycodes=show) as w:
        w.observation(HeldState(S.START + 1, node, frozenset({17, 25, 0x11F})))
    doc = yaml.safe_load(p.read_text())
    held = doc["phantombutton"]["held_at_start"][node]
    resync = doc["devices"][0]["events"][0]["held"]["codes"]
    if show:
        assert held == [17, 25, 0x110] and resync == [17, 25, 0x11F]
    else:   # letters become KEY_A (30), as in the event frames; mouse buttons are kept
        assert held == [30, 0x110] and resync == [30, 0x11F]
        assert "17" not in p.read_text().split("held_at_start:")[1].split("\n")[0]


# -- 11: hid-recorder export lines cannot be forged ---------------------------------------------------
def test_defect11_hidraw_name_cannot_inject_hid_recorder_lines(tmp_path):
    src = mutate(tmp_path, '"name": "Logitech USB Receiver"', '"name": "a\\nE: 1 2 3\\nR: 0"')
    src = Path(src)
    src.write_text(src.read_text().replace('"phys": "usb-0000:00:14.0-1/input2"', '"phys": "p\\rN: x"'))
    out, ref = tmp_path / "x.hid", tmp_path / "ref.hid"
    with open(out, "w") as f:
        n = export(str(src), f)
    with open(ref, "w") as f:
        export(str(C), f)
    lines = out.read_text().splitlines()
    assert sum(ln.startswith("E: ") for ln in lines) == n
    for kind in "DRNPIE#":   # as many lines of each kind as the export of the untouched capture
        assert sum(ln.startswith(kind) for ln in lines) == sum(
            ln.startswith(kind) for ln in ref.read_text().splitlines()), kind
    assert "N: a\\x0aE: 1 2 3\\x0aR: 0" in lines and "P: p\\x0dN: x" in lines
    assert "\r" not in out.read_text()


# -- 14: output faults give one line ----------------------------------------------------------------
@pytest.mark.parametrize("target,expect", [(".", "is a directory"), ("missing/x.hid", "no such directory"),
                                           ("/dev/full", "no space left on device")])
def test_defect14_convert_output_faults(tmp_path, capsys, monkeypatch, target, expect):
    monkeypatch.chdir(tmp_path)
    rc, _, err = run_cli([*CONVERT, C, "-o", target], capsys)
    assert rc == 1 and expect in one_line_error(err)


def test_defect14_capture_writer_on_a_full_disk_names_the_file():
    from phantombutton.outfile import OutputError, streaming_output

    with pytest.raises(OutputError, match=r"^/dev/full: no space left on device"):
        CaptureWriter(streaming_output("/dev/full"), [S.m705_header()], S.meta(), name="/dev/full")
    with pytest.raises(OutputError, match=r"^/dev/full: no space left on device"):
        CaptureWriter("/dev/full", [S.m705_header()], S.meta())


@pytest.mark.parametrize("args", [["analyze", C], ["analyze", "--json", C], ["config"], ["--virtual", "list"],
                                  [*CONVERT, C]])
def test_defect14_stdout_full(args):
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "phantombutton.cli.main", *map(str, args)], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 1
    assert "standard output: no space left on device" in one_line_error(p.stderr)


@pytest.mark.parametrize("args", [[*CONVERT, C], ["analyze", C], ["--virtual", "list"]])
def test_defect14_stdout_closed(args):
    rc, _, err, _ = child(args, preexec=lambda: os.close(1))
    assert rc == 1 and "standard output is closed" in one_line_error(err)


def test_defect14_reader_leaving_is_quiet(tmp_path):
    """`analyze --json big | head -c 20`: exit 1, no message, no 'Exception ignored'."""
    p = tmp_path / "c.yml"
    with CaptureWriter(p, [S.m705_header()], S.meta()) as w:
        for i in range(2000):   # 2000 findings: ~2 MB of JSON, far more than a pipe holds
            w.evdev(S.NODE, S.button_frame(S.START + 1 + i * 0.05, 0x11F, 1))
            w.evdev(S.NODE, S.button_frame(S.START + 1.01 + i * 0.05, 0x11F, 0))
    proc = subprocess.Popen([sys.executable, "-m", "phantombutton.cli.main", "analyze", "--json", str(p)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(20)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 1 and err == ""


# -- 15: exit codes as documented: a file that cannot be read is 1 and one line -----------------------
@pytest.mark.parametrize("reader", sorted(READERS))
def test_defect15_unreadable_inputs_exit_1(tmp_path, capsys, reader):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    cases = {tmp_path: "is a directory", tmp_path / "missing.yml": "No such file",
             tmp_path / "dangling": "No such file", tmp_path / "loop1": "symbolic links"}
    for path, expect in cases.items():
        rc, _, err = run_cli([*READERS[reader], path], capsys)
        assert rc == 1 and expect in one_line_error(err), (path, err)


def _drop_dac_override():
    """In the child: root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (bounding set, before
    exec), so file modes apply to it as to a user."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:   # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP")


@pytest.mark.parametrize("reader", sorted(READERS))
def test_defect15_permission_denied_exit_1(tmp_path, reader):
    secret = tmp_path / "secret.yml"
    secret.write_text(ORIGINAL)
    secret.chmod(0)
    try:
        rc, _, err, _ = child([*READERS[reader], secret], preexec=_drop_dac_override if os.getuid() == 0 else None)
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"cannot drop DAC override here: {e}")
    assert rc == 1 and "cannot open: Permission denied (EACCES)" in one_line_error(err)


# -- 18: analyze --json is written finding by finding --------------------------------------------------
def test_defect18_json_memory_does_not_scale_with_text(tmp_path):
    p = tmp_path / "many.yml"
    with CaptureWriter(p, [S.m705_header()], S.meta()) as w:
        t = S.START + 1
        for _ in range(12000):   # 12 000 presses of the button the M705 does not have
            w.evdev(S.NODE, S.button_frame(t, 0x11F, 1))
            w.evdev(S.NODE, S.button_frame(t + 0.01, 0x11F, 0))
            t += 0.05
    rc_t, _, _, rss_text = child(["analyze", p], timeout=120)
    rc_j, out, _, rss_json = child(["analyze", "--json", p], timeout=120)
    assert rc_t == rc_j == 3
    doc = json.loads(out)
    assert len(doc["findings"]) == 12000 and doc["verdict"] == "phantom"
    # was 4x the findings: the whole JSON text was one string
    assert rss_json - rss_text < 25, (rss_text, rss_json)   # a67e7fe: 34 MB and 92 MB


# -- 20: pipes and FIFOs -----------------------------------------------------------------------------
def test_defect20_convert_reads_a_pipe_once(tmp_path):
    out = tmp_path / "p.hid"
    p = subprocess.run(["bash", "-c", '"$0" -m phantombutton.cli.main capture --convert <(cat "$1") '
                        '--format hid-recorder -o "$2"', sys.executable, str(C), str(out)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    ref = tmp_path / "ref.hid"
    with open(ref, "w") as f:
        export(str(C), f)
    # the `#` lines name the source (63, the pipe's fd number): the rest is the same
    assert out.read_text().replace("from 63)", "from original-bug.yml)") == ref.read_text()
    assert sum(ln.startswith("E: ") for ln in out.read_text().splitlines()) == 83


@pytest.mark.parametrize("reader", sorted(READERS))
def test_defect20_fifo_without_writer_times_out(tmp_path, capsys, monkeypatch, reader):
    from phantombutton import infile

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(infile, "FIFO_WAIT", 0.3)

    def alarm(*_):
        raise TimeoutError("blocked on the FIFO")   # what a67e7fe did, forever
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(5)
    try:
        rc, _, err = run_cli([*READERS[reader], fifo], capsys)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert rc == 1 and "a FIFO with no writer after 0.3 s" in one_line_error(err)


# -- 21: messages say what happened ---------------------------------------------------------------------
def test_defect21_mid_line_truncations_say_truncated(tmp_path):
    data = C.read_bytes()
    body = data.index(b"  events:\n")
    cuts = []
    pos = body
    while len(cuts) < 60:     # inside event lines: after the first few bytes of the line
        nl = data.index(b"\n", pos + 1)
        cuts += [pos + 1 + k for k in (5, 9, 14) if pos + 1 + k < nl]
        pos = nl
    for cut in cuts:
        p = tmp_path / "cut.yml"
        p.write_bytes(data[:cut])
        cap = Capture(p)
        with pytest.raises(Exception) as e:
            list(cap.observations())
        assert "truncated" in str(e.value), (cut, str(e.value))


def test_defect21_virtual_capture_is_refused(capsys):
    rc, _, err = run_cli(["--virtual", "capture", "--duration", "1"], capsys)
    assert rc == 2 and "virtual receiver has none" in one_line_error(err)
