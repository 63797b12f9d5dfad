"""Smoke test of benchmarks/drift.py, so that the benchmark cannot silently rot.

Not a timed test: it asserts that every figure of ours was produced, that our outputs equal
the scipy loop's, that both tables are printed, and how ``--check`` turns figures into an
exit status (on made-up figures); never how fast anything is.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "drift.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_mlp_bench_drift", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_quick_run_prints_both_tables_and_matches_scipy(tmp_path, capsys):
    # GIVEN the benchmark, without the peers (they live in their own venv)
    bench = _load()
    out = tmp_path / "drift.json"
    # WHEN its smoke mode runs with --check
    code = bench.main(["--quick", "--skip-peers", "--check", "--json", str(out)])
    # THEN the targets cannot be checked without the peers: a measurement failure, not a pass
    assert code == bench.EXIT_FAILED
    body = json.loads(out.read_text())
    assert all("not run (--skip-peers)" in line for line in body["not_measured"])
    assert len(body["not_measured"]) == 2  # Evidently and NannyML cold, nothing of ours
    # AND both tables are printed, every row and column named
    printed = capsys.readouterr().out
    assert "COLD" in printed
    assert "WARM" in printed
    for tool in {*bench.COLD_ROWS, *bench.WARM_ROWS}:
        assert bench.LABELS[tool] in printed, tool
    for header in ("seconds", "x ours", "target", "met", "max |Δ| vs scipy"):
        assert header in printed, header
    size = body["sizes"]["20000"]
    assert [row["tool"] for row in size["cold"]] == list(bench.COLD_ROWS)
    assert [row["tool"] for row in size["warm"]] == list(bench.WARM_ROWS)
    # AND every figure of ours was produced, and our outputs are scipy's
    tools = size["tools"]
    for tool in ("mlplatform-cold", "mlplatform-warm", "floor-cold", "floor-warm", "scipy"):
        assert tools[tool]["median"] > 0, tool
    for tool in ("mlplatform-cold", "mlplatform-warm"):
        diff, where = tools[tool]["max_diff_vs_scipy"]
        assert diff < 1e-9, where


def _results(bench: ModuleType, **seconds: float | None) -> dict:
    """Made-up figures at one size: ``None`` is a tool that failed."""
    figures = {
        "mlplatform-cold": 1.0,
        "mlplatform-warm": 0.5,
        "mlplatform-evidently": 0.5,
        "floor-cold": 0.4,
        "floor-warm": 0.2,
        "scipy": 25.0,
        "evidently": 150.0,
        "nannyml-cold": 12.0,
        "nannyml-warm": 3.0,
    } | seconds
    outcomes = {}
    for tool, value in figures.items():
        measured = {"seconds": [value]} if value is not None else {"error": "failed"}
        outcomes[tool] = bench.Outcome(tool, 1000, **measured)
    return {1000: outcomes}


@pytest.mark.parametrize(
    ("changed", "check", "expected"),
    [
        ({}, True, 0),  # every cold target met
        ({"evidently": 50.0}, True, 1),  # Evidently only 50x ours cold
        ({"evidently": 50.0}, False, 0),  # ... reported, not an error without --check
        ({"nannyml-warm": 0.1}, True, 0),  # no target on the warm table
        ({"nannyml-cold": None}, False, 2),  # a tool failed: with or without --check
        ({"mlplatform-cold": None}, False, 2),
        ({"floor-warm": None, "scipy": 1.0}, True, 2),  # a failure outranks a miss
    ],
)
def test_check_turns_cold_targets_into_the_exit_status(changed, check, expected):
    bench = _load()
    assert bench.exit_code(_results(bench, **changed), check) == expected


@pytest.mark.parametrize(("check", "expected"), [(False, 0), (True, 2)])
def test_skipped_peers_fail_only_a_check(check, expected):
    # GIVEN figures without the peers (--skip-peers)
    bench = _load()
    results = _results(bench)
    for peer in bench.PEERS:
        del results[1000][peer]
    # THEN a plain run is fine, and a check that cannot compare is a measurement failure
    assert bench.exit_code(results, check) == expected
