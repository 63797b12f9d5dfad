from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ._mlp import mlp


@pytest.fixture(scope="package")
def demo_project(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A project folder where `mlp demo` has run (the real CLI, steps as subprocesses)."""
    project = tmp_path_factory.mktemp("demo")
    return project, mlp("demo", cwd=project)
