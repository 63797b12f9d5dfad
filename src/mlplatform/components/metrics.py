"""Holdout metrics per task, the quality gate, and which direction of a metric is better.

- regression: ``rmse``, ``mae``, ``r2``;
- multiclass: ``accuracy``, ``f1_macro``, ``f1_weighted``, ``log_loss`` (probabilistic models);
- binary: the multiclass ones plus ``roc_auc``, ``pr_auc`` (average precision) and ``f1`` of
  the positive class (the second of the sorted classes).

The gate is written in the one gate syntax (``mlplatform.grammar.gate``: ``"r2>=0.4"``).
For classification ``min_accuracy`` (and ``min_f1``) are kept as shorthands: they add
``accuracy>=min_accuracy`` (``f1_macro>=min_f1``) to the gate, so both must hold. For
regression they are ignored, and a regression without a ``gate`` gets ``r2>0`` (better than
predicting the mean).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from mlplatform.components.tasks import is_classification
from mlplatform.errors import ConfigError
from mlplatform.grammar.gate import Gate, parse_gate

__all__ = [
    "DEFAULT_COMPARE",
    "LOWER_IS_BETTER",
    "REGRESSION_DEFAULT_GATE",
    "TASK_METRICS",
    "build_gate",
    "score",
    "task_of_model",
]

LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss"})
DEFAULT_COMPARE = {"binary": "accuracy", "multiclass": "accuracy", "regression": "r2"}
REGRESSION_DEFAULT_GATE = "r2>0"
_CLASSIFICATION = ("accuracy", "f1_macro", "f1_weighted", "log_loss")
TASK_METRICS = {
    "binary": (*_CLASSIFICATION, "roc_auc", "pr_auc", "f1"),
    "multiclass": _CLASSIFICATION,
    "regression": ("rmse", "mae", "r2"),
}
"""The metrics each task measures (``log_loss`` only for probabilistic models)."""


def task_of_model(model: Any) -> str:
    """``regression``, ``binary`` or ``multiclass``, from the fitted model itself."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return "regression"
    return "binary" if len(classes) == 2 else "multiclass"


def score(model: Any, features: pd.DataFrame, labels: np.ndarray, task: str) -> dict[str, float]:
    """The task's metrics of ``model`` on these rows (plain floats)."""
    predicted = model.predict(features)
    if not is_classification(task):
        return _regression(labels, predicted)
    metrics = {
        "accuracy": accuracy_score(labels, predicted),
        "f1_macro": f1_score(labels, predicted, average="macro", zero_division=0),
        "f1_weighted": f1_score(labels, predicted, average="weighted", zero_division=0),
    }
    classes = getattr(model, "classes_", np.unique(labels))
    scores = model.predict_proba(features) if hasattr(model, "predict_proba") else None
    if scores is not None:
        metrics["log_loss"] = log_loss(labels, scores, labels=classes)
    if task == "binary" and len(np.unique(labels)) == 2:
        metrics.update(_binary(model, features, labels, predicted, scores, classes))
    return {name: float(value) for name, value in metrics.items()}


def _regression(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(np.sqrt(mean_squared_error(labels, predicted))),
        "mae": float(mean_absolute_error(labels, predicted)),
        "r2": float(r2_score(labels, predicted)),
    }


def _binary(
    model: Any,
    features: pd.DataFrame,
    labels: np.ndarray,
    predicted: np.ndarray,
    scores: np.ndarray | None,
    classes: np.ndarray,
) -> dict[str, float]:
    positive = classes[1]
    ranked = scores[:, 1] if scores is not None else model.decision_function(features)
    is_positive = labels == positive
    return {
        "roc_auc": float(roc_auc_score(is_positive, ranked)),
        "pr_auc": float(average_precision_score(is_positive, ranked)),
        "f1": float(f1_score(is_positive, predicted == positive, zero_division=0)),
    }


def build_gate(task: str, gate: str, min_accuracy: float, min_f1: float) -> Gate | None:
    """The gate this evaluation applies: ``gate`` plus the shorthands that apply to the task.

    Returns None when nothing is required (classification with no gate and zero thresholds).

    Raises:
        ConfigError: ``gate`` does not parse, a threshold is outside [0, 1].
    """
    for name, value in (("min_accuracy", min_accuracy), ("min_f1", min_f1)):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(
                f"{name} must be within [0, 1], got {value}", f"Pass e.g. -p {name}=0.8."
            )
    parts = [gate] if gate.strip() else []
    if not is_classification(task):
        parts = parts or [REGRESSION_DEFAULT_GATE]
    else:
        parts += [f"accuracy>={min_accuracy!r}"] if min_accuracy > 0 else []
        parts += [f"f1_macro>={min_f1!r}"] if min_f1 > 0 else []
    try:
        parsed = parse_gate(",".join(parts)) if parts else None
    except ConfigError as exc:
        example = f"-p gate={DEFAULT_COMPARE[task]}>=0.5"
        headline = f"gate {gate!r}: {exc.headline}"
        raise ConfigError(headline, f"{exc.hint} Pass e.g. {example}.") from exc
    known = TASK_METRICS[task]
    unknown = [c.metric for c in (parsed.conditions if parsed else ()) if c.metric not in known]
    if unknown:
        example = DEFAULT_COMPARE[task]
        raise ConfigError(
            f"gate {gate!r} names {', '.join(map(repr, unknown))}, not a {task} metric",
            f"Gate on {', '.join(known)}: e.g. -p gate={example}>=0.5.",
        )
    return parsed
