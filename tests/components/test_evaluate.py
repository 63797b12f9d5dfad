"""Tests of the evaluate step: holdout metrics, the quality gate, the champion comparison."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from mlplatform.components.evaluate import evaluate
from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.train import train
from mlplatform.errors import ConfigError, DataValidationError
from mlplatform.pipelines.context import StepContext, running
from mlplatform.tracking import promote, register_model


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame, Pipeline]:
    train_frame, test_frame, transformer = featurize(
        ingest("synthetic://classification", rows=300, seed=0)
    )
    return train_frame, test_frame, train(train_frame, transformer, model="logreg")


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path, monkeypatch) -> str:
    """A real MLflow store on a copy of a once-per-session migrated SQLite database."""
    template = tmp_path_factory.getbasetemp() / "mlflow-template.db"
    if not template.exists():
        building = template.with_suffix(".building")
        MlflowClient(f"sqlite:///{building}").search_experiments()
        building.replace(template)
    shutil.copy(template, tmp_path / "mlflow.db")
    uri = f"sqlite:///{Path(tmp_path) / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def no_tracking(monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def crown(uri: str, split, accuracy: float) -> None:
    """Register the split's model as champion of 'churn' with the given logged accuracy."""
    train_frame, _, model = split
    registered = register_model(
        model,
        "churn",
        tracking_uri=uri,
        signature_input=train_frame.drop(columns=["target"]),
        tags={},
        model_digest=f"sha256:champion-{accuracy}",
        metrics={"accuracy": accuracy},
    )
    promote("churn", "champion", registered.version, tracking_uri=uri, user="t", reason="t")


def test_a_good_model_passes_the_gate_with_every_metric(split, no_tracking):
    # GIVEN a logistic regression that separates the synthetic data well
    _, test_frame, model = split

    # WHEN it is evaluated on the holdout split
    result = evaluate(model, test_frame, min_accuracy=0.7, min_f1=0.5)

    # THEN every metric is a plain float in range, the gate passes, and it is JSON-able
    metrics = result["metrics"]
    assert set(metrics) == {"accuracy", "f1_macro", "f1_weighted", "roc_auc", "log_loss"}
    assert all(type(v) is float for v in metrics.values())
    assert 0.7 < metrics["accuracy"] <= 1.0
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert result["gate"] == {"passed": True, "failures": []}
    assert result["champion"] is None
    assert result["test_rows"] == len(test_frame)
    assert json.loads(json.dumps(result)) == result


def test_a_model_below_the_thresholds_fails_the_gate_with_readable_failures(split, no_tracking):
    # GIVEN a model that always predicts the majority class
    train_frame, test_frame, _ = split
    features, labels = train_frame.drop(columns=["target"]), train_frame["target"]
    dummy = DummyClassifier(strategy="most_frequent").fit(features, labels)

    # WHEN it is evaluated with demanding thresholds
    result = evaluate(dummy, test_frame, min_accuracy=0.9, min_f1=0.6)

    # THEN the gate fails and names each metric below its threshold
    assert result["gate"]["passed"] is False
    failures = result["gate"]["failures"]
    assert len(failures) == 2
    assert re.fullmatch(r"accuracy 0\.\d{4} < min_accuracy 0\.9000", failures[0])
    assert re.fullmatch(r"f1_macro 0\.\d{4} < min_f1 0\.6000", failures[1])


def test_metrics_are_logged_for_tracking_inside_a_pipeline_run(split, no_tracking):
    # GIVEN the step running inside a pipeline run context
    _, test_frame, model = split
    context = StepContext(pipeline="p", run_id="r", node="evaluate", cache_key="k")

    # WHEN it is evaluated
    with running(context) as report:
        result = evaluate(model, test_frame)

    # THEN the metrics it returns are the ones it logged
    assert report.metrics == result["metrics"]


def test_a_better_model_beats_the_current_champion(split, tracking_uri):
    # GIVEN a champion whose logged accuracy is low
    crown(tracking_uri, split, accuracy=0.5)
    _, test_frame, model = split

    # WHEN a good model is evaluated against it
    result = evaluate(model, test_frame, model_name="churn")

    # THEN the comparison names the champion and says the model beats it
    assert result["champion"] == {"version": 1, "accuracy": 0.5, "beats_champion": True}


def test_a_worse_model_does_not_beat_the_champion(split, tracking_uri):
    # GIVEN a champion with a perfect logged accuracy
    crown(tracking_uri, split, accuracy=1.0)
    _, test_frame, model = split

    # WHEN the model is evaluated against it, THEN it does not beat it
    result = evaluate(model, test_frame, model_name="churn")
    assert result["champion"]["beats_champion"] is False


def test_without_a_champion_the_comparison_is_empty(split, tracking_uri):
    _, test_frame, model = split
    assert evaluate(model, test_frame, model_name="churn")["champion"] is None


def test_bad_thresholds_and_a_missing_target_are_reported(split, no_tracking):
    _, test_frame, model = split
    with pytest.raises(ConfigError, match="min_accuracy must be within"):
        evaluate(model, test_frame, min_accuracy=70)
    with pytest.raises(DataValidationError, match="'label' is not in the test split"):
        evaluate(model, test_frame, target="label")
