"""A project's own training pipeline, copied from the standard one and adapted.

Run it from the repository root:

    mlp pipeline run churn-training --file examples/pipelines/churn/pipeline.py
    mlp pipeline plan churn-training --file examples/pipelines/churn/pipeline.py -p model=logreg

It trains on synthetic churn-like data (numeric and categorical columns) unless given a table
(``-p source=data.csv -p target=<label column>``; a folder, a glob or an fsspec URL work too;
``ingest`` declares ``source`` as data, so a re-run after the file's bytes change trains
again), and adds one step of its own, ``drop_leaky_columns``, between ingest and validate.
"""

from __future__ import annotations

import pandas as pd

from mlplatform import Resources, pipeline, step
from mlplatform.components import evaluate, featurize, ingest, register, train, validate


@step(resources=Resources(cpu=1, memory="1Gi"))
def drop_leaky_columns(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Remove columns that would leak the label (a step of this project, not of the platform)."""
    return data.drop(columns=[c for c in columns if c in data.columns])


@pipeline(name="churn-training")
def churn_training(
    source: str = "synthetic://classification",
    rows: int = 2000,
    seed: int = 7,
    model: str = "logreg",
    model_name: str = "churn-model",
    min_accuracy: float = 0.6,
    target: str = "target",
    task: str = "auto",
    gate: str = "",
) -> None:
    """Churn model: synthetic data, one project-specific step, then the standard steps."""
    raw = ingest(source, rows=rows, seed=seed)
    cleaned = drop_leaky_columns(raw, columns=["f19"])
    data, _ = validate(cleaned, max_null_fraction=0.0)
    train_set, test_set, transformer = featurize(data, target=target, seed=seed, task=task)
    fitted = train(train_set, transformer, model=model, target=target, seed=seed, task=task)
    evaluation = evaluate(
        fitted,
        test_set,
        target=target,
        model_name=model_name,
        min_accuracy=min_accuracy,
        gate=gate,
    )
    register(
        fitted,
        evaluation,
        train_set,
        target=target,
        model_name=model_name,
        test=test_set,
        source=source,
    )
