"""Fixtures of the serving tests: a real MLflow registry on SQLite with two versions of a
model trained by the platform's own steps (mixed numeric and categorical columns), a numeric
MLflow model folder (the fast path), and servers started on loopback on a free port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.register import save_reference_profile
from mlplatform.components.train import train
from mlplatform.serving import BackgroundServer, ServerConfig, VariantConfig, build_app
from mlplatform.serving import start_background as _start
from mlplatform.tracking import promote, register_model, set_alias

MODEL = "churn"


@pytest.fixture(scope="session")
def churn_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, test features) of the synthetic classification data (2 categoricals)."""
    train_frame, test_frame, _ = featurize(ingest("synthetic://classification", rows=300, seed=0))
    return train_frame.drop(columns=["target"]), test_frame.drop(columns=["target"])


@pytest.fixture(scope="session")
def churn_models(churn_data) -> dict[str, Pipeline]:
    train_frame, _, transformer = featurize(ingest("synthetic://classification", rows=300, seed=0))
    return {
        "logreg": train(train_frame, transformer, model="logreg", hyperparams={}),
        "gbm": train(train_frame, transformer, model="gbm", hyperparams={"max_iter": 20}),
    }


def make_registry(folder: Path, models: dict[str, Pipeline], features: pd.DataFrame) -> str:
    """A registry with churn v1 (logreg, champion) and v2 (gbm, challenger)."""
    folder.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()
    for i, name in enumerate(("logreg", "gbm"), start=1):
        register_model(
            models[name],
            MODEL,
            tracking_uri=uri,
            signature_input=features,
            tags={"estimator": name},
            model_digest=f"sha256:{name}",
            metrics={"accuracy": 0.9},
        )
        save_reference_profile(MODEL, i, features, tracking_uri=uri)
        if i == 1:  # promoted, so its history lets a later rollback return to it
            promote(MODEL, "champion", 1, tracking_uri=uri, user="test", reason="first")
        else:
            set_alias(MODEL, "challenger", i, tracking_uri=uri)
    return uri


@pytest.fixture(scope="module")
def registry(tmp_path_factory, churn_models, churn_data) -> str:
    """Read-only registry shared by a module's tests."""
    return make_registry(tmp_path_factory.mktemp("registry"), churn_models, churn_data[0])


@pytest.fixture
def fresh_registry(tmp_path, churn_models, churn_data) -> str:
    """A registry a test may change (promote, move aliases)."""
    return make_registry(tmp_path / "registry", churn_models, churn_data[0])


@pytest.fixture(scope="session")
def iris_dir(tmp_path_factory) -> tuple[Path, LogisticRegression, np.ndarray]:
    """A numeric MLflow model folder (tensor signature [-1, 4] float64), its model and X."""
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    path = tmp_path_factory.mktemp("iris") / "model"
    mlflow.sklearn.save_model(
        model, str(path), signature=infer_signature(x, y), input_example=x[:2]
    )
    return path, model, x


Start = Callable[..., BackgroundServer]


@pytest.fixture
def start_server() -> Iterator[Start]:
    """``start_server(config)`` -> a running server; every one is stopped after the test."""
    running: list[BackgroundServer] = []

    def start(config: ServerConfig, **kwargs: object) -> BackgroundServer:
        server = _start(build_app(config, **kwargs))  # type: ignore[arg-type]
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


def config(name: str, uri: str, tracking_uri: str | None = None, **kwargs: object) -> ServerConfig:
    return ServerConfig(name, (VariantConfig("primary", uri),), tracking_uri, **kwargs)  # type: ignore[arg-type]
