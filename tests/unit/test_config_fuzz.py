"""The configuration fuzzer on a small budget (tests/bench/bench_config_fuzz.py runs the
large one): mutated files give a Config or one BadInput line, `config` exits 0/1, the
daemon 0/78, never "internal error", each case in bounded time."""

from __future__ import annotations

import pytest
from config_fuzz import SEEDS, mutate, run

from phantombutton.service import config


def test_seeds_are_valid_configurations():
    for text in SEEDS:
        config.parse(text)


def test_mutations_are_deterministic():
    import random

    a = [mutate(SEEDS[0], random.Random(7)) for _ in range(3)]
    assert a == [mutate(SEEDS[0], random.Random(7)) for _ in range(3)]


@pytest.mark.parametrize("seed", [1, 2])
def test_config_fuzz_small_budget(tmp_path, monkeypatch, seed):
    monkeypatch.delenv("DISPLAY", raising=False)
    report = run(tmp_path, seed=seed, cases=150, seconds=2.5, daemon_every=30)
    assert report.cases >= 20, report.line()
    assert report.accepted and report.refused, report.line()
    assert report.unexpected == [], "\n".join(report.unexpected[:10])


def test_syntax_error_names_a_header_with_a_control_character(tmp_path):
    # found by the fuzzer (seed 11, case 1279): a raw \r of the line was copied into the message
    from phantombutton.errors import BadInput

    p = tmp_path / "config.toml"
    p.write_bytes(b"[de\rtection]\nheld-for = 1\n")
    with pytest.raises(BadInput) as e:
        config.load(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:1:") and "\r" not in msg and "[de\\u000Dtection]" in msg, msg
