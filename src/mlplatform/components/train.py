"""The ``train`` step: fit a classifier or regressor on the transformed train split.

Estimators are chosen by task kind and name from ``ESTIMATORS``; each factory takes the seed and the
hyperparameters that override its defaults. Every estimator is single-threaded or seeded so
that two trainings on the same inputs give the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline

from mlplatform.components.tasks import is_classification, require_target, resolve_task
from mlplatform.errors import ConfigError
from mlplatform.pipelines.context import log_metrics, log_params
from mlplatform.pipelines.dsl import Resources, step

__all__ = ["ESTIMATORS", "make_estimator", "train"]


Factory = Callable[[int, dict[str, Any]], BaseEstimator]


def _logreg(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    return LogisticRegression(max_iter=5000, random_state=seed).set_params(**hyperparams)


def _linear(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    return LinearRegression().set_params(**hyperparams)


def _gbm(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    return HistGradientBoostingClassifier(random_state=seed).set_params(**hyperparams)


def _gbm_regressor(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    return HistGradientBoostingRegressor(random_state=seed).set_params(**hyperparams)


def _random_forest(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    forest = RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed)
    return forest.set_params(**hyperparams)


def _random_forest_regressor(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    forest = RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=seed)
    return forest.set_params(**hyperparams)


ESTIMATORS: dict[str, dict[str, Factory]] = {
    "classification": {
        "gbm": _gbm,
        "linear": _logreg,
        "logreg": _logreg,
        "random_forest": _random_forest,
    },
    "regression": {
        "gbm": _gbm_regressor,
        "linear": _linear,
        "random_forest": _random_forest_regressor,
    },
}
"""Task kind (``classification``, ``regression``) -> model name -> factory
``(seed, hyperparams) -> unfitted estimator``. ``linear`` is logistic regression for
classification (``logreg`` is kept as its old name)."""


def make_estimator(
    model: str, seed: int, hyperparams: dict[str, Any], task: str = "binary"
) -> BaseEstimator:
    """The unfitted estimator named ``model`` for ``task`` with ``hyperparams`` applied.

    Raises:
        ConfigError: ``model`` is not a model of the task, or a hyperparameter is not valid.
    """
    kind = "classification" if is_classification(task) else "regression"
    factory = ESTIMATORS[kind].get(model)
    if factory is None:
        raise ConfigError(
            f"unknown model {model!r} for {task}",
            f"Pass -p model=<one of: {'|'.join(sorted(ESTIMATORS[kind]))}>.",
        )
    try:
        return factory(seed, hyperparams)
    except ValueError as exc:
        raise ConfigError(
            f"invalid hyperparameters for model {model!r}: {exc}",
            "Pass only parameters the estimator accepts (see its scikit-learn docs).",
        ) from exc


@step(resources=Resources(cpu=2, memory="4Gi"), env=("OMP_NUM_THREADS",))
def train(
    train: pd.DataFrame,
    transformer: ColumnTransformer,
    model: str = "gbm",
    target: str = "target",
    seed: int = 0,
    hyperparams: dict[str, Any] | None = None,
    task: str = "auto",
) -> Pipeline:
    """Fit the estimator named ``model`` on the transformed train split.

    Args:
        train: the train split (raw columns plus ``target``; columns the transformer does not
            use, such as ids, are ignored).
        transformer: the feature transformer, already fitted on ``train``; it is not refitted.
        model: a model of the task in ``ESTIMATORS`` (``linear``, ``gbm``, ``random_forest``;
            ``logreg`` for classification).
        target: the name of the label column.
        seed: random seed of the estimator.
        hyperparams: estimator parameters that override the defaults.
        task: ``auto``, ``binary``, ``multiclass`` or ``regression``; the task chosen is
            logged as the ``task`` param.

    Returns:
        ``Pipeline([("features", transformer), ("model", estimator)])``, ready to predict on
        raw frames.

    Raises:
        ConfigError: the task, the model or a hyperparameter is unknown.
        DataValidationError: ``target`` is not a column of ``train``, or does not fit the task.
    """
    params = dict(hyperparams or {})
    require_target(train, target, "the train split")
    resolved = resolve_task(train[target], task)
    estimator = make_estimator(model, seed, params, resolved)
    features, labels = train.drop(columns=[target]), train[target].to_numpy()
    estimator.fit(transformer.transform(features), labels)
    pipeline = Pipeline([("features", transformer), ("model", estimator)])
    hps = {f"hp.{k}": v for k, v in params.items()}
    log_params({"model": model, "task": resolved, "seed": seed, **hps})
    predicted = pipeline.predict(features)
    if is_classification(resolved):
        log_metrics({"train_accuracy": float((predicted == labels).mean())})
    else:
        log_metrics({"train_rmse": float(np.sqrt(np.mean((predicted - labels) ** 2)))})
    return pipeline
