"""The ``evaluate`` step: holdout metrics, a quality gate, and a fair comparison with the champion.

The result is a JSON document that ``register`` reads::

    {"task": "binary",
     "metrics": {"accuracy": .., "f1_macro": .., "roc_auc": .., "pr_auc": .., "f1": .., ...},
     "gate": {"passed": true, "failures": [], "gate": "accuracy>=0.7"},
     "champion": {"version": 3, "comparable": true, "metric": "accuracy", "margin": 0.0,
                  "challenger": 0.93, "champion": 0.91, "champion_metrics": {...},
                  "beats_champion": true, "reason": "..."} | null,
     "model_name": "standard-model", "test_rows": 250}

The task is read from the fitted model (a regressor, or a classifier and its classes), the
metrics per task are ``components.metrics``'s. The champion is read from the registry at
``MLFLOW_TRACKING_URI`` (the engine sets it) and scored on this same test set
(``components.champion``); its version is part of this step's cache key (``external=``).
Without a registry the comparison is skipped (``"champion": null``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from mlplatform.components.champion import champion_state, compare_with_champion
from mlplatform.components.metrics import DEFAULT_COMPARE, TASK_METRICS, build_gate, score
from mlplatform.components.metrics import task_of_model as _task_of_model
from mlplatform.components.tasks import require_target
from mlplatform.errors import ConfigError, DataValidationError
from mlplatform.pipelines.context import current_step, log_metrics, log_params
from mlplatform.pipelines.dsl import step

__all__ = ["evaluate", "holdout_metrics", "quality_gate"]


@step(env=("MLFLOW_TRACKING_URI",), external={"champion": champion_state})
def evaluate(
    model: Pipeline,
    test: pd.DataFrame,
    target: str = "target",
    model_name: str = "standard-model",
    min_accuracy: float = 0.7,
    min_f1: float = 0.0,
    gate: str = "",
    compare: str = "",
    margin: float = 0.0,
) -> dict[str, Any]:
    """Score ``model`` on the holdout split and decide whether it may be promoted.

    Args:
        model: the fitted pipeline (predicts raw frames; columns it does not use are ignored).
        test: the holdout split, raw columns plus ``target``.
        target: the name of the label column.
        model_name: registered model whose ``champion`` is scored on the same test set.
        min_accuracy: classification only: adds ``accuracy>=min_accuracy`` to the gate.
        min_f1: classification only: adds ``f1_macro>=min_f1`` to the gate.
        gate: conditions on any metric of the task, ``"r2>=0.4,rmse<12"``
            (``mlplatform.grammar.gate``); regression without one gets ``r2>0``.
        compare: the metric that decides against the champion (default ``accuracy`` for
            classification, ``r2`` for regression).
        margin: how much better than the champion the model must be on ``compare``.

    Returns:
        ``task``, ``metrics``, ``gate`` (``passed``, ``failures``, ``gate``), ``champion``
        (or ``None``), ``model_name`` and ``test_rows``; plain JSON values only.

    Raises:
        ConfigError: the gate, a threshold, ``compare`` or ``margin`` is not valid.
        DataValidationError: ``target`` is missing or the split is empty.
    """
    features, labels = _features_and_labels(test, target)
    task = _task_of_model(model)
    checked_gate = quality_gate_for(task, gate, min_accuracy, min_f1)
    metric = _compare_metric(task, compare, margin)
    metrics = score(model, features, labels, task)
    verdict = checked_gate(metrics)
    tracking_uri = os.environ.get("MLFLOW_TRACKING_URI")
    comparison = None
    if tracking_uri:
        comparison = compare_with_champion(
            metrics,
            features,
            labels,
            task=task,
            model_name=model_name,
            tracking_uri=tracking_uri,
            compare=metric,
            margin=margin,
            own_digest=_model_digest(),
        )
    log_params({"task": task, "gate": verdict["gate"], "compare": metric, "margin": margin})
    log_metrics(metrics)
    return {
        "task": task,
        "metrics": metrics,
        "gate": verdict,
        "champion": comparison,
        "model_name": model_name,
        "test_rows": len(test),
    }


def holdout_metrics(model: Any, features: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    """The metrics of the model's task (``components.metrics.score``) on these rows."""
    return score(model, features, labels, _task_of_model(model))


def quality_gate(
    metrics: dict[str, float],
    *,
    min_accuracy: float,
    min_f1: float,
    gate: str = "",
    task: str = "binary",
) -> dict[str, Any]:
    """``{"passed": bool, "failures": [...], "gate": "..."}``, one failure per condition."""
    return quality_gate_for(task, gate, min_accuracy, min_f1)(metrics)


def quality_gate_for(
    task: str, gate: str, min_accuracy: float, min_f1: float
) -> Callable[[dict[str, float]], dict[str, Any]]:
    """The gate checked up front (a bad gate fails before scoring), as a function of metrics."""
    parsed = build_gate(task, gate, min_accuracy, min_f1)

    def check(metrics: dict[str, float]) -> dict[str, Any]:
        if parsed is None:
            return {"passed": True, "failures": [], "gate": ""}
        passed, failures = parsed.check(metrics)
        return {"passed": passed, "failures": failures, "gate": str(parsed)}

    return check


def _compare_metric(task: str, compare: str, margin: float) -> str:
    metric = compare or DEFAULT_COMPARE[task]
    if metric not in TASK_METRICS[task]:
        raise ConfigError(
            f"compare metric {metric!r} is not a {task} metric",
            f"Pass -p compare=<one of: {'|'.join(TASK_METRICS[task])}>.",
        )
    if margin < 0:
        raise ConfigError(f"margin must be >= 0, got {margin}", "Pass e.g. -p margin=0.01.")
    return metric


def _model_digest() -> str | None:
    """The digest of the ``model`` input artifact in a pipeline run (what register tags)."""
    ctx = current_step()
    ref = ctx.inputs.get("model") if ctx else None
    return str(ref["digest"]) if ref and ref.get("digest") else None


def _features_and_labels(test: pd.DataFrame, target: str) -> tuple[pd.DataFrame, np.ndarray]:
    require_target(test, target, "the test split")
    if test.empty:
        raise DataValidationError(
            "the test split is empty", "Raise -p test_size, or ingest more rows."
        )
    return test.drop(columns=[target]), test[target].to_numpy()
