"""A model trained on the churn example's online features, registered and tagged with its
feature service: what the serving tests serve from entity keys."""

from __future__ import annotations

import pandas as pd
from mlflow import MlflowClient
from sklearn.pipeline import Pipeline

from mlplatform.components.features import featurize
from mlplatform.components.train import train
from mlplatform.features.training import SERVICE_TAG
from mlplatform.tracking import register_model, set_alias

FEATURES = ["plan", "tenure_days", "spend_30d", "visits_30d", "support_tickets_30d"]


def fit_on_features(latest: pd.DataFrame) -> Pipeline:
    """A classifier on the service's features (a string column among numbers)."""
    data = latest[FEATURES].reset_index(drop=True)
    data["target"] = (data["visits_30d"] < data["visits_30d"].median()).astype(int)
    train_frame, _, transformer = featurize(data, target="target", task="binary")
    return train(train_frame, transformer, model="logreg", target="target", task="binary")


def tagged_registry(db: str, name: str, model: Pipeline, latest: pd.DataFrame) -> str:
    """A SQLite registry at ``db`` whose ``name@champion`` is ``model``, tagged with
    feature service ``churn``; returns its URI."""
    uri = f"sqlite:///{db}"
    MlflowClient(uri).search_experiments()
    version = register_model(
        model,
        name,
        tracking_uri=uri,
        signature_input=latest[FEATURES].reset_index(drop=True),
        tags={SERVICE_TAG: "churn"},
        model_digest=f"sha256:{name}",
    )
    set_alias(name, "champion", int(version.version), tracking_uri=uri)
    return uri
