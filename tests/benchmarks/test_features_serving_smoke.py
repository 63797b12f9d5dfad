"""Smoke test of benchmarks/features_serving.py, so that the benchmark cannot silently rot.

Not a timed test: it asserts that every figure was produced (both servers started, both paths
answered the same predictions) and how the target turns into met or missed, never how fast
anything is.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark) -> ModuleType:
    return load_benchmark("features_serving")


def test_quick_run_reports_every_row(bench: ModuleType, tmp_path: Path) -> None:
    # WHEN the benchmark runs once, briefly, at concurrency 1 and 4
    out = tmp_path / "features.json"
    assert bench.main(["--quick", "--concurrency", "1,4", "--json", str(out)]) == 0
    # THEN each concurrency has latency and throughput of both paths and the added p50
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 8
    for name, row in rows.items():
        if name.startswith("enrichment added"):
            assert row["ours"] is not None, name
            assert row["met"] in (True, False), name
        else:
            assert row["ours"] > 0, name
            assert row["peer"] > 0, name


def test_the_target_is_the_added_p50(bench: ModuleType) -> None:
    def cell(p50: float) -> object:
        run = bench.Run([p50] * 10, 1.0)
        return bench.Cell([run])

    fast = {"ours@1": cell(3.0), "direct@1": cell(2.0)}
    slow = {"ours@1": cell(5.0), "direct@1": cell(2.0)}
    (added_fast,) = [r for r in bench.rows_of(fast, [1]) if r.name.startswith("enrichment")]
    (added_slow,) = [r for r in bench.rows_of(slow, [1]) if r.name.startswith("enrichment")]
    assert (added_fast.ours, added_fast.met) == (1.0, True)
    assert (added_slow.ours, added_slow.met) == (3.0, False)
    assert bench.exit_code(bench.rows_of(slow, [1]), True) == 1
    assert bench.exit_code(bench.rows_of(fast, [1]), True) == 0


def test_quick_and_concurrency_options(bench: ModuleType) -> None:
    cfg = bench.parse_args(["--quick", "--concurrency", "1,16"])
    assert (cfg.repeat, cfg.duration_s, cfg.concurrency) == (1, 1.0, [1, 16])
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeat", "x"])
