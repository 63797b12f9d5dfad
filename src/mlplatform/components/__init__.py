"""Components: the steps of the standard training pipeline, one module per step.

``ingest`` -> ``validate`` -> ``featurize`` -> ``train`` -> ``evaluate`` -> ``register``
(``standard`` wires them); each step is also a plain function. ``historical_features`` and
``materialize_features`` read from and load the feature store (Feast). ``TASKS`` and
``resolve_task`` say how the label decides between binary, multiclass and regression.
"""

from __future__ import annotations

from mlplatform.components.evaluate import evaluate
from mlplatform.components.feature_table import historical_features, materialize_features
from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.register import register
from mlplatform.components.tasks import TASKS, resolve_task
from mlplatform.components.train import ESTIMATORS, train
from mlplatform.components.validate import infer_schema, load_schema, save_schema, validate

__all__ = [
    "ESTIMATORS",
    "TASKS",
    "evaluate",
    "featurize",
    "historical_features",
    "infer_schema",
    "ingest",
    "load_schema",
    "materialize_features",
    "register",
    "resolve_task",
    "save_schema",
    "train",
    "validate",
]
