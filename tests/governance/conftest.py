"""A real MLflow store (SQLite in tmp_path) for the governance tests."""

from __future__ import annotations

import shutil

import pytest
from mlflow import MlflowClient


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path) -> str:
    """A copy of a once-per-session migrated MLflow database (tests/tracking builds the same)."""
    template = tmp_path_factory.getbasetemp() / "mlflow-template.db"
    if not template.exists():
        building = template.with_suffix(".building")
        MlflowClient(f"sqlite:///{building}").search_experiments()
        building.replace(template)
    shutil.copy(template, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"
