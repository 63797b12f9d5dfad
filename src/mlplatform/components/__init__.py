"""Components: the steps of the standard training pipeline, one module per step.

``ingest`` -> ``validate`` -> ``featurize`` -> ``train``; each step is also a plain function.
"""

from __future__ import annotations

from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.train import ESTIMATORS, train
from mlplatform.components.validate import infer_schema, load_schema, save_schema, validate

__all__ = [
    "ESTIMATORS",
    "featurize",
    "infer_schema",
    "ingest",
    "load_schema",
    "save_schema",
    "train",
    "validate",
]
