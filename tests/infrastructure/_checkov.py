"""Run checkov from its own virtualenv (.venv-checkov) and return one framework's report.

Shared by the Terraform scan and the kustomize-overlay scan. Without .venv-checkov the caller's
test fails with the command that creates it: an unscanned tree must not look green.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def require_checkov() -> None:
    if not CHECKOV.is_file():
        pytest.fail(
            f"{CHECKOV.relative_to(REPO)} is missing: checkov lives in its own virtualenv "
            "because it pins an old `packaging`. Create it with `make install-checkov` "
            "(make test does it).",
            pytrace=False,
        )


def run_checkov(args: list[str], cwd: Path, framework: str) -> dict[str, Any]:
    """checkov ``args`` offline (no platform API key, no mapping download); its report for
    ``framework`` (``terraform``, ``kubernetes``)."""
    require_checkov()
    env = {k: v for k, v in os.environ.items() if k not in ("BC_API_KEY", "PRISMA_API_URL")}
    env.update(BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    result = subprocess.run(
        [str(CHECKOV), *args, "--output", "json"],
        cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=600,
    )  # fmt: skip
    assert result.stdout.strip(), (
        f"checkov printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    (found,) = [r for r in reports if r.get("check_type") == framework]
    return dict(found)
