"""benchmarks/compile.py's exit status: ``--check`` turns a missed target into exit 1.

The measurement is replaced by fixed figures; no timing is asserted.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "compile.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_mlp_bench_compile", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _fixed(seconds_per_step: float) -> Callable[[int, int], float]:
    return lambda n, repeat: n * seconds_per_step


def test_check_exits_0_when_met_and_1_when_missed(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN 50 steps compiling in 0.05 s (met), then in 0.5 s (missed; the target is 0.2 s)
    monkeypatch.setattr(bench, "measure", _fixed(0.001))
    assert bench.main(["--check"]) == 0
    monkeypatch.setattr(bench, "measure", _fixed(0.01))
    # THEN only --check turns the miss into exit 1
    assert bench.main([]) == 0
    assert bench.main(["--check"]) == 1


def test_a_failed_compile_exits_2(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(n: int, repeat: int) -> float:
        raise bench.BenchmarkError(f"{n} steps compiled to 0 tasks")

    monkeypatch.setattr(bench, "measure", broken)
    assert bench.main(["--check"]) == 2
