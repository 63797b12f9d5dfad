"""The standard training pipeline: ingest -> validate -> featurize -> train -> evaluate -> register.

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
    rows: int = 1000,
    seed: int = 0,
    schema: str = "",
    max_null_fraction: float = 0.05,
    test_size: float = 0.25,
    model: str = "gbm",
    model_name: str = "standard-model",
    min_accuracy: float = 0.7,
    promote: bool = True,
) -> None:
    """Train, evaluate and register a tabular classifier from any supported data source."""
    raw = ingest(source, rows=rows, seed=seed)
    data, _ = validate(raw, schema=schema, max_null_fraction=max_null_fraction)
    train_set, test_set, transformer = featurize(data, test_size=test_size, seed=seed)
    fitted = train(train_set, transformer, model=model, seed=seed)
    evaluation = evaluate(fitted, test_set, model_name=model_name, min_accuracy=min_accuracy)
    register(fitted, evaluation, train_set, model_name=model_name, promote=promote)
