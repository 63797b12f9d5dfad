"""benchmarks/compile.py's exit status: ``--check`` turns a missed target into exit 1.

The measurement is replaced by fixed figures; no timing is asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark) -> ModuleType:
    return load_benchmark("compile")


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
