"""Smoke test of benchmarks/data_fingerprint.py, so that the benchmark cannot silently rot.

Not a timed test: it asserts that every figure was produced and how ``--check`` turns a missed
target into exit 1, never how fast anything is.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark) -> ModuleType:
    return load_benchmark("data_fingerprint")


def test_quick_run_reports_every_row(bench: ModuleType, tmp_path: Path) -> None:
    # WHEN the benchmark runs once on a small file
    out = tmp_path / "fp.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    # THEN every row has a figure, and the hashing rows have the peer's beside ours
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 5
    for name, row in rows.items():
        assert row["ours"] > 0, name
    hashing = [r for n, r in rows.items() if n.startswith("hash")]
    assert len(hashing) == 2
    assert all(r["peer"] > 0 and r["ratio"] > 0 for r in hashing)


def test_each_target_is_met_or_missed_by_its_median(bench: ModuleType) -> None:
    fast = {"cold-ours": [1.0], "cold-peer": [1.0], "warm-ours": [1.0], "warm-peer": [1.0]}
    fast |= {"fingerprint": [0.01], "plan-data": [3.0], "plan-floor": [3.0]}
    slow = fast | {"warm-ours": [2.0]}
    assert [r.met for r in bench.rows_of(fast)][:3] == [True, True, True]
    assert bench.rows_of(slow)[1].met is False
    assert bench.rows_of(fast | {"fingerprint": [0.5]})[2].met is False
