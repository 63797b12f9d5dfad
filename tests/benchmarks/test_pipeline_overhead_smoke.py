"""Smoke test of benchmarks/pipeline_overhead.py, so that the benchmark cannot silently rot.

Not a timed test: it asserts that every figure was produced, never how fast it is.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "pipeline_overhead.py"
OUR_ROWS = (
    "5-step subprocess s/step",
    "20-step subprocess s/step",
    "5-step in-process s/step",
    "20-step in-process s/step",
    "cached standard re-run (engine s)",
    "cached standard re-run (wall s)",
)


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_mlp_bench_pipeline_overhead", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_quick_run_reports_every_row_of_ours(tmp_path: Path) -> None:
    # GIVEN the benchmark script, loaded by path
    benchmark = _load_benchmark()
    out = tmp_path / "overhead.json"
    # WHEN it runs once, quickly, without the Metaflow peer
    code = benchmark.main(["--quick", "--skip-metaflow", "--json", str(out)])
    # THEN it succeeds and the JSON holds a positive figure for every row of ours
    assert code == 0
    rows = json.loads(out.read_text())["rows"]
    for name in OUR_ROWS:
        assert rows[name]["ours"] > 0, name
    # AND the peer rows are there but empty, since the peer did not run
    assert rows["Metaflow 5-step s/step"]["peer"] is None
    assert rows["5-step subprocess s/step"]["met"] is None
