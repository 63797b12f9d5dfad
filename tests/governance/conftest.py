"""A real MLflow store (SQLite in tmp_path) for the governance tests."""

from __future__ import annotations

import pytest

from _mlflow_store import sqlite_store


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path) -> str:
    """A copy of a once-per-session migrated MLflow database (tests/tracking builds the same)."""
    return sqlite_store(tmp_path_factory, tmp_path)
