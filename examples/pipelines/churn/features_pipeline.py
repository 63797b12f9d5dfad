"""The churn model trained from the feature store: source -> feature store -> train -> serve.

Run it from the repository root, with this folder's feature repository:

    export MLPLATFORM_FEATURES__REPO=examples/pipelines/churn/features
    mlp features ingest synthetic://churn-activity --path customer_activity.parquet
    mlp features apply
    mlp pipeline run churn-features-training --file examples/pipelines/churn/features_pipeline.py
    mlp serve churn-features-model     # then POST only {"customer_id": ...} rows

The labels (``synthetic://churn-labels``: customer, event time, churned) are the entity frame;
``historical_features`` joins the ``churn`` feature service's values as they were at each
event's time (the activity table records closed accounts after a churn: a join on the latest
values would leak the label). After the training table is built, ``materialize_features``
loads the online store, and the registered version is tagged with its feature service, so
the model server fetches those features from a request's entity keys.
"""

from __future__ import annotations

from mlplatform import pipeline
from mlplatform.components import (
    evaluate,
    featurize,
    historical_features,
    ingest,
    materialize_features,
    register,
    train,
    validate,
)

IDS = "customer_id,event_timestamp"


@pipeline(name="churn-features-training")
def churn_features_training(
    labels: str = "synthetic://churn-labels",
    rows: int = 600,
    seed: int = 7,
    service: str = "churn",
    model: str = "logreg",
    model_name: str = "churn-features-model",
    min_accuracy: float = 0.55,
    gate: str = "",
) -> None:
    """Churn model on the feature store's ``churn`` service, point-in-time correct."""
    entities = ingest(labels, rows=rows, seed=seed)
    table = historical_features(entities, service=service)
    data, _ = validate(table, max_null_fraction=0.0)
    train_set, test_set, transformer = featurize(
        data, target="churned", seed=seed, task="binary", id_columns=IDS
    )
    fitted = train(train_set, transformer, model=model, target="churned", seed=seed, task="binary")
    evaluation = evaluate(
        fitted,
        test_set,
        target="churned",
        model_name=model_name,
        min_accuracy=min_accuracy,
        gate=gate,
    )
    register(
        fitted,
        evaluation,
        train_set,
        target="churned",
        model_name=model_name,
        test=test_set,
        source=labels,
        feature_service=service,
    )
    materialize_features(table, service=service)
