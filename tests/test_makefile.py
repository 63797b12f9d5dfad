"""The top-level Makefile: every declared target has a rule, and CI runs what the README says.

Dry runs only (`make -n`): nothing is installed or executed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _phony_targets() -> list[str]:
    text = (REPO / "Makefile").read_text()
    match = re.search(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE)
    assert match, "the Makefile declares no .PHONY targets"
    return match.group(1).split()


def _dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("make") is None:
        pytest.fail("make is not installed: apt-get install make", pytrace=False)
    return subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("target", _phony_targets())
def test_every_declared_target_has_a_rule(target: str) -> None:
    # GIVEN a target the Makefile declares WHEN make dry-runs it
    result = _dry_run(target)
    # THEN make knows how to make it (a declared target without a rule fails with "No rule")
    assert result.returncode == 0, f"make -n {target}: {result.stderr}"
    assert "No rule to make target" not in result.stderr


def test_test_fast_leaves_out_the_service_backed_and_slow_modules() -> None:
    command = _dry_run("test-fast").stdout
    assert '-m "not slow"' in command
    for path in ("tests/services", "tests/e2e", "tests/infrastructure/test_checkov.py"):
        assert f"--ignore={path}" in command
        assert (REPO / path).exists(), f"{path} is ignored by test-fast but does not exist"


def test_bench_check_passes_check_to_every_benchmark() -> None:
    command = _dry_run("bench-check").stdout
    assert "--check" in command
    names = re.search(r"for b in ([\w ]+); do", command)
    assert names, command
    for name in names.group(1).split():
        assert (REPO / "benchmarks" / f"{name}.py").is_file(), f"benchmarks/{name}.py is missing"


def test_ci_runs_lint_then_the_whole_suite() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "make lint" in lines
    assert "make test" in lines
    assert lines.index("make lint") < lines.index("make test")
    assert "set -euo pipefail" in lines, "a failing lint must stop CI before the tests"
