"""Smoke test of benchmarks/drift.py, so that the benchmark cannot silently rot.

Not a timed test: it asserts that every figure of ours was produced and that our outputs
equal the scipy loop's, never how fast anything is.
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
def test_quick_run_measures_ours_and_matches_scipy(tmp_path):
    code = _load().main(["--quick", "--skip-peers", "--json", str(tmp_path / "drift.json")])
    assert code == 0
    tools = json.loads((tmp_path / "drift.json").read_text())["sizes"]["20000"]["tools"]
    for tool in ("mlplatform", "mlplatform-1-thread", "mlplatform-cold", "scipy", "np-sort"):
        assert tools[tool]["median"] > 0, tool
        assert tools[tool]["peak_extra_bytes"] is not None or tool == "np-sort"
    for tool in ("mlplatform", "mlplatform-cold"):
        diff, where = tools[tool]["max_diff_vs_scipy"]
        assert diff < 1e-9, where
