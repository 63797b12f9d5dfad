"""promtool for the LLM alert and dashboard tests: rules files checked and unit-tested.

promtool (Debian package ``prometheus``) is a test tool: without it these tests fail and say
how to install it, they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplatform.alerts import RuleGroup, write_rules_file

INSTALL = "promtool is missing: run scripts/install-test-tools.sh (Debian package prometheus)"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(INSTALL)
    return subprocess.run(
        [found, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def unit_test(
    tmp_path: Path,
    groups: Sequence[RuleGroup],
    inputs: list[dict[str, str]],
    alerts: Sequence[dict[str, Any]] = (),
    exprs: Sequence[dict[str, Any]] = (),
) -> subprocess.CompletedProcess[str]:
    """``promtool test rules`` of ``groups`` over ``inputs`` (1-minute samples)."""
    write_rules_file(groups, tmp_path / "rules.yaml")
    case: dict[str, Any] = {"interval": "1m", "input_series": inputs}
    if alerts:
        case["alert_rule_test"] = list(alerts)
    if exprs:
        case["promql_expr_test"] = list(exprs)
    spec = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [case]}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return promtool("test", "rules", "test.yaml", cwd=tmp_path)


def passes(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
