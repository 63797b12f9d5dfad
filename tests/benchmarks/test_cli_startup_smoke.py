"""Smoke test of benchmarks/cli_startup.py, so that the benchmark cannot silently rot.

Not a timed test: it asserts that every figure was produced, never how fast it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
import typer

from mlplatform.cli.app import app


@pytest.fixture(scope="module")
def benchmark(load_benchmark) -> ModuleType:
    return load_benchmark("cli_startup")


def test_it_times_every_top_level_command_of_mlp(benchmark):
    assert set(benchmark.COMMANDS) == set(typer.main.get_command(app).commands)


def test_quick_run_reports_every_row_beside_the_peer(benchmark, tmp_path: Path) -> None:
    # GIVEN the benchmark script, loaded by path
    out = tmp_path / "startup.json"
    # WHEN it runs once, quickly
    code = benchmark.main(["--quick", "--json", str(out)])
    # THEN it succeeds (no --check: a missed target is printed, not an error)
    assert code == 0
    doc = json.loads(out.read_text())
    rows = doc["rows"]
    assert set(rows) == {"mlp --help"} | {f"mlp {c} --help" for c in benchmark.COMMANDS}
    for name, row in rows.items():
        assert row["ours"] > 0, name
        assert row["peer"] > 0, name
        assert row["ratio"] > 0, name
    assert set(doc["footnotes"]) == {benchmark.EMPTY, benchmark.FLOOR}


def test_check_exits_1_when_a_target_is_missed(benchmark, monkeypatch, capsys) -> None:
    # GIVEN measurements where one command takes the target's time or longer
    names = ["mlp --help", "mlp drift --help", benchmark.EMPTY, benchmark.FLOOR, benchmark.PEER]
    fast = {name: [0.1] for name in names} | {benchmark.PEER: [2.0]}
    slow = fast | {"mlp drift --help": [benchmark.TARGET_S]}
    # WHEN checked  THEN exit 1 only when a target is missed, and only with --check
    for samples, check, expected in ((fast, True, 0), (slow, True, 1), (slow, False, 0)):
        monkeypatch.setattr(benchmark, "measure", lambda *args, s=samples: s)
        assert benchmark.main(["--check"] if check else []) == expected
    assert "Target missed: mlp drift --help" in capsys.readouterr().out
