"""The public API of mlplatform.components is pinned here; change it on purpose."""

from __future__ import annotations

import mlplatform.components as components
from mlplatform.pipelines.dsl import Step


def test_all_is_pinned_and_sorted() -> None:
    assert components.__all__ == [
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
    assert components.__all__ == sorted(components.__all__)


def test_steps_are_pipeline_steps() -> None:
    steps = ("evaluate", "featurize", "historical_features", "ingest", "materialize_features")
    for name in (*steps, "register", "train", "validate"):
        assert isinstance(getattr(components, name), Step)
