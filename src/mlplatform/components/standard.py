"""The standard training pipeline: ingest -> validate -> featurize -> train -> evaluate -> register.

It takes a user's table as it is: ``-p source=data.csv -p target=species`` (the label column),
``-p task=auto|binary|multiclass|regression``, ``-p split=auto|random|stratified|time:COLUMN``,
``-p id_columns=a,b``, ``-p model=linear|gbm|random_forest`` (``logreg`` for classification),
``-p gate="r2>=0.4"`` and ``-p compare=... -p margin=...`` for the champion comparison.

``examples/pipelines/churn/pipeline.py`` shows how a project copies and adapts it.
"""

from __future__ import annotations

from mlplatform.components.evaluate import evaluate
from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.register import register
from mlplatform.components.train import train
from mlplatform.components.validate import validate
from mlplatform.pipelines.dsl import pipeline

__all__ = ["standard_training"]


@pipeline(name="standard-training")
def standard_training(
    source: str = "sklearn://breast_cancer",
    target: str = "target",
    task: str = "auto",
    rows: int = 1000,
    seed: int = 0,
    schema: str = "",
    max_null_fraction: float = 0.05,
    test_size: float = 0.25,
    split: str = "auto",
    id_columns: str = "",
    model: str = "gbm",
    model_name: str = "standard-model",
    min_accuracy: float = 0.7,
    gate: str = "",
    compare: str = "",
    margin: float = 0.0,
    promote: bool = True,
) -> None:
    """Train, evaluate and register a classifier or regressor from any supported data source."""
    raw = ingest(source, rows=rows, seed=seed)
    data, _ = validate(raw, schema=schema, max_null_fraction=max_null_fraction)
    train_set, test_set, transformer = featurize(
        data,
        target=target,
        test_size=test_size,
        seed=seed,
        task=task,
        split=split,
        id_columns=id_columns,
    )
    fitted = train(train_set, transformer, model=model, target=target, seed=seed, task=task)
    evaluation = evaluate(
        fitted,
        test_set,
        target=target,
        model_name=model_name,
        min_accuracy=min_accuracy,
        gate=gate,
        compare=compare,
        margin=margin,
    )
    register(
        fitted,
        evaluation,
        train_set,
        target=target,
        model_name=model_name,
        promote=promote,
        test=test_set,
        source=source,
    )
