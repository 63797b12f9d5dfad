"""Components: the steps of the standard training pipeline, one module per step.

``ingest`` -> ``validate`` -> ``featurize`` -> ``train`` -> ``evaluate`` -> ``register``
(``standard`` wires them); each step is also a plain function. ``TASKS`` and ``resolve_task``
say how the label decides between binary, multiclass and regression.
"""

from __future__ import annotations

from mlplatform.components.evaluate import evaluate
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
    "infer_schema",
    "ingest",
    "load_schema",
    "register",
    "resolve_task",
    "save_schema",
    "train",
    "validate",
]
