"""The ``train`` step: fit a classifier on the transformed train split.

Estimators are chosen by name from ``ESTIMATORS``; each factory takes the seed and the
hyperparameters that override its defaults. Every estimator is single-threaded or seeded so
that two trainings on the same inputs give the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from mlplatform.errors import ConfigError, DataValidationError
from mlplatform.pipelines.context import log_metrics, log_params
from mlplatform.pipelines.dsl import Resources, step

__all__ = ["ESTIMATORS", "make_estimator", "train"]


def _logreg(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    return LogisticRegression(max_iter=5000, random_state=seed).set_params(**hyperparams)


def _gbm(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    return HistGradientBoostingClassifier(random_state=seed).set_params(**hyperparams)


def _random_forest(seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    forest = RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed)
    return forest.set_params(**hyperparams)


ESTIMATORS: dict[str, Callable[[int, dict[str, Any]], BaseEstimator]] = {
    "gbm": _gbm,
    "logreg": _logreg,
    "random_forest": _random_forest,
}
"""Model name -> factory ``(seed, hyperparams) -> unfitted estimator``."""


def make_estimator(model: str, seed: int, hyperparams: dict[str, Any]) -> BaseEstimator:
    """The unfitted estimator named ``model`` with ``hyperparams`` applied.

    Raises:
        ConfigError: ``model`` is not in ``ESTIMATORS`` or a hyperparameter is not valid for it.
    """
    factory = ESTIMATORS.get(model)
    if factory is None:
        raise ConfigError(
            f"unknown model {model!r}",
            f"Pass -p model=<one of: {', '.join(sorted(ESTIMATORS))}>.",
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
) -> Pipeline:
    """Fit the estimator named ``model`` on the transformed train split.

    Args:
        train: the train split (raw feature columns plus ``target``).
        transformer: the feature transformer, already fitted on ``train``; it is not refitted.
        model: a key of ``ESTIMATORS``.
        target: the name of the label column.
        seed: random seed of the estimator.
        hyperparams: estimator parameters that override the defaults.

    Returns:
        ``Pipeline([("features", transformer), ("model", estimator)])``, ready to predict on
        raw frames.

    Raises:
        ConfigError: the model or a hyperparameter is unknown.
        DataValidationError: ``target`` is not a column of ``train``.
    """
    params = dict(hyperparams or {})
    estimator = make_estimator(model, seed, params)
    if target not in train.columns:
        raise DataValidationError(
            f"target column {target!r} is not in the train split",
            f"Pass -p target=<one of: {', '.join(map(str, train.columns))}>.",
        )
    features, labels = train.drop(columns=[target]), train[target].to_numpy()
    estimator.fit(transformer.transform(features), labels)
    pipeline = Pipeline([("features", transformer), ("model", estimator)])
    log_params({"model": model, "seed": seed, **{f"hp.{k}": v for k, v in params.items()}})
    log_metrics({"train_accuracy": float((pipeline.predict(features) == labels).mean())})
    return pipeline
