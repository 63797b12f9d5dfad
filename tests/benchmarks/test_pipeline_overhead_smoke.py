"""Smoke test of benchmarks/pipeline_overhead.py, so that the benchmark cannot silently rot.

Not a timed test: it asserts that every figure was produced, never how fast it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

WHOLE_COMMANDS = (  # ours, in seconds: a whole `mlp pipeline run`
    "mlp pipeline run, 5 steps (s)",
    "mlp pipeline run, 20 steps (s)",
    "mlp pipeline run --no-track, 5 steps (s)",
    "mlp pipeline run --no-track, 20 steps (s)",
    "mlp pipeline run --in-process, 5 steps (s)",
    "mlp pipeline run --in-process, 20 steps (s)",
    "mlp pipeline run --in-process --no-track, 5 steps (s)",
    "mlp pipeline run --in-process --no-track, 20 steps (s)",
    "cached standard re-run, engine (s)",
    "cached standard re-run, whole command (s)",
)
SLOPES = (  # differences of two medians: one quick run may even make them negative
    "mlp pipeline run, per-step slope (s/step)",
    "mlp pipeline run --no-track, per-step slope (s/step)",
    "mlp pipeline run --in-process, per-step slope (s/step)",
    "mlp pipeline run --in-process --no-track, per-step slope (s/step)",
)
PEER_ROWS = (  # beside Metaflow; the in-process and cached rows have no peer
    "mlp pipeline run, 5 steps (s)",
    "mlp pipeline run, 20 steps (s)",
    "mlp pipeline run, per-step slope (s/step)",
)


@pytest.fixture(scope="module")
def benchmark(load_benchmark) -> ModuleType:
    return load_benchmark("pipeline_overhead")


@pytest.mark.slow
def test_quick_run_reports_every_row_of_ours(benchmark: ModuleType, tmp_path: Path) -> None:
    # GIVEN the benchmark script, loaded by path
    out = tmp_path / "overhead.json"
    # WHEN it runs once, quickly, without the Metaflow peer
    code = benchmark.main(["--quick", "--skip-metaflow", "--json", str(out)])
    # THEN it succeeds and the JSON holds a figure for every row of ours
    assert code == 0
    rows = json.loads(out.read_text())["rows"]
    for name in WHOLE_COMMANDS:
        assert rows[name]["ours"] > 0, name
    for name in SLOPES:
        assert rows[name]["ours"] is not None, name
    # AND the rows beside Metaflow are there, with no peer figure and no verdict
    for name in PEER_ROWS:
        assert rows[name]["peer"] is None, name
        assert rows[name]["met"] is None, name
    # AND the in-process rows never have a peer or a ratio
    assert rows["mlp pipeline run --in-process, 5 steps (s)"]["ratio"] is None


def test_check_is_accepted(benchmark: ModuleType) -> None:
    assert benchmark.parse_args(["--quick", "--check"]).check is True
    assert benchmark.parse_args([]).check is False
