from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder as the working directory, with no MLPLATFORM_* overrides."""
    import os

    for name in list(os.environ):
        if name.startswith("MLPLATFORM_") or name.startswith("MLFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def runner():
    return CliRunner()
