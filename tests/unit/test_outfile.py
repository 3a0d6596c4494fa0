"""phantombutton.outfile: the one way outputs are opened (atomic, or streaming for captures)."""

from __future__ import annotations

import os

import pytest

from phantombutton.outfile import OutputError, atomic_output, streaming_output


def test_atomic_output_replaces_only_on_success(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("PRECIOUS\n")
    with pytest.raises(RuntimeError):
        with atomic_output(str(dest)) as fp:
            fp.write("half")
            raise RuntimeError("input turned out bad")
    assert dest.read_text() == "PRECIOUS\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temp file left
    with atomic_output(str(dest)) as fp:
        fp.write("new\n")
    assert dest.read_text() == "new\n"


def test_atomic_output_refuses_symlink_even_dangling(tmp_path):
    decoy = tmp_path / "decoy"
    decoy.write_text("root:x:0:0\n")
    link = tmp_path / "link.yml"
    link.symlink_to(decoy)
    with pytest.raises(OutputError, match="symbolic link"):
        with atomic_output(str(link)) as fp:
            fp.write("x")
    assert decoy.read_text() == "root:x:0:0\n"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "target")
    with pytest.raises(OutputError, match="symbolic link"):
        streaming_output(str(dangling))
    assert not (tmp_path / "target").exists()


def test_refuses_output_that_is_an_input(tmp_path):
    src = tmp_path / "c.yml"
    src.write_text("keep")
    with pytest.raises(OutputError, match="also the input"):
        with atomic_output(str(src), inputs=[str(src)]):
            pass
    with pytest.raises(OutputError, match="also the input"):
        streaming_output(str(src), inputs=[str(src)])
    assert src.read_text() == "keep"


@pytest.mark.parametrize("make,match", [
    (lambda d: str(d), "is a directory"),
    (lambda d: str(d / "missing" / "x"), "no such directory"),
])
def test_one_line_errors(tmp_path, make, match):
    with pytest.raises(OutputError, match=match) as info:
        with atomic_output(make(tmp_path)):
            pass
    assert "\n" not in str(info.value)


def test_full_disk_is_one_line():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(OutputError, match="no space left"):
        with atomic_output("/dev/full") as fp:
            fp.write("x" * 100000)
    assert os.path.exists("/dev/full")


def test_streaming_output_is_readable_before_close(tmp_path):
    dest = tmp_path / "cap.yml"
    fp = streaming_output(str(dest))
    fp.write("version: 1\n")
    fp.flush()
    assert dest.read_text() == "version: 1\n"
    fp.close()


def test_closed_stdout(monkeypatch):
    monkeypatch.setattr("sys.stdout", None)
    with pytest.raises(OutputError, match="standard output is closed"):
        with atomic_output(None):
            pass
