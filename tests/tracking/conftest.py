"""Fixtures for the tracking tests: a real MLflow on SQLite in tmp_path, real fitted models.

Creating MLflow's tables costs seconds, so one initialized database is made per session and
copied for every test that needs a fresh one (a copy opens in a fraction of a second). The
template lives in the session's base temp folder, so other test folders that build it the same
way (tests/components/test_evaluate.py, test_register.py) reuse it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.train import train

# Small but real: every estimator the train step offers, fitted on data with categoricals.
SMALL = {"logreg": {}, "gbm": {"max_iter": 20}, "random_forest": {"n_estimators": 10}}


def initialized_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow database, made once per session (shared by test folders)."""
    path = tmp_path_factory.getbasetemp() / "mlflow-template.db"
    if not path.exists():
        building = path.with_suffix(".building")
        MlflowClient(f"sqlite:///{building}").search_experiments()  # creates the tables
        building.replace(path)
    return path


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory) -> Path:
    return initialized_db(tmp_path_factory)


def fresh_uri(template: Path, folder: Path) -> str:
    """A tracking URI on a copy of the initialized database, artifacts next to it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture
def tracking_uri(empty_mlflow_db, tmp_path) -> str:
    return fresh_uri(empty_mlflow_db, tmp_path / "mlflow")


@pytest.fixture(scope="session")
def split() -> tuple[pd.DataFrame, pd.DataFrame, ColumnTransformer]:
    return featurize(ingest("synthetic://classification", rows=300, seed=0))


@pytest.fixture(scope="session")
def models(split) -> dict[str, Pipeline]:
    train_frame, _, transformer = split
    return {
        name: train(train_frame, transformer, model=name, hyperparams=hyperparams)
        for name, hyperparams in SMALL.items()
    }


@pytest.fixture(scope="session")
def features(split) -> pd.DataFrame:
    return split[0].drop(columns=["target"])
