"""The ``evaluate`` step: holdout metrics, a quality gate, and a comparison with the champion.

The result is a JSON document that ``register`` reads::

    {"metrics": {"accuracy": .., "f1_macro": .., "f1_weighted": .., "roc_auc": .., "log_loss": ..},
     "gate": {"passed": true, "failures": []},
     "champion": {"version": 3, "accuracy": 0.91, "beats_champion": true} | null,
     "model_name": "standard-model", "test_rows": 250}

``roc_auc`` is present for binary problems, ``log_loss`` when the model has
``predict_proba``. The champion is read from the registry at ``MLFLOW_TRACKING_URI`` (the
engine sets it); without it the comparison is skipped (``"champion": null``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline

from mlplatform.errors import ConfigError, DataValidationError
from mlplatform.pipelines.context import log_metrics
from mlplatform.pipelines.dsl import step

__all__ = ["compare_with_champion", "evaluate", "holdout_metrics", "quality_gate"]


@step(env=("MLFLOW_TRACKING_URI",))
def evaluate(
    model: Pipeline,
    test: pd.DataFrame,
    target: str = "target",
    model_name: str = "standard-model",
    min_accuracy: float = 0.7,
    min_f1: float = 0.0,
) -> dict[str, Any]:
    """Score ``model`` on the holdout split and decide whether it may be promoted.

    Args:
        model: the fitted pipeline (predicts raw feature frames).
        test: the holdout split, raw feature columns plus ``target``.
        target: the name of the label column.
        model_name: registered model whose ``champion`` the model is compared with.
        min_accuracy: the gate's minimum accuracy, in [0, 1].
        min_f1: the gate's minimum macro F1, in [0, 1].

    Returns:
        ``metrics``, ``gate`` (``passed``, ``failures``), ``champion`` (or ``None``),
        ``model_name`` and ``test_rows``; plain JSON values only.

    Raises:
        ConfigError: a threshold is outside [0, 1].
        DataValidationError: ``target`` is missing or the split is empty.
    """
    features, labels = _features_and_labels(test, target)
    metrics = holdout_metrics(model, features, labels)
    gate = quality_gate(metrics, min_accuracy=min_accuracy, min_f1=min_f1)
    tracking_uri = os.environ.get("MLFLOW_TRACKING_URI")
    comparison = compare_with_champion(metrics, model_name, tracking_uri) if tracking_uri else None
    log_metrics(metrics)
    return {
        "metrics": metrics,
        "gate": gate,
        "champion": comparison,
        "model_name": model_name,
        "test_rows": len(test),
    }


def holdout_metrics(model: Any, features: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, macro and weighted F1, ROC AUC (binary) and log loss (probabilistic models)."""
    predicted = model.predict(features)
    metrics = {
        "accuracy": accuracy_score(labels, predicted),
        "f1_macro": f1_score(labels, predicted, average="macro", zero_division=0),
        "f1_weighted": f1_score(labels, predicted, average="weighted", zero_division=0),
    }
    classes = getattr(model, "classes_", np.unique(labels))
    scores = model.predict_proba(features) if hasattr(model, "predict_proba") else None
    if scores is not None:
        metrics["log_loss"] = log_loss(labels, scores, labels=classes)
    if len(classes) == 2 and len(np.unique(labels)) == 2:
        positive = scores[:, 1] if scores is not None else model.decision_function(features)
        metrics["roc_auc"] = roc_auc_score(labels, positive)
    return {name: float(value) for name, value in metrics.items()}


def quality_gate(
    metrics: dict[str, float], *, min_accuracy: float, min_f1: float
) -> dict[str, Any]:
    """``{"passed": bool, "failures": [...]}``, one readable failure per threshold missed."""
    for name, value in (("min_accuracy", min_accuracy), ("min_f1", min_f1)):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(
                f"{name} must be within [0, 1], got {value}", f"Pass e.g. -p {name}=0.8."
            )
    failures = [
        f"{metric} {metrics[metric]:.4f} < {name} {threshold:.4f}"
        for metric, name, threshold in (
            ("accuracy", "min_accuracy", min_accuracy),
            ("f1_macro", "min_f1", min_f1),
        )
        if metrics[metric] < threshold
    ]
    return {"passed": not failures, "failures": failures}


def compare_with_champion(
    metrics: dict[str, float], model_name: str, tracking_uri: str
) -> dict[str, Any] | None:
    """How the model compares with the current champion of ``model_name``, if there is one.

    A champion without a logged ``accuracy`` cannot be beaten automatically.
    """
    from mlplatform.tracking.registry import champion  # imports MLflow (~1 s): only when used

    current = champion(model_name, tracking_uri=tracking_uri)
    if current is None:
        return None
    accuracy = current.metrics.get("accuracy")
    return {
        "version": current.version,
        "accuracy": accuracy,
        "beats_champion": accuracy is not None and metrics["accuracy"] > accuracy,
    }


def _features_and_labels(test: pd.DataFrame, target: str) -> tuple[pd.DataFrame, np.ndarray]:
    if target not in test.columns:
        raise DataValidationError(
            f"target column {target!r} is not in the test split",
            f"Pass -p target=<one of: {', '.join(map(str, test.columns))}>.",
        )
    if test.empty:
        raise DataValidationError(
            "the test split is empty", "Raise -p test_size, or ingest more rows."
        )
    return test.drop(columns=[target]), test[target].to_numpy()
