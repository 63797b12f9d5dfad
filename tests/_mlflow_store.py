"""A real MLflow store for tests: SQLite in the test's folder, copied from a database that is
migrated once per test process (MLflow's migrations take about a second)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

__all__ = ["sqlite_store"]

_TEMPLATE = "mlflow-template.db"


def sqlite_store(tmp_path_factory: pytest.TempPathFactory, folder: Path) -> str:
    """``sqlite:///<folder>/mlflow.db``: a copy of the once-migrated template database."""
    template = tmp_path_factory.getbasetemp() / _TEMPLATE
    if not template.exists():
        building = template.with_suffix(".building")
        MlflowClient(f"sqlite:///{building}").search_experiments()
        building.replace(template)
    shutil.copy(template, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"
