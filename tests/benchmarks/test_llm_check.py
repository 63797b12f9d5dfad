"""benchmarks/llm.py's rows, arguments and exit statuses, on made-up figures.

The measurement (which starts a vLLM engine) is replaced by fixed samples: no engine starts
here and no timing is asserted. The benchmark itself runs in `make bench`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark) -> ModuleType:
    return load_benchmark("llm")


def fixed(bench: ModuleType, router: dict[int, tuple[float, float]]) -> Callable[..., object]:
    """A ``measure`` whose router figures are ``router`` ({c: (tokens/s, TTFT ms)}) and whose
    direct figures are 300 and 1,500 tokens/s at TTFT 10 and 40 ms, in three repetitions."""
    direct = {1: (300.0, 10.0), 16: (1500.0, 40.0)}

    def measure(cfg, work, console):
        samples = bench.Samples()
        for _ in range(3):
            for name, figures in (("router", router), ("direct", direct)):
                for c, (tps, ttft) in figures.items():
                    samples.add(name, c, tps, ttft)
        return samples

    return measure


def test_rows_compare_the_router_with_vllm_direct(bench: ModuleType) -> None:
    samples = fixed(bench, {1: (290.0, 10.4), 16: (1450.0, 41.0)})(None, None, None)
    rows = {r.name: r for r in bench.rows(samples)}
    batching = rows["output tokens/s, c=16 / c=1 (router)"]
    assert batching.ours == pytest.approx(1450 / 290)
    assert batching.met is True
    assert rows["output tokens/s, c=16 / c=1 (direct)"].met is None  # information only
    assert rows["output tokens/s, c=1"].ratio == pytest.approx(290 / 300)
    assert rows["TTFT p50 (ms), c=16"].peer == 40.0
    assert all(r.met for r in rows.values() if r.targeted)


def test_check_exits_1_only_when_a_target_is_missed(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN figures within every target
    monkeypatch.setattr(bench, "measure", fixed(bench, {1: (300.0, 10.0), 16: (1500.0, 40.0)}))
    out = tmp_path / "llm.json"
    assert bench.main(["--check", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["rows"]["output tokens/s, c=1"]["met"] is True
    # WHEN the router adds 10 % to TTFT at c=1 and batching gives only 3x
    monkeypatch.setattr(bench, "measure", fixed(bench, {1: (300.0, 11.0), 16: (900.0, 40.0)}))
    # THEN only --check turns the misses into exit 1
    assert bench.main([]) == 0
    assert bench.main(["--check"]) == 1


def test_a_failed_measurement_exits_2(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(cfg, work, console):
        raise bench.BenchmarkError("`mlp llm serve` exited")

    monkeypatch.setattr(bench, "measure", broken)
    assert bench.main([]) == 2


def test_quick_means_one_repetition_of_few_prompts(bench: ModuleType) -> None:
    cfg = bench.parse_args(["--quick"])
    assert (cfg.repeat, cfg.num_prompts) == (1, 8)
    assert bench.parse_args([]).repeat == 5
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeat", "0"])
