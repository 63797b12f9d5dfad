"""The repository carries everything its schema tests need: no build file, script or test points
outside it, and a fresh clone with no sibling folders passes the modules that read the schemas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

# Built from pieces so that this file does not match its own scan.
SHARED = "shared"
NEEDLES = ("../" + SHARED, "/" + "work/", SHARED + "/crd-schemas")
SCANNED = ("Makefile", "infrastructure/Makefile.mk", "scripts", "tests", ".ci")
# Committed modules that read infrastructure/schemas/crd through their conftest default.
SCHEMA_READERS = (
    "tests/serving/deploy/test_schemas.py",
    "tests/alerts/test_platform_rules.py"
    "::test_the_prometheus_rule_carries_the_same_groups_and_passes_its_crd_schema",
    "tests/pipelines/argo/test_golden.py::test_golden_files_validate_strictly",
)


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = REPO / name
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [p for p in files if "__pycache__" not in p.parts]


def git(*args: str | Path, cwd: Path = REPO) -> str:
    result = subprocess.run(
        ["git", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(map(str, args))}: {result.stderr}"
    return result.stdout.strip()


def test_no_build_file_script_or_test_points_outside_the_repository():
    # GIVEN every file under the build files, scripts, tests and CI
    offenders = []
    for path in scanned_files():
        text = path.read_bytes().decode("utf-8", errors="replace")
        # THEN none names a sibling folder or this machine's layout
        offenders += [f"{path.relative_to(REPO)}: {n}" for n in NEEDLES if n in text]
    assert offenders == []


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of HEAD in a folder that has no sibling ``shared/``."""
    target = tmp_path_factory.mktemp("clone") / "mlplatform"
    git("clone", "--quiet", "--no-checkout", REPO, target)
    git("checkout", "--quiet", "--detach", git("rev-parse", "HEAD"), cwd=target)
    assert not (target.parent / SHARED).exists()
    return target


def clone_env(clone: Path) -> dict[str, str]:
    """This environment without the schema override, pytest's own settings or the outer run's
    shared resources (tests/_shared.py); the clone's src."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "MLPLATFORM_CRD_SCHEMAS" and not k.startswith(("PYTEST_", "MLPLATFORM_TEST_SHARED"))
    }
    return {**env, "PYTHONPATH": str(clone / "src")}


def test_a_clone_imports_its_own_package(clone):
    code = "import mlplatform; print(mlplatform.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=clone,
        env=clone_env(clone),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(clone / "src")


def test_a_clone_without_sibling_folders_passes_the_schema_reading_modules(clone):
    # GIVEN a fresh clone, no MLPLATFORM_CRD_SCHEMAS, and only the clone's files on the path
    missing = [m for m in SCHEMA_READERS if not (clone / m.partition("::")[0]).is_file()]
    assert missing == [], "not committed: pick schema-reading modules that are"
    # WHEN its schema-reading tests run there
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SCHEMA_READERS],
        cwd=clone,
        env=clone_env(clone),
        capture_output=True,
        text=True,
        check=False,
    )
    # THEN they pass, reading the clone's vendored schemas
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert " failed" not in result.stdout
