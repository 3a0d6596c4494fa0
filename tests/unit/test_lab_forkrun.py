"""The lab's forked `python -m|-c` children (tests/lab/guest/forkrun.py) behave as a new
interpreter would: each case runs both ways and must give the same status and output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab" / "guest"))
import forkrun  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable

CASES = {
    "exit status": ["-c", "import sys; print('out'); sys.exit(3)"],
    "exit message": ["-c", "import sys; sys.exit('no such receiver')"],
    "exception": ["-c", "raise ValueError('a bug')"],
    "argv and cwd": ["-c", "import os, sys; print(sys.argv, os.getcwd(), sys.path[0] == '')", "a", "b"],
    "only stdio open": ["-c", "import os; print(sorted(int(f) for f in os.listdir('/proc/self/fd')))"],
    "environment": ["-c", "import os, tempfile; print(os.environ.get('PB_X'), tempfile.gettempdir())"],
    "signals": ["-c", "import signal; print(signal.getsignal(signal.SIGPIPE), signal.getsignal(signal.SIGTERM), "
                      "signal.pthread_sigmask(signal.SIG_BLOCK, []))"],
    "stderr unbuffered order": ["-c", "import sys; print('a'); sys.stderr.write('b\\n'); print('c')"],
    "cli help": ["-m", "phantombutton.cli.main", "--help"],
    "cli bad option": ["-m", "phantombutton.cli.main", "analyze", "/nonexistent/capture.yml"],
}


@pytest.fixture(scope="module", autouse=True)
def preloaded():
    forkrun.preload()


def both(args: list[str], **kw) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    kw = {"capture_output": True, "text": True, "timeout": 60, "cwd": REPO,
          "env": {"PATH": "/usr/bin:/bin", "PB_X": "set", "TMPDIR": "/var/tmp", "LC_ALL": "C.UTF-8"}, **kw}
    real = subprocess.run([PY, *args], **kw)
    with forkrun.ForkedPython([PY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=kw["cwd"], env=kw["env"]) as proc:
        out, err = proc.communicate(timeout=60)
    return real, subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.mark.parametrize("case", CASES)
def test_a_forked_child_answers_as_a_new_interpreter(case):
    real, forked = both(CASES[case])
    assert (forked.returncode, forked.stdout) == (real.returncode, real.stdout)
    # a traceback names other frames (runpy, forkrun): compare its last line
    assert forked.stderr.splitlines()[-1:] == real.stderr.splitlines()[-1:]


def test_sigint_ends_it_as_it_ends_a_new_interpreter():
    code = "import time, sys; print('ready', flush=True); time.sleep(30)"
    statuses = []
    for proc in (subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL),
                 forkrun.ForkedPython([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)):
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGINT)
        statuses.append(proc.wait(10))
        proc.stdout.close()
    assert statuses == [-signal.SIGINT, -signal.SIGINT]


def test_pass_fds_stay_open_in_the_child():
    r, w = os.pipe()
    code = f"import os; os.write({w}, b'through')"
    with forkrun.ForkedPython([PY, "-c", code], pass_fds=(w,)) as proc:
        assert proc.wait(10) == 0
    os.close(w)
    assert os.read(r, 100) == b"through"


def test_only_python_is_forked():
    assert not forkrun.is_python(["sh", "-c", "true"])
    with pytest.raises(ValueError, match="python -m"):
        forkrun.ForkedPython(["sh", "-c", "true"])
