"""Harness of benchmarks/cache_rerun.py, so that the benchmark cannot silently rot.

Not a timed test: the smoke run asserts that every figure was produced and that the peer
plumbing works (the "before" peer is pointed at our own src/, so no copy of old code is
needed), never how fast anything is. The byte figures are asserted only as counts the meter
must have seen.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def bench(load_benchmark) -> ModuleType:
    return load_benchmark("cache_rerun")


@pytest.mark.slow
def test_quick_run_reports_every_row_with_a_peer(bench: ModuleType, tmp_path: Path) -> None:
    # GIVEN the benchmark, with our own src/ standing in for the before-change peer
    out = tmp_path / "cache.json"
    # WHEN it runs once, quickly, on the chain only
    code = bench.main(
        ["--quick", "--skip-standard", "--baseline-src", str(SRC), "--json", str(out)]
    )
    # THEN it succeeds, with both figures and the ratio in every row
    assert code == 0
    doc = json.loads(out.read_text())
    rows = doc["rows"]
    assert set(rows) == {
        "cached re-run, 4 MB chain: engine (s)",
        "cached re-run, 4 MB chain: bytes moved (MB)",
    }
    for name, row in rows.items():
        assert row["ours"] is not None, name
        assert row["peer"] is not None, name
        assert row["ratio"] is not None, name
    # AND the fill wrote the 4 MB array through the metered filesystem, the re-runs did not
    fills = doc["samples"]["fills"]
    assert fills["chain ours"]["written"] >= 4 << 20
    for run in doc["samples"]["reruns"]["chain ours"]:
        assert set(run["statuses"].values()) == {"cached"}
        assert run["read"] + run["written"] < 1 << 20
        assert "get_object" in run["requests"] or "head_object" in run["requests"]


def test_the_peer_is_optional(bench: ModuleType, tmp_path: Path) -> None:
    assert bench.parse_args(["--no-baseline"]).peers == ("ours",)
    assert bench.parse_args(["--baseline-src", str(SRC)]).peers == ("ours", "before")
    with pytest.raises(SystemExit):
        bench.parse_args(["--baseline-src", str(tmp_path)])  # no mlplatform package there


def test_rows_take_medians_and_targets_from_the_samples(bench: ModuleType) -> None:
    # GIVEN made-up re-runs: ours fast and light, the peer slow and heavy
    cfg = bench.parse_args(["--skip-standard", "--baseline-src", str(SRC), "--mb", "200"])
    samples = bench.Samples()
    for engine, moved in ((0.2, 1000), (0.4, 3000), (0.3, 2000)):
        samples.add("chain", "ours", {"engine_s": engine, "read": moved, "written": 0})
    samples.add("chain", "before", {"engine_s": 3.0, "read": 200 << 20, "written": 0})
    # WHEN the rows are made
    engine, moved = bench.rows(samples, cfg)
    # THEN they hold the medians, the peer's figure, and the verdicts
    assert (engine.ours, engine.peer, engine.met) == (0.3, 3.0, True)
    assert moved.ours == pytest.approx(2000 / (1 << 20))
    assert moved.peer == pytest.approx(200.0)
    assert moved.met is True
