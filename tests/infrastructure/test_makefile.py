"""infrastructure/Makefile.mk: the deploy targets exist, check tools and logins first, and
`destroy` asks before it deletes. Dry-run with `make -n` through a stand-in top Makefile."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ._tree import CLOUDS, INFRA, REPO

TOP = """SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
include infrastructure/Makefile.mk
"""
PER_CLOUD = [
    "tf-bootstrap",
    "tf-init",
    "tf-plan",
    "tf-apply",
    "deploy",
    "deploy-platform",
    "status",
    "destroy",
    "terraform-init",
    "terraform-plan",
    "terraform-apply",
]
GLOBAL = [
    "infra-check",
    "infra-fmt",
    "infra-parse",
    "infra-checkov",
    "install-checkov",
    "infra-help",
    "port-forward-mlflow",
    "port-forward-argocd",
    "port-forward-grafana",
]


@pytest.fixture(scope="module")
def top(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("make") is None:
        pytest.fail("make is not installed", pytrace=False)
    path = tmp_path_factory.mktemp("make") / "Makefile"
    path.write_text(TOP)
    return path


def _dry_run(top: Path, target: str) -> str:
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-n",
            "-f",
            str(top),
            target,
            "GITHUB_REPOSITORY=owner/repo",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, f"make -n {target}: {result.stderr}"
    return result.stdout


@pytest.mark.parametrize(
    "target", [f"{t}-{c}" for t in PER_CLOUD for c in CLOUDS if t != "deploy"] + GLOBAL
)
def test_every_target_dry_runs(top: Path, target: str) -> None:
    _dry_run(top, target)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_cloud_targets_check_tools_and_login_first(top: Path, cloud: str) -> None:
    for target in ("tf-bootstrap", "tf-apply", "status", "destroy"):
        commands = _dry_run(top, f"{target}-{cloud}")
        assert "missing tools for" in commands, target
        assert "terraform" in commands
    assert "not logged in" in _dry_run(top, f"destroy-{cloud}")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_destroy_asks_for_the_cluster_name_before_deleting(top: Path, cloud: str) -> None:
    commands = _dry_run(top, f"destroy-{cloud}")
    ask, destroy = commands.index("read answer"), commands.index(" destroy -auto-approve")
    assert ask < destroy
    assert "aborted: nothing destroyed" in commands


def test_deploy_runs_cluster_then_platform_then_status() -> None:
    text = (INFRA / "Makefile.mk").read_text()
    recipe = text[text.index("deploy-%: ##") :]
    order = [recipe.index(step) for step in ("tf-apply-$*", "deploy-platform-$*", "status-$*")]
    assert order == sorted(order)


def test_install_checkov_uses_the_lock_file(top: Path) -> None:
    commands = (
        _dry_run(top, "install-checkov")
        if not (REPO / ".venv-checkov" / "bin" / "checkov").exists()
        else ""
    )
    text = (INFRA / "Makefile.mk").read_text()
    assert "requirements/checkov-lock.txt" in text
    assert ".venv-checkov" in text
    assert not commands or "checkov-lock.txt" in commands
