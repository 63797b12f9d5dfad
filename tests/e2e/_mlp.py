"""Run the real `mlp` command in a project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "MLFLOW_"))}


def mlp(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real `mlp` command (python -m mlplatform) in ``cwd``."""
    result = subprocess.run(
        [sys.executable, "-m", "mlplatform", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"mlp {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def mlp_json(*args: str, cwd: Path) -> object:
    return json.loads(mlp(*args, "--format", "json", cwd=cwd).stdout)
